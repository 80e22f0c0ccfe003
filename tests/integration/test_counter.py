"""The message counter's promise, with real parts: the real model service (lexicon backend)
served by uvicorn on loopback, reached by the real RemoteClassifier, and a real SQLite store.

An accepted message is counted exactly once whatever fails after; the backlog refuses at its
limits (the bot then answers non-200 and Slack redelivers); a text the model refuses fails alone.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from bot.classify.clients import RemoteClassifier
from bot.counting.counter import (
    LISTENER_QUEUE, REFUSED_CLOSED, REFUSED_FULL, REFUSED_STALLED, MessageCounter, RetryPolicy,
)
from bot.counting.limits import BacklogLimits
from bot.counting.model import PendingMessage
from bot.store.sqlite import SqliteStore
from service.app import create_app
from service.settings import ServiceSettings
from tests.support.slack_harness import wait_until

TEAM, CHANNEL, DAY = "T0COUNT", "C0COUNT", "2026-11-20"
FAST_RETRY = RetryPolicy(first_s=0.05, max_s=0.2)
POSITIVE = "Adorei o resultado, equipe incrível, parabéns!"
OTHER_CHANNEL = PendingMessage(team_id=TEAM, channel_id="C0OUTRO", day=DAY, text=POSITIVE,
                               ts="1732600001.000001")  # a message of another channel


def message(text: str = POSITIVE, n: int = 0) -> PendingMessage:
    """A channel message of the test channel."""
    return PendingMessage(team_id=TEAM, channel_id=CHANNEL, day=DAY, text=text,
                          ts=f"1732600000.{n:06d}")


def free_port() -> int:
    """A loopback port nothing listens on (yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def model_service(port: int, lexicon) -> Iterator[None]:
    """The real model service (lexicon backend) on ``port`` until the block ends."""
    server = uvicorn.Server(uvicorn.Config(create_app(ServiceSettings(), backend=lexicon),
                                          host="127.0.0.1", port=port, log_level="warning",
                                          access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20, what="the model service")
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(20)


@pytest.fixture(name="store")
def sqlite_store(tmp_path: Path):
    """A real SQLite store, writing at once."""
    store = SqliteStore(tmp_path / "counts.db", flush_interval=0)
    yield store
    store.close()


def counter_for(port: int, store, **kwargs) -> MessageCounter:
    """A counter classifying through the model service expected on ``port``."""
    classifier = RemoteClassifier(f"http://127.0.0.1:{port}", timeout=2.0, retries=0)
    return MessageCounter(classifier, store, batch_size=8, wait_ms=10, retry=FAST_RETRY, **kwargs)


def sample(counter: MessageCounter, name: str, **labels: str) -> float:
    """One sample of the counter's Prometheus registry (0 when never observed)."""
    return counter.metrics.registry.get_sample_value(name, labels) or 0.0


def handle_all(store, lexicon, offers: list[tuple[PendingMessage, str | None]]) -> MessageCounter:
    """With the model service up, offer each (message, event id), wait until every one is
    counted, skipped or dropped, close the counter and return it."""
    port = free_port()
    with model_service(port, lexicon):
        counter = counter_for(port, store)
        try:
            for pending, event_id in offers:
                assert counter.offer(pending, event_id=event_id) is None
            wait_until(lambda: counter.counted + counter.skipped + counter.dropped == len(offers),
                       what="every message handled")
        finally:
            counter.close(timeout=5)
    return counter


def on_another_connection(store, statement: str) -> None:
    """Run ``statement`` on the store's file from another connection: a real SQLite failure
    (or its repair), not a ValueError raised by a stand-in."""
    with sqlite3.connect(store.path) as conn:
        conn.execute(statement)


def stored(store) -> tuple[int, int]:
    """(messages counted, messages dropped) in the store for the test channel's day."""
    day = dt.date.fromisoformat(DAY)
    tally = store.daily_counts(TEAM, CHANNEL, day, day).get(DAY)
    return (tally.total, tally.dropped) if tally else (0, 0)


def test_messages_accepted_while_the_model_is_down_are_counted_once_it_is_back(store, lexicon):
    """The model service is not running when 20 messages arrive: all are accepted (the bot
    answered 200), none is lost, each is counted once when the service starts."""
    port = free_port()
    counter = counter_for(port, store)
    try:
        for n in range(20):
            assert counter.offer(message(n=n), event_id=f"Ev{n:04d}") is None
        wait_until(lambda: sample(counter, "sentimento_bot_model_errors_total", kind="unavailable") >= 2,
                   what="failed attempts while the model is down")
        assert counter.counted == 0 and counter.depth() > 0
        with model_service(port, lexicon):
            wait_until(lambda: counter.counted == 20, timeout=20, what="20 counted")
    finally:
        counter.close(timeout=5)
    assert stored(store) == (20, 0)
    assert counter.dropped == 0
    assert (counter.depth(), counter.size_bytes(), counter.oldest_age()) == (0, 0, 0.0)


def test_a_redelivered_event_is_counted_once(store, lexicon):
    """Slack's retries of an event already accepted (same event id) are skipped as
    redeliveries, each one counted in the skipped metric."""
    counter = handle_all(store, lexicon, [(message(n=1), "EvSAME")] * 3)
    assert (counter.counted, counter.skipped) == (1, 2)
    assert sample(counter, "sentimento_bot_messages_skipped_total", reason="redelivery") == 2
    assert stored(store) == (1, 0)


def test_the_backlog_refuses_at_its_message_limit_exactly(store):
    """With room for 5 messages (the model down: none leaves), the 5th is accepted and the 6th
    refused as full, and counted in the metric."""
    counter = counter_for(free_port(), store, limits=BacklogLimits(max_messages=5))
    try:
        assert [counter.offer(message(n=n)) for n in range(6)] == [None] * 5 + [REFUSED_FULL]
        assert counter.depth() == 5
        assert sample(counter, "sentimento_bot_messages_refused_total", reason=REFUSED_FULL) == 1
    finally:
        counter.close(timeout=0.2)


def test_the_backlog_refuses_at_its_byte_limit_exactly(store):
    """``max_bytes`` counts the UTF-8 bytes of the waiting texts ("é" is two): 10 bytes fit
    exactly, one more byte is refused."""
    counter = counter_for(free_port(), store, limits=BacklogLimits(max_bytes=10))
    try:
        assert counter.offer(message("éééé")) is None  # 8 bytes
        assert counter.offer(message("ééé")) == REFUSED_FULL  # 14 > 10
        assert counter.offer(message("ok")) is None  # exactly 10
        assert counter.offer(message("!")) == REFUSED_FULL  # 11
        assert counter.size_bytes() == 10
        assert counter.refused == 2  # the shutdown log line says how many Slack redelivers
    finally:
        counter.close(timeout=0.2)


def test_a_stalled_backlog_refuses_new_messages(store):
    """When the oldest message has waited longer than ``max_age_s`` (the model is down, the
    message back in the queue for the next attempt, 30 s later), new messages are refused as
    stalled; Slack will redeliver them later."""
    classifier = RemoteClassifier(f"http://127.0.0.1:{free_port()}", timeout=2.0, retries=0)
    counter = MessageCounter(classifier, store, batch_size=8, wait_ms=10,
                             limits=BacklogLimits(max_age_s=0.2),
                             retry=RetryPolicy(first_s=30.0, max_s=30.0))
    try:
        assert counter.offer(message(n=1)) is None
        wait_until(lambda: sample(counter, "sentimento_bot_model_errors_total",
                                  kind="unavailable") == 1, what="the first attempt failed")
        wait_until(lambda: counter.oldest_age() > 0.3, what="the oldest message ages")
        assert counter.offer(message(n=2)) == REFUSED_STALLED
    finally:
        counter.close(timeout=0.2)


def test_a_text_the_model_refuses_fails_alone(store, lexicon):
    """A blank text (the model service answers 422) in a batch of good ones: the others are
    counted, the blank one is recorded as dropped, and reports can say so."""
    port = free_port()
    with model_service(port, lexicon):
        texts = [POSITIVE, "   ", POSITIVE, POSITIVE]
        counter = MessageCounter(RemoteClassifier(f"http://127.0.0.1:{port}", retries=0),
                                 store, batch_size=8, wait_ms=200, retry=FAST_RETRY)
        try:
            for n, text in enumerate(texts):
                assert counter.offer(message(text, n=n)) is None
            wait_until(lambda: counter.counted + counter.dropped == 4, what="all handled")
            assert counter.offer(message("\t", n=9)) is None  # another batch, another refusal
            wait_until(lambda: counter.dropped == 2, what="the second refused text")
        finally:
            counter.close(timeout=5)
    assert (counter.counted, counter.dropped) == (3, 2)
    assert stored(store) == (3, 2)
    assert sample(counter, "sentimento_bot_model_errors_total", kind="rejected_text") == 2
    assert sample(counter, "sentimento_bot_messages_dropped_total", reason="rejected_text") == 2


def test_close_counts_what_it_can_then_records_the_rest_as_dropped(store):
    """Shutting down with the model down: new messages are refused at once, the waiting ones
    are retried until the deadline, then recorded as dropped (never silently lost)."""
    counter = counter_for(free_port(), store)
    for n in range(3):
        assert counter.offer(message(n=n)) is None
    started = time.monotonic()
    counter.stop_accepting()
    assert counter.offer(message(n=9)) == REFUSED_CLOSED
    counter.close(timeout=0.5)
    assert time.monotonic() - started < 10
    assert (counter.counted, counter.dropped, counter.refused) == (0, 3, 1)
    assert (counter.depth(), counter.size_bytes(), counter.oldest_age()) == (0, 0, 0.0)
    assert stored(store) == (0, 3)
    assert sample(counter, "sentimento_bot_messages_dropped_total", reason="shutdown") == 3


def test_a_store_error_while_checking_a_channel_does_not_stop_counting(store, lexicon):
    """The store fails (a real SQLite error, not a ValueError) while the counter checks whether
    a channel is paused: those messages wait, counting goes on for every channel once the store
    answers, and each message is counted once."""
    port = free_port()
    with model_service(port, lexicon):
        counter = counter_for(port, store)
        try:
            on_another_connection(store, "ALTER TABLE channel_settings RENAME TO channel_settings_away")
            for n in range(3):
                assert counter.offer(message(n=n), event_id=f"Ev{n:04d}") is None
            wait_until(lambda: sample(counter, "sentimento_bot_store_errors_total",
                                      operation="claim") >= 1, what="a failed channel check")
            on_another_connection(store, "ALTER TABLE channel_settings_away RENAME TO channel_settings")
            assert counter.offer(OTHER_CHANNEL, event_id="EvOTHER") is None
            wait_until(lambda: counter.counted == 4, what="all four counted")
        finally:
            counter.close(timeout=5)
    assert stored(store) == (3, 0)
    assert counter.dropped == 0 and counter.skipped == 0


def test_a_store_that_refuses_a_write_does_not_stop_counting(store, lexicon):
    """The store refuses a batch's counts (a real SQLite error, not a ValueError): the refusal
    is counted in the metrics and counting goes on; messages that arrive once the store answers
    are counted and stored."""
    port = free_port()
    with model_service(port, lexicon):
        counter = counter_for(port, store)
        try:
            on_another_connection(store, "CREATE TRIGGER refuse BEFORE INSERT ON channel_days "
                                  "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
            assert counter.offer(message(n=1), event_id="Ev0001") is None
            wait_until(lambda: sample(counter, "sentimento_bot_store_errors_total",
                                      operation="record") >= 1, what="a refused write")
            assert counter.offer(message(n=2), event_id="Ev0002") is None
            # Acked, then lost to the store: never silently, the dropped count says so (its
            # metric is the last thing updated).
            wait_until(lambda: sample(counter, "sentimento_bot_messages_dropped_total",
                                      reason="store_error") == 2, what="a second refused write")
            assert (counter.counted, counter.dropped) == (0, 2)
            on_another_connection(store, "DROP TRIGGER refuse")
            assert counter.offer(OTHER_CHANNEL, event_id="EvOTHER") is None
            wait_until(lambda: counter.counted == 1, what="the next message counted")
        finally:
            counter.close(timeout=5)
    day = dt.date.fromisoformat(DAY)
    assert store.daily_counts(TEAM, OTHER_CHANNEL.channel_id, day, day)[DAY].total == 1


def test_a_failing_listener_does_not_stop_counting(store, lexicon):
    """A listener (moderation's thread watcher) that fails on a batch is counted in the metrics;
    the batch stays counted, later batches are counted and the listeners still hear of them."""
    port = free_port()
    heard: list[int] = []
    second: list[tuple[str, str]] = []  # (ts, label) the next listener heard

    def listener(messages, _results):
        heard.append(len(messages))
        if len(heard) == 1:
            raise RuntimeError("moderation failed")

    with model_service(port, lexicon):
        counter = counter_for(port, store)
        counter.add_listener(listener)
        counter.add_listener(lambda messages, results: second.extend(
            (item.ts, result.label) for item, result in zip(messages, results, strict=True)))
        try:
            assert counter.offer(message(n=1)) is None
            wait_until(lambda: counter.listened == 1, what="the first batch heard")
            assert sample(counter, "sentimento_bot_listener_errors_total", where="listener") == 1
            assert counter.offer(message(n=2)) is None
            wait_until(lambda: counter.listened == 2, what="the second batch heard")
        finally:
            counter.close(timeout=5)
    assert heard == [1, 1] and counter.counted == 2
    assert stored(store) == (2, 0)
    # The next listener heard both batches, each message with the label the store counted.
    day = dt.date.fromisoformat(DAY)
    assert store.daily_counts(TEAM, CHANNEL, day, day)[DAY].counts["positive"] == 2
    assert second == [(message(n=1).ts, "positive"), (message(n=2).ts, "positive")]


def test_while_the_model_is_down_the_counter_waits_between_attempts(store):
    """A model outage is not hammered: after each failed attempt the counter waits (here 0.05 s
    doubling up to 0.2 s), so a second of outage sees a handful of attempts, not hundreds."""
    counter = counter_for(free_port(), store)  # nothing listens: each attempt fails at once
    try:
        assert counter.offer(message(n=1)) is None

        def attempts() -> float:
            return sample(counter, "sentimento_bot_model_errors_total", kind="unavailable")

        wait_until(lambda: attempts() >= 3, what="three failed attempts")
        before = attempts()
        time.sleep(1.0)  # an upper bound: a slower machine only makes fewer attempts
        assert attempts() - before <= 10
        assert counter.depth() == 1 and counter.counted == 0
    finally:
        counter.close(timeout=0.2)


def test_a_shutdown_gives_up_at_its_deadline_on_a_batch_stuck_in_a_model_call(store, caplog):
    """The model takes the batch's request and does not answer within the shutdown deadline:
    close() returns at the deadline (the store's last flush needs the rest of the time), with
    the batch recorded as dropped (reason shutdown) and the backlog's gauges empty. When the
    answer comes later, it is not counted: each message is in the store exactly once."""
    caplog.set_level(logging.WARNING, logger="bot.counting.counter")
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        hung.settimeout(20)
        classifier = RemoteClassifier(f"http://127.0.0.1:{hung.getsockname()[1]}", timeout=60.0,
                                      retries=0)
        counter = MessageCounter(classifier, store, batch_size=8, wait_ms=10, retry=FAST_RETRY)
        for n in range(3):
            assert counter.offer(message("éé", n=n)) is None
        assert counter.size_bytes() == 12
        connection, _ = hung.accept()  # the batch's request has been sent
        with connection:
            started = time.monotonic()
            counter.close(timeout=0.3)
            assert time.monotonic() - started < 20  # not the model call's 60 s
            assert (counter.counted, counter.dropped) == (0, 3)
            assert (counter.depth(), counter.size_bytes(), counter.oldest_age()) == (0, 0, 0.0)
            assert sample(counter, "sentimento_bot_messages_dropped_total", reason="shutdown") == 3
            assert stored(store) == (0, 3)

            connection.recv(65536)
            answer = json.dumps({"model": "late", "backend": "lexicon", "results": [
                {"label": "positive", "score": 0.9,
                 "scores": {"negative": 0.05, "neutral": 0.05, "positive": 0.9}}] * 3}).encode()
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer))
            wait_until(lambda: "answered late" in caplog.text, what="the late answer")
    assert (counter.counted, counter.dropped) == (0, 3)
    assert stored(store) == (0, 3)


def test_close_alone_refuses_new_messages(store):
    """close() without stop_accepting() first: a message offered afterwards is refused (the bot
    answers non-200 and Slack redelivers it to an instance that is not stopping)."""
    counter = counter_for(free_port(), store)
    counter.close(timeout=0.2)
    assert counter.offer(message(n=1)) == REFUSED_CLOSED
    assert counter.depth() == 0


def test_a_shutdown_keeps_counting_until_its_deadline(store, lexicon):
    """Messages wait while the model is down; the bot starts shutting down just as the model
    comes back: they are counted before the deadline, none is dropped."""
    port = free_port()
    counter = counter_for(port, store)
    for n in range(3):
        assert counter.offer(message(n=n)) is None
    wait_until(lambda: sample(counter, "sentimento_bot_model_errors_total",
                              kind="unavailable") >= 1, what="a failed attempt")
    with model_service(port, lexicon):
        counter.close(timeout=15)
    assert (counter.counted, counter.dropped) == (3, 0)
    assert stored(store) == (3, 0)


def test_close_returns_once_the_listeners_have_heard_every_counted_batch(store, lexicon):
    """Moderation hears of the last batches before the process exits: close() waits for the
    listeners still running."""
    port = free_port()
    heard: list[str] = []

    def slow_listener(messages, _results):
        time.sleep(0.5)
        heard.extend(item.ts for item in messages)

    with model_service(port, lexicon):
        counter = counter_for(port, store)
        counter.add_listener(slow_listener)
        assert counter.offer(message(n=1)) is None
        wait_until(lambda: counter.counted == 1, what="the message counted")
        counter.close(timeout=5)
    assert heard == [message(n=1).ts] and counter.listened == 1


def test_a_second_model_outage_after_a_recovery_is_retried_too(store, lexicon):
    """The model goes down, comes back, goes down again: messages of each outage wait and are
    counted once it is back; counting never stops for good."""
    port = free_port()
    counter = counter_for(port, store)

    def counted_once_the_model_is_back(expected: int) -> None:
        wait_until(lambda: sample(counter, "sentimento_bot_model_errors_total",
                                  kind="unavailable") >= expected, what="a failed attempt")
        with model_service(port, lexicon):
            wait_until(lambda: counter.counted == expected, timeout=20,
                       what="the outage's message counted")

    try:
        for outage in (1, 2):
            assert counter.offer(message(n=outage)) is None
            counted_once_the_model_is_back(outage)
    finally:
        counter.close(timeout=5)
    assert stored(store) == (2, 0)


def test_a_batch_stuck_on_a_hung_model_call_makes_the_backlog_stalled(store):
    """The only waiting message is in a model call that never answers (nothing left in the
    queue behind it): its age still counts, so once it passes ``max_age_s`` new messages are
    refused as stalled and Slack redelivers them later."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        hung.settimeout(20)
        classifier = RemoteClassifier(f"http://127.0.0.1:{hung.getsockname()[1]}", timeout=60.0,
                                      retries=0)  # the call outlasts the test
        counter = MessageCounter(classifier, store, batch_size=8, wait_ms=10,
                                 limits=BacklogLimits(max_age_s=0.2), retry=FAST_RETRY)
        try:
            assert counter.offer(message(n=1)) is None
            connection, _ = hung.accept()  # the message is in flight, the queue is empty
            with connection:
                wait_until(lambda: counter.oldest_age() > 0.3, what="the batch in flight ages")
                assert counter.offer(message(n=2)) == REFUSED_STALLED
        finally:
            counter.close(timeout=0.1)


def test_a_message_longer_than_the_models_limit_is_counted_on_its_first_40000_characters(
        store, lexicon):
    """Slack allows 40,000 characters, and a pasted log can be longer: the backlog keeps (and
    weighs) only the first 40,000, which the model accepts, so the message is counted and not
    dropped as a text the model refuses."""
    port = free_port()
    counter = counter_for(port, store)  # the model is not up yet: the message waits
    try:
        assert counter.offer(message("Adorei! " * 6_000, n=1)) is None  # 48,000 characters
        assert counter.size_bytes() == 40_000
        with model_service(port, lexicon):
            wait_until(lambda: counter.counted == 1, timeout=20, what="the long message counted")
    finally:
        counter.close(timeout=5)
    assert counter.dropped == 0 and stored(store) == (1, 0)


@pytest.mark.parametrize("team, channel", [("T0COUNT", "não é id"), ("não é id", "C0COUNT")])
def test_a_message_of_an_invalid_team_or_channel_id_is_refused_before_the_backlog(
        store, team, channel):
    """Either id invalid: ValueError naming them, and nothing enters the backlog, where it
    could never be stored (the event handler skips such events before offering them)."""
    counter = counter_for(free_port(), store)
    try:
        bad = PendingMessage(team_id=team, channel_id=channel, day=DAY, text=POSITIVE,
                             ts="1732600000.000001")
        with pytest.raises(ValueError, match=r"^team_id/channel_id inválidos$"):
            counter.offer(bad)
        assert counter.depth() == 0 and counter.size_bytes() == 0
    finally:
        counter.close(timeout=0.2)


def classify_requests(port: int) -> float:
    """How many ``POST /v1/classify`` the model service on ``port`` has answered (its
    ``/metrics``)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == "sentimento_http_requests_total"
               and sample.labels.get("endpoint") == "/v1/classify")


def test_messages_arriving_within_the_batch_wait_go_to_the_model_together(store, lexicon):
    """A message, then four more 0.3 s later, all within ``MESSAGE_BATCH_WAIT_MS`` (here 2 s):
    one model call for the five, not one per message."""
    port = free_port()
    with model_service(port, lexicon):
        counter = MessageCounter(RemoteClassifier(f"http://127.0.0.1:{port}", retries=0), store,
                                 batch_size=8, wait_ms=2_000, retry=FAST_RETRY)
        sizes: list[int] = []
        counter.add_listener(lambda messages, _results: sizes.append(len(messages)))
        try:
            assert counter.offer(message(n=0)) is None
            time.sleep(0.3)  # the next ones arrive later, still within the wait
            for n in range(1, 5):
                assert counter.offer(message(n=n)) is None
            wait_until(lambda: counter.listened == 5, timeout=20, what="the five counted")
        finally:
            counter.close(timeout=5)
        assert sizes == [5] and classify_requests(port) == 1


def test_a_full_batch_goes_to_the_model_without_waiting(store, lexicon):
    """Eight messages fill a batch of 8: it goes to the model at once, not after the (here
    60 s) wait for a fuller batch; a ninth, later, waits for its own batch (until the
    shutdown ends the wait)."""
    port = free_port()
    with model_service(port, lexicon):
        counter = MessageCounter(RemoteClassifier(f"http://127.0.0.1:{port}", retries=0), store,
                                 batch_size=8, wait_ms=60_000, retry=FAST_RETRY)
        try:
            for n in range(8):
                assert counter.offer(message(n=n)) is None
            # counted first, then the batch leaves the backlog: wait for both
            wait_until(lambda: counter.counted == 8 and counter.depth() == 0, timeout=20,
                       what="the full batch counted")
            assert counter.offer(message(n=8)) is None
        finally:
            counter.close(timeout=5)
    assert (counter.counted, counter.dropped) == (9, 0)


def test_a_paused_channel_is_skipped_and_the_skip_is_counted(store, lexicon):
    """``/sentimento pausar`` in a channel: its messages are acked but not counted (the skip is
    counted in the metrics, reason paused); the other channels are counted as before."""
    store.set_paused(TEAM, CHANNEL, True)
    counter = handle_all(store, lexicon, [(message(n=1), "EvPAUSED"), (OTHER_CHANNEL, "EvOTHER")])
    assert (counter.counted, counter.skipped) == (1, 1)
    assert sample(counter, "sentimento_bot_messages_skipped_total", reason="paused") == 1
    assert stored(store) == (0, 0)


def test_the_same_event_id_in_two_workspaces_is_counted_in_each(store, lexicon):
    """Event ids are unique per app, not across the workspaces that installed it: a claim is
    the workspace's, so one workspace's event never hides another's."""
    counter = handle_all(store, lexicon, [
        (PendingMessage(team_id=team, channel_id=CHANNEL, day=DAY, text=POSITIVE,
                        ts="1732600000.000001"), "Ev0SAME") for team in ("T0AAAA", "T0BBBB")])
    assert (counter.counted, counter.skipped) == (2, 0)


def test_the_model_version_that_classified_a_day_is_stored_with_its_counts(store, lexicon):
    """Reports say when a channel's days were classified by another model: the version the
    model service answered with is recorded with the day's counts, with the message's scores."""
    port = free_port()
    with model_service(port, lexicon):
        verdicts = RemoteClassifier(f"http://127.0.0.1:{port}").classify_detailed([POSITIVE])
        counter = counter_for(port, store)
        try:
            assert counter.offer(message(n=1)) is None
            wait_until(lambda: counter.counted == 1, what="the message counted")
        finally:
            counter.close(timeout=5)
    day = dt.date.fromisoformat(DAY)
    tally = store.daily_counts(TEAM, CHANNEL, day, day)[DAY]
    assert verdicts.model and tally.models == {verdicts.model}
    # and its scores, which the mood index is computed from
    assert tally.score_sums == pytest.approx(verdicts.results[0].scores)


def test_when_moderation_falls_behind_counting_goes_on(store, lexicon_classifier):
    """The listeners (moderation) are stuck and their queue is full: batches are still counted,
    the batches moderation had to skip are counted in the metrics, and once moderation is back
    every batch counts as heard."""
    release = threading.Event()
    counter = MessageCounter(lexicon_classifier, store, batch_size=1, wait_ms=0,
                             retry=FAST_RETRY, listener_workers=2)
    counter.add_listener(lambda _messages, _results: release.wait(30))
    total = 2 + LISTENER_QUEUE + 3  # two running, a full queue, three more
    try:
        for n in range(total):
            assert counter.offer(message(n=n)) is None
        # The three skipped batches count as heard: nothing more will hear them.
        wait_until(lambda: counter.counted == total and counter.listened == 3, timeout=60,
                   what="every message counted, three batches skipped by moderation")
        assert sample(counter, "sentimento_bot_listener_errors_total",
                      where="listener_queue_full") == 3
    finally:
        release.set()
        counter.close(timeout=10)
    assert counter.listened == total
    assert stored(store) == (total, 0)


def test_a_shutdown_with_the_stores_write_lock_held_elsewhere_returns_at_its_deadline(tmp_path):
    """Another process holds the SQLite write lock, so the event claim of a waiting message
    hangs (up to the 30 s busy timeout) when the bot shuts down: close() still returns at its
    deadline, the message recorded as dropped in the store's buffer, written at its close."""
    store = SqliteStore(tmp_path / "locked.db", flush_interval=60)  # buffered, as in production
    blocker = sqlite3.connect(store.path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # the write lock, until rollback
        counter = counter_for(free_port(), store)
        assert counter.offer(message(n=1), event_id="Ev0LOCKED") is None
        started = time.monotonic()
        counter.close(timeout=0.3)
        assert time.monotonic() - started < 20  # not the claim's 30 s
        assert (counter.counted, counter.dropped, counter.depth()) == (0, 1, 0)
    finally:
        blocker.rollback()
        blocker.close()
    store.close()
    reopened = SqliteStore(tmp_path / "locked.db", flush_interval=0)
    try:
        assert stored(reopened) == (0, 1)
    finally:
        reopened.close()


def test_a_message_admitted_before_its_channel_is_paused_is_still_counted(store, lexicon):
    """A message arrives while the model is down and waits; meanwhile someone types
    ``/sentimento pausar``: the pause applies to messages from then on, the waiting one (sent
    before the pause) is counted once the model is back."""
    port = free_port()
    counter = counter_for(port, store)
    try:
        assert counter.offer(message(n=1), event_id="Ev0BEFORE") is None
        wait_until(lambda: sample(counter, "sentimento_bot_model_errors_total",
                                  kind="unavailable") >= 1, what="a failed attempt")
        store.set_paused(TEAM, CHANNEL, True)
        with model_service(port, lexicon):
            wait_until(lambda: counter.counted == 1, timeout=20, what="the message counted")
    finally:
        counter.close(timeout=5)
    assert counter.skipped == 0 and stored(store) == (1, 0)


def test_messages_counted_after_the_store_closed_are_reported_dropped(store, lexicon):
    """A message waits for the model; the store is closed (the process is stopping) by the time
    the model answers: the message is not lost silently, the dropped count says why."""
    port = free_port()
    counter = counter_for(port, store)
    try:
        assert counter.offer(message(n=1)) is None
        wait_until(lambda: sample(counter, "sentimento_bot_model_errors_total",
                                  kind="unavailable") >= 1, what="a failed attempt")
        store.close()
        with model_service(port, lexicon):
            wait_until(lambda: counter.dropped == 1, timeout=20, what="the message dropped")
    finally:
        counter.close(timeout=5)
    assert counter.counted == 0
    assert sample(counter, "sentimento_bot_messages_dropped_total", reason="store_closed") == 1


def test_a_shutdown_does_not_wait_past_its_deadline_for_a_stuck_listener(store, lexicon):
    """Moderation is stuck in a slow Slack call when the bot shuts down: close() returns at its
    deadline (the store's last flush keeps its time), with the batch counted and the listener
    still running counted in the metrics (where="shutdown")."""
    port = free_port()
    release = threading.Event()
    with model_service(port, lexicon):
        counter = counter_for(port, store)
        counter.add_listener(lambda _messages, _results: release.wait(60))
        try:
            assert counter.offer(message(n=1)) is None
            wait_until(lambda: counter.counted == 1, what="the message counted")
            started = time.monotonic()
            counter.close(timeout=0.3)
            assert time.monotonic() - started < 20  # not the listener's 60 s
            assert sample(counter, "sentimento_bot_listener_errors_total", where="shutdown") == 1
        finally:
            release.set()
    assert stored(store) == (1, 0)
