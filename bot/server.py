"""HTTP mode: a small Starlette app served by uvicorn.

``POST /slack/events`` takes every Slack request (slash commands, events, interactivity,
shortcuts), ``GET /healthz`` answers liveness probes, ``POST /tasks/digest`` (with its
secret) runs the weekly digest and ``POST /tasks/retention`` (same secret) deletes expired
records. Bolt's own Starlette adapter calls the
synchronous ``App.dispatch`` on the event loop; here it runs in Starlette's thread pool instead, so
that one slow acknowledgement (a store call) never holds up the others. The work after each ack
runs in Bolt's lazy-listener threads.

What a request from the internet goes through, in order (nothing is parsed before its step):

1. :class:`BodySizeLimit`, around the whole app: a ``Content-Length`` over the limit gets 413
   unread, a longer streamed body gets 413 as soon as it passes the limit (never buffered
   beyond it); a malformed ``Content-Length`` gets 400.
2. ``/slack/events``: the signature headers' shape (timestamp: ASCII digits; signature:
   ``v0=`` and 64 hex digits), the timestamp's age and the HMAC over the raw bytes: 401 for
   any problem, logged without the body.
3. A signed body that is not UTF-8, or that Bolt cannot parse into a JSON object (a
   ``payload=`` field that is not JSON, a JSON array...), gets 400; so does one whose fields
   would make Bolt's request parsing raise (:func:`bot.payloads.check_envelope`), or 200 for
   an Events API delivery (Slack would retry it).
4. Bolt, whose first middleware after its own signature check refuses the payloads the
   listeners cannot read (:mod:`bot.validation`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from typing import Callable, Sequence

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_bolt.request.internals import parse_body
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.failures import FAILURES, count_failure, describe
from bot.metrics import CONTENT_TYPE, BotMetrics, request_kind
from bot.payloads import EVENT, check_envelope, kind_of
from bot.reports.digest import DigestRun
from bot.settings import DEFAULT_MAX_BODY_BYTES
from bot.validation import MALFORMED_BODY, Rejections, log_rejection
from bot.workspaces.usecases import RetentionRun

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
DIGEST_PATH = "/tasks/digest"
RETENTION_PATH = "/tasks/retention"
SECRET_HEADER = "X-Digest-Secret"
MAX_TIMESTAMP_AGE_S = 5 * 60  # Slack's advice (and Bolt's check)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds; ``[0-9]``: ASCII digits only
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_CONTENT_LENGTH = re.compile(rb"[0-9]{1,19}")
# Headers that steer Bolt's dispatch (lazy listeners re-dispatch with them): not covered by
# Slack's signature, so never taken from the internet.
_BOLT_INTERNAL_HEADER = "x-slack-bolt-"


class BodySizeLimit:
    """Pure ASGI middleware: request bodies up to ``max_bytes``, checked before they are read.

    A ``Content-Length`` over the limit is answered 413 without reading the body; a body sent
    without one (chunked), or longer than it claimed, is read chunk by chunk and answered 413
    as soon as it passes the limit. The body read so far (at most ``max_bytes``) is then handed
    to the app in one piece. A ``Content-Length`` that is not a plain number, or two that
    disagree, get 400. Refusals are counted in ``rejections`` (``too_large``,
    ``bad_content_length``).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, rejections: Rejections | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.rejections = rejections if rejections is not None else Rejections()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = {value for name, value in scope.get("headers", ()) if name.lower() == b"content-length"}
        if len(lengths) > 1 or any(not _CONTENT_LENGTH.fullmatch(value) for value in lengths):
            await self._refuse(send, 400, "bad_content_length")
            return
        if lengths and int(next(iter(lengths))) > self.max_bytes:
            await self._refuse(send, 413, "too_large")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nobody to answer
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send, 413, "too_large")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, send: Send, status: int, reason: str) -> None:
        self.rejections.add(reason)
        if status == 413:
            log.warning("refused a request body over %d bytes (413)", self.max_bytes)
            error = f"corpo da requisição maior que {self.max_bytes} bytes"
        else:
            log.warning("refused a request with a malformed Content-Length (400)")
            error = "Content-Length inválido"
        await send_json(send, status, {"error": error})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then whatever the server says (disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def send_json(send: Send, status: int, content: dict) -> None:
    """Answer with ``content`` as JSON, closing the connection (the body may be unread)."""
    body = JSONResponse(content).body
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode("ascii")),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def signature_problem(secret: str, timestamp: str | None, signature: str | None, body: bytes,
                      now: float) -> str | None:
    """Why a request is not signed by Slack with ``secret`` (for the log: no header or body
    content, only the timestamp's age), or None when it is. Slack's v0 scheme: HMAC-SHA256 of
    ``v0:<timestamp>:<raw body bytes>``. Never raises, whatever the headers and bytes."""
    if timestamp is None or signature is None:
        return "signature headers missing"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "malformed timestamp"
    age = now - int(timestamp)
    if abs(age) > MAX_TIMESTAMP_AGE_S:
        return f"timestamp age {age:.0f} s"
    if not _SIGNATURE.fullmatch(signature):
        return "malformed signature"
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
        return f"signature mismatch, timestamp age {age:.0f} s"
    return None


def bolt_request(text: str, request: Request,
                 rejections: Rejections) -> BoltRequest | Response:
    """The :class:`BoltRequest` for a signed UTF-8 body, or the answer when Bolt could not
    build one: 400 for a body that is not a JSON object (or a form), 400 or 200 (events) for
    fields Bolt's request parsing cannot read."""
    headers = {name: value for name, value in request.headers.items()
               if not name.startswith(_BOLT_INTERNAL_HEADER)}
    content_type = (request.headers.get("content-type") or "").split(";")[0] or None
    try:
        body = parse_body(text, content_type)  # what BoltRequest does first
    except (ValueError, RecursionError):  # JSON errors are ValueErrors; RecursionError: nesting
        body = None
    if not isinstance(body, dict):
        rejections.add("not_an_object")
        log.warning("rejected a signed Slack request whose body is not a JSON object or a form")
        return JSONResponse(MALFORMED_BODY, status_code=400)
    rejection = check_envelope(body)
    if rejection is not None:
        rejections.add(rejection.kind)
        log_rejection(rejection)
        if rejection.kind == EVENT:
            return Response(status_code=200)
        return JSONResponse(MALFORMED_BODY, status_code=400)
    try:
        return BoltRequest(body=text, query=request.query_params,  # type: ignore[arg-type]
                           headers=headers)  # type: ignore[arg-type]
    except Exception as exc:  # pylint: disable=broad-exception-caught  # a 4xx, not a 500
        rejections.add(kind_of(body))
        log.warning("rejected a signed Slack request Bolt could not read: %s",
                    exc.__class__.__name__)
        return Response(status_code=200) if kind_of(body) == EVENT else JSONResponse(
            MALFORMED_BODY, status_code=400)


def create_asgi_app(bolt_app: App, signing_secret: str | None,
                    extra_routes: Sequence[BaseRoute] = (), *,
                    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                    rejections: Rejections | None = None,
                    metrics: BotMetrics | None = None) -> BodySizeLimit:
    """The ASGI app: Slack requests to ``bolt_app``, plus ``/healthz`` and any ``extra_routes``
    (e.g. ``POST /tasks/digest``), all behind :class:`BodySizeLimit` (``max_body_bytes``).

    Requests are checked against ``signing_secret`` here, before Bolt (which checks again):
    malformed signature headers, a bad signature or a timestamp more than 5 minutes off get
    401, and only the timestamp's age is logged, never the body (Bolt's own check logs the whole
    body, message text included). Refusals before Bolt are counted in ``rejections`` (by
    reason: ``signature``, ``not_utf8``, ``not_an_object``, ``too_large``... or payload kind);
    the returned app exposes it as ``.rejections``. ``GET /metrics`` serves ``metrics`` (a new
    :class:`BotMetrics` when not given) with the rejections and each request's ack time.
    """
    rejections = rejections if rejections is not None else Rejections()
    metrics = metrics if metrics is not None else BotMetrics()
    metrics.export_counts("sentimento_bot_requests_rejected", "Requests refused before any "
                          "listener (bad signature, too large, malformed), by reason or payload "
                          "kind.", "reason", rejections.counts)
    metrics.export_failures(FAILURES)

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        body = await request.body()
        if signing_secret:
            problem = signature_problem(signing_secret, request.headers.get("x-slack-request-timestamp"),
                                        request.headers.get("x-slack-signature"), body, time.time())
            if problem is not None:
                rejections.add("signature")
                log.warning("rejected a request with an invalid Slack signature (%s)", problem)
                return JSONResponse({"error": "invalid request"}, status_code=401)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            rejections.add("not_utf8")
            log.warning("rejected a signed Slack request whose body is not UTF-8")
            return JSONResponse(MALFORMED_BODY, status_code=400)
        built = bolt_request(text, request, rejections)
        if isinstance(built, Response):
            return built
        bolt_response = await run_in_threadpool(bolt_app.dispatch, built)
        kind = request_kind(built.body)
        metrics.requests.labels(kind).inc()
        metrics.ack_seconds.labels(kind).observe(time.perf_counter() - started)
        return to_starlette_response(bolt_response)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def prometheus(_request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    routes: list[BaseRoute] = [Route(EVENTS_PATH, slack_events, methods=["POST"]),
                               Route("/healthz", healthz, methods=["GET"]),
                               Route("/metrics", prometheus, methods=["GET"]),
                               *oauth_routes(bolt_app), *extra_routes]
    return BodySizeLimit(Starlette(routes=routes), max_body_bytes, rejections)


def secret_matches(given: str, secret: str) -> bool:
    """Constant-time comparison of the header's value with ``DIGEST_SECRET``."""
    return hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8"))


def refused_task(request: Request, secret: str) -> Response | None:
    """The answer to a task request without the right ``X-Digest-Secret`` (401 missing, 403
    wrong), or None when it may run."""
    given = request.headers.get(SECRET_HEADER)
    if not given:
        return JSONResponse({"error": f"cabeçalho {SECRET_HEADER} ausente"}, status_code=401)
    if not secret_matches(given, secret):
        return JSONResponse({"error": f"{SECRET_HEADER} incorreto"}, status_code=403)
    return None


def _task_route(path: str, secret: str, job: Callable[[], tuple[dict, bool]], failure: str,
                unavailable: str) -> Route:
    """A scheduled task's route: 401 without the ``X-Digest-Secret`` header, 403 with a wrong
    one, else runs ``job`` (its JSON answer and whether part of it failed: then 503, so that
    Cloud Scheduler retries). A job that raises answers 503 ``unavailable`` and is counted as
    the handled failure ``failure``."""
    if not secret:
        raise ValueError("DIGEST_SECRET vazio")

    async def endpoint(request: Request) -> Response:
        refused = refused_task(request, secret)
        if refused is not None:
            return refused
        try:
            answer, failed = await run_in_threadpool(job)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # a 503 the scheduler retries
            count_failure(failure, describe(exc))
            return JSONResponse({"error": unavailable}, status_code=503)
        return JSONResponse(answer, status_code=503 if failed else 200)

    return Route(path, endpoint, methods=["POST"])


def digest_route(secret: str, job: Callable[[], DigestRun]) -> Route:
    """``POST /tasks/digest``: runs ``job`` and answers its :class:`DigestRun` as JSON (503 when
    some channel failed for a temporary reason; 503 and ``digest_job_failed`` when the job
    itself failed). Authenticated as :func:`_task_route` says."""
    def run() -> tuple[dict, bool]:
        done = job()
        return done.to_dict(), done.failed

    return _task_route(DIGEST_PATH, secret, run, "digest_job_failed",
                       "resumo semanal indisponível; tente novamente")


def retention_route(secret: str, purge_job: Callable[[], dict[str, int]],
                    forget_job: Callable[[], RetentionRun] | None = None) -> Route:
    """``POST /tasks/retention``: authenticated like the digest (``X-Digest-Secret``, 401/403).
    First ``forget_job`` (:func:`bot.workspaces.usecases.forget_due`: the data of workspaces
    whose grace period after an uninstall ended), then ``purge_job``
    (:func:`bot.store.retention.purge`: records past their retention). Answers
    ``{"deleted": {kind: n}, "workspaces_forgotten": ..., "workspaces_kept": [...],
    "workspaces_failed": [...]}``; 503 when either failed (a purge failure is counted as
    ``retention_purge_failed``; a workspace's, as ``workspace_forget_failed``, and its deletion
    stays scheduled), so that Cloud Scheduler retries."""
    def run() -> tuple[dict, bool]:
        forgotten = forget_job() if forget_job else RetentionRun()
        deleted = purge_job()
        return {"deleted": deleted, **forgotten.to_dict()}, bool(forgotten.failed)

    return _task_route(RETENTION_PATH, secret, run, "retention_purge_failed",
                       "limpeza de registros expirados indisponível; tente novamente")


def oauth_routes(bolt_app: App) -> list[BaseRoute]:
    """OAuth mode: ``GET`` the install page and the redirect (Bolt's OAuth flow; their paths are
    ``SLACK_INSTALL_PATH`` and ``SLACK_REDIRECT_URI_PATH``). None without OAuth. Only the query
    string and the headers reach Bolt (the state cookie); there is no body."""
    flow = bolt_app.oauth_flow
    if flow is None:
        return []

    def endpoint(handle: Callable[[BoltRequest], BoltResponse]):
        async def answer(request: Request) -> Response:
            oauth_request = BoltRequest(body="", query=request.url.query,
                                        headers=dict(request.headers.items()))
            try:
                bolt_response = await run_in_threadpool(handle, oauth_request)
            except Exception as exc:  # pylint: disable=broad-exception-caught  # a page, not a 500 trace
                log.error("OAuth %s failed: %s", request.url.path, exc.__class__.__name__)
                return Response("Instalação indisponível; tente novamente em alguns minutos.",
                                status_code=503, media_type="text/plain; charset=utf-8")
            return to_starlette_response(bolt_response)

        return answer

    return [Route(flow.install_path, endpoint(flow.handle_installation), methods=["GET"]),
            Route(flow.redirect_uri_path, endpoint(flow.handle_callback), methods=["GET"])]
