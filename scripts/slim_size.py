"""Build the slim model service's virtualenv from PyPI and prove it serves: no torch, no transformers.

What the Dockerfile's ``service-slim`` target installs, done here without Docker:
``python -m venv`` in a temporary directory, ``pip install -r requirements-slim.txt`` from PyPI,
then ``python -m service`` from that virtualenv on an int8 export (``SENTIMENT_RUNTIME=onnx-int8``),
checked with ``/readyz`` and one ``POST /v1/classify``. Prints the time from process start to
``/readyz``, the service's resident memory, and ``du`` of the virtualenv's site-packages (target:
under 400 MB) with its largest packages.

Usage::

    .venv/bin/python scripts/slim_size.py                       # the bench's full-size int8 export
    .venv/bin/python scripts/slim_size.py --model DIR --venv /tmp/slim   # keep (and reuse) the venv

The export comes from ``python -m service export`` (this project's full virtualenv: it needs torch);
by default the bench's cached full-size random model (``bench/bench_service.py`` builds it), or the
tiny random model when that cache is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements-slim.txt"
BENCH_EXPORT = ROOT / "bench" / ".cache" / "xlmr-base-random-onnx-int8"
TARGET_MB = 400


def run(argv: list[str], **kwargs) -> None:
    """Run a command, its output shown; exit with its status if it fails."""
    print("$ " + " ".join(argv), flush=True)
    done = subprocess.run(argv, check=False, **kwargs)
    if done.returncode:
        sys.exit(f"failed ({done.returncode}): {' '.join(argv)}")


def build_venv(venv: Path) -> Path:
    """The slim virtualenv (created once); its python."""
    python = venv / "bin" / "python"
    stamp = venv / ".slim-requirements"
    if stamp.exists() and stamp.read_text(encoding="utf-8") == REQUIREMENTS.read_text(encoding="utf-8"):
        return python
    run([sys.executable, "-m", "venv", "--clear", str(venv)])
    run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(REQUIREMENTS)])
    stamp.write_text(REQUIREMENTS.read_text(encoding="utf-8"), encoding="utf-8")
    return python


def default_export(workdir: Path) -> Path:
    """The bench's full-size int8 export, or a tiny one exported now."""
    if (BENCH_EXPORT / "model.int8.onnx").is_file():
        return BENCH_EXPORT
    sys.path.insert(0, str(ROOT))
    from service.devmodel import build_model  # pylint: disable=import-outside-toplevel
    tiny = build_model(workdir / "tiny", size="tiny", labels="cardiffnlp")
    out = workdir / "tiny-int8"
    run([sys.executable, "-m", "service", "export", "--model", str(tiny), "--out", str(out),
         "--force"], cwd=ROOT, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    return out


def site_packages(venv: Path) -> Path:
    """The virtualenv's site-packages."""
    return next((venv / "lib").glob("python*/site-packages"))


def du_mb(path: Path) -> float:
    """``du -s`` of ``path``, in MB (1024 x 1024 bytes, as du -m)."""
    out = subprocess.run(["du", "-sk", str(path)], check=True, capture_output=True, text=True).stdout
    return int(out.split()[0]) / 1024


def free_port() -> int:
    """A port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, body: dict | None = None) -> tuple[int, dict]:
    """GET (or POST ``body`` as JSON); status and JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def serve_and_check(python: Path, model: Path, workdir: Path) -> dict:
    """Start the service from the slim venv, wait for /readyz, classify, read its memory, stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"PATH": f"{python.parent}:{os.environ.get('PATH', '')}", "HOME": str(workdir),
           "PYTHONPATH": str(ROOT), "HOST": "127.0.0.1", "PORT": str(port),
           "SENTIMENT_BACKEND": "transformers", "SENTIMENT_RUNTIME": "onnx-int8",
           "SENTIMENT_MODEL": str(model), "HF_HUB_OFFLINE": "1"}
    log_path = workdir / "service.log"
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        # -I would drop PYTHONPATH; -s keeps the user's site-packages out.
        process = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped below
            [str(python), "-s", "-m", "service"], cwd=workdir, env=env, stdout=log,
            stderr=subprocess.STDOUT)
    try:
        while True:
            if process.poll() is not None:
                sys.exit("the slim service exited:\n" + log_path.read_text(errors="replace")[-3000:])
            try:
                if get(url + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() - started > 120:
                sys.exit("the slim service was not ready after 120 s")
            time.sleep(0.05)
        ready_s = time.perf_counter() - started
        status, answer = get(url + "/v1/classify", {"texts": ["Que dia ótimo, obrigado!"]})
        if status != 200 or answer.get("runtime") != "onnx-int8":
            sys.exit(f"classify answered {status}: {answer}")
        rss = next(int(line.split()[1]) for line in
                   Path(f"/proc/{process.pid}/status").read_text(encoding="ascii").splitlines()
                   if line.startswith("VmRSS:")) / 1024
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return {"ready_s": ready_s, "rss_mb": rss, "label": answer["results"][0]["label"], "exit": code}


def main() -> int:
    """Build, serve, measure, print; 1 if the size target is missed or torch is installed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", type=Path, help="an int8 export directory (default: see above)")
    parser.add_argument("--venv", type=Path, help="build (or reuse) the virtualenv here; kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sentimento-slim-") as tmp:
        workdir = Path(tmp)
        venv = args.venv or workdir / "venv"
        python = build_venv(venv)
        model = args.model or default_export(workdir)
        packages = site_packages(venv)
        torch_found = [name for name in ("torch", "transformers") if (packages / name).exists()]
        served = serve_and_check(python, model, workdir)
        total = du_mb(packages)
        sizes = sorted(((du_mb(path), path.name) for path in packages.iterdir()
                        if path.is_dir() and not path.name.endswith((".dist-info", "__pycache__"))),
                       reverse=True)
        model_mb = sum(p.stat().st_size for p in model.iterdir() if p.is_file()) / 2**20
        print(f"\nslim virtualenv from {REQUIREMENTS.name} ({sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs): {venv}")
        print("| what | value |\n|---|---|")
        print(f"| site-packages (`du`) | **{total:.0f} MB** (target < {TARGET_MB} MB: "
              f"{'met' if total < TARGET_MB else 'MISSED'}) |")
        print("| largest packages | " + ", ".join(f"{name} {mb:.0f} MB" for mb, name in sizes[:6]) + " |")
        print(f"| torch / transformers installed | {', '.join(torch_found) or 'neither'} |")
        print(f"| model `{model.name}` | {model_mb:.0f} MB |")
        print(f"| process start to /readyz | {served['ready_s']:.1f} s |")
        print(f"| RSS after one classify | {served['rss_mb']:.0f} MB |")
        print(f"| classify | 200, runtime onnx-int8, label {served['label']}; exit status on SIGTERM "
              f"{served['exit']} |")
        if args.venv is None:
            shutil.rmtree(venv, ignore_errors=True)
        return 0 if total < TARGET_MB and not torch_found and served["exit"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
