"""One contract for both stores: the real Firestore emulator and a real SQLite file."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.counting.model import DROPPED, Observation
from bot.store import StoreClosedError, open_store
from service.labels import LABELS

T, C = "T0STORE", "C0GERAL"
DAY = dt.date(2026, 11, 20)


def obs(label: str, day: dt.date = DAY, channel: str = C, team: str = T,
        score: float = 0.8, model: str = "") -> Observation:
    """An observation whose top label has ``score`` and the rest split evenly."""
    rest = (1.0 - score) / 2
    return Observation(team, channel, day.isoformat(), label,
                       {name: (score if name == label else rest) for name in LABELS}, model)


@pytest.fixture(params=["sqlite", "firestore"])
def store_env(request):
    """The environment of a fresh store of each kind."""
    return request.getfixturevalue(f"{request.param}_env")


@pytest.fixture
def make_store(store_env, open_stores):
    """Opens stores on the same backing data (as separate app instances would)."""
    return lambda clock=time.time, **env: open_stores(
        {**store_env, "CHANNEL_CACHE_SECONDS": "0", **env}, clock=clock)


def test_counts_and_score_sums_per_day(make_store):
    """Counts and score sums per day."""
    store = make_store(FLUSH_INTERVAL="60")
    store.record([obs("positive"), obs("positive", score=0.6), obs("negative"),
                  obs("neutral", day=DAY - dt.timedelta(days=2)),
                  obs("positive", day=DAY + dt.timedelta(days=40))])
    store.record([obs("positive", channel="C0OUTRO")])
    # Buffered counts are visible through the instance that holds them...
    before = store.daily_counts(T, C, DAY - dt.timedelta(days=6), DAY)
    assert {day: t.counts for day, t in before.items()} == {
        "2026-11-18": {"negative": 0, "neutral": 1, "positive": 0},
        "2026-11-20": {"negative": 1, "neutral": 0, "positive": 2},
    }
    store.flush()
    # ...and once written, through any other instance.
    days = make_store().daily_counts(T, C, DAY - dt.timedelta(days=6), DAY)
    assert list(days) == ["2026-11-18", "2026-11-20"]
    today = days["2026-11-20"]
    assert today.total == 3
    assert today.score_sums["positive"] == pytest.approx(0.8 + 0.6 + 0.1)
    assert today.score_sums["negative"] == pytest.approx(0.1 + 0.2 + 0.8)
    later = make_store().daily_counts(T, C, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=60))
    assert [(day, t.total) for day, t in later.items()] == [("2026-12-30", 1)]


def test_each_day_keeps_the_model_versions_that_classified_it(make_store):
    """The set of model versions per channel-day: buffered and written, merged across flushes
    and instances, empty for days counted before versions were recorded (and for dropped)."""
    store = make_store(FLUSH_INTERVAL="60")
    old, new = "LeIA@lexicon-0.0.1", "org/xlm@3f5c1a2"
    yesterday = DAY - dt.timedelta(days=1)
    store.record([obs("positive", day=yesterday, model=old), obs("negative", model=old),
                  obs("neutral", model=new), obs("neutral", day=DAY - dt.timedelta(days=2)),
                  Observation(T, C, DAY.isoformat(), DROPPED, {})])
    assert store.daily_counts(T, C, DAY, DAY)[DAY.isoformat()].models == {old, new}
    store.flush()
    other = make_store(FLUSH_INTERVAL="60")
    other.record([obs("positive", model=new)])
    other.flush()
    days = make_store().daily_counts(T, C, DAY - dt.timedelta(days=2), DAY)
    assert {day: tally.models for day, tally in days.items()} == {
        "2026-11-18": set(), "2026-11-19": {old}, "2026-11-20": {old, new}}
    assert days["2026-11-20"].total == 3


def test_dropped_messages_are_kept_apart_from_the_counts(make_store):
    """Messages acked but not classified are stored per day as ``dropped``: in no label, not in
    the total, and a day with only dropped messages still shows (a report can say so)."""
    store = make_store(FLUSH_INTERVAL="60")
    dropped = Observation(T, C, DAY.isoformat(), DROPPED, {})
    store.record([obs("positive"), dropped, dropped,
                  Observation(T, C, (DAY - dt.timedelta(days=1)).isoformat(), DROPPED, {})])
    store.flush()
    days = make_store().daily_counts(T, C, DAY - dt.timedelta(days=6), DAY)
    assert {day: (t.total, t.dropped) for day, t in days.items()} == {
        "2026-11-19": (0, 1), "2026-11-20": (1, 2)}
    assert [(a.channel_id, a.tally.total) for a in make_store().top_channels(T, DAY, DAY)] == [
        (C, 1)]


def test_increments_add_up_across_flushes_and_instances(make_store):
    """Increments add up across flushes and instances."""
    first, second = make_store(FLUSH_INTERVAL="60"), make_store(FLUSH_INTERVAL="60")
    first.record([obs("positive")] * 3)
    first.flush()
    second.record([obs("positive")] * 2 + [obs("negative")])
    second.flush()
    first.record([obs("neutral")])
    first.close()
    days = second.daily_counts(T, C, DAY, DAY)
    assert days["2026-11-20"].counts == {"negative": 1, "neutral": 1, "positive": 5}


def test_background_thread_writes_without_flush(make_store):
    """Background thread writes without flush."""
    writer = make_store(FLUSH_INTERVAL="0.1")
    reader = make_store()
    writer.record([obs("neutral")] * 4)
    deadline = time.monotonic() + 10
    while not reader.daily_counts(T, C, DAY, DAY) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reader.daily_counts(T, C, DAY, DAY)["2026-11-20"].counts["neutral"] == 4
    assert writer.pending_count() == 0


def test_close_flushes_is_idempotent_and_refuses_new_counts(make_store):
    """Close flushes is idempotent and refuses new counts."""
    store = make_store(FLUSH_INTERVAL="60")
    store.record([obs("positive")] * 7)
    store.close()
    store.close()
    with pytest.raises(StoreClosedError, match="^store fechado: nada mais pode ser registrado$"):
        store.record([obs("positive")])
    assert make_store().daily_counts(T, C, DAY, DAY)["2026-11-20"].total == 7


def test_invalid_observations_are_refused_before_buffering(make_store):
    """Invalid observations are refused before buffering."""
    store = make_store(FLUSH_INTERVAL="60")
    for bad, says in ((Observation("T 1", C, "2026-11-20", "positive", {}), "team_id inválido"),
                      (Observation(T, "C/../x", "2026-11-20", "positive", {}),
                       "channel_id inválido"),
                      (Observation(T, C, "20/11/2026", "positive", {}), "dia inválido: '20/11"),
                      (Observation(T, C, "2026-11-20", "feliz", {}), "rótulo inválido: 'feliz'")):
        with pytest.raises(ValueError, match=f"^{says}"):
            store.record([obs("positive"), bad])
    assert store.pending_count() == 0
    store.flush()


def test_a_switch_of_an_invalid_id_is_refused_naming_it(make_store):
    """``set_paused`` and ``set_digest`` refuse an id that Slack could not have sent, saying
    which one (the operator's log line), and change nothing."""
    store = make_store()
    for switch in (store.set_paused, store.set_digest):
        with pytest.raises(ValueError, match="^team_id inválido"):
            switch("T 1", C, True)
        with pytest.raises(ValueError, match="^channel_id inválido"):
            switch(T, "C/../x", True)
    assert store.digest_channels() == [] and store.channel_settings(T, C).paused is False


def test_claim_event_once_across_instances(make_store):
    """Claim event once across instances."""
    first, second = make_store(), make_store()
    assert first.claim_event("Ev0001") is True
    assert first.claim_event("Ev0001") is False
    assert second.claim_event("Ev0001") is False
    assert second.claim_event("Ev0002") is True
    # Keys that are not valid document ids still work.
    assert first.claim_event("retry/1 ü") is True
    assert second.claim_event("retry/1 ü") is False


def test_a_claim_is_ours_again_for_its_token(make_store):
    """An instance that retries a claim after an error (its first write may have landed unseen)
    gets it again with the same token; another token, or none, is a redelivery."""
    first, second = make_store(), make_store()
    assert first.claim_event("Ev0TOKEN", "token-a") is True
    assert first.claim_event("Ev0TOKEN", "token-a") is True  # the retry: still ours
    assert second.claim_event("Ev0TOKEN", "token-b") is False
    assert second.claim_event("Ev0TOKEN") is False


def test_claims_expire(make_store):
    """Claims expire."""
    now = [1_800_000_000.0]
    store = make_store(clock=lambda: now[0], EVENT_CLAIM_TTL="600")
    other = make_store(clock=lambda: now[0], EVENT_CLAIM_TTL="600")
    assert store.claim_event("Ev0009") is True
    now[0] += 599
    assert other.claim_event("Ev0009") is False
    now[0] += 2
    assert other.claim_event("Ev0009") is True
    assert store.claim_event("Ev0009") is False


def test_burst_of_2000_redelivered_to_two_instances_counts_2000(make_store):
    """Two app instances receive every event of a burst (retries, load balancer)."""
    instances = [make_store(FLUSH_INTERVAL="0.2"), make_store(FLUSH_INTERVAL="0.2")]
    labels = [LABELS[i % 3] for i in range(2000)]

    def deliver(job):
        index, instance = job
        if instance.claim_event(f"Ev{index:05d}"):
            instance.record([obs(labels[index])])

    jobs = [(i, instances[(i + k) % 2]) for i in range(2000) for k in (0, 1)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(deliver, jobs))
    for instance in instances:
        instance.close()
    days = make_store().daily_counts(T, C, DAY, DAY)
    assert days["2026-11-20"].total == 2000
    assert days["2026-11-20"].counts == {
        "negative": labels.count("negative"), "neutral": labels.count("neutral"),
        "positive": labels.count("positive")}


def test_concurrent_records_are_not_lost(make_store):
    """Concurrent records are not lost."""
    store = make_store(FLUSH_INTERVAL="0.01")
    threads = [threading.Thread(target=lambda: [store.record([obs("positive")]) for _ in range(250)])
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    assert make_store().daily_counts(T, C, DAY, DAY)["2026-11-20"].total == 1000


def test_top_channels_ranks_a_workspace_over_a_period(make_store):
    """Top channels ranks a workspace over a period."""
    store = make_store(FLUSH_INTERVAL="60")
    store.record([obs("positive", channel="C0A")] * 5 + [obs("negative", channel="C0B")] * 9
                 + [obs("neutral", channel="C0C")] * 2
                 + [obs("positive", channel="C0C", day=DAY - dt.timedelta(days=1))] * 2
                 + [obs("positive", channel="C0OLD", day=DAY - dt.timedelta(days=30))] * 50
                 + [obs("positive", team="T0OTHER", channel="C0X")] * 99)
    store.flush()
    store.record([obs("positive", channel="C0A")] * 1)  # still buffered
    top = store.top_channels(T, DAY - dt.timedelta(days=6), DAY)
    assert [(a.channel_id, a.tally.total) for a in top] == [("C0B", 9), ("C0A", 6), ("C0C", 4)]
    assert top[0].tally.counts["negative"] == 9
    assert [a.channel_id for a in make_store().top_channels(T, DAY - dt.timedelta(days=6), DAY,
                                                              limit=2)] == ["C0B", "C0A"]


def test_the_busiest_channels_are_ten_in_name_order_on_a_tie_and_never_only_failures(make_store):
    """Without a limit, 10 channels; channels with as many messages come in name order; a
    channel whose messages all failed to be analysed is not among the busiest (buffered or
    written alike)."""
    store = make_store(FLUSH_INTERVAL="60")
    channels = [f"C0CANAL{n:02d}" for n in range(12)]
    store.record([obs("neutral", channel=channel) for channel in reversed(channels)]
                 + [Observation(T, "C0FALHAS", DAY.isoformat(), DROPPED, {})] * 3)
    for instance in (store, make_store()):
        top = instance.top_channels(T, DAY, DAY)
        assert [a.channel_id for a in top] == channels[:10]
        assert "C0FALHAS" not in [a.channel_id for a in instance.top_channels(T, DAY, DAY, limit=20)]
        store.flush()


def test_pause_and_digest_switches(make_store):
    """Pause and digest switches."""
    store, other = make_store(), make_store()
    assert store.channel_settings(T, C).paused is False
    store.set_paused(T, C, True)
    assert other.channel_settings(T, C).paused is True
    assert other.channel_settings(T, "C0OUTRO").paused is False
    other.set_paused(T, C, False)
    assert store.channel_settings(T, C).paused is False
    assert store.digest_channels() == []
    store.set_digest(T, C, True)
    store.set_digest(T, "C0B", True)
    store.set_digest("T0OTHER", "C0X", True)
    other.set_digest(T, "C0B", False)
    assert other.digest_channels() == [("T0OTHER", "C0X"), (T, C)]
    settings = store.channel_settings(T, C)
    assert (settings.paused, settings.digest) == (False, True)


def test_a_switch_takes_effect_at_once_on_the_instance_that_changed_it(make_store):
    """With the production cache (``CHANNEL_CACHE_SECONDS=10``), ``pausar``, ``retomar`` and
    ``resumo`` are seen at once by the instance that received the command: the cached switches
    of that channel are forgotten, not served for 10 more seconds."""
    store = make_store(CHANNEL_CACHE_SECONDS="10")
    assert store.channel_settings(T, C).paused is False  # now cached
    store.set_paused(T, C, True)
    assert store.channel_settings(T, C).paused is True
    store.set_paused(T, C, False)
    assert store.channel_settings(T, C).paused is False
    store.set_digest(T, C, True)
    assert store.channel_settings(T, C).digest is True


def test_digest_claim_once_per_channel_and_week(make_store):
    """Digest claim once per channel and week."""
    first, second = make_store(), make_store()
    assert first.claim_digest(T, C, "2026-W47") is True
    assert second.claim_digest(T, C, "2026-W47") is False
    assert second.claim_digest(T, C, "2026-W48") is True
    assert second.claim_digest(T, "C0B", "2026-W47") is True
    first.release_digest(T, C, "2026-W47")
    assert second.claim_digest(T, C, "2026-W47") is True


def test_open_store_picks_the_backend(tmp_path):
    """Open store picks the backend."""
    from bot.store.settings import StoreSettings  # pylint: disable=import-outside-toplevel
    from service.settings import SettingsError  # pylint: disable=import-outside-toplevel

    assert StoreSettings.from_env({}).backend == "sqlite"
    assert StoreSettings.from_env({}).sqlite_path == "./sentimento.db"
    assert StoreSettings.from_env({"GOOGLE_CLOUD_PROJECT": "p"}).backend == "firestore"
    assert StoreSettings.from_env({"FIRESTORE_EMULATOR_HOST": "127.0.0.1:1"}).backend == "firestore"
    assert StoreSettings.from_env({"GOOGLE_CLOUD_PROJECT": "p", "STORE": "sqlite"}).backend == "sqlite"
    with pytest.raises(SettingsError) as error:
        StoreSettings.from_env({"STORE": "mongo", "FLUSH_INTERVAL": "soon"})
    assert "STORE" in str(error.value) and "FLUSH_INTERVAL" in str(error.value)
    store = open_store({"SQLITE_PATH": str(tmp_path / "sub" / "x.db")})
    store.close()
    assert (tmp_path / "sub" / "x.db").exists()


def test_a_sqlite_file_of_an_earlier_version_gains_the_dropped_column(tmp_path):
    """A file written before ``dropped`` existed opens, keeps its counts and takes new ones."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE channel_days (team_id TEXT NOT NULL, channel_id TEXT NOT NULL, "
            "day TEXT NOT NULL, negative INTEGER NOT NULL DEFAULT 0, neutral INTEGER NOT NULL "
            "DEFAULT 0, positive INTEGER NOT NULL DEFAULT 0, score_negative REAL NOT NULL "
            "DEFAULT 0, score_neutral REAL NOT NULL DEFAULT 0, score_positive REAL NOT NULL "
            "DEFAULT 0, PRIMARY KEY (team_id, channel_id, day)) WITHOUT ROWID;"
            f"INSERT INTO channel_days VALUES ('{T}', '{C}', '{DAY.isoformat()}', 1, 2, 3, "
            "0.5, 1.5, 2.5);")
    store = open_store({"STORE": "sqlite", "SQLITE_PATH": str(path), "FLUSH_INTERVAL": "0"})
    try:
        store.record([Observation(T, C, DAY.isoformat(), DROPPED, {})])
        [(day, tally)] = store.daily_counts(T, C, DAY, DAY).items()
    finally:
        store.close()
    assert (day, tally.counts, tally.dropped) == (
        DAY.isoformat(), {"negative": 1, "neutral": 2, "positive": 3}, 1)


def utc(year: int, month: int, day: int, hour: int = 0) -> float:
    """A UTC instant as Unix seconds."""
    return dt.datetime(year, month, day, hour, tzinfo=dt.timezone.utc).timestamp()


def test_tallies_are_kept_for_their_retention_then_purged(make_store):
    """A day's counts outlive TALLY_RETENTION_DAYS days, and no more: with 62 days, on
    2 November the counts of 31 August go (both the channel's and the workspace ranking's),
    those of 1 September stay; the day before, both stay."""
    store = make_store(FLUSH_INTERVAL="0", TALLY_RETENTION_DAYS="62")
    old, kept = dt.date(2026, 8, 31), dt.date(2026, 9, 1)
    store.record([obs("positive", day=old), obs("negative", day=kept)])

    def left() -> tuple[list[str], int]:
        days = store.daily_counts(T, C, old, kept)
        ranking = store.top_channels(T, old, kept)
        return list(days), sum(channel.tally.total for channel in ranking)

    assert store.purge_expired(utc(2026, 11, 1, 23))["tallies"] == 0
    assert left() == (["2026-08-31", "2026-09-01"], 2)
    assert store.purge_expired(utc(2026, 11, 2, 1))["tallies"] >= 1
    assert left() == (["2026-09-01"], 1)
    assert make_store().daily_counts(T, C, old, kept).keys() == {"2026-09-01"}


def test_claims_are_purged_once_expired(make_store):
    """Event claims after EVENT_CLAIM_TTL, digest claims after 60 days: deleted, not only
    ignored; a purge before that deletes nothing."""
    now = [1_800_000_000.0]
    store = make_store(clock=lambda: now[0], EVENT_CLAIM_TTL="600")
    assert store.claim_event("Ev0PURGE") and store.claim_digest(T, C, "2026-W47")
    kept = store.purge_expired(now[0] + 599)
    assert (kept["event_claims"], kept["digest_claims"]) == (0, 0)
    assert store.claim_event("Ev0PURGE") is False
    gone = store.purge_expired(now[0] + 600)
    assert (gone["event_claims"], gone["digest_claims"]) == (1, 0)
    assert store.purge_expired(now[0] + 60 * 86_400)["digest_claims"] == 1
    assert store.claim_digest(T, C, "2026-W47") is True


@pytest.mark.parametrize("action", ["pause", "resume"])
def test_a_switch_is_seen_at_once_here_and_within_the_cache_time_elsewhere(make_store, action):
    """With production's CHANNEL_CACHE_SECONDS (10 s): a pause (or resume) is seen at once by
    the instance that made it, and by another instance, which had read the switch before, 10 s
    after the change at the latest; a clock set back does not keep a stale value."""
    now = [1_800_000_000.0]
    here = make_store(clock=lambda: now[0], CHANNEL_CACHE_SECONDS="10")
    there = make_store(clock=lambda: now[0], CHANNEL_CACHE_SECONDS="10")
    paused = action == "pause"
    if not paused:
        here.set_paused(T, C, True)
    assert here.channel_settings(T, C).paused is not paused    # both read it, and cache it
    assert there.channel_settings(T, C).paused is not paused
    here.set_paused(T, C, paused)                              # the worst case: just after it
    assert here.channel_settings(T, C).paused is paused        # at once, through this instance
    now[0] += 10                                               # the cache time, to the second
    assert there.channel_settings(T, C).paused is paused
    now[0] -= 3600                                             # a clock set back: no stale cache
    here.set_paused(T, C, not paused)
    assert there.channel_settings(T, C).paused is not paused


def test_a_sqlite_file_without_model_versions_or_feedback_gains_them(tmp_path):
    """A file written before model versions and votes were kept opens with its counts (their
    days name no model) and then keeps both."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE channel_days (team_id TEXT NOT NULL, channel_id TEXT NOT NULL, "
            "day TEXT NOT NULL, negative INTEGER NOT NULL DEFAULT 0, neutral INTEGER NOT NULL "
            "DEFAULT 0, positive INTEGER NOT NULL DEFAULT 0, score_negative REAL NOT NULL "
            "DEFAULT 0, score_neutral REAL NOT NULL DEFAULT 0, score_positive REAL NOT NULL "
            "DEFAULT 0, dropped INTEGER NOT NULL DEFAULT 0, "
            "PRIMARY KEY (team_id, channel_id, day)) WITHOUT ROWID;"
            f"INSERT INTO channel_days VALUES ('{T}', '{C}', '{DAY.isoformat()}', 1, 2, 3, "
            "0.5, 1.5, 2.5, 0);")
    store = open_store({"STORE": "sqlite", "SQLITE_PATH": str(path), "FLUSH_INTERVAL": "0"})
    try:
        before = store.daily_counts(T, C, DAY, DAY)[DAY.isoformat()]
        store.record([obs("positive", model="LeIA@lexicon-0.0.1")])
        after = store.daily_counts(T, C, DAY, DAY)[DAY.isoformat()]
        store.record_feedback(T, "LeIA@lexicon-0.0.1", "positive", "neutral")
        votes = store.feedback_counts(T)
    finally:
        store.close()
    assert (before.total, before.models) == (6, set())
    assert (after.total, after.models) == (7, {"LeIA@lexicon-0.0.1"})
    assert [(v.predicted, v.actual, v.votes) for v in votes] == [("positive", "neutral", 1)]


def fill_team(store, team: str) -> None:
    """Everything a workspace leaves in the store: counts (written and buffered), switches,
    moderation settings, a thread, an alert, a vote, event and digest claims."""
    # pylint: disable=import-outside-toplevel
    from bot.moderation.rules import Alert, ThreadEntry, ThreadState

    store.record([obs("positive", team=team), obs("negative", team=team, channel="C0OUTRO")])
    store.flush()
    store.set_paused(team, C, True)
    store.set_digest(team, "C0OUTRO", True)
    store.set_moderation(team, channel_id="C0MODS", set_by="U0ADMIN")
    store.update_thread(team, C, "1732600000.000100",
                        lambda _s: (ThreadState((ThreadEntry(1.0, True),)), None))
    store.add_alert(Alert(alert_id="a1", team_id=team, channel_id=C,
                          message_ts="1732600000.000100", negatives=3, span_s=60.0,
                          created_at=1.0))
    store.record_feedback(team, "LeIA@lexicon-0.0.1", "positive", "neutral")
    assert store.claim_event(f"{team}:Ev0FORGET")
    assert store.claim_digest(team, "C0OUTRO", "2026-W47")


def team_view(store, team: str) -> dict:
    """What a workspace has in the store, read through the store's own queries."""
    start, end = DAY - dt.timedelta(days=60), DAY + dt.timedelta(days=60)
    return {"top": [(a.channel_id, a.tally.total) for a in store.top_channels(team, start, end)],
            "days": {day: t.total for day, t in store.daily_counts(team, C, start, end).items()},
            "paused": store.channel_settings(team, C).paused,
            "digest": [pair for pair in store.digest_channels() if pair[0] == team],
            "moderation": store.moderation_settings(team).channel_id,
            "alert": store.get_alert(team, "a1") is not None,
            "pending": len(store.pending_alerts(team)),
            "votes": len(store.feedback_counts(team))}


def test_forget_team_deletes_one_workspace_and_nothing_else(make_store):
    """``forget_team`` deletes everything of one workspace (counts written and buffered,
    switches, moderation, threads, alerts, claims: they can be taken again) and leaves the
    other workspace untouched; a second call finds nothing."""
    store = make_store(FLUSH_INTERVAL="60")
    fill_team(store, "T0AAA")
    fill_team(store, "T0BBB")
    store.record([obs("neutral", team="T0AAA"), obs("neutral", team="T0AAA", channel="C0OUTRO"),
                  obs("neutral", team="T0BBB")])  # buffered only
    before_b = team_view(store, "T0BBB")
    assert before_b["top"] == [(C, 2), ("C0OUTRO", 1)] and before_b["paused"]
    assert before_b["votes"] == 1

    deleted = store.forget_team("T0AAA")
    assert deleted["buffered_messages"] == 2  # of two channels
    assert deleted["channels"] >= 2 and deleted["claims"] == 2 and deleted["threads"] >= 1
    store.flush()
    for instance in (store, make_store()):
        assert team_view(instance, "T0AAA") == {
            "top": [], "days": {}, "paused": False, "digest": [], "moderation": None,
            "alert": False, "pending": 0, "votes": 0}
        assert team_view(instance, "T0BBB") == before_b
    assert store.claim_event("T0AAA:Ev0FORGET") is True
    assert store.claim_event("T0BBB:Ev0FORGET") is False
    assert store.claim_digest("T0AAA", "C0OUTRO", "2026-W47") is True
    assert store.claim_digest("T0BBB", "C0OUTRO", "2026-W47") is False
    again = store.forget_team("T0AAA")
    assert (again["claims"], again["threads"], again["buffered_messages"]) == (2, 0, 0)


def test_scheduled_deletions_come_due_and_can_be_cancelled(make_store):
    """A deletion scheduled at ``due_at`` is due from then on (in date order), until it is
    cancelled (a reinstall) or done (``forget_team`` removes it)."""
    store = make_store()
    store.schedule_forget("T0AAA", 2000.0)
    store.schedule_forget("T0BBB", 1000.0)
    store.schedule_forget("T0CCC", 3000.0)
    assert store.forgets_due(999.0) == []
    assert make_store().forgets_due(2000.0) == ["T0BBB", "T0AAA"]
    store.schedule_forget("T0BBB", 5000.0)  # rescheduled: the later date replaces the first
    assert store.forgets_due(2000.0) == ["T0AAA"]
    assert store.cancel_forget("T0AAA") is True
    assert store.cancel_forget("T0AAA") is False
    assert store.forgets_due(10_000.0) == ["T0CCC", "T0BBB"]
    store.forget_team("T0CCC")
    assert store.forgets_due(10_000.0) == ["T0BBB"]
