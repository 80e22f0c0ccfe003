"""The ONNX runtimes: ``python -m service export`` on tiny random XLM-RoBERTa models, then the
service on the exported directory, through HTTP, in a subprocess as deployed.

Random weights mean nothing: fp32 ONNX is compared with torch on the same weights (same labels,
probabilities within a tolerance); int8 is only checked to answer, never to agree.
"""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.backends.onnx_backend import OnnxBackend
from service.backends.transformers_backend import TransformersBackend
from service.devmodel import build_model
from service.settings import ServiceSettings
from service.text import model_input
from tests.integration.test_service_cli import ROOT, free_port, run_service, service_env
from tests.support.service_helpers import wait_ready

TEXTS = ["Vocês são ótimos, parabéns pelo trabalho!", "Que serviço horrível, estou muito irritado",
         "<@U123> a reunião é às quinze horas :tada:", "bom dia",
         "o deploy quebrou de novo " * 30]


def export(model: str, out: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m service export --model MODEL --out OUT ARGS`` as a user runs it."""
    return run_service("export", "--model", model, "--out", str(out), *args, timeout=300)


@pytest.fixture(scope="module")
def onnx_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model exported to fp32 ONNX."""
    out = tmp_path_factory.mktemp("onnx") / "fp32"
    done = export(tiny_model_dir, out, "--runtime", "onnx", "--force")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def int8_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model exported to int8 ONNX (--force: random weights)."""
    out = tmp_path_factory.mktemp("onnx") / "int8"
    done = export(tiny_model_dir, out, "--force")
    assert done.returncode == 0, done.stderr
    assert "Concordância de rótulos" in done.stdout
    return out


class Served:
    """``python -X importtime -m service`` on one runtime: every module it imports is recorded."""

    def __init__(self, tmp: Path, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr_path = tmp / "stderr.log"
        with open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped in stop()
                [sys.executable, "-X", "importtime", "-m", "service"], cwd=ROOT, stderr=stderr,
                stdout=subprocess.DEVNULL,
                env=service_env(PORT=str(self.port), SENTIMENT_BACKEND="transformers", **env))
        wait_ready(self.url, lambda: self.proc.poll() is None, describe=self.stderr)

    def stderr(self) -> str:
        """What the process wrote to stderr so far (import times and logs)."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def imported(self) -> set[str]:
        """Top-level packages imported so far (``-X importtime`` lines)."""
        names = set()
        for line in self.stderr().splitlines():
            if line.startswith("import time:") and line.count("|") == 2:
                names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
        return names

    def classify(self, texts: list[str]) -> httpx.Response:
        """``POST /v1/classify``."""
        return httpx.post(self.url + "/v1/classify", json={"texts": texts}, timeout=60)

    def stop(self) -> int:
        """SIGTERM; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture(scope="module")
def onnx_service(onnx_dir, tmp_path_factory):
    """The service on the fp32 export."""
    served = Served(tmp_path_factory.mktemp("onnx-service"), SENTIMENT_RUNTIME="onnx",
                    SENTIMENT_MODEL=str(onnx_dir))
    yield served
    served.stop()


@pytest.fixture(scope="module")
def torch_backend(tiny_model_dir):
    """The same tiny weights on the torch runtime."""
    return TransformersBackend(tiny_model_dir)


def test_export_writes_a_directory_the_onnx_runtime_needs_and_nothing_else(onnx_dir, int8_dir):
    """Model file, tokenizer, labels and the gate's figures; int8 is smaller."""
    assert sorted(p.name for p in onnx_dir.iterdir()) == [
        "config.json", "export.json", "model.onnx", "tokenizer.json"]
    assert sorted(p.name for p in int8_dir.iterdir()) == [
        "config.json", "export.json", "model.int8.onnx", "tokenizer.json"]
    info = json.loads((int8_dir / "export.json").read_text(encoding="utf-8"))
    assert info["runtime"] == "onnx-int8" and info["labels"] == ["negative", "neutral", "positive"]
    assert info["quality_gate"]["texts"] >= 100
    assert (int8_dir / "model.int8.onnx").stat().st_size < (onnx_dir / "model.onnx").stat().st_size
    assert not list(onnx_dir.parent.glob(".*"))  # no working directory left behind


def test_fp32_service_gives_torch_answers_over_http(onnx_service, torch_backend):
    """Same labels as torch on the same weights, probabilities within 1e-4, in input order."""
    answer = onnx_service.classify(TEXTS)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["backend"], body["runtime"]) == ("transformers", "onnx")
    assert answer.headers["X-Sentiment-Runtime"] == "onnx"
    want = torch_backend.predict([model_input(text) for text in TEXTS])
    assert [r["label"] for r in body["results"]] == [w.label for w in want]
    for got, expected in zip(body["results"], want):
        assert got["scores"] == pytest.approx(expected.scores, abs=1e-4)


def test_a_single_text_gets_the_answer_it_gets_in_a_batch(onnx_service):
    """Padding in a batch changes nothing (the traced graph keeps the attention mask)."""
    batched = onnx_service.classify(TEXTS).json()["results"]
    for text, expected in zip(TEXTS, batched):
        alone = onnx_service.classify([text]).json()["results"][0]
        assert alone["scores"] == pytest.approx(expected["scores"], abs=1e-5)


def test_healthz_readyz_and_metrics_name_the_runtime(onnx_service):
    """/healthz, /readyz and /metrics say which runtime answers."""
    health = httpx.get(onnx_service.url + "/healthz").json()
    assert (health["ready"], health["backend"], health["runtime"]) == (True, "transformers", "onnx")
    assert httpx.get(onnx_service.url + "/readyz").json()["runtime"] == "onnx"
    metrics = httpx.get(onnx_service.url + "/metrics").text
    assert 'sentimento_model_runtime{backend="transformers",runtime="onnx"} 1.0' in metrics


def test_the_onnx_service_never_imports_torch_or_transformers(onnx_service):
    """Neither at start nor while answering: the cold start pays for neither."""
    assert onnx_service.classify(["bom dia"]).status_code == 200
    imported = onnx_service.imported()
    assert "onnxruntime" in imported and "tokenizers" in imported  # the check sees imports
    assert "torch" not in imported
    assert "transformers" not in imported
    assert onnx_service.stop() == 0


def test_int8_service_answers_and_says_so(int8_dir, tmp_path):
    """The int8 export serves distributions over the three labels (random weights: no accuracy)."""
    served = Served(tmp_path, SENTIMENT_RUNTIME="onnx-int8", SENTIMENT_MODEL=str(int8_dir))
    try:
        answer = served.classify(TEXTS)
        assert answer.status_code == 200, answer.text
        assert answer.json()["runtime"] == "onnx-int8"
        for result in answer.json()["results"]:
            assert sum(result["scores"].values()) == pytest.approx(1.0, abs=1e-4)
        original = httpx.get(served.url + "/sintetize/Que serviço horrível")
        assert original.headers["X-Sentiment-Runtime"] == "onnx-int8"
        assert httpx.get(served.url + "/healthz").json()["runtime"] == "onnx-int8"
        assert "torch" not in served.imported()
    finally:
        assert served.stop() == 0


def test_the_gate_refuses_a_model_that_quantizes_badly(tmp_path):
    """Random weights of std 1 disagree with their int8 copy on many texts: refused, nothing
    written, and the message says why and what --force does."""
    model = build_model(tmp_path / "wild", initializer_range=1.0)
    out = tmp_path / "exports" / "int8"
    done = export(str(model), out)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "exportação recusada" in done.stderr and "99%" in done.stderr
    assert "--force" in done.stderr
    assert not out.exists()
    assert not list(out.parent.iterdir())  # no working directory left behind either
    forced = export(str(model), out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "ATENÇÃO" in forced.stdout and (out / "model.int8.onnx").is_file()
    info = json.loads((out / "export.json").read_text(encoding="utf-8"))
    assert info["quality_gate"]["forced"] is True and info["quality_gate"]["agreement"] < 0.99


def test_bad_export_arguments_are_clear_errors(tiny_model_dir, tmp_path):
    """Missing options, an unknown runtime, a file as --out, a model that does not exist."""
    a_file = tmp_path / "arquivo"
    a_file.write_text("não sou um diretório")
    cases = [(run_service("export", "--out", str(tmp_path / "x")), 2, "--model"),
             (export(tiny_model_dir, tmp_path / "x", "--runtime", "gpu"), 2, "onnx-int8"),
             (export(tiny_model_dir, a_file), 1, "não é um diretório"),
             (export(str(tmp_path / "nada"), tmp_path / "y"), 1, "não foi possível carregar")]
    for done, status, message in cases:
        assert (done.returncode, message in done.stderr) == (status, True), done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_torch_runtime_is_reported_too(torch_backend):
    """The torch runtime names itself in /healthz and /v1/classify."""
    with TestClient(create_app(ServiceSettings(), backend=torch_backend)) as client:
        assert client.get("/healthz").json()["runtime"] == "torch"
        answer = client.post("/v1/classify", json={"texts": ["bom dia"]})
        assert answer.json()["runtime"] == answer.headers["X-Sentiment-Runtime"] == "torch"


def test_onnx_runtime_on_a_directory_that_was_not_exported_says_how_to_export(tiny_model_dir):
    """SENTIMENT_RUNTIME=onnx-int8 on a torch checkpoint: exit 1 with the export command."""
    done = run_service("classify", "bom dia", SENTIMENT_MODEL=tiny_model_dir,
                       SENTIMENT_BACKEND="transformers", SENTIMENT_RUNTIME="onnx-int8")
    assert done.returncode == 1
    assert "python -m service export" in done.stderr and "model.int8.onnx" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_runtime_is_a_configuration_error():
    """SENTIMENT_RUNTIME=gpu: exit 2 naming the variable and the choices."""
    done = run_service("classify", "bom dia", SENTIMENT_RUNTIME="gpu")
    assert done.returncode == 2
    assert "SENTIMENT_RUNTIME" in done.stderr and "onnx-int8" in done.stderr


def test_onnx_truncates_at_512_tokens_like_torch(onnx_dir, torch_backend):
    """Past 512 tokens nothing is read, as on torch; long texts agree with torch."""
    backend = OnnxBackend(str(onnx_dir), "onnx")
    assert backend.max_tokens == torch_backend.max_tokens == 512
    long_text = ("Que serviço horrível, estou muito irritado. " * 1000)[:40_000]
    whole, with_tail = backend.predict([long_text, long_text + " vocês são ótimos! " * 50])
    assert with_tail.scores == pytest.approx(whole.scores, abs=1e-6)
    assert whole.scores == pytest.approx(torch_backend.predict([long_text])[0].scores, abs=1e-4)
