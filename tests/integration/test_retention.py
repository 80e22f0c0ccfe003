"""The in-process purge (SQLite, the emulator): at start-up, then once a day."""

from __future__ import annotations

import time

from bot.failures import FAILURES
from bot.moderation.rules import Alert
from bot.store.retention import RetentionTimer
from tests.support.slack_harness import wait_until

T = "T0RETAIN"


def old_alert(alert_id: str, age_days: float) -> Alert:
    """An alert created ``age_days`` ago."""
    now = time.time()
    return Alert(alert_id=alert_id, team_id=T, channel_id="C0GERAL", message_ts=f"{now:.6f}",
                 negatives=3, span_s=60.0, created_at=now - age_days * 86_400)


def test_the_timer_purges_at_start(open_stores, store_env):
    """Started with the bot, the timer deletes what expired at once, not a day later."""
    store = open_stores(store_env)
    store.add_alert(old_alert("a0old", 91))
    store.add_alert(old_alert("a0new", 1))
    timer = RetentionTimer(store, interval_s=3600).start()
    try:
        wait_until(lambda: timer.runs >= 1, what="the first purge")
    finally:
        timer.stop()
    assert store.get_alert(T, "a0old") is None
    assert store.get_alert(T, "a0new") is not None


def test_a_failed_purge_is_counted_and_tried_again(open_stores, sqlite_env):
    """A purge that fails is counted (``retention_purge_failed``) and the timer goes on: the
    next run deletes what the failed one could not."""
    store = open_stores(sqlite_env)
    store.add_alert(old_alert("a0old", 91))
    before = FAILURES.get("retention_purge_failed")
    real = store.purge_expired
    attempts = []

    def fails_once(now=None):
        attempts.append(now)
        if len(attempts) == 1:
            raise OSError("disk I/O error")
        return real(now)

    store.purge_expired = fails_once
    timer = RetentionTimer(store, interval_s=0.01).start()
    try:
        wait_until(lambda: timer.runs >= 2, what="two purges")
    finally:
        timer.stop()
    assert FAILURES.get("retention_purge_failed") == before + 1
    assert store.get_alert(T, "a0old") is None
