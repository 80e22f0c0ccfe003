"""Taking a channel message in: the checks between Slack's event and the message counter
(countable, valid ids, not paused, first delivery), in this order, so that a paused channel's
messages are not even classified and a redelivered event is counted once."""

from __future__ import annotations

import logging
from typing import Any, Mapping, Protocol
from zoneinfo import ZoneInfo

from bot.counting.counter import MessageCounter
from bot.counting.model import PendingMessage, countable, message_day
from bot.ids import valid_id
from bot.store.base import ChannelSwitches, Claims

log = logging.getLogger(__name__)


class IntakeStore(ChannelSwitches, Claims, Protocol):
    """What taking a message in needs: the channel's pause switch and the event claims."""


def first_delivery(store: Claims, body: Mapping[str, Any]) -> bool:
    """False when this event was already claimed (a Slack retry, ``X-Slack-Retry-Num``, or another
    instance got it first); events without an id are always processed."""
    event_id = body.get("event_id")
    if not event_id:
        return True
    if store.claim_event(event_id):
        return True
    log.info("event %s already processed: redelivery skipped", event_id)
    return False


def channel_paused(store: ChannelSwitches, team_id: str, channel_id: str) -> bool:
    """True when the channel's members paused its analysis (``/sentimento pausar``)."""
    return store.channel_settings(team_id, channel_id).paused


def take_message(store: IntakeStore, counter: MessageCounter, body: Mapping[str, Any],
                 event: Mapping[str, Any], bot_user_id: str | None, timezone: ZoneInfo) -> bool:
    """Queue one ``message`` event for counting; False when it is not counted (not countable,
    invalid ids, paused channel, or a redelivery)."""
    if not countable(event, bot_user_id):
        return False
    team_id = body.get("team_id") or event.get("team") or ""
    if not valid_id(team_id) or not valid_id(event.get("channel")):
        log.warning("message event without a valid team or channel id skipped")
        return False
    # Before the claim and the model: a paused channel's messages are not even classified.
    if channel_paused(store, team_id, event["channel"]):
        return False
    if not first_delivery(store, body):
        return False
    return counter.submit(PendingMessage(team_id=team_id, channel_id=event["channel"],
                                         day=message_day(event["ts"], timezone), text=event["text"],
                                         ts=event["ts"], thread_ts=event.get("thread_ts")))
