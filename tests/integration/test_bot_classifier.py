"""The bot's classifiers: the real model service over HTTP, its failure modes (small real HTTP
servers that fail on purpose), the in-process model, and the lexicon fallback."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import json
import time

import pytest

from bot.classify.clients import (
    ClassifierInputError, FallbackClassifier, LocalClassifier, ModelUnavailableError, RemoteClassifier,
    backoff_delay, build_classifier, parse_retry_after,
)
from bot.settings import BotSettings
from service.backends.lexicon import LexiconBackend
from tests.support.slack_harness import ScriptedService, ServerThread, closed_port_url

POSITIVE = "Adorei o resultado, equipe incrível, parabéns!"
NEGATIVE = "Que serviço horrível, estou muito irritado."


@pytest.fixture(scope="module")
def service_url():
    """The real model service (lexicon backend) with a token, on port 0."""
    # pylint: disable=import-outside-toplevel
    from service.app import create_app
    from service.settings import ModelSettings, ServiceSettings

    server = ServerThread(create_app(ServiceSettings(token="s3cret", model=ModelSettings(backend="lexicon")),
                                     backend=LexiconBackend()))
    yield server.url + "/"
    server.close()


@pytest.fixture()
def scripted():
    """Factory of scripted services, closed after the test."""
    made = []

    def make(script=(), delay=0.0):
        service = ScriptedService(script, delay)
        made.append(service)
        return service

    yield make
    for service in made:
        service.close()


# ---------------------------------------------------------------- against the real service

def test_remote_matches_the_in_process_lexicon(service_url, lexicon_classifier):
    """The real service over HTTP gives the same answers as the in-process lexicon, in order."""
    classifier = RemoteClassifier(service_url, token="s3cret")
    texts = [POSITIVE, NEGATIVE, "A reunião é às quinze horas."] * 45  # 135 texts: 3 requests
    verdicts = classifier.classify_detailed(texts)
    assert verdicts.backend == "lexicon" and not verdicts.fallback
    assert [r.label for r in verdicts.results[:3]] == ["positive", "negative", "neutral"]
    local = lexicon_classifier.classify(texts)
    assert [r.label for r in verdicts.results] == [r.label for r in local]
    assert [round(r.score, 4) for r in verdicts.results] == [round(r.score, 4) for r in local]
    assert classifier.backend == "lexicon"
    classifier.close()


def test_wrong_token_is_a_clear_unavailable_error(service_url, caplog):
    """A rejected MODEL_SERVICE_TOKEN (401, from the service itself) is reported at once, naming
    the variable."""
    classifier = RemoteClassifier(service_url, token="wrong", retries=3, sleep=lambda _s: None)
    with pytest.raises(ModelUnavailableError, match="MODEL_SERVICE_TOKEN"):
        classifier.classify([POSITIVE])
    classifier.close()
    assert "rejected MODEL_SERVICE_TOKEN (HTTP 401)" in caplog.text and "run.invoker" not in caplog.text


def test_a_403_names_the_invoker_permission_not_the_token(scripted, caplog):
    """A 403 comes from Cloud Run's IAM front end (an HTML page), not from the token: the log
    says which grant is missing, and it is not retried."""
    page = "<html><title>403 Forbidden</title>Your client does not have permission</html>"
    service = scripted([(403, {"Content-Type": "text/html"}, page)])
    classifier = RemoteClassifier(service.url, token="right", retries=3, sleep=lambda _s: None)
    with pytest.raises(ModelUnavailableError, match="403"):
        classifier.classify([POSITIVE])
    classifier.close()
    assert service.sizes == [1]  # not retried
    assert "roles/run.invoker" in caplog.text and "MODEL_SERVICE_AUDIENCE" in caplog.text
    assert "rejected MODEL_SERVICE_TOKEN" not in caplog.text


def test_rejected_text_is_an_input_error_with_the_service_detail(service_url):
    """A text the service refuses (or one over 40.000 chars) is an input error with the reason."""
    classifier = RemoteClassifier(service_url, token="s3cret")
    with pytest.raises(ClassifierInputError, match="vazio"):
        classifier.classify(["   "])
    with pytest.raises(ClassifierInputError, match="40.000"):
        classifier.classify(["a" * 40_001])  # refused before any request
    classifier.close()


# ---------------------------------------------------------------- failure modes

def test_chunks_of_64(scripted):
    """130 texts go to the service as requests of 64, 64 and 2."""
    service = scripted()
    classifier = RemoteClassifier(service.url)
    assert len(classifier.classify(["bom dia"] * 130)) == 130
    assert service.sizes == [64, 64, 2]
    classifier.close()


def test_503_is_retried_honouring_retry_after(scripted):
    """Two 503s with Retry-After: 3 are retried, each wait at least 3 s, then the answer."""
    busy = (503, {"Retry-After": "3"}, json.dumps({"detail": "serviço sobrecarregado"}))
    service = scripted([busy, busy])
    waits: list[float] = []
    classifier = RemoteClassifier(service.url, retries=3, backoff=0.01, sleep=waits.append)
    [result] = classifier.classify([POSITIVE])
    assert result.label == "neutral"
    assert len(service.sizes) == 3 and len(waits) == 2
    assert all(wait >= 3 for wait in waits)
    classifier.close()


def test_service_that_stays_busy_raises_unavailable(scripted):
    """A service that keeps answering 503 ends in ModelUnavailableError after the retries."""
    busy = (503, {"Retry-After": "1"}, json.dumps({"detail": "fila cheia"}))
    service = scripted([busy] * 10)
    waits: list[float] = []
    classifier = RemoteClassifier(service.url, retries=2, sleep=waits.append)
    with pytest.raises(ModelUnavailableError, match="indisponível.*HTTP 503"):
        classifier.classify([POSITIVE])
    assert len(service.sizes) == 3 and len(waits) == 2
    classifier.close()


def test_connection_refused_is_retried_with_exponential_backoff():
    """Connection refused is retried with doubling waits, then ModelUnavailableError."""
    waits: list[float] = []
    classifier = RemoteClassifier(closed_port_url(), retries=3, backoff=1.0, sleep=waits.append)
    with pytest.raises(ModelUnavailableError, match="indisponível"):
        classifier.classify([POSITIVE])
    assert len(waits) == 3
    for attempt, wait in enumerate(waits):  # 1 s, 2 s, 4 s, each with jitter down to half
        assert 2 ** attempt / 2 <= wait <= 2 ** attempt
    classifier.close()


def test_timeout_then_unavailable(scripted):
    """A service slower than the timeout ends in ModelUnavailableError without waiting for it."""
    service = scripted(delay=1.0)
    classifier = RemoteClassifier(service.url, timeout=0.2, retries=1, sleep=lambda _s: None)
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match="Timeout"):
        classifier.classify([POSITIVE])
    assert time.monotonic() - started < 1.0  # gave up on the timeout, did not wait for answers
    classifier.close()


def test_unexpected_answer_is_unavailable(scripted):
    """A non-JSON or wrongly shaped answer is reported as unavailable."""
    service = scripted([(200, {}, "<html>proxy error</html>"), (200, {}, json.dumps({"results": []}))])
    classifier = RemoteClassifier(service.url)
    for _ in range(2):
        with pytest.raises(ModelUnavailableError, match="inesperada"):
            classifier.classify([POSITIVE])
    classifier.close()


def test_retry_helpers():
    """Retry-After parsing (seconds or date) and capped, jittered backoff."""
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") < 1  # in the past: now
    assert backoff_delay(0, 1.0, retry_after=120) == 30.0  # Retry-After capped
    assert backoff_delay(10, 1.0, cap=8.0) <= 8.0


# ---------------------------------------------------------------- fallback and in-process

def test_fallback_answers_with_the_lexicon_and_says_so(scripted):
    """With the service down the lexicon answers, flagged; with it up, no flag."""
    down = FallbackClassifier(RemoteClassifier(closed_port_url(), retries=0))
    verdicts = down.classify_detailed([POSITIVE, NEGATIVE])
    assert verdicts.fallback and verdicts.backend == "lexicon"
    assert [r.label for r in verdicts.results] == ["positive", "negative"]
    up = FallbackClassifier(RemoteClassifier(scripted().url))
    verdicts = up.classify_detailed([POSITIVE])
    assert not verdicts.fallback and verdicts.backend == "transformers"
    down.close()
    up.close()


def test_local_tiny_transformer(tiny_model_dir):
    """The in-process transformer (tiny random model) returns consistent probabilities in chunks."""
    # pylint: disable=import-outside-toplevel
    from service.backends.transformers_backend import TransformersBackend

    classifier = LocalClassifier(TransformersBackend(tiny_model_dir), max_batch_size=8)
    texts = [f"mensagem número {i} <@U123> :tada:" for i in range(70)]
    verdicts = classifier.classify_detailed(texts)
    assert verdicts.backend == "transformers" and len(verdicts.results) == 70
    for result in verdicts.results:
        assert sum(result.scores.values()) == pytest.approx(1.0, abs=1e-4)
        assert result.score == max(result.scores.values())
    alone = classifier.classify(texts[:1])[0]  # same text alone (no padding): same answer
    assert alone.label == verdicts.results[0].label
    assert alone.scores == pytest.approx(verdicts.results[0].scores, abs=1e-4)
    classifier.close()


def test_build_classifier_follows_the_settings():
    """MODEL_SERVICE_URL selects the service, else in-process; SENTIMENT_FALLBACK wraps it."""
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    remote = build_classifier(BotSettings.from_env({**base, "MODEL_SERVICE_URL": "http://127.0.0.1:1"}))
    assert isinstance(remote, RemoteClassifier)
    local = build_classifier(BotSettings.from_env({**base, "SENTIMENT_BACKEND": "lexicon",
                                                   "SENTIMENT_FALLBACK": "lexicon"}))
    assert isinstance(local, FallbackClassifier) and local.backend == "lexicon"
    assert local.classify([POSITIVE])[0].label == "positive"
    remote.close()
    local.close()
