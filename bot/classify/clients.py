"""Classifiers for the bot: the model in-process, the shared model service over HTTP, and the
lexicon fallback. All satisfy :class:`bot.classify.port.Classifier`.

Errors a user may see are two: :class:`ClassifierInputError` (the text itself is not acceptable,
e.g. too long) and :class:`ModelUnavailableError` (the model could not answer, even after
retries). Their messages are in Portuguese and safe to show; neither carries message text.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Callable, Iterator, Sequence

import httpx

from bot.classify.port import Classifier, ModelInfo, Verdicts, model_version
from service.backends import Backend, load_backend
from service.batching import Batcher, BatcherClosedError, QueueFullError
from service.gcp import IdTokenAuth
from service.labels import LABELS, Classification
from service.model_card import load_evaluation
from service.settings import ModelSettings
from service.text import model_input

log = logging.getLogger(__name__)

MAX_TEXTS_PER_REQUEST = 64  # the model service's limit per POST /v1/classify
MAX_TEXT_CHARS = 40_000  # the model service's limit per text (also Slack's message limit)
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0


class ModelUnavailableError(RuntimeError):
    """The model (service) did not answer, even after retries. The message is user-safe Portuguese."""


class ClassifierInputError(ValueError):
    """The text cannot be classified as given (too long, rejected). The message is user-safe."""


def check_texts(texts: Sequence[str]) -> None:
    """Raise :class:`ClassifierInputError` for texts the model service would reject."""
    for text in texts:
        if len(text) > MAX_TEXT_CHARS:
            raise ClassifierInputError(
                f"O texto tem {len(text):,} caracteres; o limite é {MAX_TEXT_CHARS:,}.".replace(",", "."))


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def backoff_delay(attempt: int, base: float, cap: float = 8.0, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): exponential with jitter,
    never less than the server's ``Retry-After`` (itself capped at 30 s)."""
    delay = min(cap, base * (2 ** attempt)) * (0.5 + random.random() / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
    return delay


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class _ClassifierBase:
    """``classify`` in terms of ``classify_detailed``."""

    def classify_detailed(self, texts: Sequence[str]) -> Verdicts:
        """Classify and say who answered (implemented by subclasses)."""
        raise NotImplementedError

    def classify(self, texts: Sequence[str]) -> list[Classification]:
        """Classify raw Slack texts (cleaned by the model side), results in input order."""
        return self.classify_detailed(texts).results

    def describe(self) -> ModelInfo:
        """The model in use (implemented by subclasses)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release threads and connections (idempotent)."""


class LocalClassifier(_ClassifierBase):
    """The model in-process (the embedded default): a :class:`service.batching.Batcher` over a backend."""

    def __init__(self, backend: Backend, max_batch_size: int = 16, max_batch_wait_ms: float = 5.0,
                 max_queue_size: int = 256, timeout: float = 60.0, retries: int = 3,
                 backoff: float = 0.05, evaluation: dict | None = None):
        self._evaluation = evaluation
        self._batcher = Batcher(backend, max_batch_size=max_batch_size,
                                max_batch_wait_ms=max_batch_wait_ms, max_queue_size=max_queue_size)
        self._chunk = min(MAX_TEXTS_PER_REQUEST, max_queue_size)
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff

    @classmethod
    def from_settings(cls, settings: ModelSettings) -> "LocalClassifier":
        """Load the backend chosen by the ``SENTIMENT_*`` variables (once, at start-up)."""
        return cls(load_backend(settings), max_batch_size=settings.max_batch_size,
                   max_batch_wait_ms=settings.max_batch_wait_ms,
                   max_queue_size=settings.max_queue_size,
                   evaluation=load_evaluation(settings.evaluation_file))

    @property
    def backend(self) -> str:
        """``transformers`` or ``lexicon``."""
        return self._batcher.backend.name

    def classify_detailed(self, texts: Sequence[str]) -> Verdicts:
        check_texts(texts)
        results: list[Classification] = []
        for chunk in chunks(list(texts), self._chunk):
            results.extend(self._classify_chunk(chunk))
        return Verdicts(results=results, backend=self.backend, model=self.describe().version)

    def describe(self) -> ModelInfo:
        """The backend's model, revision and runtime, and ``SENTIMENT_EVALUATION_FILE``'s figures."""
        backend = self._batcher.backend
        return ModelInfo(model=backend.model, revision=str(getattr(backend, "revision", "") or ""),
                         backend=backend.name, runtime=backend.runtime,
                         evaluation=self._evaluation)

    def _classify_chunk(self, texts: Sequence[str]) -> list[Classification]:
        for attempt in range(self._retries + 1):
            try:
                futures = self._batcher.submit(texts)
            except QueueFullError:
                if attempt == self._retries:
                    log.warning("in-process model queue stayed full for %d texts", len(texts))
                    raise ModelUnavailableError(
                        "O modelo está sobrecarregado no momento.") from None
                time.sleep(backoff_delay(attempt, self._backoff))
                continue
            except BatcherClosedError as exc:
                raise ModelUnavailableError("O bot está sendo encerrado.") from exc
            try:
                return [future.result(self._timeout) for future in futures]
            except Exception as exc:  # pylint: disable=broad-exception-caught  # shown as "unavailable"
                log.error("in-process model failed on a batch of %d texts: %s",
                          len(texts), exc.__class__.__name__)
                raise ModelUnavailableError("O modelo falhou ao analisar o texto.") from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._batcher.close()


class RemoteClassifier(_ClassifierBase):
    """The shared model service: ``POST {url}v1/classify`` in chunks of 64 texts.

    Each request has a timeout; connection errors, timeouts, 429 and 502/503/504 are retried
    with exponential backoff (at least the server's ``Retry-After``). When every attempt
    fails, :class:`ModelUnavailableError` says so in Portuguese.
    """

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0, retries: int = 3,
                 backoff: float = 0.5, max_backoff: float = 8.0,
                 sleep: Callable[[float], None] = time.sleep, audience: str | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # A private Cloud Run service also wants a Google ID token (X-Serverless-Authorization).
        auth = IdTokenAuth(audience) if audience else None
        self._client = httpx.Client(base_url=url, timeout=timeout, headers=headers, auth=auth)
        self._url = url
        self._retries = retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._backend = "transformers"
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        """The backend the service reported in its last answer."""
        return self._backend

    def classify_detailed(self, texts: Sequence[str]) -> Verdicts:
        check_texts(texts)
        results: list[Classification] = []
        backend, version = self._backend, ""
        for chunk in chunks(list(texts), MAX_TEXTS_PER_REQUEST):
            body = self._post(list(chunk))
            try:
                backend = str(body.get("backend", backend))
                version = model_version(str(body.get("model") or ""),
                                        str(body.get("revision") or ""))
                got = [_parse_result(item) for item in body["results"]]
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                log.error("model service answered an unexpected JSON shape (%s)", exc.__class__.__name__)
                raise ModelUnavailableError("O serviço de análise respondeu de forma inesperada.") from exc
            if len(got) != len(chunk):
                raise ModelUnavailableError("O serviço de análise respondeu de forma inesperada.")
            results.extend(got)
        with self._lock:
            self._backend = backend
        return Verdicts(results=results, backend=backend, model=version)

    def describe(self) -> ModelInfo:
        """``GET {url}v1/model`` (one attempt: a person is waiting); ModelUnavailableError when
        the service does not answer it (down, or a version without the route)."""
        try:
            response = self._client.get("v1/model")
        except httpx.TransportError as exc:
            raise ModelUnavailableError(
                f"O serviço de análise não respondeu ({exc.__class__.__name__}).") from exc
        if response.status_code != 200:
            raise ModelUnavailableError(
                f"O serviço de análise não informou o modelo (HTTP {response.status_code}).")
        try:
            body = response.json()
            evaluation = body.get("evaluation")
            return ModelInfo(model=str(body["model"]), revision=str(body.get("revision") or ""),
                             backend=str(body.get("backend") or ""),
                             runtime=str(body.get("runtime") or ""),
                             evaluation=evaluation if isinstance(evaluation, dict) else None)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelUnavailableError(
                "O serviço de análise respondeu de forma inesperada.") from exc

    def _post(self, texts: list[str]) -> dict:
        """One chunk, with retries; the JSON body of a 200 answer."""
        problem = "sem resposta"
        for attempt in range(self._retries + 1):
            retry_after = None
            try:
                response = self._client.post("v1/classify", json={"texts": texts})
            except httpx.TransportError as exc:
                problem = exc.__class__.__name__
                log.warning("model service %s: %s (attempt %d of %d)", self._url, problem,
                            attempt + 1, self._retries + 1)
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise ModelUnavailableError(
                            "O serviço de análise respondeu de forma inesperada.") from exc
                problem = f"HTTP {response.status_code}"
                if response.status_code == 401:  # the service's own check of the shared token
                    log.error("model service rejected MODEL_SERVICE_TOKEN (HTTP 401): the bot's "
                              "and the service's values differ")
                    raise ModelUnavailableError(
                        "O serviço de análise recusou a autenticação do bot (MODEL_SERVICE_TOKEN).")
                if response.status_code == 403:  # Cloud Run's front end, before the service
                    log.error("model service refused the bot (HTTP 403): on Cloud Run, the bot's "
                              "service account lacks roles/run.invoker on the model service, or "
                              "no ID token was sent (MODEL_SERVICE_AUDIENCE unset)")
                    raise ModelUnavailableError(
                        "O serviço de análise recusou o acesso do bot (HTTP 403: permissão de "
                        "invocação no Cloud Run).")
                if 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_STATUS:
                    raise ClassifierInputError(_detail(response))
                log.warning("model service %s answered %s (attempt %d of %d)", self._url, problem,
                            attempt + 1, self._retries + 1)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt < self._retries:
                self._sleep(backoff_delay(attempt, self._backoff, self._max_backoff, retry_after))
        raise ModelUnavailableError(
            f"O serviço de análise de sentimento está indisponível no momento ({problem}).")

    def close(self) -> None:
        self._client.close()


def _parse_result(item: dict) -> Classification:
    scores = {name: float(item["scores"][name]) for name in LABELS}
    return Classification(label=str(item["label"]), score=float(item["score"]), scores=scores)


def _detail(response: httpx.Response) -> str:
    """The service's ``{"detail": ...}`` message, or a generic one."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str) and detail:
        return f"O serviço de análise recusou o texto: {detail}"
    return f"O serviço de análise recusou o texto (HTTP {response.status_code})."


class FallbackClassifier(_ClassifierBase):
    """``SENTIMENT_FALLBACK=lexicon``: when the primary is unavailable, the LeIA lexicon answers,
    and the answer says so (``Verdicts.fallback``)."""

    def __init__(self, primary: Classifier, fallback: Backend | None = None):
        if fallback is None:
            from service.backends.lexicon import LexiconBackend  # pylint: disable=import-outside-toplevel
            fallback = LexiconBackend()
        self._primary = primary
        self._fallback = fallback

    @property
    def backend(self) -> str:
        """The primary's backend."""
        return self._primary.backend

    def classify_detailed(self, texts: Sequence[str]) -> Verdicts:
        try:
            return self._primary.classify_detailed(texts)
        except ModelUnavailableError:
            log.warning("model unavailable: %d texts answered by the %s fallback",
                        len(texts), self._fallback.name)
        inputs = [model_input(text) for text in texts]
        return Verdicts(results=self._fallback.predict(inputs), backend=self._fallback.name,
                        fallback=True,
                        model=model_version(self._fallback.model,
                                            str(getattr(self._fallback, "revision", "") or "")))

    def describe(self) -> ModelInfo:
        """The primary's model (the lexicon only answers while the primary is down)."""
        return self._primary.describe()

    def close(self) -> None:
        close = getattr(self._primary, "close", None)
        if close is not None:
            close()


def build_classifier(settings) -> _ClassifierBase:
    """The classifier ``settings`` (a :class:`bot.settings.BotSettings`) ask for: the model service
    when ``MODEL_SERVICE_URL`` is set, else the model in-process; wrapped by the lexicon fallback
    when ``SENTIMENT_FALLBACK=lexicon``."""
    classifier: _ClassifierBase
    if settings.model_service_url:
        classifier = RemoteClassifier(settings.model_service_url, settings.model_service_token,
                                      timeout=settings.model_service_timeout,
                                      retries=settings.model_service_retries,
                                      backoff=settings.model_service_backoff,
                                      audience=settings.model_service_audience)
    else:
        classifier = LocalClassifier.from_settings(settings.model)
    if settings.fallback == "lexicon":
        classifier = FallbackClassifier(classifier)
    return classifier
