"""The Bolt middleware that refuses malformed Slack payloads before any listener runs.

Every request Bolt dispatches is checked by :func:`bot.payloads.check`. A malformed one gets
400 (commands, button clicks, shortcuts: Slack shows the user that the app failed) or, for an
Events API delivery, a 200 that does nothing (Slack would otherwise retry it three times); a
kind without a listener gets Bolt's own 404. One log line names the payload kind and the field
path, never a value. Rejections are counted per kind in a :class:`Rejections` (the bot has no
metrics module yet: a Prometheus ``/metrics`` can export :meth:`Rejections.counts`).

The middleware is registered with ``App(before_authorize=...)``, which runs it right after
Bolt's signature check: ``app.use`` would put it after Bolt's ``IgnoringSelfEvents``, which
already raises on an ``event`` that is not an object.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Callable

from slack_bolt.middleware import Middleware
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot.payloads import EVENT, OTHER, Rejection, check

log = logging.getLogger(__name__)

MALFORMED_BODY = {"error": "requisição do Slack malformada"}


class Rejections:
    """Thread-safe counts of refused requests, by a short label (a payload kind, or a reason
    such as ``signature`` in :mod:`bot.server`). Labels are a small fixed set: no values."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, label: str) -> None:
        """Count one rejection under ``label``."""
        with self._lock:
            self._counts[label] += 1

    def counts(self) -> dict[str, int]:
        """A copy of the counts so far."""
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        """All rejections so far."""
        with self._lock:
            return sum(self._counts.values())


def log_rejection(rejection: Rejection) -> None:
    """The one log line of a refused payload: kind and field path, never a value."""
    log.warning("rejected a malformed Slack %s payload: field %s is missing, of the wrong type "
                "or badly formatted", rejection.kind, rejection.field)


def status_for(rejection: Rejection) -> int:
    """200 for an Events API delivery (ignored, not retried by Slack), 404 for a kind with no
    listener (as Bolt answers it), else 400."""
    if rejection.kind == EVENT:
        return 200
    return 404 if rejection.kind == OTHER and rejection.field == "type" else 400


def response_for(rejection: Rejection) -> BoltResponse:
    """The answer to a refused payload (see :func:`status_for`)."""
    status = status_for(rejection)
    if status == 200:
        return BoltResponse(status=200, body="")
    if status == 404:
        return BoltResponse(status=404, body={"error": "unhandled request"})
    return BoltResponse(status=400, body=MALFORMED_BODY)


class PayloadGuard(Middleware):
    """Bolt global middleware: :func:`bot.payloads.check` on every request, before listeners."""

    def __init__(self, rejections: Rejections | None = None) -> None:
        self.rejections = rejections if rejections is not None else Rejections()

    # pylint: disable-next=redefined-builtin  # Bolt calls process(req=, resp=, next=)
    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse:
        """Answer a malformed payload here; hand a well-formed one on."""
        rejection = check(req.body)
        if rejection is None:
            return next()
        if rejection.kind == OTHER and rejection.field == "type":
            log.info("Slack request of a kind no listener handles: answered 404")
        else:
            log_rejection(rejection)
        self.rejections.add(rejection.kind)
        return response_for(rejection)
