"""Firestore-only behaviour, against the real emulator: layout, batching, errors and retries."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import pytest

from bot.counting.model import Observation
from service.labels import LABELS
from tests.support.firestore_support import dump_firestore

T, C = "T0FIRE", "C0FIRE"
DAY = dt.date(2026, 11, 20)


def obs(label: str, day: dt.date = DAY, channel: str = C) -> Observation:
    """A confident observation of ``label``."""
    return Observation(T, channel, day.isoformat(), label,
                       {name: (0.9 if name == label else 0.05) for name in LABELS})


class TcpProxy:
    """A real TCP relay to the emulator that can be cut and restored (a network outage)."""

    def __init__(self, upstream: str):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.is_up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.is_up:
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets += [client, server]
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def down(self) -> None:
        """Cut every connection and refuse new ones."""
        self.is_up = False
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.sockets.clear()

    def up(self) -> None:
        """Accept connections again."""
        self.is_up = True

    def close(self) -> None:
        """Stop listening."""
        self.down()
        self.listener.close()


@pytest.fixture
def stores(firestore_env, open_stores):
    """Opens Firestore stores on the test project (closed after the test)."""
    return lambda **env: open_stores({**firestore_env, "FLUSH_INTERVAL": "60", **env})


def test_sixty_days_of_a_channel_are_three_documents(stores, firestore_env):
    """A 30-day report and its previous 30 days read the channel's month documents only."""
    store = stores()
    days = [DAY - dt.timedelta(days=n) for n in range(60)]
    store.record([obs(LABELS[n % 3], day) for n, day in enumerate(days)])
    store.flush()
    docs = dict(dump_firestore(firestore_env["FIRESTORE_EMULATOR_HOST"]))
    months = sorted(path for path in docs if path.startswith(f"channels/{T}:{C}/months/"))
    assert months == [f"channels/{T}:{C}/months/2026-{m}" for m in ("09", "10", "11")]
    assert sum(len(docs[path]["days"]) for path in months) == 60
    assert len([path for path in docs if path.startswith(f"teams/{T}/days/")]) == 60
    report = stores().daily_counts(T, C, days[-1], DAY)
    assert len(report) == 60 and sum(t.total for t in report.values()) == 60


def test_more_than_one_batch_in_a_flush(stores):
    """700 channels in one flush need two batched writes (500 writes per batch)."""
    store = stores()
    channels = [f"C{n:04d}" for n in range(700)]
    store.record([obs("positive", channel=channel) for channel in channels])
    assert len(store._chunks(dict(store._pending))) == 2  # pylint: disable=protected-access
    store.flush()
    reader = stores()
    top = reader.top_channels(T, DAY, DAY, limit=1000)
    assert len(top) == 700 and sum(a.tally.total for a in top) == 700
    assert reader.daily_counts(T, "C0699", DAY, DAY)["2026-11-20"].total == 1


def test_a_retried_batch_is_not_counted_twice(stores):
    """A commit whose answer was lost is retried with the same marker: applied once."""
    store = stores()
    store.record([obs("negative")] * 5)
    chunks = store._chunks(dict(store._pending))  # pylint: disable=protected-access
    for chunk in chunks * 2:
        store._commit(chunk)  # pylint: disable=protected-access
    assert stores().daily_counts(T, C, DAY, DAY)["2026-11-20"].counts["negative"] == 5


def test_counts_survive_an_outage_and_are_written_after_it(stores, firestore_env):
    """Counts survive an outage and are written after it."""
    proxy = TcpProxy(firestore_env["FIRESTORE_EMULATOR_HOST"])
    try:
        store = stores(FIRESTORE_EMULATOR_HOST=proxy.address, FIRESTORE_TIMEOUT="1")
        store.record([obs("positive")] * 3)
        store.flush()
        proxy.down()
        store.record([obs("negative")] * 4)
        with pytest.raises(Exception):  # pylint: disable=broad-exception-raised
            store.flush()
        store.record([obs("neutral")] * 2)
        with pytest.raises(Exception):  # pylint: disable=broad-exception-raised
            store.close()
        assert store.pending_count() == 6
        proxy.up()
        deadline = time.monotonic() + 20
        while True:
            try:
                store.close()
                break
            except Exception:  # pylint: disable=broad-exception-caught
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert store.pending_count() == 0
        counts = stores().daily_counts(T, C, DAY, DAY)["2026-11-20"].counts
        assert counts == {"negative": 4, "neutral": 2, "positive": 3}
    finally:
        proxy.close()


def test_a_burst_is_coalesced_into_one_batched_write(stores, firestore_env):
    """2,000 messages in one channel buffered between flushes become one batch: one increment
    of the channel's month document and of the workspace's day document."""
    store = stores()
    store.record([obs(LABELS[n % 3]) for n in range(2000)])
    store.flush()
    docs = dump_firestore(firestore_env["FIRESTORE_EMULATOR_HOST"])
    paths = sorted(path for path, _ in docs)
    assert [path.split("/")[0] for path in paths].count("tally_writes") == 1
    assert f"channels/{T}:{C}/months/2026-11" in paths and f"teams/{T}/days/2026-11-20" in paths
    month = dict(docs)[f"channels/{T}:{C}/months/2026-11"]
    assert {k: month["days"]["2026-11-20"][k] for k in LABELS} == dict.fromkeys(LABELS, 667) | {
        "positive": 666}
