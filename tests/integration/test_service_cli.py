"""``python -m service`` as a user runs it: a subprocess with environment variables."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port that was free a moment ago (the settings refuse PORT=0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(**env) -> dict[str, str]:
    """A clean offline environment plus ``env``."""
    environ = {key: value for key, value in os.environ.items()
               if key not in ("SENTIMENT_MODEL", "SENTIMENT_BACKEND", "PORT", "HOST", "MODEL_SERVICE_TOKEN")}
    environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **env)
    return environ


def run_service(*args, timeout=120, **env):
    """Run ``python -m service`` with ``env`` added to a clean offline environment."""
    environ = service_env(**env)
    return subprocess.run([sys.executable, "-m", "service", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_classify_prints_json_from_the_transformer(tiny_model_dir):
    """Classify prints json from the transformer."""
    done = run_service("classify", "Vocês são ótimos", "<@U1> que atraso :rage:",
                       SENTIMENT_MODEL=tiny_model_dir, SENTIMENT_BACKEND="transformers")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert (body["backend"], body["model"]) == ("transformers", tiny_model_dir)
    assert len(body["results"]) == 2
    assert all(set(r["scores"]) == {"negative", "neutral", "positive"} for r in body["results"])


def test_classify_with_the_lexicon_gives_real_labels():
    """Classify with the lexicon gives real labels."""
    done = run_service("classify", "Que serviço horrível, estou muito irritado",
                       SENTIMENT_BACKEND="lexicon")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["results"][0]["label_pt"] == "Negativo"


def test_settings_errors_are_one_message_and_exit_2():
    """Settings errors are one message and exit 2."""
    done = run_service("classify", "oi", PORT="oitenta", MAX_BATCH_SIZE="0", SENTIMENT_BACKEND="gpu")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    for name in ("PORT", "MAX_BATCH_SIZE", "SENTIMENT_BACKEND"):
        assert name in done.stderr


def test_a_transformer_that_cannot_load_stops_the_server_at_start(tmp_path):
    """A transformer that cannot load stops the server at start."""
    done = run_service(SENTIMENT_MODEL=str(tmp_path / "nada"), SENTIMENT_BACKEND="transformers",
                       PORT=str(free_port()), timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "SENTIMENT_MODEL" in done.stderr and "não foi possível carregar" in done.stderr


def test_sigterm_is_a_clean_stop():
    """The server answers, then SIGTERM (what Cloud Run sends) stops it with status 0."""
    port = free_port()
    with subprocess.Popen([sys.executable, "-m", "service"], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          env=service_env(SENTIMENT_BACKEND="lexicon", PORT=str(port))) as proc:
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, proc.stdout.read()
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the service never became ready"
                time.sleep(0.1)
            answer = httpx.get(f"http://127.0.0.1:{port}/sintetize/Que serviço horrível")
            assert answer.json()["Classificação"] == "Negativo"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
            output = proc.stdout.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert "Traceback" not in output
    assert "horr" not in output and "/sintetize/" not in output  # no access log: text never logged
