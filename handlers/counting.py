"""Channel messages: acked at once, then (after the ack) filtered, de-duplicated and queued for
batched classification and counting."""

from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo

from slack_bolt import App, BoltContext

from bot.counting.counter import MessageCounter
from bot.counting.usecases import IntakeStore, take_message
from handlers import ack_now


def count_message(store: IntakeStore, counter: MessageCounter, timezone: ZoneInfo, body: dict,
                  event: dict, context: BoltContext) -> None:
    """After the ack: hand the message to the counter (see :func:`take_message`)."""
    take_message(store, counter, body, event, context.get("bot_user_id"), timezone)


def register(app: App, store: IntakeStore, counter: MessageCounter, timezone: ZoneInfo) -> None:
    """Listen to ``message`` events (``message.channels`` and ``message.groups``)."""
    app.event("message")(ack=ack_now, lazy=[partial(count_message, store, counter, timezone)])
