"""``GET /v1/model``: the model in use and its figures on the evaluation set, read once at
start-up from ``SENTIMENT_EVALUATION_FILE``; and the bot's client of it."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from fastapi.testclient import TestClient

from bot.classify.clients import (
    FallbackClassifier, LocalClassifier, ModelUnavailableError, RemoteClassifier,
)
from service.app import create_app
from service.backends.lexicon import LexiconBackend
from service.settings import ModelSettings, ServiceSettings
from tests.support.slack_harness import ServerThread, closed_port_url

FIGURES = {"accuracy": 0.71, "macro_f1": 0.68, "n": 312, "model": "LeIA",
           "revision": "lexicon-0.0.1", "per_class": {"negative": {"f1": 0.6}}}


def settings(evaluation_file: str | None, token: str | None = "s3cret") -> ServiceSettings:
    """A lexicon service with a token and ``SENTIMENT_EVALUATION_FILE``."""
    return ServiceSettings(token=token, model=ModelSettings(backend="lexicon",
                                                            evaluation_file=evaluation_file))


def test_the_model_and_its_figures_behind_the_same_token(tmp_path):
    """Model, revision, backend, runtime and the file's JSON as it is; 401 without the token."""
    path = tmp_path / "evaluation.json"
    path.write_text(json.dumps(FIGURES), encoding="utf-8")
    with TestClient(create_app(settings(str(path)), backend=LexiconBackend())) as client:
        assert client.get("/v1/model").status_code == 401
        body = client.get("/v1/model", headers={"Authorization": "Bearer s3cret"}).json()
    assert body == {"model": "LeIA", "revision": "lexicon-0.0.1", "backend": "lexicon",
                    "runtime": "lexicon", "evaluation": FIGURES}


@pytest.mark.parametrize("content", [None, "{não é json", "[1, 2]", "x" * 1_000_001])
def test_a_missing_or_unreadable_file_is_logged_once_and_gives_null(tmp_path, caplog, content):
    """Missing, not JSON, not an object, or over 1 MB: ``"evaluation": null``, one log line at
    start-up, and every request still answers."""
    path = tmp_path / "evaluation.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="service.model_card"):
        with TestClient(create_app(settings(str(path), token=None),
                                   backend=LexiconBackend())) as client:
            answers = [client.get("/v1/model").json()["evaluation"] for _ in range(3)]
    assert answers == [None, None, None]
    assert len([r for r in caplog.records if "SENTIMENT_EVALUATION_FILE" in r.getMessage()]) == 1


def test_503_while_the_model_loads():
    """Before the model is loaded there is nothing to describe: 503 with Retry-After."""
    gate = threading.Event()

    def slow_loader(_settings):
        assert gate.wait(30)
        return LexiconBackend()

    with TestClient(create_app(settings(None, token=None), loader=slow_loader)) as client:
        loading = client.get("/v1/model")
        gate.set()
        client.app.state.service.loaded.result(30)
        loaded = client.get("/v1/model")
    assert loading.status_code == 503 and "Retry-After" in loading.headers
    assert loaded.status_code == 200 and loaded.json()["evaluation"] is None


def test_the_bot_asks_the_service_or_its_own_backend(tmp_path):
    """``describe()``: the remote client through ``GET /v1/model``, the in-process one from its
    backend and the same file; the lexicon fallback answers with its own version."""
    path = tmp_path / "evaluation.json"
    path.write_text(json.dumps(FIGURES), encoding="utf-8")
    server = ServerThread(create_app(settings(str(path)), backend=LexiconBackend()))
    remote = RemoteClassifier(server.url + "/", token="s3cret")
    local = LocalClassifier.from_settings(ModelSettings(backend="lexicon", evaluation_file=str(path)))
    down = FallbackClassifier(RemoteClassifier(closed_port_url(), retries=0))
    try:
        for classifier in (remote, local):
            info = classifier.describe()
            assert (info.version, info.backend, info.runtime) == (
                "LeIA@lexicon-0.0.1", "lexicon", "lexicon")
            assert info.evaluation == FIGURES
        assert local.classify_detailed(["Ótimo!"]).model == "LeIA@lexicon-0.0.1"
        assert remote.classify_detailed(["Ótimo!"]).model.startswith("LeIA")
        assert down.classify_detailed(["Ótimo!"]).model == "LeIA@lexicon-0.0.1"
        with pytest.raises(ModelUnavailableError):
            down.describe()
        with pytest.raises(ModelUnavailableError):
            RemoteClassifier(server.url + "/", token="errado").describe()
    finally:
        for classifier in (remote, local, down):
            classifier.close()
        server.close()
