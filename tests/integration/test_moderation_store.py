"""The moderation part of the store contract, on both stores: a real SQLite file and the
Firestore emulator (same fixtures as tests/integration/test_store_contract.py)."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import dataclasses
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest

from bot.moderation.rules import (
    MAX_PENDING_ALERTS, THREAD_TTL_S, Alert, ModerationRule, ThreadEntry, ThreadState, observe,
)

T, C = "T0STORE", "C0GERAL"
NOW = 1_800_000_000.0
RULE = ModerationRule()


@pytest.fixture(params=["sqlite", "firestore"])
def store_env(request):
    """The environment of a fresh store of each kind."""
    return request.getfixturevalue(f"{request.param}_env")


@pytest.fixture
def make_store(store_env, open_stores):
    """Opens stores on the same backing data (as separate app instances would)."""
    return lambda **env: open_stores({**store_env, "FLUSH_INTERVAL": "60", **env})


def alert(n: int, *, pending: bool = True, team: str = T) -> Alert:
    """Alert number ``n`` (created ``n`` seconds after NOW)."""
    return Alert(alert_id=f"a{n:04d}", team_id=team, channel_id=C,
                 message_ts=f"{NOW + n:.6f}", negatives=3, span_s=60.0, created_at=NOW + n,
                 posted_channel=None if pending else "C0MODS",
                 posted_ts=None if pending else f"{NOW + n:.6f}")


def test_moderation_settings_defaults_and_changes(make_store):
    """Defaults, partial changes seen by another instance, per workspace."""
    store, other = make_store(), make_store()
    settings = store.moderation_settings(T)
    assert (settings.channel_id, settings.group_id, settings.false_alarms) == (None, None, 0)
    assert settings.rule == ModerationRule(0.80, 3, 10, 30)
    store.set_moderation(T, channel_id="C0MODS")
    store.set_moderation(T, group_id="S0MODS")
    assert other.moderation_settings(T).false_alarms == 0  # saved settings, no alarm yet
    changed = other.set_moderation(T, rule=ModerationRule(0.85, 4, 12, 45))
    assert (changed.channel_id, changed.group_id) == ("C0MODS", "S0MODS")
    assert store.moderation_settings(T).rule == ModerationRule(0.85, 4, 12, 45)
    assert store.moderation_settings("T0OTHER").channel_id is None
    for change, says in (({"channel_id": "C0/../x"}, "channel_id"), ({"group_id": "S 1"}, "group_id"),
                         ({"channel_id": "C0MODS", "set_by": "U/x"}, "set_by")):
        with pytest.raises(ValueError, match=f"^{says} inválido"):
            store.set_moderation(T, **change)


def test_thread_state_is_bounded_and_shared(make_store):
    """Entries round-trip, stay within the window, and one instance sees the other's."""
    store, other = make_store(), make_store()
    ts = f"{NOW:.6f}"
    for i in range(15):  # 15 messages, one a minute, every third negative
        entry = ThreadEntry(NOW + 60 * i, negative=i % 3 == 0)
        (store if i % 2 else other).update_thread(
            T, C, ts, partial(lambda s, e: observe(s, e, e.ts, RULE), e=entry))
    state = store.update_thread(T, C, ts, lambda s: (s, s))
    # last 10 messages, or the last 30 minutes (all 15 are within 14 minutes)
    assert len(state.entries) == 15
    assert state.entries[0] == ThreadEntry(NOW, True)
    late = ThreadEntry(NOW + 3600 * 5, negative=False)
    other.update_thread(T, C, ts, lambda s: (observe(s, late, late.ts, RULE)[0], None))
    state = other.update_thread(T, C, ts, lambda s: (s, s))
    assert len(state.entries) == 10 and state.entries[-1] == late
    assert store.update_thread(T, C, ts, lambda s: (s, s)).entries == state.entries
    assert store.update_thread(T, "C0OUTRO", ts, lambda s: (s, s)) == ThreadState()
    with pytest.raises(ValueError):
        store.update_thread(T, C, "not-a-ts", lambda s: (s, None))


def test_two_instances_alert_a_thread_once(make_store):
    """Negative messages of one thread at two instances at once: exactly one flag."""
    instances = [make_store(), make_store()]
    ts = f"{NOW:.6f}"

    def deliver(i: int):
        entry = ThreadEntry(NOW + i, negative=True)
        return instances[i % 2].update_thread(T, C, ts, lambda s: observe(s, entry, NOW + 10, RULE))

    with ThreadPoolExecutor(2) as pool:
        flags = [flag for flag in pool.map(deliver, range(3)) if flag is not None]
    assert len(flags) == 1 and flags[0].negatives == 3
    state = instances[0].update_thread(T, C, ts, lambda s: (s, s))
    assert len(state.entries) == 3 and state.last_alert_negatives == 3


def test_alerts_resolve_and_count_false_alarms_once(make_store):
    """Alerts are kept, resolved by anyone's instance; the first verdict stands (a later one
    changes nothing), false alarms counted once each."""
    store, other = make_store(), make_store()
    store.add_alert(alert(1, pending=False))
    store.add_alert(alert(2, pending=False))
    assert other.get_alert(T, "a0001") == alert(1, pending=False)
    assert other.get_alert(T, "a9999") is None
    done = other.resolve_alert(T, "a0001", "acknowledged", "U0MOD", NOW + 100)
    assert (done.state, done.by, done.at) == ("acknowledged", "U0MOD", NOW + 100)
    assert store.get_alert(T, "a0001") == done
    for _ in range(2):
        store.resolve_alert(T, "a0002", "false_alarm", "U0MOD", NOW + 200)
    assert other.resolve_alert(T, "a0001", "false_alarm", "U0MOD2", NOW + 300) == done
    assert other.resolve_alert(T, "a0002", "acknowledged", "U0MOD2", NOW + 400).state == \
        "false_alarm"
    assert store.moderation_settings(T).false_alarms == 1
    assert store.resolve_alert(T, "a9999", "false_alarm", "U0MOD", NOW) is None
    with pytest.raises(ValueError):
        store.resolve_alert(T, "a0001", "open", "U0MOD", NOW)


def test_pending_alerts_keep_the_newest_50_until_posted(make_store):
    """Pending alerts: newest first, at most 50; a posted one leaves the list."""
    store, other = make_store(), make_store()
    for n in range(MAX_PENDING_ALERTS + 3):
        (store if n % 2 else other).add_alert(alert(n))
    store.add_alert(alert(500, team="T0OTHER"))
    pending = other.pending_alerts(T)
    assert [a.alert_id for a in pending] == [f"a{n:04d}" for n in range(52, 2, -1)]
    store.mark_alert_posted(T, "a0052", "C0MODS", "1800000999.000100", "https://x/p1")
    assert other.pending_alerts(T)[0].alert_id == "a0051"
    posted = other.get_alert(T, "a0052")
    assert (posted.posted_channel, posted.posted_ts, posted.permalink) == (
        "C0MODS", "1800000999.000100", "https://x/p1")
    assert dataclasses.replace(posted, posted_channel=None, posted_ts=None,
                               permalink=None) == alert(52)
    assert [a.alert_id for a in store.pending_alerts("T0OTHER")] == ["a0500"]


@pytest.fixture
def alert_writes(store_env):
    """``(fail, kept)``: ``fail(True)`` makes the store refuse alert writes for real, ``kept(a)``
    is the alert the test then asks to keep. SQLite: a trigger aborts inserts into ``alerts``;
    Firestore: the alert is over the emulator's 1 MiB document limit."""
    broken = {"on": False}

    def fail(on: bool) -> None:
        broken["on"] = on
        if store_env["STORE"] == "sqlite":
            with sqlite3.connect(store_env["SQLITE_PATH"]) as conn:
                conn.execute("CREATE TRIGGER no_alerts BEFORE INSERT ON alerts BEGIN "
                             "SELECT RAISE(ABORT, 'alerts refused'); END" if on
                             else "DROP TRIGGER no_alerts")

    def kept(new: Alert) -> Alert:
        if broken["on"] and store_env["STORE"] == "firestore":
            return dataclasses.replace(new, permalink="https://x/" + "p" * 1_100_000)
        return new

    return fail, kept


def test_a_failing_alert_write_leaves_the_thread_unmuted(make_store, alert_writes):
    """The alert and the thread's last alert are saved together: when the alert cannot be
    written, the thread is not muted, and the next message raises the alert."""
    fail, kept = alert_writes
    store = make_store()
    ts = f"{NOW:.6f}"
    for i in range(2):
        entry = ThreadEntry(NOW + i, negative=True)
        store.update_thread(T, C, ts, lambda s, e=entry: observe(s, e, NOW + 10, RULE))

    def change(entry: ThreadEntry):
        def run(state):
            new_state, flag = observe(state, entry, NOW + 10, RULE)
            return new_state, None if flag is None else kept(alert(7))
        return run

    fail(True)
    with pytest.raises(Exception):
        store.update_thread_and_alert(T, C, ts, change(ThreadEntry(NOW + 2, negative=True)))
    state = store.update_thread(T, C, ts, lambda s: (s, s))
    assert state.last_alert_at is None and len(state.entries) == 2
    assert store.pending_alerts(T) == [] and store.get_alert(T, "a0007") is None
    fail(False)
    raised = store.update_thread_and_alert(T, C, ts, change(ThreadEntry(NOW + 3, negative=True)))
    assert raised == alert(7) and make_store().get_alert(T, "a0007") == alert(7)
    state = store.update_thread(T, C, ts, lambda s: (s, s))
    assert (state.last_alert_at, state.last_alert_negatives) == (NOW + 10, 3)
    assert store.update_thread_and_alert(T, C, ts, change(ThreadEntry(NOW + 4, True))) is None


def test_channel_breakage_is_told_once_until_it_works_again(make_store):
    """Who set the moderators' channel is kept; its breakage is claimed once (across
    instances) until cleared by a post that worked, or until a channel is set again."""
    store, other = make_store(), make_store()
    assert store.warn_channel_once(T, "C0MODS") is None  # no channel set
    store.set_moderation(T, channel_id="C0MODS", set_by="U0ADMIN")
    assert other.moderation_settings(T).channel_set_by == "U0ADMIN"
    assert other.warn_channel_once(T, "C0OUTRO") is None  # not the channel set
    assert store.warn_channel_once(T, "C0MODS") == "U0ADMIN"
    assert other.warn_channel_once(T, "C0MODS") is None
    assert store.moderation_settings(T).channel_warned
    other.clear_channel_warning(T, "C0MODS")
    assert store.warn_channel_once(T, "C0MODS") == "U0ADMIN"
    other.set_moderation(T, channel_id="C0MODS2", set_by="U0MOD")
    settings = store.moderation_settings(T)
    assert (settings.channel_set_by, settings.channel_warned) == ("U0MOD", False)
    store.set_moderation(T, group_id="S0MODS")  # other settings keep who set the channel
    assert store.moderation_settings(T).channel_set_by == "U0MOD"


def test_an_alert_that_could_not_be_posted_keeps_why(make_store):
    """A pending alert keeps its permalink and Slack's error; posting it clears the error."""
    store, other = make_store(), make_store()
    store.add_alert(alert(1))
    other.mark_alert_pending(T, "a0001", "https://x/p1", "not_in_channel")
    [pending] = store.pending_alerts(T)
    assert (pending.permalink, pending.post_error) == ("https://x/p1", "not_in_channel")
    store.mark_alert_posted(T, "a0001", "C0MODS", "1800000999.000100", "https://x/p1")
    assert other.get_alert(T, "a0001").post_error is None and other.pending_alerts(T) == []


def test_alerts_and_thread_states_are_purged_after_their_retention(store_env, open_stores):
    """An alert is kept ALERT_RETENTION_DAYS after its creation, a thread's state THREAD_TTL_S
    after its last change; then purge_expired deletes them (and nothing before)."""
    now = [NOW]
    store = open_stores({**store_env, "FLUSH_INTERVAL": "60", "ALERT_RETENTION_DAYS": "5"},
                        clock=lambda: now[0])
    store.add_alert(alert(0))
    entry = ThreadEntry(NOW, True)
    store.update_thread(T, C, f"{NOW:.6f}", lambda state: observe(state, entry, NOW, RULE))
    kept = store.purge_expired(NOW + THREAD_TTL_S - 1)
    assert (kept["alerts"], kept["threads"]) == (0, 0)
    assert store.update_thread(T, C, f"{NOW:.6f}", lambda state: (state, len(state.entries))) == 1
    gone = store.purge_expired(NOW + THREAD_TTL_S)
    assert (gone["alerts"], gone["threads"]) == (0, 1)
    assert store.update_thread(T, C, f"{NOW:.6f}", lambda state: (state, len(state.entries))) == 0
    assert store.purge_expired(NOW + 5 * 86_400 - 1)["alerts"] == 0
    assert store.get_alert(T, "a0000") is not None
    assert store.purge_expired(NOW + 5 * 86_400)["alerts"] == 1
    assert (store.get_alert(T, "a0000"), store.pending_alerts(T)) == (None, [])
