"""Which model answered, everywhere: /v1/classify, /healthz, /readyz, a response header, /metrics
labels and every log line of the service; and the prediction metrics the drift alert reads."""

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.backends.revision import directory_revision
from service.backends.transformers_backend import TransformersBackend
from service.settings import ServiceSettings
from tests.support.service_helpers import NEGATIVE, NEUTRAL, POSITIVE, metric, wait_ready

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(name="tiny", scope="module")
def tiny_backend(tiny_model_dir):
    """The tiny XLM-RoBERTa through the real transformers backend."""
    return TransformersBackend(tiny_model_dir)


def test_a_local_directory_revision_follows_its_files(tiny_model_dir, tmp_path):
    """A copy has the same revision; changing one byte of one file changes it."""
    copy = Path(shutil.copytree(tiny_model_dir, tmp_path / "copy"))
    assert directory_revision(copy) == directory_revision(tiny_model_dir)
    assert directory_revision(copy).startswith("sha256:") and len(directory_revision(copy)) == 19
    config = copy / "config.json"
    config.write_text(config.read_text(encoding="utf-8") + " ", encoding="utf-8")
    assert directory_revision(copy) != directory_revision(tiny_model_dir)


def test_every_endpoint_names_the_model_and_its_revision(tiny, tiny_model_dir):
    """/v1/classify, /healthz, /readyz and the X-Model-Revision header carry the same revision."""
    revision = directory_revision(tiny_model_dir)
    with TestClient(create_app(ServiceSettings(), backend=tiny)) as client:
        answer = client.post("/v1/classify", json={"texts": [POSITIVE, NEGATIVE]})
        assert answer.json()["revision"] == revision
        assert answer.headers["X-Model-Revision"] == revision
        assert client.get(f"/sintetize/{NEUTRAL}").headers["X-Model-Revision"] == revision
        for path in ("/healthz", "/readyz"):
            body = client.get(path).json()
            assert (body["model"], body["revision"]) == (tiny_model_dir, revision), path


def test_metrics_count_predictions_per_label_with_the_model_labels(lexicon):
    """Each classified text is counted under its label, model, revision and runtime, and its top
    probability lands in the confidence histogram."""
    model = {"model": "LeIA", "revision": lexicon.revision, "runtime": "lexicon"}
    with TestClient(create_app(ServiceSettings(), backend=lexicon)) as client:
        results = client.post("/v1/classify",
                              json={"texts": [POSITIVE, NEGATIVE, NEGATIVE, NEUTRAL]}).json()
        text = client.get("/metrics").text
    labels = [result["label"] for result in results["results"]]
    for label in ("negative", "neutral", "positive"):
        assert metric(text, "sentimento_predictions_total", label=label, **model) == labels.count(label)
    assert metric(text, "sentimento_prediction_confidence_count", **model) == 4
    low = sum(result["score"] <= 0.5 for result in results["results"])
    assert metric(text, "sentimento_prediction_confidence_bucket", **model, le="0.5") == low
    assert metric(text, "sentimento_model_info", backend="lexicon", model="LeIA",
                  revision=lexicon.revision, runtime="lexicon") == 1


def test_every_service_log_line_names_the_model_and_revision(tiny_model_dir, tmp_path):
    """JSON logs of a real `python -m service`: every line has model and model_revision, the
    revision once the model is loaded."""
    from tests.integration.test_service_cli import free_port, service_env  # pylint: disable=import-outside-toplevel

    port = free_port()
    log_file = tmp_path / "service.log"
    with log_file.open("w", encoding="utf-8") as sink, subprocess.Popen(
            [sys.executable, "-m", "service"], cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
            env=service_env(SENTIMENT_MODEL=tiny_model_dir, SENTIMENT_BACKEND="transformers",
                            PORT=str(port), LOG_FORMAT="json")) as proc:
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, lambda: proc.poll() is None, describe=log_file.read_text)
            assert httpx.post(url + "/v1/classify", json={"texts": [POSITIVE]}).status_code == 200
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    lines = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    assert lines
    assert all(line["model"] == tiny_model_dir for line in lines), lines
    revisions = [line["model_revision"] for line in lines]
    assert directory_revision(tiny_model_dir) in revisions
    assert set(revisions) <= {"pending", directory_revision(tiny_model_dir)}
    ready = next(i for i, line in enumerate(lines) if line["message"].startswith("ready"))
    assert all(rev == directory_revision(tiny_model_dir) for rev in revisions[ready:])
