"""The stores' write buffer (``bot.store.base.BufferedStore``) when writes fail, on a real SQLite
file whose writes are refused for real (a trigger): counts whose write failed are kept, still
show in this instance's reports, and are written exactly once when the store answers again."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import datetime as dt
import sqlite3
import threading

import pytest

from bot.counting.model import Observation
from service.labels import LABELS
from tests.support.slack_harness import wait_until

T, C = "T0STORE", "C0GERAL"
DAY = dt.date(2026, 11, 20)


def obs(label: str, channel: str = C) -> Observation:
    """One message of ``label`` counted today."""
    return Observation(T, channel, DAY.isoformat(), label,
                       {name: 0.8 if name == label else 0.1 for name in LABELS})


@pytest.fixture
def stores(sqlite_env, open_stores):
    """Opens instances on one SQLite file (as app replicas would)."""
    return lambda **env: open_stores({**sqlite_env, "FLUSH_INTERVAL": "60", **env})


@pytest.fixture
def refuse_writes(sqlite_env):
    """``refuse_writes(True)``: every count written to the file fails; ``False``: works again."""
    def switch(on: bool) -> None:
        with sqlite3.connect(sqlite_env["SQLITE_PATH"]) as conn:
            if on:
                for event in ("INSERT", "UPDATE"):
                    conn.execute(f"CREATE TRIGGER refuse_{event.lower()} BEFORE {event} ON "
                                 "channel_days BEGIN SELECT RAISE(ABORT, 'disk full'); END")
            else:
                conn.execute("DROP TRIGGER refuse_insert")
                conn.execute("DROP TRIGGER refuse_update")
    return switch


def today(store) -> dict[str, int]:
    """Today's counts in ``store``'s reports (zeros when none)."""
    tally = store.daily_counts(T, C, DAY, DAY).get(DAY.isoformat())
    return tally.counts if tally is not None else dict.fromkeys(LABELS, 0)


def test_counts_whose_write_failed_still_show_in_reports_and_are_written_once(stores,
                                                                            refuse_writes):
    """A failed flush keeps its counts: this instance's reports (per day and the busiest
    channels) still include them, with the counts recorded after; once the store answers,
    they are written once, not twice."""
    store, other = stores(), stores()
    store.record([obs("positive")] * 3 + [obs("negative")])
    refuse_writes(True)
    with pytest.raises(sqlite3.DatabaseError):
        store.flush()
    store.record([obs("neutral")] * 2 + [obs("positive", channel="C0OUTRO")])
    assert today(store) == {"negative": 1, "neutral": 2, "positive": 3}
    assert [(a.channel_id, a.tally.total) for a in store.top_channels(T, DAY, DAY)] == [
        (C, 6), ("C0OUTRO", 1)]
    assert store.pending_count() == 7
    assert today(other) == {"negative": 0, "neutral": 0, "positive": 0}
    with pytest.raises(sqlite3.DatabaseError):
        store.flush()  # a retry that fails again loses nothing either
    assert today(store) == {"negative": 1, "neutral": 2, "positive": 3}
    refuse_writes(False)
    store.flush()
    assert store.pending_count() == 0
    assert today(store) == today(other) == {"negative": 1, "neutral": 2, "positive": 3}
    assert [(a.channel_id, a.tally.total) for a in other.top_channels(T, DAY, DAY)] == [
        (C, 6), ("C0OUTRO", 1)]


def test_the_background_writer_survives_failed_writes(stores, refuse_writes, caplog):
    """With writes refused, the background writer keeps the counts and keeps trying; once the
    store answers, another instance sees them without anyone calling flush."""
    store, other = stores(FLUSH_INTERVAL="0.05"), stores()
    refuse_writes(True)
    store.record([obs("positive")] * 2)
    store.record([obs("negative")])
    wait_until(lambda: "store flush failed, 3 counts kept" in caplog.text,
               what="a failed background write")
    refuse_writes(False)
    wait_until(lambda: today(other)["positive"] == 2 and today(other)["negative"] == 1,
               what="the background writer's retry")
    assert store.pending_count() == 0


def test_close_with_a_failing_store_raises_and_can_be_retried(stores, refuse_writes):
    """``close()`` whose last flush fails raises and keeps the counts (no new ones accepted);
    a second ``close()`` once the store answers writes them."""
    store, other = stores(), stores()
    store.record([obs("negative")] * 4)
    refuse_writes(True)
    with pytest.raises(sqlite3.DatabaseError):
        store.close()
    assert store.pending_count() == 4
    refuse_writes(False)
    store.close()
    assert today(other)["negative"] == 4


def test_one_background_writer_per_store_and_none_when_every_record_is_written(stores):
    """With an interval, a store runs one writer thread (``store-flush``) however often it
    records, a daemon that never keeps the process from exiting, and ``close()`` stops it; with
    ``FLUSH_INTERVAL=0`` every record is written at once and no thread runs (none spins)."""
    def writers() -> list[threading.Thread]:
        return [thread for thread in threading.enumerate() if thread.name == "store-flush"]

    before = writers()
    at_once, other = stores(FLUSH_INTERVAL="0"), stores()
    at_once.record([obs("positive")])
    at_once.record([obs("negative")])
    assert writers() == before
    assert today(other) == {"negative": 1, "neutral": 0, "positive": 1}
    buffered = stores()
    for _ in range(3):
        buffered.record([obs("neutral")])
    started = [thread for thread in writers() if thread not in before]
    assert len(started) == 1 and started[0].daemon
    buffered.close()
    assert not started[0].is_alive()
