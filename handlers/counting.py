"""Channel messages: taken into the counter's backlog while Slack waits (memory only, no store,
no model), then answered: 200 once accepted or ignored, 503 when the backlog cannot take it, so
that Slack redelivers it later (to this or another instance)."""

from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo

from slack_bolt import App, BoltContext, BoltResponse

from bot.counting.counter import MessageCounter
from bot.counting.usecases import ACCEPTED, IGNORED, take_message
from handlers import ack_now

REFUSED_BODY = {"error": "backlog cheio ou bot encerrando; reenvie mais tarde"}


def take_in(counter: MessageCounter, timezone: ZoneInfo, body: dict, context: BoltContext,
            next: object) -> BoltResponse:  # pylint: disable=redefined-builtin  # Bolt's name
    """Listener middleware of ``message`` events: the whole answer, without running a listener
    (no lazy work, no executor: nothing to queue behind)."""
    del next  # never called: the answer is decided here
    event = body.get("event") or {}
    result = take_message(counter, body, event, context.get("bot_user_id"), timezone)
    if result in (ACCEPTED, IGNORED):
        return BoltResponse(status=200, body="")
    return BoltResponse(status=503, body=REFUSED_BODY)


def register(app: App, counter: MessageCounter, timezone: ZoneInfo) -> None:
    """Listen to ``message`` events (``message.channels`` and ``message.groups``)."""
    app.event("message", middleware=[partial(take_in, counter, timezone)])(ack_now)
