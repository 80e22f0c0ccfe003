"""Channel messages: acked at once, then (after the ack) de-duplicated, filtered and queued for
batched classification and counting."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App

from bot.pipeline import MessageCounter, PendingMessage, countable, message_day
from bot.ports import TallySink

log = logging.getLogger(__name__)


def first_delivery(store: TallySink, body: dict) -> bool:
    """False when this event was already claimed (a Slack retry, ``X-Slack-Retry-Num``, or another
    instance got it first); events without an id are always processed."""
    event_id = body.get("event_id")
    if not event_id:
        return True
    if store.claim_event(event_id):
        return True
    log.info("event %s already processed: redelivery skipped", event_id)
    return False


def register(app: App, store: TallySink, counter: MessageCounter, timezone: ZoneInfo) -> None:
    """Listen to ``message`` events (``message.channels`` and ``message.groups``)."""

    def ack_event(ack: Ack) -> None:
        ack()

    def count_message(body: dict, event: dict, context) -> None:
        if not countable(event, context.get("bot_user_id")):
            return
        if not first_delivery(store, body):
            return
        team_id = body.get("team_id") or event.get("team") or ""
        counter.submit(PendingMessage(team_id=team_id, channel_id=event["channel"],
                                      day=message_day(event["ts"], timezone), text=event["text"]))

    app.event("message")(ack=ack_event, lazy=[count_message])
