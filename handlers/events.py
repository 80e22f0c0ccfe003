"""Channel messages: acked at once, then (after the ack) de-duplicated, filtered and queued for
batched classification and counting."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App

from bot.pipeline import MessageCounter, PendingMessage, countable, message_day, valid_id
from bot.store import Store

log = logging.getLogger(__name__)


def first_delivery(store: Store, body: dict) -> bool:
    """False when this event was already claimed (a Slack retry, ``X-Slack-Retry-Num``, or another
    instance got it first); events without an id are always processed."""
    event_id = body.get("event_id")
    if not event_id:
        return True
    if store.claim_event(event_id):
        return True
    log.info("event %s already processed: redelivery skipped", event_id)
    return False


def channel_paused(store: Store, team_id: str, channel_id: str) -> bool:
    """True when the channel's members paused its analysis (``/sentimento pausar``)."""
    return store.channel_settings(team_id, channel_id).paused


def register(app: App, store: Store, counter: MessageCounter, timezone: ZoneInfo) -> None:
    """Listen to ``message`` events (``message.channels`` and ``message.groups``)."""

    def ack_event(ack: Ack) -> None:
        ack()

    def count_message(body: dict, event: dict, context) -> None:
        if not countable(event, context.get("bot_user_id")):
            return
        team_id = body.get("team_id") or event.get("team") or ""
        if not valid_id(team_id) or not valid_id(event.get("channel")):
            log.warning("message event without a valid team or channel id skipped")
            return
        # Before the claim and the model: a paused channel's messages are not even classified.
        if channel_paused(store, team_id, event["channel"]):
            return
        if not first_delivery(store, body):
            return
        counter.submit(PendingMessage(team_id=team_id, channel_id=event["channel"],
                                      day=message_day(event["ts"], timezone), text=event["text"],
                                      ts=event["ts"], thread_ts=event.get("thread_ts")))

    app.event("message")(ack=ack_event, lazy=[count_message])
