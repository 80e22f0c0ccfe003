"""Taking a channel message in, in the request thread and in memory only: the pure checks
(a person's new message in a channel, valid ids), then the counter's bounded backlog.

Whether the channel is paused and whether the event was already counted (a Slack redelivery,
or another instance) need the store: the counter checks them in the background, so that an
answer to Slack never waits for the store or the model.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from bot.counting.counter import MessageCounter
from bot.counting.model import PendingMessage, countable, message_day
from bot.ids import valid_id, valid_ts

log = logging.getLogger(__name__)

ACCEPTED = "accepted"  # in the backlog: answer 200, it will be counted once
IGNORED = "ignored"  # nothing to count (a bot, an edit, a DM, invalid ids): answer 200


def take_message(counter: MessageCounter, body: Mapping[str, Any], event: Mapping[str, Any],
                 bot_user_id: str | None, timezone: ZoneInfo) -> str:
    """:data:`ACCEPTED`, :data:`IGNORED`, or the counter's refusal reason (the backlog is full
    or the bot is shutting down: answer non-200 so that Slack redelivers)."""
    if not countable(event, bot_user_id):
        return IGNORED
    team_id = body.get("team_id") or event.get("team") or ""
    channel_id, ts = event.get("channel"), event.get("ts")
    if not (valid_id(team_id) and valid_id(channel_id) and valid_ts(ts)):
        log.warning("message event without a valid team id, channel id or ts skipped")
        return IGNORED
    try:
        day = message_day(ts, timezone)
    except (ValueError, OverflowError, OSError):  # a ts no calendar holds
        log.warning("message event with an impossible ts skipped")
        return IGNORED
    thread_ts = event.get("thread_ts")
    message = PendingMessage(team_id=team_id, channel_id=channel_id, day=day, text=event["text"],
                             ts=ts, thread_ts=thread_ts if valid_ts(thread_ts) else None)
    event_id = body.get("event_id")
    refusal = counter.offer(message, event_id if isinstance(event_id, str) else None)
    return ACCEPTED if refusal is None else refusal
