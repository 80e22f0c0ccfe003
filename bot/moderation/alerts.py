"""Moderation alerts: raised when a thread turns negative (watched after classification) or when
a member flags a message, kept in the store, and posted in the moderators' channel.

Alerts go only to the moderators' channel (whoever configures it is responsible for who is in
it); without one, or while it cannot be posted in, they wait in the store (the last 50) and
show in an admin's App Home, only for the channels that admin is a member of, and in
``moderacao status``. An alert is kept in the same store transaction as its thread's state, so
a thread is never muted by an alert that was lost. No message text is ever part of an alert.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Callable, Sequence

from slack_sdk import WebClient

from bot.counting.counter import Classified
from bot.counting.model import PendingMessage
from bot.failures import count_failure
from bot.ids import is_channel_id, valid_id, valid_ts
from bot.moderation import views
from bot.moderation.rules import (
    COOLDOWN_S, Alert, ModerationRule, ThreadEntry, ThreadState, is_strongly_negative,
    manual_flag, new_alert_id, observe_all,
)
from bot.slack import slack_error
from bot.store.base import Clock, ModerationStore
from service.labels import Classification

log = logging.getLogger(__name__)

ThreadKey = tuple[str, str, str]  # team, channel, root ts

# chat.postMessage errors that mean the moderators' channel cannot take alerts until someone
# acts (invite the app, pick another channel): whoever set it is told once by DM.
UNREACHABLE_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


def permalink(client: WebClient, channel_id: str, ts: str) -> str | None:
    """``chat.getPermalink`` (no scope needed); None when Slack cannot give one."""
    try:
        return client.chat_getPermalink(channel=channel_id, message_ts=ts).get("permalink")
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the alert goes without a link
        log.warning("no permalink for an alert: %s", slack_error(exc))
        return None


def post_alert(client: WebClient, store: ModerationStore, alert: Alert, channel_id: str, *,
               warn: bool = True) -> bool:
    """Post ``alert`` in the moderators' channel and record where; False when it stays pending
    (with Slack's error code, shown in ``moderacao status`` and the admin's App Home). When the
    channel is unreachable, whoever set it is told once by DM (``warn``), or only marked told."""
    try:
        posted = client.chat_postMessage(channel=channel_id, unfurl_links=False,
                                         **views.alert_message(alert))
    except Exception as exc:  # pylint: disable=broad-exception-caught  # kept pending, retried
        error = slack_error(exc)
        count_failure("moderation_alert_post_failed", f"error={error}")
        store.mark_alert_pending(alert.team_id, alert.alert_id, alert.permalink, error)
        if error in UNREACHABLE_ERRORS:
            if warn:
                warn_channel_setter(client, store, alert.team_id, channel_id, error)
            else:
                store.warn_channel_once(alert.team_id, channel_id)
        return False
    store.mark_alert_posted(alert.team_id, alert.alert_id, channel_id, str(posted.get("ts")),
                            alert.permalink)
    return True


def warn_channel_setter(client: WebClient, store: ModerationStore, team_id: str,
                        channel_id: str, error: str) -> None:
    """Tell whoever set the moderators' channel, by DM, that alerts cannot be posted there:
    once per breakage (until an alert is posted there again)."""
    user_id = store.warn_channel_once(team_id, channel_id)
    if user_id is None:
        return
    try:
        client.chat_postMessage(channel=user_id, **views.channel_unreachable_dm(channel_id, error))
    except Exception as exc:  # pylint: disable=broad-exception-caught  # told on the next failure
        count_failure("moderation_warning_dm_failed", f"error={slack_error(exc)}")
        store.clear_channel_warning(team_id, channel_id)


def deliver(client: WebClient, store: ModerationStore, alert: Alert) -> Alert:
    """An alert already kept (pending): find its thread's link, then post it where the
    workspace's settings say. After a successful post, the alerts that could not be posted
    earlier are retried there (oldest first) and a later breakage will be told again."""
    alert = dataclasses.replace(alert, permalink=permalink(client, alert.channel_id,
                                                           alert.message_ts))
    settings = store.moderation_settings(alert.team_id)
    channel_id = settings.channel_id
    if not channel_id:
        if alert.permalink:
            store.mark_alert_pending(alert.team_id, alert.alert_id, alert.permalink, None)
        return alert
    if post_alert(client, store, alert, channel_id):
        if settings.channel_warned:
            store.clear_channel_warning(alert.team_id, channel_id)
        post_pending(client, store, alert.team_id, channel_id, only_failed=True)
    return alert


def post_pending(client: WebClient, store: ModerationStore, team_id: str, channel_id: str, *,
                 only_failed: bool = False, warn: bool = True) -> tuple[int, bool]:
    """Post the workspace's pending alerts, oldest first, in its moderators' channel (only
    those whose post failed earlier with ``only_failed``): how many were posted, and whether
    one failed (the rest then stay pending)."""
    sent = 0
    for alert in reversed(store.pending_alerts(team_id)):
        if only_failed and alert.post_error is None:
            continue  # not tried yet: its own delivery is under way
        if not post_alert(client, store, alert, channel_id, warn=warn):
            return sent, True
        sent += 1
    return sent, False


def thread_watcher(store: ModerationStore, client: WebClient,
                   clock: Clock = time.time, *,
                   client_for: Callable[[str], WebClient | None] | None = None) -> Classified:
    """The :class:`bot.counting.counter.MessageCounter` listener: each classified thread reply
    (and a strongly negative top-level message, a possible thread root) goes to its thread's
    rule.

    Safe to call from any thread, several batches at once: it keeps nothing between calls
    (the store's transactions make concurrent updates of one thread safe). Per batch, the
    workspace's rule is read once and each thread's messages are applied in one store
    transaction, saved together with the alert they raise. A message or thread that fails is
    logged and counted, and the others go on. ``client_for(team_id)``: the client of each
    workspace's installation (OAuth mode; None when it is gone: the alert stays pending)."""

    def watch(batch: Sequence[PendingMessage], results: Sequence[Classification]) -> None:
        now = clock()
        for (team, channel, root), (rule, entries) in _threads(store, batch, results).items():
            try:
                alert = store.update_thread_and_alert(
                    team, channel, root, _thread_change(team, channel, root, entries, rule, now))
            except Exception as exc:  # pylint: disable=broad-exception-caught  # next thread
                count_failure("moderation_watch_failed",
                              f"step=thread messages={len(entries)} error={slack_error(exc)}")
                continue
            if alert is not None:
                log.info("moderation alert raised for a thread (%d negative messages)",
                         alert.negatives)
                team_client = client if client_for is None else client_for(alert.team_id)
                if team_client is not None:
                    _deliver_kept(team_client, store, alert)

    return watch


def _threads(store: ModerationStore, batch: Sequence[PendingMessage],
             results: Sequence[Classification]
             ) -> dict[ThreadKey, tuple[ModerationRule, list[ThreadEntry]]]:
    """The batch's messages that matter, grouped by thread, with their workspace's rule."""
    rules: dict[str, ModerationRule] = {}
    threads: dict[ThreadKey, tuple[ModerationRule, list[ThreadEntry]]] = {}
    for item, result in zip(batch, results):
        try:
            if not valid_ts(item.ts) or (item.thread_ts is not None
                                         and not valid_ts(item.thread_ts)):
                continue
            if item.team_id not in rules:
                rules[item.team_id] = store.moderation_settings(item.team_id).rule
            rule = rules[item.team_id]
            negative = is_strongly_negative(result.scores, rule.threshold)
            if item.thread_ts is None and not negative:
                continue  # a root that is not negative changes no thread's count
            key = (item.team_id, item.channel_id, item.thread_ts or item.ts)
            threads.setdefault(key, (rule, []))[1].append(ThreadEntry(float(item.ts), negative))
        except Exception as exc:  # pylint: disable=broad-exception-caught  # next message
            count_failure("moderation_watch_failed", f"step=message error={slack_error(exc)}")
    return threads


def _thread_change(team: str, channel: str, root: str, entries: Sequence[ThreadEntry],
                   rule: ModerationRule, now: float):
    """The store change for one thread's new messages: its new state and the alert to keep."""
    alert_id = new_alert_id()  # fixed outside: the change may run again (a retried transaction)

    def change(state: ThreadState) -> tuple[ThreadState, Alert | None]:
        new_state, flag = observe_all(state, entries, now, rule)
        if flag is None:
            return new_state, None
        return new_state, Alert(alert_id=alert_id, team_id=team, channel_id=channel,
                                message_ts=root, negatives=flag.negatives,
                                span_s=flag.span_s, created_at=now)

    return change


def _deliver_kept(client: WebClient, store: ModerationStore, alert: Alert) -> bool:
    """:func:`deliver` an alert already kept; a failure is counted (the alert stays pending and
    is shown and retried later)."""
    try:
        deliver(client, store, alert)
        return True
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the alert is kept
        count_failure("moderation_alert_post_failed", f"step=deliver error={slack_error(exc)}")
        return False


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
    alert_id = new_alert_id()

    def change(state: ThreadState) -> tuple[ThreadState, Alert | None]:
        if state.last_alert_at is not None and now - state.last_alert_at < COOLDOWN_S:
            return state, None
        flag = manual_flag(state, now, rule)
        return (dataclasses.replace(state, last_alert_at=now, last_alert_negatives=flag.negatives),
                Alert(alert_id=alert_id, team_id=team, channel_id=channel, message_ts=str(ts),
                      negatives=flag.negatives, span_s=flag.span_s, created_at=now, manual=True,
                      flagged_by=flagged.user_id))

    alert = store.update_thread_and_alert(team, channel, str(root), change)
    if alert is not None:
        _deliver_kept(client, store, alert)
    return views.flag_answer(alert is not None)
