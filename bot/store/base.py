"""The store interfaces (one per feature, and :class:`Store`, all of them) and the write
buffer shared by both implementations.

What is kept: per workspace, channel and day, the count of messages per label and the sum
of the model's scores per label; per channel, two switches (paused, weekly digest); short-lived
claims (Slack event ids, digests sent); moderation settings, thread states and alerts. Never
message text: :class:`bot.counting.model.Observation` carries none, and nothing here accepts any.

Every kind of record but the settings has a retention (:data:`RECORD_KINDS`, the README's
"What is stored"): Firestore deletes it by a TTL policy on its ``expires_at`` field, and
:meth:`Store.purge_expired` deletes it on both stores (SQLite, and the emulator, which has no TTL).
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from bot.counting.model import DROPPED, ChannelActivity, ChannelSettings, Observation, Tally
from bot.feedback.rules import FeedbackCount, FeedbackError, valid_version
from bot.ids import check_id
from bot.moderation.rules import Alert, ModerationRule, ModerationSettings, ThreadEntry, ThreadState
from service.labels import LABELS

log = logging.getLogger(__name__)

Clock = Callable[[], float]
# (team_id, channel_id, day) -> counts of that channel-day
TallyKey = tuple[str, str, str]

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

DAY_S = 86_400
DEFAULT_ALERT_RETENTION_DAYS = 90
DEFAULT_TALLY_RETENTION_DAYS = 400  # a year of reports, and a month to spare
DIGEST_CLAIM_TTL_S = 60 * DAY_S

# Every kind of record the store keeps, as App Home ("O que guardo") and the README name them;
# ``purge_expired`` answers its counts under these keys (settings are kept while installed).
RECORD_KINDS = ("tallies", "switches", "moderation_settings", "threads", "alerts",
                "event_claims", "digest_claims", "write_markers", "feedback", "installations",
                "oauth_states", "scheduled_deletions")
EXPIRING_KINDS = ("tallies", "threads", "alerts", "event_claims", "digest_claims",
                  "write_markers")
ThreadChange = Callable[[ThreadState], tuple[ThreadState, Any]]
ThreadAlertChange = Callable[[ThreadState], tuple[ThreadState, "Alert | None"]]


class StoreClosedError(RuntimeError):
    """The store was closed: nothing more can be recorded through it."""


class TallyStore(Protocol):
    """Per-channel, per-day counts: what the message counter writes and reports read."""

    def record(self, observations: Sequence[Observation]) -> None:
        """Count these observations. Buffered: written every ``FLUSH_INTERVAL`` seconds, on
        :meth:`flush` and on ``close``; reads through this instance include the buffer."""

    def flush(self) -> None:
        """Write buffered counts now. On an error they stay buffered (retried, never dropped)
        and the error is raised."""

    def daily_counts(self, team_id: str, channel_id: str,
                     start: dt.date, end: dt.date) -> dict[str, Tally]:
        """The tallies of one channel per day in ``[start, end]``; days without messages are absent."""

    def top_channels(self, team_id: str, start: dt.date, end: dt.date,
                     limit: int = 10) -> list[ChannelActivity]:
        """A workspace's most active channels over ``[start, end]``, busiest first."""


class ChannelSwitches(Protocol):
    """A channel's switches, decided by its members: paused, weekly digest."""

    def channel_settings(self, team_id: str, channel_id: str) -> ChannelSettings:
        """A channel's switches (defaults: counting, no digest)."""

    def set_paused(self, team_id: str, channel_id: str, paused: bool) -> None:
        """Stop (True) or restart (False) the analysis of a channel."""

    def set_digest(self, team_id: str, channel_id: str, enabled: bool) -> None:
        """Turn a channel's weekly digest on or off."""

    def digest_channels(self) -> list[tuple[str, str]]:
        """Every ``(team_id, channel_id)`` with the weekly digest on."""


class Claims(Protocol):
    """Short-lived claims shared by every instance: Slack events seen, digests sent."""

    def claim_event(self, key: str, token: str | None = None) -> bool:
        """True the first time ``key`` (a Slack event id) is claimed by any instance sharing
        the store, False while an earlier claim has not expired (``EVENT_CLAIM_TTL``). A claim
        made with ``token`` is ours again for the same token: a retry after an error whose
        write landed unseen (a timeout) is not mistaken for another instance's claim."""

    def claim_digest(self, team_id: str, channel_id: str, week: str) -> bool:
        """True the first time the digest of ``week`` (e.g. ``2026-W47``) is claimed for this channel."""

    def release_digest(self, team_id: str, channel_id: str, week: str) -> None:
        """Undo :meth:`claim_digest` (the digest could not be posted; a later call may retry)."""


class ModerationStore(Protocol):
    """Moderation: settings per workspace, thread states and alerts (see bot.moderation.rules)."""

    def moderation_settings(self, team_id: str) -> ModerationSettings:
        """A workspace's moderation settings and false-alarm count (defaults when never set)."""

    def set_moderation(self, team_id: str, *, channel_id: str | None = None,
                       group_id: str | None = None, rule: ModerationRule | None = None,
                       set_by: str | None = None) -> ModerationSettings:
        """Change the given settings (None keeps the current value); the new settings. A new
        ``channel_id`` also stores ``set_by`` (who set it, a Slack user id) and clears
        ``channel_warned``."""

    def warn_channel_once(self, team_id: str, channel_id: str) -> str | None:
        """Atomically: when ``channel_id`` is still the moderators' channel and its breakage
        was not told yet, mark it told and return who set it (to DM); else None."""

    def clear_channel_warning(self, team_id: str, channel_id: str) -> None:
        """An alert was posted in ``channel_id`` again: a later breakage is told again."""

    def update_thread(self, team_id: str, channel_id: str, thread_ts: str,
                      change: ThreadChange) -> Any:
        """Atomically replace a thread's state by ``change(state)[0]`` and return
        ``change(state)[1]``; ``change`` may run more than once (a retried transaction), so it
        must be pure. Safe with several instances."""

    def update_thread_and_alert(self, team_id: str, channel_id: str, thread_ts: str,
                                change: ThreadAlertChange) -> Alert | None:
        """Like :meth:`update_thread`, where ``change(state)`` returns the new state and an
        alert to keep (or None): the thread's state and the alert are saved together, in one
        transaction, or neither is (a thread is never muted by an alert that was not kept).
        Returns the alert kept."""

    def add_alert(self, alert: Alert) -> None:
        """Keep a new alert; only the newest ``MAX_PENDING_ALERTS`` pending ones are kept."""

    def get_alert(self, team_id: str, alert_id: str) -> Alert | None:
        """One alert, None when unknown."""

    def resolve_alert(self, team_id: str, alert_id: str, state: str, user_id: str,
                      at: float) -> Alert | None:
        """Mark an open alert ``acknowledged`` or ``false_alarm`` by ``user_id`` at ``at``, in
        one transaction with the workspace's false-alarm count (up by one for a false alarm).
        The first verdict stands: an alert already resolved is returned unchanged (and nothing
        is counted). None when unknown."""

    def mark_alert_posted(self, team_id: str, alert_id: str, channel_id: str, ts: str,
                          permalink: str | None) -> None:
        """The alert was posted in the moderators' channel as message ``ts``."""

    def mark_alert_pending(self, team_id: str, alert_id: str, permalink: str | None,
                           error: str | None) -> None:
        """The alert was not posted: keep its thread's ``permalink`` and why (Slack's error
        code; None when no moderators' channel is set)."""

    def pending_alerts(self, team_id: str) -> list[Alert]:
        """Alerts waiting for a moderators' channel, newest first."""


@dataclass(frozen=True)
class RetentionDays:
    """The configurable retentions, in days: ``TALLY_RETENTION_DAYS``, ``ALERT_RETENTION_DAYS``."""

    tallies: int = DEFAULT_TALLY_RETENTION_DAYS
    alerts: int = DEFAULT_ALERT_RETENTION_DAYS


class Retention(Protocol):
    """Deleting what has outlived its retention (see the README's "What is stored")."""

    retention: RetentionDays
    claim_ttl_s: int  # EVENT_CLAIM_TTL

    def purge_expired(self, now: float | None = None) -> dict[str, int]:
        """Delete every record whose retention ended at ``now`` (default: the store's clock):
        tallies of days more than ``TALLY_RETENTION_DAYS`` old, alerts older than
        ``ALERT_RETENTION_DAYS``, thread states untouched for ``THREAD_TTL_S``, expired event
        and digest claims. Returns how many records of each kind (:data:`EXPIRING_KINDS`) went.
        Idempotent; safe while other instances write."""


class FeedbackStore(Protocol):
    """Users' votes on the model's answers, as counts per (workspace, model version, predicted
    label, user's label): never text, never who voted; and the moderators' verdicts on alerts."""

    def record_feedback(self, team_id: str, model: str, predicted: str, actual: str) -> None:
        """Add one vote (written at once, atomically: an increment)."""

    def feedback_counts(self, team_id: str) -> list[FeedbackCount]:
        """Every count of a workspace, sorted by model, predicted and user's label."""

    def alert_verdicts(self, team_id: str) -> dict[str, int]:
        """How many of the workspace's kept alerts are ``acknowledged`` and ``false_alarm``."""


class WorkspaceData(Protocol):
    """A workspace's data as a whole: deleted at once (``python -m bot forget``), or after a
    grace period once the app is uninstalled (see bot.workspaces)."""

    def forget_team(self, team_id: str) -> dict[str, int]:
        """Delete everything kept for the workspace: tallies, channel switches, moderation
        settings, threads, alerts, event and digest claims, feedback votes, buffered counts not yet
        written, and its scheduled deletion. The number of records deleted, by kind."""

    def schedule_forget(self, team_id: str, due_at: float) -> None:
        """Delete the workspace's data at ``due_at`` (Unix seconds) or later; a later call
        replaces the date."""

    def cancel_forget(self, team_id: str) -> bool:
        """The workspace came back (reinstalled): keep its data. True when a deletion was
        scheduled."""

    def forgets_due(self, now: float) -> list[str]:
        """The workspaces whose scheduled deletion is due at ``now``, in date order."""


class Store(  # pylint: disable=too-many-ancestors  # one narrow Protocol per feature, composed
        TallyStore, ChannelSwitches, Claims, ModerationStore, FeedbackStore, Retention,
        WorkspaceData, Protocol):
    """Everything the bot keeps. Two implementations: Firestore and SQLite.

    Callers ask for the narrow interface they use (:class:`TallyStore`, :class:`ChannelSwitches`,
    :class:`Claims`, :class:`ModerationStore`, :class:`FeedbackStore`); the composition root
    holds the whole store.
    Days are ISO dates (``YYYY-MM-DD``) in the workspace's time zone, computed by the caller;
    date ranges are inclusive. New features add methods to a narrow interface and to both
    implementations, with a case in the contract tests (``tests/integration/test_store_contract.py``).
    """

    def close(self) -> None:
        """Flush, stop the background writer and release the connection. Idempotent."""


def moderation_changes(channel_id: str | None, group_id: str | None,
                       rule: ModerationRule | None, set_by: str | None = None) -> dict[str, Any]:
    """The stored fields that :meth:`Store.set_moderation` changes (ids checked)."""
    changes: dict[str, Any] = {}
    if channel_id is not None:
        changes["channel_id"] = check_id(channel_id, "channel_id")
        changes["channel_set_by"] = check_id(set_by, "set_by") if set_by else None
        changes["channel_warned"] = False
    if group_id is not None:
        changes["group_id"] = check_id(group_id, "group_id")
    if rule is not None:
        changes.update(rule_to_fields(rule))
    return changes


def resolved(alert: Alert, state: str, user_id: str, at: float) -> Alert:
    """The verdict applied to an open alert; an alert already resolved stays as it is."""
    if alert.resolved:
        return alert
    return dataclasses.replace(alert, state=state, by=user_id, at=at)


def counts_false_alarm(before: Alert, after: Alert) -> bool:
    """This verdict made the alert a false alarm (counted once per alert)."""
    return before.state != "false_alarm" and after.state == "false_alarm"


def check_state(state: str) -> str:
    """``acknowledged`` or ``false_alarm`` (what a moderator can set)."""
    if state not in ("acknowledged", "false_alarm"):
        raise ValueError(f"estado de alerta inválido: {state!r}")
    return state


ALERT_FIELDS = tuple(f.name for f in dataclasses.fields(Alert))


def alert_to_fields(alert: Alert) -> dict[str, Any]:
    """The flat stored shape of an alert (ids, counts, times: never text)."""
    return dataclasses.asdict(alert)


def alert_from_fields(data: Mapping[str, Any]) -> Alert:
    """The inverse of :func:`alert_to_fields` (unknown fields ignored)."""
    return Alert(**{name: data[name] for name in ALERT_FIELDS if name in data})


def rule_to_fields(rule: ModerationRule) -> dict[str, Any]:
    """The rule's stored fields."""
    return dataclasses.asdict(rule)


def settings_from_fields(data: Mapping[str, Any]) -> ModerationSettings:
    """Moderation settings from stored fields (missing ones: the defaults)."""
    default = ModerationRule()
    rule = ModerationRule(**{name: type(value)(data.get(name) if data.get(name) is not None
                                                 else value)
                             for name, value in dataclasses.asdict(default).items()})
    return ModerationSettings(channel_id=data.get("channel_id") or None,
                              group_id=data.get("group_id") or None, rule=rule,
                              false_alarms=int(data.get("false_alarms") or 0),
                              channel_set_by=data.get("channel_set_by") or None,
                              channel_warned=bool(data.get("channel_warned")))


def entries_to_list(state: ThreadState) -> list[list[float]]:
    """A thread's entries as ``[[ts, 1 or 0], ...]`` (its stored shape)."""
    return [[entry.ts, int(entry.negative)] for entry in state.entries]


def entries_from_list(raw: Iterable[Sequence[float]]) -> tuple[ThreadEntry, ...]:
    """The inverse of :func:`entries_to_list`."""
    return tuple(ThreadEntry(float(ts), bool(negative)) for ts, negative in raw)


def with_bot(installation: Any, bot: Any) -> Any:
    """A slack_sdk ``Installation`` carrying ``bot``'s token (a ``Bot``, the latest: a rotated
    token) when it holds another; the installation stores' rule (see bot.store.installations)."""
    if bot is not None and bot.bot_token != installation.bot_token:
        installation.bot_id, installation.bot_user_id = bot.bot_id, bot.bot_user_id
        installation.bot_scopes, installation.bot_token = bot.bot_scopes, bot.bot_token
        installation.bot_refresh_token = bot.bot_refresh_token
        installation.bot_token_expires_at = bot.bot_token_expires_at
    return installation


def check_observation(obs: Observation) -> None:
    """Reject what could never be written, before it enters the buffer."""
    check_id(obs.team_id, "team_id")
    check_id(obs.channel_id, "channel_id")
    if not _DAY.match(obs.day):
        raise ValueError(f"dia inválido: {obs.day!r} (esperado AAAA-MM-DD)")
    dt.date.fromisoformat(obs.day)
    if obs.label not in LABELS and obs.label != DROPPED:
        raise ValueError(f"rótulo inválido: {obs.label!r}")


def tally_cutoff(now: float, retention_days: int) -> dt.date:
    """The first day whose counts are still kept at ``now`` (UTC): days before it expired."""
    today = dt.datetime.fromtimestamp(now, tz=dt.timezone.utc).date()
    return today - dt.timedelta(days=retention_days)


def check_feedback(team_id: str, model: str, predicted: str, actual: str) -> None:
    """Reject a vote that could never be written (ids, labels, version)."""
    check_id(team_id, "team_id")
    if predicted not in LABELS or actual not in LABELS:
        raise FeedbackError("rótulo inválido")
    if not valid_version(model):
        raise FeedbackError("versão de modelo inválida")


def iter_days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    """Every date from ``start`` to ``end`` inclusive."""
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


@dataclass
class Chunk:
    """Buffered counts that are written together, atomically, under one id (see Firestore)."""

    chunk_id: str
    entries: dict[TallyKey, Tally]


class BufferedStore(abc.ABC):
    """Coalesces :meth:`record` calls into one increment per channel-day, written by a
    background thread every ``flush_interval`` seconds (0: written on every record).

    Subclasses implement :meth:`_chunks` (split a batch into atomic writes) and
    :meth:`_commit` (write one chunk, or raise). A chunk that fails stays queued with the
    same id and is retried first on the next flush, so counts are never dropped.
    """

    def __init__(self, flush_interval: float, clock: Clock = time.time):
        self.flush_interval = flush_interval
        self.clock = clock
        self._pending: dict[TallyKey, Tally] = {}
        self._unsent: list[Chunk] = []
        self._buffer_lock = threading.Lock()
        # Held while writing and while reading stored counts, so that a read never sees a
        # chunk both in the store and in the buffer.
        self._flush_lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- writing -------------------------------------------------------------------------
    def record(self, observations: Sequence[Observation]) -> None:
        """Count these observations (buffered; see :meth:`flush`)."""
        for obs in observations:
            check_observation(obs)
        with self._buffer_lock:
            if self._closed:
                raise StoreClosedError("store fechado: nada mais pode ser registrado")
            for obs in observations:
                key = (obs.team_id, obs.channel_id, obs.day)
                self._pending.setdefault(key, Tally()).add_observation(obs)
            self._ensure_thread()
        if self.flush_interval <= 0:
            self.flush()

    def flush(self) -> None:
        """Write every buffered count; on an error they stay buffered and the error is raised."""
        with self._flush_lock:
            with self._buffer_lock:
                fresh, self._pending = self._pending, {}
            if fresh:
                self._unsent.extend(self._chunks(fresh))
            while self._unsent:
                self._commit(self._unsent[0])
                self._unsent.pop(0)

    def pending_count(self) -> int:
        """Messages counted by this instance and not yet written."""
        with self._flush_lock, self._buffer_lock:
            return (sum(t.total for t in self._pending.values())
                    + sum(t.total for c in self._unsent for t in c.entries.values()))

    def close(self) -> None:
        """Flush, stop the background writer and release resources. Safe to call twice.

        If the final flush fails the error is raised and the store stays usable for another
        ``close()`` (the counts are still buffered)."""
        with self._buffer_lock:
            self._closed = True
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(5.0, self.flush_interval * 2))
        self.flush()
        with self._flush_lock:
            self._release()

    def _ensure_thread(self) -> None:
        if self._thread is None and self.flush_interval > 0 and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="store-flush", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            try:
                self.flush()
            except Exception as exc:  # pylint: disable=broad-exception-caught  # kept and retried
                log.warning("store flush failed, %d counts kept for the next try: %s",
                            self.pending_count(), type(exc).__name__)

    def _chunks(self, entries: dict[TallyKey, Tally]) -> list[Chunk]:
        """Split a batch into atomic writes (default: one)."""
        return [Chunk(uuid.uuid4().hex, entries)]

    @abc.abstractmethod
    def _commit(self, chunk: Chunk) -> None:
        """Add one chunk's counts to the stored tallies, atomically; raise on failure."""

    def _release(self) -> None:
        """Close connections (after the last flush)."""

    # -- reading ---------------------------------------------------------------------------
    def _buffered(self, match: Callable[[TallyKey], bool]) -> dict[TallyKey, Tally]:
        """Counts not yet written whose key matches; call with ``_flush_lock`` held."""
        out: dict[TallyKey, Tally] = {}
        with self._buffer_lock:
            sources = [self._pending] + [chunk.entries for chunk in self._unsent]
            for source in sources:
                for key, tally in source.items():
                    if match(key):
                        out.setdefault(key, Tally()).add(tally)
        return out

    def daily_counts(self, team_id: str, channel_id: str,
                     start: dt.date, end: dt.date) -> dict[str, Tally]:
        """Per-day tallies of one channel in ``[start, end]``, buffered counts included."""
        first, last = start.isoformat(), end.isoformat()
        with self._flush_lock:
            days = self._read_days(team_id, channel_id, start, end)
            extra = self._buffered(lambda k: k[0] == team_id and k[1] == channel_id
                                   and first <= k[2] <= last)
        for (_team, _channel, day), tally in extra.items():
            days.setdefault(day, Tally()).add(tally)
        return {day: days[day] for day in sorted(days) if not days[day].empty}

    def top_channels(self, team_id: str, start: dt.date, end: dt.date,
                     limit: int = 10) -> list[ChannelActivity]:
        """The busiest channels of a workspace in ``[start, end]``, buffered counts included."""
        first, last = start.isoformat(), end.isoformat()
        with self._flush_lock:
            channels = self._read_team(team_id, start, end)
            extra = self._buffered(lambda k: k[0] == team_id and first <= k[2] <= last)
        for (_team, channel, _day), tally in extra.items():
            channels.setdefault(channel, Tally()).add(tally)
        ranked = sorted(channels.items(), key=lambda item: (-item[1].total, item[0]))
        return [ChannelActivity(channel, tally) for channel, tally in ranked[:limit]
                if tally.total > 0]

    @abc.abstractmethod
    def _read_days(self, team_id: str, channel_id: str,
                   start: dt.date, end: dt.date) -> dict[str, Tally]:
        """Stored per-day tallies of one channel."""

    @abc.abstractmethod
    def _read_team(self, team_id: str, start: dt.date, end: dt.date) -> dict[str, Tally]:
        """Stored per-channel totals of one workspace over the range."""

    def _drop_buffered(self, team_id: str) -> int:
        """Forget the workspace's counts not yet written; how many messages they held."""
        dropped = 0
        with self._flush_lock, self._buffer_lock:
            for source in [self._pending] + [chunk.entries for chunk in self._unsent]:
                for key in [key for key in source if key[0] == team_id]:
                    dropped += source.pop(key).total
        return dropped

    # -- channel switches ----------------------------------------------------------------
    def set_paused(self, team_id: str, channel_id: str, paused: bool) -> None:
        """Stop or restart a channel's analysis."""
        self._set_switch(check_id(team_id, "team_id"), check_id(channel_id, "channel_id"),
                         "paused", paused)

    def set_digest(self, team_id: str, channel_id: str, enabled: bool) -> None:
        """Turn a channel's weekly digest on or off."""
        self._set_switch(check_id(team_id, "team_id"), check_id(channel_id, "channel_id"),
                         "digest", enabled)

    @abc.abstractmethod
    def _set_switch(self, team_id: str, channel_id: str, name: str, value: bool) -> None:
        """Store one of a channel's switches (``paused`` or ``digest``), ids already checked."""
