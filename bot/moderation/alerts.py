"""Moderation alerts: raised when a thread turns negative (watched after classification) or when
a member flags a message, kept in the store, and posted in the moderators' channel.

Alerts go only to the moderators' channel (whoever configures it is responsible for who is in
it); without one they wait in the store (the last 50) and show in an admin's App Home, only
for the channels that admin is a member of. No message text is ever part of an alert.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Callable, Sequence

from slack_sdk import WebClient

from bot.counting.counter import Classified
from bot.counting.model import PendingMessage
from bot.ids import is_channel_id, valid_id, valid_ts
from bot.moderation import views
from bot.moderation.rules import (
    COOLDOWN_S, Alert, Flag, ModerationRule, ThreadEntry, ThreadState, is_strongly_negative,
    manual_flag, new_alert_id, observe,
)
from bot.slack import SLACK_ERRORS, slack_error
from bot.store.base import ModerationStore
from service.labels import Classification

log = logging.getLogger(__name__)

Clock = Callable[[], float]


def permalink(client: WebClient, channel_id: str, ts: str) -> str | None:
    """``chat.getPermalink`` (no scope needed); None when Slack cannot give one."""
    try:
        return client.chat_getPermalink(channel=channel_id, message_ts=ts).get("permalink")
    except SLACK_ERRORS as exc:
        log.warning("no permalink for an alert: %s", slack_error(exc))
        return None


def post_alert(client: WebClient, store: ModerationStore, alert: Alert, channel_id: str) -> bool:
    """Post ``alert`` in the moderators' channel and record where; False when it stays pending."""
    try:
        posted = client.chat_postMessage(channel=channel_id, unfurl_links=False,
                                         **views.alert_message(alert))
    except SLACK_ERRORS as exc:
        log.warning("alert not posted to the moderators' channel: %s", slack_error(exc))
        return False
    store.mark_alert_posted(alert.team_id, alert.alert_id, channel_id, str(posted.get("ts")),
                            alert.permalink)
    return True


def raise_alert(client: WebClient, store: ModerationStore, alert: Alert) -> Alert:
    """Keep the alert (pending), then post it where the workspace's settings say."""
    alert = dataclasses.replace(alert, permalink=permalink(client, alert.channel_id,
                                                           alert.message_ts))
    store.add_alert(alert)
    channel_id = store.moderation_settings(alert.team_id).channel_id
    if channel_id:
        post_alert(client, store, alert, channel_id)
    return alert


def post_pending(client: WebClient, store: ModerationStore, team_id: str,
                 channel_id: str) -> tuple[int, bool]:
    """Post the workspace's pending alerts, oldest first, in its new moderators' channel: how
    many were posted, and whether one failed (the rest then stay pending)."""
    sent = 0
    for alert in reversed(store.pending_alerts(team_id)):
        if not post_alert(client, store, alert, channel_id):
            return sent, True
        sent += 1
    return sent, False


def thread_watcher(store: ModerationStore, client: WebClient,
                   clock: Clock = time.time) -> Classified:
    """The :class:`bot.counting.counter.MessageCounter` listener: each classified thread reply
    (and a strongly negative top-level message, a possible thread root) goes to its thread's
    rule."""

    def watch(batch: Sequence[PendingMessage], results: Sequence[Classification]) -> None:
        rules: dict[str, ModerationRule] = {}
        for item, result in zip(batch, results):
            if not valid_ts(item.ts) or (item.thread_ts is not None and not valid_ts(item.thread_ts)):
                continue
            if item.team_id not in rules:
                rules[item.team_id] = store.moderation_settings(item.team_id).rule
            rule = rules[item.team_id]
            negative = is_strongly_negative(result.scores, rule.threshold)
            if item.thread_ts is None and not negative:
                continue  # a root that is not negative changes no thread's count
            root = item.thread_ts or item.ts
            entry = ThreadEntry(float(item.ts), negative)
            now = clock()
            flag = store.update_thread(item.team_id, item.channel_id, root,
                                       lambda state, e=entry, r=rule, n=now: observe(state, e, n, r))
            if flag is not None:
                raise_alert(client, store, Alert(
                    alert_id=new_alert_id(), team_id=item.team_id, channel_id=item.channel_id,
                    thread_ts=root, message_ts=root, negatives=flag.negatives,
                    span_s=flag.span_s, created_at=now))
                log.info("moderation alert raised for a thread (%d negative messages)",
                         flag.negatives)

    return watch


@dataclasses.dataclass(frozen=True)
class FlaggedMessage:
    """Where a member used "Sinalizar para moderação": ids and timestamps only."""

    team_id: str
    channel_id: str
    ts: object  # unchecked payload values: checked by flag_thread
    thread_ts: object
    user_id: str


def flag_thread(store: ModerationStore, client: WebClient, flagged: FlaggedMessage,
                now: float) -> dict:
    """A member flagged a message: raise a manual alert for its thread unless one was raised in
    the last 6 h; the answer for that member."""
    ts, root = flagged.ts, flagged.thread_ts or flagged.ts
    if not (valid_id(flagged.team_id) and is_channel_id(flagged.channel_id)
            and valid_ts(ts) and valid_ts(root)):
        return views.flag_refused_message()
    team, channel = flagged.team_id, flagged.channel_id
    rule = store.moderation_settings(team).rule

    def change(state: ThreadState) -> tuple[ThreadState, Flag | None]:
        if state.last_alert_at is not None and now - state.last_alert_at < COOLDOWN_S:
            return state, None
        flag = manual_flag(state, now, rule)
        return dataclasses.replace(state, last_alert_at=now,
                                   last_alert_negatives=flag.negatives), flag

    flag = store.update_thread(team, channel, str(root), change)
    if flag is not None:
        raise_alert(client, store, Alert(
            alert_id=new_alert_id(), team_id=team, channel_id=channel, thread_ts=str(root),
            message_ts=str(ts), negatives=flag.negatives, span_s=flag.span_s, created_at=now,
            manual=True, flagged_by=flagged.user_id))
    return views.flag_answer(flag is not None)
