"""HTTP mode: a small Starlette app served by uvicorn.

``POST /slack/events`` takes every Slack request (slash commands, events, interactivity,
shortcuts), ``GET /healthz`` answers liveness probes and ``POST /tasks/digest`` (with its
secret) runs the weekly digest. Bolt's own Starlette adapter calls the
synchronous ``App.dispatch`` on the event loop; here it runs in Starlette's thread pool instead, so
that one slow acknowledgement (a store call) never holds up the others. The work after each ack
runs in Bolt's lazy-listener threads.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Callable, Sequence

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from slack_sdk.signature import SignatureVerifier

from bot.reports.digest import DigestRun

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
DIGEST_PATH = "/tasks/digest"
SECRET_HEADER = "X-Digest-Secret"


def create_asgi_app(bolt_app: App, signing_secret: str | None,
                    extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The ASGI app: Slack requests to ``bolt_app``, plus ``/healthz`` and any ``extra_routes``
    (e.g. a later ``POST /tasks/digest``).

    Requests are checked against ``signing_secret`` here, before Bolt (which checks again):
    a bad signature or a timestamp more than 5 minutes off gets 401, and only the timestamp's
    age is logged, never the body (Bolt's own check logs the whole body, message text included).
    """
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        if verifier is not None and not verifier.is_valid_request(body, dict(request.headers)):
            timestamp = request.headers.get("x-slack-request-timestamp", "")
            age = f"{time.time() - int(timestamp):.0f} s" if timestamp.isdigit() else "missing"
            log.warning("rejected a request with an invalid Slack signature (timestamp age %s)", age)
            return JSONResponse({"error": "invalid request"}, status_code=401)
        bolt_response = await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes: list[BaseRoute] = [Route(EVENTS_PATH, slack_events, methods=["POST"]),
                               Route("/healthz", healthz, methods=["GET"]), *extra_routes]
    return Starlette(routes=routes)


def secret_matches(given: str, secret: str) -> bool:
    """Constant-time comparison of the header's value with ``DIGEST_SECRET``."""
    return hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8"))


def digest_route(secret: str, job: Callable[[], DigestRun]) -> Route:
    """``POST /tasks/digest``: 401 without the ``X-Digest-Secret`` header, 403 with a wrong one,
    else runs ``job`` and answers its :class:`DigestRun` as JSON (503 when some channel failed
    for a temporary reason or the job itself failed, so that Cloud Scheduler retries)."""
    if not secret:
        raise ValueError("DIGEST_SECRET vazio")

    async def endpoint(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER)
        if not given:
            return JSONResponse({"error": f"cabeçalho {SECRET_HEADER} ausente"}, status_code=401)
        if not secret_matches(given, secret):
            return JSONResponse({"error": f"{SECRET_HEADER} incorreto"}, status_code=403)
        try:
            run = await run_in_threadpool(job)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # a 503 the scheduler retries
            log.error("digest run failed: %s", exc.__class__.__name__)
            return JSONResponse({"error": "resumo semanal indisponível; tente novamente"},
                                status_code=503)
        return JSONResponse(run.to_dict(), status_code=503 if run.failed else 200)

    return Route(DIGEST_PATH, endpoint, methods=["POST"])
