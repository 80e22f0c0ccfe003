"""HTTP transport of the model service (FastAPI). The queue lives in :mod:`service.batching`,
the model runtimes in :mod:`service.backends`; this module only speaks HTTP.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Annotated, Callable

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr, StringConstraints, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.backends import Backend, load_backend
from service.batching import Batcher, BatcherClosedError, QueueFullError, TextRejectedError
from service.labels import LABELS, Classification
from service.limits import BodySizeLimitMiddleware
from service.logs import set_model_identity
from service.metrics import CONTENT_TYPE, MetricsMiddleware, ServiceMetrics
from service.model_card import load_evaluation, model_card
from service.settings import MAX_CHARS, MAX_TEXTS, ModelSettings, ServiceSettings

log = logging.getLogger(__name__)

RETRY_AFTER_FULL_S = 1
RETRY_AFTER_LOADING_S = 5
BACKEND_HEADER = "X-Sentiment-Backend"
RUNTIME_HEADER = "X-Sentiment-Runtime"
MODEL_HEADER = "X-Sentiment-Model"
REVISION_HEADER = "X-Model-Revision"

PRESENTATION = (
    "Sentimento: API de análise de sentimento de textos em português (Positivo, Neutro ou "
    "Negativo), com o modelo XLM-RoBERTa. Use GET /sintetize/{texto} para um texto ou "
    "POST /v1/classify com {\"texts\": [...]} para até 64 textos; documentação em /docs."
)

Text = Annotated[StrictStr, StringConstraints(max_length=MAX_CHARS)]


class ClassifyRequest(BaseModel):
    """Body of ``POST /v1/classify``."""

    model_config = ConfigDict(extra="forbid")
    texts: list[Text] = Field(min_length=1, max_length=MAX_TEXTS,
                              description=f"1 a {MAX_TEXTS} textos, cada um com até {MAX_CHARS} "
                                          "caracteres e não vazio")

    @field_validator("texts")
    @classmethod
    def _not_blank(cls, texts: list[str]) -> list[str]:
        blank = [str(i) for i, text in enumerate(texts) if not text.strip()]
        if blank:
            raise ValueError(f"texto vazio ou só com espaços na(s) posição(ões) {', '.join(blank)}")
        return texts


class Result(BaseModel):
    """The sentiment of one text."""

    label: str = Field(description="|".join(LABELS))
    label_pt: str = Field(description="Negativo|Neutro|Positivo")
    score: float = Field(description="probabilidade do rótulo escolhido")
    scores: dict[str, float] = Field(description="probabilidade de cada rótulo")


class ClassifyResponse(BaseModel):
    """Answer of ``POST /v1/classify``: one result per text, in input order."""

    model: str
    backend: str
    runtime: str = Field(description="torch|onnx|onnx-int8|lexicon")
    revision: str = Field(description="commit do hub, sha256:<12 hex> de um diretório local ou "
                                      "lexicon-<versão>")
    results: list[Result]


class OriginalResponse(BaseModel):
    """The original API's answer."""

    model_config = ConfigDict(populate_by_name=True)
    classificacao: str = Field(alias="Classificação", examples=["Positivo"])
    confianca: str = Field(alias="Confiança", examples=["98.900%"])


class ServiceState:
    """The loaded backend and its batcher, or why they are not there (yet)."""

    def __init__(self, settings: ServiceSettings, metrics: ServiceMetrics):
        self.settings = settings
        self.metrics = metrics
        self.backend: Backend | None = None
        self.batcher: Batcher | None = None
        self.error: BaseException | None = None
        self.loaded: Future = Future()  # resolves to the backend, or to the load error
        # The model's figures on the evaluation set (SENTIMENT_EVALUATION_FILE), read once.
        self.evaluation = load_evaluation(settings.model.evaluation_file)
        self._lock = threading.Lock()
        self._closed = False

    @property
    def ready(self) -> bool:
        """True once the model is loaded and the batcher takes work."""
        return self.batcher is not None

    def start(self, backend: Backend) -> None:
        """Put ``backend`` behind a new batcher and mark the service ready."""
        model = self.settings.model
        batcher = Batcher(backend, model.max_batch_size, model.max_batch_wait_ms,
                          model.max_queue_size, observer=self.metrics.observe_batch)
        with self._lock:
            if self._closed:  # shut down while loading: nothing will use it
                batcher.close()
                return
            self.backend, self.batcher = backend, batcher
        self.metrics.track_queue(lambda: batcher.queue_depth)
        self.metrics.ready.set(1)
        self.metrics.runtime.labels(backend.name, backend.runtime).set(1)
        self.metrics.model.info.labels(backend.model, backend.revision, backend.name,
                                       backend.runtime).set(1)
        set_model_identity(backend.model, backend.revision)
        if not self.loaded.done():
            self.loaded.set_result(backend)
        log.info("ready: backend %s, model %s, revision %s", backend.name, backend.model,
                 backend.revision)

    def fail(self, error: BaseException) -> None:
        """Record why the backend could not be loaded."""
        self.error = error
        if not self.loaded.done():
            self.loaded.set_exception(error)

    def load(self, loader: Callable[[ModelSettings], Backend]) -> None:
        """Load the configured backend (run in a background thread at start-up)."""
        try:
            backend = loader(self.settings.model)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # reported, then exits
            log.error("could not load the sentiment backend: %s", exc)
            self.fail(exc)
            return
        self.start(backend)

    def close(self) -> None:
        """Stop taking work and let the batcher finish what is queued."""
        with self._lock:
            self._closed = True
            batcher = self.batcher
        self.metrics.ready.set(0)
        if batcher is not None:
            batcher.close(timeout=30.0)


# Pydantic error type -> Portuguese sentence; the ones about the whole body are reported at "corpo".
_PROBLEMS = {
    "json_invalid": "JSON inválido",
    "missing": "campo obrigatório ausente",
    "model_attributes_type": 'deve ser um objeto JSON {"texts": ["..."]}',
    "dict_type": 'deve ser um objeto JSON {"texts": ["..."]}',
    "list_type": "deve ser uma lista de strings",
    "string_type": "deve ser uma string",
    "string_unicode": "texto com caracteres inválidos (surrogate isolado); envie Unicode válido",
    "too_short": f"envie de 1 a {MAX_TEXTS} textos",
    "too_long": f"envie no máximo {MAX_TEXTS} textos por requisição",
    "string_too_long": f"texto com mais de {MAX_CHARS} caracteres",
    "extra_forbidden": 'campo não reconhecido; o corpo aceita apenas "texts"',
}
_WHOLE_BODY = {"json_invalid", "model_attributes_type", "dict_type"}


def _validation_message(exc: RequestValidationError) -> str:
    """One readable sentence per problem, without echoing the texts back."""
    messages = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "corpo"
        kind = error.get("type", "")
        if kind in _WHOLE_BODY:
            loc = "corpo"
        if kind == "missing" and loc == "corpo":
            text = 'envie um objeto JSON {"texts": ["..."]}'
        else:
            text = _PROBLEMS.get(kind) or str(error.get("msg", "valor inválido")).removeprefix(
                "Value error, ")
        messages.append(f"{loc}: {text}")
    return "; ".join(messages) or "requisição inválida"


def create_app(settings: ServiceSettings, backend: Backend | None = None,
               loader: Callable[[ModelSettings], Backend] = load_backend) -> FastAPI:
    """Build the service.

    With ``backend`` the service is ready at once; without, ``loader`` (by default
    :func:`service.backends.load_backend`) runs in a background thread at start-up,
    so ``/healthz`` answers while ``/readyz`` says 503 until the model is loaded.
    ``app.state.service`` is the :class:`ServiceState`; its ``loaded`` future fails if
    loading fails.
    """
    metrics = ServiceMetrics()
    state = ServiceState(settings, metrics)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if backend is not None:
            state.start(backend)
        else:
            threading.Thread(target=state.load, args=(loader,), name="model-loader",
                             daemon=True).start()
        yield
        await asyncio.to_thread(state.close)

    app = FastAPI(title="Sentimento", version="1.0",
                  description="Análise de sentimento de textos em português brasileiro.",
                  lifespan=lifespan)
    app.state.service = state
    # The last added runs first: requests refused for their size are counted too.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                       on_reject=lambda reason: metrics.body_rejections.labels(reason).inc())
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.include_router(router)
    return app


async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with one readable Portuguese sentence per problem."""
    return JSONResponse({"detail": _validation_message(exc)}, status_code=422)


# FastAPI's and Starlette's own English details, in Portuguese.
_TRANSLATED = {
    "There was an error parsing the body": "corpo da requisição ilegível: envie JSON em UTF-8",
    "Not Found": "recurso não encontrado",
    "Method Not Allowed": "método não permitido",
}


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI's answer for an HTTP error, with the framework's English details in Portuguese."""
    if isinstance(exc.detail, str) and exc.detail in _TRANSLATED:
        exc = StarletteHTTPException(exc.status_code, _TRANSLATED[exc.detail], exc.headers)
    return await http_exception_handler(request, exc)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    """500 as JSON, naming only the exception class (never the text that caused it)."""
    log.error("unexpected %s while serving a request", exc.__class__.__name__)
    return JSONResponse({"detail": "erro interno do serviço de sentimento"}, status_code=500)


def _unavailable(detail: str, retry_after: int) -> HTTPException:
    return HTTPException(503, detail, headers={"Retry-After": str(retry_after)})


# --- Dependencies -------------------------------------------------------------------------------

def get_state(request: Request) -> ServiceState:
    """Dependency: the :class:`ServiceState` of the app serving ``request``."""
    return request.app.state.service


State = Annotated[ServiceState, Depends(get_state)]


def authorise(request: Request, state: State) -> None:
    """Dependency: require ``Authorization: Bearer <MODEL_SERVICE_TOKEN>`` when a token is configured."""
    token = state.settings.token
    if not token:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(401, "token ausente ou inválido: envie o cabeçalho "
                                 "Authorization: Bearer <MODEL_SERVICE_TOKEN>",
                            headers={"WWW-Authenticate": "Bearer"})


async def classify(state: ServiceState, texts: list[str],
                   field: str | None = None) -> tuple[Backend, list[Classification]]:
    """Classify ``texts`` through the batcher; every failure becomes an :class:`HTTPException`.

    ``field`` names the list in the request body (``texts``) so that a 422 for texts the model
    rejected says where they are: ``texts.2: ...``.
    """
    batcher, backend = state.batcher, state.backend
    if batcher is None or backend is None:
        if state.error is not None:
            raise _unavailable(f"o modelo não pôde ser carregado: {state.error}",
                               RETRY_AFTER_LOADING_S)
        raise _unavailable("o modelo ainda está carregando; tente novamente em instantes",
                           RETRY_AFTER_LOADING_S)
    try:
        results = await batcher.classify_async(texts)
    except QueueFullError as exc:
        state.metrics.queue_full.inc()
        raise _unavailable(f"serviço sobrecarregado: {exc}; tente novamente",
                           RETRY_AFTER_FULL_S) from exc
    except BatcherClosedError as exc:
        raise _unavailable("o serviço está encerrando; tente novamente",
                           RETRY_AFTER_FULL_S) from exc
    except TextRejectedError as exc:  # those texts, not the model: the caller must change them
        state.metrics.text_failures.labels("rejected").inc(len(exc.positions))
        raise HTTPException(422, _rejected_message(exc, field)) from exc
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the model failed
        state.metrics.text_failures.labels("model_error").inc(len(texts))
        log.error("model batch failed: %s", exc.__class__.__name__)
        raise HTTPException(500, f"falha do modelo ({exc.__class__.__name__})") from exc
    state.metrics.texts.labels(backend.name).inc(len(texts))
    state.metrics.model.observe((backend.model, backend.revision, backend.runtime),
                                      ((result.label, result.score) for result in results))
    return backend, results


def _rejected_message(exc: TextRejectedError, field: str | None) -> str:
    """Which texts the model could not analyse, by position (never the texts themselves)."""
    problem = f"o modelo não conseguiu analisar este texto ({exc.cause}); altere-o ou remova-o"
    if field is None:
        return problem
    return "; ".join(f"{field}.{position}: {problem}" for position in exc.positions)


def backend_headers(backend: Backend) -> dict[str, str]:
    """The headers naming who answered: ``X-Sentiment-Backend`` and ``X-Sentiment-Model``."""
    return {BACKEND_HEADER: backend.name, RUNTIME_HEADER: backend.runtime,
            MODEL_HEADER: backend.model, REVISION_HEADER: backend.revision}


# --- Routes -------------------------------------------------------------------------------------

router = APIRouter()


@router.get("/", summary="Apresentação")
async def index(state: State) -> dict:
    """Short presentation of the service, in Portuguese."""
    backend = state.backend
    return {"mensagem": PRESENTATION, "backend": backend.name if backend else None,
            "modelo": backend.model if backend else state.settings.model.model}


@router.get("/sintetize/{text:path}", summary="Sentimento de um texto (formato original)",
            response_model=OriginalResponse, dependencies=[Depends(authorise)],
            responses={401: {}, 422: {}, 503: {}})
async def sintetize(text: str, state: State) -> Response:
    """The original API: ``{"Classificação": "Positivo", "Confiança": "98.900%"}``.

    The backend that answered is in the ``X-Sentiment-Backend`` header. With
    ``SINTETIZE_ROUTE=off`` it answers 404: the text travels in the URL, which platform request
    logs record.
    """
    if not state.settings.sintetize_route:
        raise HTTPException(404, "rota desativada neste serviço (SINTETIZE_ROUTE=off): use "
                                 "POST /v1/classify")
    if not text.strip():
        raise HTTPException(422, "texto vazio: use /sintetize/<texto>")
    if len(text) > MAX_CHARS:
        raise HTTPException(422, f"texto com mais de {MAX_CHARS} caracteres")
    backend, results = await classify(state, [text])
    return JSONResponse(results[0].to_original(), headers=backend_headers(backend))


@router.post("/v1/classify", summary="Sentimento de até 64 textos",
             response_model=ClassifyResponse, dependencies=[Depends(authorise)],
             responses={401: {}, 422: {}, 503: {}})
async def classify_texts(body: ClassifyRequest, state: State) -> Response:
    """Classify 1 to 64 texts; results come in input order."""
    backend, results = await classify(state, body.texts, field="texts")
    return JSONResponse({"model": backend.model, "backend": backend.name,
                         "runtime": backend.runtime, "revision": backend.revision,
                         "results": [result.to_dict() for result in results]},
                        headers=backend_headers(backend))


@router.get("/v1/model", summary="O modelo em uso e suas métricas de avaliação",
            dependencies=[Depends(authorise)], responses={401: {}, 503: {}})
async def model_in_use(state: State) -> dict:
    """``{"model", "revision", "backend", "runtime", "evaluation"}``: ``evaluation`` is the JSON
    of ``SENTIMENT_EVALUATION_FILE`` read at start-up (``null`` when unset or unreadable)."""
    backend = state.backend
    if backend is None:
        if state.error is not None:
            raise _unavailable(f"o modelo não pôde ser carregado: {state.error}",
                               RETRY_AFTER_LOADING_S)
        raise _unavailable("o modelo ainda está carregando; tente novamente em instantes",
                           RETRY_AFTER_LOADING_S)
    return model_card(backend, state.evaluation)


@router.get("/healthz", summary="Vivo")
async def healthz(state: State) -> dict:
    """Alive: answers as soon as the process serves HTTP, loaded or not."""
    backend = state.backend
    return {"status": "ok", "ready": state.ready,
            "backend": backend.name if backend else None,
            "runtime": backend.runtime if backend else state.settings.model.runtime,
            "model": backend.model if backend else state.settings.model.model,
            "revision": backend.revision if backend else None}


@router.get("/readyz", summary="Pronto", responses={503: {}})
async def readyz(state: State) -> JSONResponse:
    """200 once the model is loaded, else 503."""
    backend = state.backend
    if state.ready and backend is not None:
        return JSONResponse({"status": "ready", "backend": backend.name,
                             "runtime": backend.runtime, "model": backend.model,
                             "revision": backend.revision})
    if state.error is not None:
        return JSONResponse({"status": "failed", "detail": str(state.error)}, status_code=503)
    return JSONResponse({"status": "loading"}, status_code=503,
                        headers={"Retry-After": str(RETRY_AFTER_LOADING_S)})


@router.get("/metrics", summary="Métricas Prometheus", include_in_schema=False)
async def prometheus_metrics(state: State) -> Response:
    """Prometheus text exposition of this app's registry."""
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)
