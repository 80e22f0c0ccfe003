"""HTTP mode: a small Starlette app served by uvicorn.

``POST /slack/events`` takes every Slack request (slash commands, events, interactivity,
shortcuts) and ``GET /healthz`` answers liveness probes. Bolt's own Starlette adapter calls the
synchronous ``App.dispatch`` on the event loop; here it runs in Starlette's thread pool instead, so
that one slow acknowledgement (a store call) never holds up the others. The work after each ack
runs in Bolt's lazy-listener threads.
"""

from __future__ import annotations

import logging
import time
from typing import Sequence

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


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
