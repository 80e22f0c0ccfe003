"""The thread watcher (the message counter's moderation listener) on both real stores, with
the real Web API client talking to the fake Slack: a failing thread does not cost the rest of
the batch, and concurrent calls (listeners run off the counting thread) alert a thread once."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
from slack_sdk import WebClient

from bot.counting.model import PendingMessage
from bot.failures import FAILURES
from bot.moderation.alerts import thread_watcher
from bot.store.firestore import THREADS, make_client
from service.labels import Classification
from tests.support.slack_harness import BOT_TOKEN

T, C, MODS = "T0STORE", "C0GERAL", "C0MODS"
NOW = 1_800_000_000.0
NEGATIVE = Classification.from_scores({"negative": 0.95, "neutral": 0.04, "positive": 0.01})


@pytest.fixture(params=["sqlite", "firestore"])
def store_env(request):
    """The environment of a fresh store of each kind."""
    return request.getfixturevalue(f"{request.param}_env")


@pytest.fixture
def watch(store_env, open_stores, fake_slack):
    """``(watch, store)``: the watcher of a real store with moderators' channel C0MODS."""
    store = open_stores({**store_env, "FLUSH_INTERVAL": "60"})
    store.set_moderation(T, channel_id=MODS)
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    return thread_watcher(store, client, clock=lambda: NOW), store


def replies(root: float, count: int, first: int = 1) -> list[PendingMessage]:
    """``count`` replies in the thread of ``root``."""
    return [PendingMessage(T, C, "2027-01-15", "texto", ts=f"{root + i:.6f}",
                           thread_ts=f"{root:.6f}") for i in range(first, first + count)]


def break_thread(store_env, root: str) -> None:
    """Make the store fail for real on one thread. SQLite: a trigger refuses its writes;
    Firestore: its document holds entries the store cannot read."""
    if store_env["STORE"] == "sqlite":
        with sqlite3.connect(store_env["SQLITE_PATH"]) as conn:
            conn.execute(f"CREATE TRIGGER broken BEFORE INSERT ON threads WHEN "
                         f"NEW.thread_ts = '{root}' BEGIN SELECT RAISE(ABORT, 'broken'); END")
        return
    client = make_client(store_env["GOOGLE_CLOUD_PROJECT"], store_env["FIRESTORE_EMULATOR_HOST"])
    try:
        client.collection(THREADS).document(f"{T}:{C}:{root}").set({"entries": [{"x": 1}]})
    finally:
        client.close()


def test_a_failing_thread_does_not_stop_the_rest_of_the_batch(watch, store_env, fake_slack):
    """The first thread of a batch fails in the store: it is counted, and the other threads'
    messages are still stored and their alert posted."""
    watcher, store = watch
    broken, alerting, quiet = NOW - 300, NOW - 200, NOW - 100
    break_thread(store_env, f"{broken:.6f}")
    before = FAILURES.get("moderation_watch_failed")
    batch = replies(broken, 3) + replies(alerting, 3) + replies(quiet, 1)
    watcher(batch, [NEGATIVE] * len(batch))
    assert FAILURES.get("moderation_watch_failed") == before + 1
    [alert] = fake_slack.recorded("api", "chat.postMessage")
    assert alert.params["channel"] == MODS and "3 mensagens muito negativas" in alert.params["text"]
    state = store.update_thread(T, C, f"{quiet:.6f}", lambda s: (s, s))
    assert [e.ts for e in state.entries] == [quiet + 1]


def test_concurrent_batches_alert_a_thread_once(watch, fake_slack):
    """Two batches with replies of one thread, watched at once from two threads: one alert."""
    watcher, store = watch
    root = NOW - 100
    batches = [replies(root, 2), replies(root, 2, first=3)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda b: watcher(b, [NEGATIVE] * len(b)), batches))
    [alert] = fake_slack.recorded("api", "chat.postMessage")
    assert "3 mensagens muito negativas" in alert.params["text"]  # raised at the third
    state = store.update_thread(T, C, f"{root:.6f}", lambda s: (s, s))
    assert len(state.entries) == 4 and state.last_alert_at == NOW
