"""The slim model service: the ONNX runtime with torch and ``transformers`` unimportable, on the
packages of ``requirements-slim.txt`` only, and the Dockerfile's ``service-slim`` target.

``scripts/slim_size.py`` does the same from a real virtualenv built from PyPI (and prints its size);
this test needs no network: it blocks torch and transformers in the project's own virtualenv.
"""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import importlib.metadata
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

from tests.integration.test_deploy import dockerfile_instructions
from tests.integration.test_onnx_runtime import export
from tests.integration.test_service_cli import ROOT, free_port, service_env
from tests.support.service_helpers import wait_ready

SLIM_REQUIREMENTS = ROOT / "requirements-slim.txt"
# Imported by uvicorn only when installed (here, by uvicorn[standard]); the service needs neither,
# and scripts/slim_size.py serves from a virtualenv without them.
OPTIONAL = {"watchfiles": "uvicorn's --reload", "websockets": "uvicorn's WebSocket protocol",
            # httpx imports its command line (rich, pygments) only when they are installed: the
            # dev venv has them (mutmut's interface), the slim one does not, and httpx works without
            "rich": "httpx's command line", "pygments": "httpx's command line"}


def slim_requirements() -> list[Requirement]:
    """The pinned requirements of ``requirements-slim.txt``."""
    lines = SLIM_REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    return [Requirement(line.split("#", 1)[0].strip()) for line in lines
            if line.split("#", 1)[0].strip()]


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_closure(requirements: list[Requirement]) -> set[str]:
    """The distributions these requirements install: themselves and, recursively, what they
    require (extras left out, environment markers evaluated here)."""
    seen: set[str] = set()
    todo = [(req.name, frozenset(req.extras)) for req in requirements]
    while todo:
        name, extras = todo.pop()
        key = canonical(name)
        if key in seen:
            continue
        seen.add(key)
        for line in importlib.metadata.requires(name) or []:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate({"extra": extra})
                                         for extra in extras | {""}):
                todo.append((req.name, frozenset(req.extras)))
    return seen


@pytest.fixture(scope="module")
def int8_export(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model exported to int8 (--force: random weights)."""
    out = tmp_path_factory.mktemp("slim") / "int8"
    done = export(tiny_model_dir, out, "--force")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def guarded_run(int8_export, tmp_path_factory) -> dict:
    """``python -m service`` on the int8 export with torch and transformers blocked: what it
    answered, how it exited and what it imported (tests/support/import_guard.py)."""
    tmp = tmp_path_factory.mktemp("guard")
    report = tmp / "report.json"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(tmp / "service.log", "wb") as log:
        proc = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped below
            [sys.executable, "-m", "tests.support.import_guard", str(report)], cwd=ROOT,
            stdout=log, stderr=subprocess.STDOUT,
            env=service_env(PORT=str(port), SENTIMENT_BACKEND="transformers",
                            SENTIMENT_RUNTIME="onnx-int8", SENTIMENT_MODEL=str(int8_export)))
    try:
        wait_ready(url, lambda: proc.poll() is None,
                   describe=lambda: (tmp / "service.log").read_text(errors="replace"))
        answer = httpx.post(url + "/v1/classify", json={"texts": ["Que dia ótimo!", "bom dia"]},
                            timeout=30)
        health = httpx.get(url + "/healthz", timeout=5).json()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return {"answer": answer, "health": health, "code": code,
            "report": json.loads(report.read_text(encoding="utf-8"))}


def test_the_int8_service_answers_with_torch_and_transformers_unimportable(guarded_run):
    """Served, answered and stopped cleanly without either; nothing even tried to import them."""
    answer = guarded_run["answer"]
    assert answer.status_code == 200, answer.text
    assert answer.json()["runtime"] == "onnx-int8" and len(answer.json()["results"]) == 2
    assert guarded_run["health"]["runtime"] == "onnx-int8"
    assert guarded_run["code"] == 0
    report = guarded_run["report"]
    assert report["attempts"] == []
    assert {"onnxruntime", "tokenizers", "service"} <= set(report["modules"])  # the report sees imports
    assert not {"torch", "transformers"} & set(report["modules"])


def test_requirements_slim_covers_every_package_the_onnx_service_imports(guarded_run):
    """Each third-party module the running service imported comes from a distribution that
    requirements-slim.txt installs (listed, or required by one listed): the slim image starts."""
    providers = importlib.metadata.packages_distributions()
    closure = installed_closure(slim_requirements())
    ours = {"service", "tests", "__main__", "__mp_main__"}
    missing = {}
    for module in guarded_run["report"]["modules"]:
        if (module in sys.stdlib_module_names or module in ours or module in OPTIONAL
                or module not in providers):
            continue  # standard library, the project, optional, or built into the interpreter
        if not any(canonical(dist) in closure for dist in providers[module]):
            missing[module] = providers[module]
    assert not missing, f"imported by the ONNX service but not in requirements-slim.txt: {missing}"


def test_requirements_slim_pins_the_versions_of_requirements_txt_and_has_no_torch():
    """Every slim pin is an exact pin equal to requirements.txt's (where it has one), and neither
    torch nor transformers is installed by it, directly or through a dependency."""
    full = {canonical(r.name): r for r in (Requirement(line.split("#", 1)[0].strip()) for line in
            (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
            if line.split("#", 1)[0].strip())}
    for req in slim_requirements():
        assert str(req.specifier).startswith("=="), req
        if canonical(req.name) in full:
            assert req.specifier == full[canonical(req.name)].specifier, req
    assert not {"torch", "transformers"} & installed_closure(slim_requirements())


def stage(name: str) -> list[tuple[str, str]]:
    """The instructions of the Dockerfile's stage ``FROM ... AS name``."""
    found, inside = [], False
    for keyword, args in dockerfile_instructions():
        if keyword == "FROM":
            inside = args.split()[-1] == name
        if inside:
            found.append((keyword, args))
    return found


def test_the_slim_target_has_its_own_venv_and_the_exported_model_and_no_torch():
    """service-slim: the virtualenv of requirements-slim.txt, the ONNX export, the service's code
    only, a non-root user and the same entrypoint and health check as the full image."""
    deps = " ".join(args for _, args in stage("slim-deps"))
    assert "requirements-slim.txt" in deps and "requirements.txt" not in deps.replace(
        "requirements-slim.txt", "")
    export_runs = [args for keyword, args in stage("export-slim") if keyword == "RUN"]
    assert any("python -m service export" in run and '--runtime "${SLIM_RUNTIME}"' in run
               for run in export_runs)
    slim = stage("service-slim")
    copies = [args for keyword, args in slim if keyword == "COPY"]
    assert "--from=slim-deps /opt/venv /opt/venv" in copies
    assert "--from=export-slim /models /models" in copies
    assert not any(args.startswith(". ") or "bot" in args.split() for args in copies)
    env = " ".join(args for keyword, args in slim if keyword == "ENV")
    assert "SENTIMENT_RUNTIME=${SLIM_RUNTIME}" in env and "ROLE=service" in env
    assert [args for keyword, args in slim if keyword == "USER"] == ["10001:10001"]
    assert json.loads([a for k, a in slim if k == "ENTRYPOINT"][-1]) == [
        "python", "/app/scripts/entrypoint.py"]
    assert [a for k, a in dockerfile_instructions() if k == "FROM"][-1].endswith("AS runtime")
