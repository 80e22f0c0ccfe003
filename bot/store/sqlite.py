"""The embedded store: one SQLite file (``SQLITE_PATH``), for a laptop or a single instance.

Several processes may share the file (WAL mode, a busy timeout); claims are atomic there too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bot.counting.model import DROPPED, ChannelSettings, Tally
from bot.ids import check_id, check_ts
from bot.moderation.rules import (
    MAX_PENDING_ALERTS, THREAD_TTL_S, Alert, ModerationRule, ModerationSettings, ThreadState,
)
from bot.feedback.rules import FeedbackCount
from bot.store.base import (
    DAY_S, DIGEST_CLAIM_TTL_S, EXPIRING_KINDS, BufferedStore, Chunk, Clock, RetentionDays,
    ThreadAlertChange, ThreadChange,
    alert_from_fields, alert_to_fields, check_feedback, check_state, counts_false_alarm,
    entries_from_list, entries_to_list, moderation_changes, resolved, settings_from_fields,
    tally_cutoff,
)
from service.labels import LABELS

SCHEMA = """
CREATE TABLE IF NOT EXISTS channel_days (
    team_id TEXT NOT NULL, channel_id TEXT NOT NULL, day TEXT NOT NULL,
    negative INTEGER NOT NULL DEFAULT 0, neutral INTEGER NOT NULL DEFAULT 0,
    positive INTEGER NOT NULL DEFAULT 0,
    score_negative REAL NOT NULL DEFAULT 0, score_neutral REAL NOT NULL DEFAULT 0,
    score_positive REAL NOT NULL DEFAULT 0, dropped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, channel_id, day)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS channel_days_by_team ON channel_days (team_id, day);
CREATE TABLE IF NOT EXISTS channel_settings (
    team_id TEXT NOT NULL, channel_id TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0, digest INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (team_id, channel_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY, expires_at REAL NOT NULL, token TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS moderation_settings (
    team_id TEXT PRIMARY KEY, channel_id TEXT, group_id TEXT, threshold REAL,
    min_negatives INTEGER, window_messages INTEGER, window_minutes INTEGER,
    false_alarms INTEGER NOT NULL DEFAULT 0, channel_set_by TEXT,
    channel_warned INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS threads (
    team_id TEXT NOT NULL, channel_id TEXT NOT NULL, thread_ts TEXT NOT NULL,
    entries TEXT NOT NULL, last_alert_at REAL, last_alert_negatives INTEGER NOT NULL DEFAULT 0,
    expires_at REAL NOT NULL,
    PRIMARY KEY (team_id, channel_id, thread_ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (
    team_id TEXT NOT NULL, alert_id TEXT NOT NULL, fields TEXT NOT NULL,
    pending INTEGER NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (team_id, alert_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alerts_pending ON alerts (team_id, pending, created_at);
CREATE TABLE IF NOT EXISTS channel_day_models (
    team_id TEXT NOT NULL, channel_id TEXT NOT NULL, day TEXT NOT NULL, model TEXT NOT NULL,
    PRIMARY KEY (team_id, channel_id, day, model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feedback (
    team_id TEXT NOT NULL, model TEXT NOT NULL, predicted TEXT NOT NULL, actual TEXT NOT NULL,
    votes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, model, predicted, actual)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scheduled_deletions (
    team_id TEXT PRIMARY KEY, due_at REAL NOT NULL
) WITHOUT ROWID;
"""
# forget_team: (kind, table) of the rows keyed by team_id.
_TEAM_TABLES = (("tallies", "channel_days"), ("channels", "channel_settings"),
                ("moderation", "moderation_settings"), ("threads", "threads"),
                ("alerts", "alerts"), ("model_versions", "channel_day_models"),
                ("feedback", "feedback"))

_FIELDS = list(LABELS) + [f"score_{label}" for label in LABELS] + [DROPPED]
_UPSERT = (
    f"INSERT INTO channel_days (team_id, channel_id, day, {', '.join(_FIELDS)}) "
    f"VALUES (?, ?, ?, {', '.join('?' for _ in _FIELDS)}) "
    "ON CONFLICT (team_id, channel_id, day) DO UPDATE SET "
    + ", ".join(f"{name} = {name} + excluded.{name}" for name in _FIELDS)
)
_RULE = [f.name for f in dataclasses.fields(ModerationRule)]
# Columns added after a table's first release: (table, column, declaration).
_ADDED_COLUMNS = [("channel_days", DROPPED, "INTEGER NOT NULL DEFAULT 0"),
                  ("claims", "token", "TEXT"),
                  ("moderation_settings", "channel_set_by", "TEXT"),
                  ("moderation_settings", "channel_warned", "INTEGER NOT NULL DEFAULT 0")]
_SETTINGS = ["channel_id", "group_id", "false_alarms", "channel_set_by", "channel_warned", *_RULE]


class SqliteStore(BufferedStore):  # pylint: disable=too-many-public-methods  # every feature's store interface
    """:class:`bot.store.base.Store` on a SQLite file."""

    def __init__(self, path: str | Path, *, flush_interval: float = 2.0,
                 claim_ttl_s: int = 86_400, clock: Clock = time.time,
                 retention: RetentionDays = RetentionDays()):
        super().__init__(flush_interval, clock)
        self.path = str(path)
        self.claim_ttl_s = claim_ttl_s
        self.retention = retention
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db_lock = threading.Lock()
        self._db: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        with self._db_lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            # WAL + NORMAL: no corruption on a crash; a power cut may lose the last commits.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            for table, column, declaration in _ADDED_COLUMNS:  # files made by older versions
                present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.ProgrammingError("store fechado")
        return self._db

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """One immediate (write-locking) transaction around the block: committed when it ends,
        rolled back when it raises."""
        with self._db_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _transaction(self, statements: list[tuple[str, tuple]]) -> list[int]:
        """Run statements in one immediate transaction; their row counts."""
        with self._immediate() as conn:
            return [conn.execute(sql, args).rowcount for sql, args in statements]

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._db_lock:
            return self._conn().execute(sql, args).fetchall()

    # -- claims ------------------------------------------------------------------------------
    def _claim(self, key: str, ttl_s: float, token: str | None = None) -> bool:
        now = self.clock()
        counts = self._transaction([
            ("DELETE FROM claims WHERE key = ? AND expires_at <= ?", (key, now)),
            ("INSERT OR IGNORE INTO claims (key, expires_at, token) VALUES (?, ?, ?)",
             (key, now + ttl_s, token)),
        ])
        if counts[1] == 1:
            return True
        return token is not None and self._query(
            "SELECT 1 FROM claims WHERE key = ? AND token = ?", (key, token)) != []

    def claim_event(self, key: str, token: str | None = None) -> bool:
        """True the first time a Slack event id is seen (until its claim expires), and again
        for the same ``token``."""
        return self._claim("event:" + key, self.claim_ttl_s, token)

    def claim_digest(self, team_id: str, channel_id: str, week: str) -> bool:
        """True the first time this week's digest is claimed for the channel."""
        return self._claim(f"digest:{check_id(team_id, 'team_id')}:"
                           f"{check_id(channel_id, 'channel_id')}:{week}", DIGEST_CLAIM_TTL_S)

    def release_digest(self, team_id: str, channel_id: str, week: str) -> None:
        """Forget a digest claim so that a later call may post it."""
        self._transaction([("DELETE FROM claims WHERE key = ?",
                            (f"digest:{team_id}:{channel_id}:{week}",))])

    # -- tallies -----------------------------------------------------------------------------
    def _commit(self, chunk: Chunk) -> None:
        statements = [
            (_UPSERT, (team, channel, day, *[tally.to_fields()[name] for name in _FIELDS]))
            for (team, channel, day), tally in chunk.entries.items()
        ]
        statements += [
            ("INSERT OR IGNORE INTO channel_day_models (team_id, channel_id, day, model) "
             "VALUES (?, ?, ?, ?)", (team, channel, day, model))
            for (team, channel, day), tally in chunk.entries.items() for model in sorted(tally.models)
        ]
        # Expired claims go with the periodic write, so the table stays small.
        statements.append(("DELETE FROM claims WHERE expires_at <= ?", (self.clock(),)))
        statements.append(("DELETE FROM threads WHERE expires_at <= ?", (self.clock(),)))
        self._transaction(statements)

    def _read_days(self, team_id: str, channel_id: str,
                   start: dt.date, end: dt.date) -> dict[str, Tally]:
        rows = self._query(
            f"SELECT day, {', '.join(_FIELDS)} FROM channel_days "
            "WHERE team_id = ? AND channel_id = ? AND day BETWEEN ? AND ?",
            (team_id, channel_id, start.isoformat(), end.isoformat()))
        days = {row[0]: Tally.from_fields(dict(zip(_FIELDS, row[1:]))) for row in rows}
        for day, model in self._query(
                "SELECT day, model FROM channel_day_models "
                "WHERE team_id = ? AND channel_id = ? AND day BETWEEN ? AND ?",
                (team_id, channel_id, start.isoformat(), end.isoformat())):
            if day in days:
                days[day].models.add(model)
        return days

    def _read_team(self, team_id: str, start: dt.date, end: dt.date) -> dict[str, Tally]:
        rows = self._query(
            f"SELECT channel_id, {', '.join(f'SUM({name})' for name in _FIELDS)} "
            "FROM channel_days WHERE team_id = ? AND day BETWEEN ? AND ? GROUP BY channel_id",
            (team_id, start.isoformat(), end.isoformat()))
        return {row[0]: Tally.from_fields(dict(zip(_FIELDS, row[1:]))) for row in rows}

    # -- channel switches ----------------------------------------------------------------
    def channel_settings(self, team_id: str, channel_id: str) -> ChannelSettings:
        """A channel's switches (defaults when never set)."""
        rows = self._query("SELECT paused, digest FROM channel_settings "
                           "WHERE team_id = ? AND channel_id = ?", (team_id, channel_id))
        return ChannelSettings(bool(rows[0][0]), bool(rows[0][1])) if rows else ChannelSettings()

    def _set_switch(self, team_id: str, channel_id: str, name: str, value: bool) -> None:
        self._transaction([(
            f"INSERT INTO channel_settings (team_id, channel_id, {name}, updated_at) "
            f"VALUES (?, ?, ?, ?) ON CONFLICT (team_id, channel_id) DO UPDATE SET "
            f"{name} = excluded.{name}, updated_at = excluded.updated_at",
            (team_id, channel_id, int(value), self.clock()))])

    def digest_channels(self) -> list[tuple[str, str]]:
        """Every channel with the weekly digest on."""
        return [(row[0], row[1]) for row in self._query(
            "SELECT team_id, channel_id FROM channel_settings WHERE digest = 1 "
            "ORDER BY team_id, channel_id")]

    # -- moderation ----------------------------------------------------------------------
    def moderation_settings(self, team_id: str) -> ModerationSettings:
        """A workspace's moderation settings (defaults when never set)."""
        rows = self._query(f"SELECT {', '.join(_SETTINGS)} "
                           "FROM moderation_settings WHERE team_id = ?", (team_id,))
        if not rows:
            return ModerationSettings()
        return settings_from_fields(dict(zip(_SETTINGS, rows[0])))

    def set_moderation(self, team_id: str, *, channel_id: str | None = None,
                       group_id: str | None = None, rule: ModerationRule | None = None,
                       set_by: str | None = None) -> ModerationSettings:
        """Change the given settings; the new ones."""
        check_id(team_id, "team_id")
        changes = moderation_changes(channel_id, group_id, rule, set_by)
        if changes:
            names = list(changes)
            self._transaction([
                ("INSERT OR IGNORE INTO moderation_settings (team_id) VALUES (?)", (team_id,)),
                (f"UPDATE moderation_settings SET {', '.join(f'{n} = ?' for n in names)} "
                 "WHERE team_id = ?", (*changes.values(), team_id)),
            ])
        return self.moderation_settings(team_id)

    def update_thread(self, team_id: str, channel_id: str, thread_ts: str,
                      change: ThreadChange):
        """Read, change and write a thread's state in one immediate transaction."""
        return self._update_thread(team_id, channel_id, thread_ts, change, keep_alert=False)

    def update_thread_and_alert(self, team_id: str, channel_id: str, thread_ts: str,
                                change: ThreadAlertChange) -> Alert | None:
        """Change a thread's state and keep the alert ``change`` returns, in one transaction."""
        return self._update_thread(team_id, channel_id, thread_ts, change, keep_alert=True)

    def _update_thread(self, team_id: str, channel_id: str, thread_ts: str, change,
                       keep_alert: bool):
        key = (check_id(team_id, "team_id"), check_id(channel_id, "channel_id"),
               check_ts(thread_ts, "thread_ts"))
        with self._immediate() as conn:
            row = conn.execute(
                "SELECT entries, last_alert_at, last_alert_negatives FROM threads "
                "WHERE team_id = ? AND channel_id = ? AND thread_ts = ?", key).fetchone()
            state = ThreadState() if row is None else ThreadState(
                entries_from_list(json.loads(row[0])), row[1], row[2])
            new_state, result = change(state)
            if new_state != state:
                conn.execute(
                    "INSERT OR REPLACE INTO threads (team_id, channel_id, thread_ts, entries, "
                    "last_alert_at, last_alert_negatives, expires_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*key, json.dumps(entries_to_list(new_state)), new_state.last_alert_at,
                     new_state.last_alert_negatives, self.clock() + THREAD_TTL_S))
            if keep_alert and result is not None:
                for sql, args in self._alert_statements(result):
                    conn.execute(sql, args)
        return result

    def _put_alert(self, alert: Alert) -> tuple[str, tuple]:
        return ("INSERT OR REPLACE INTO alerts (team_id, alert_id, fields, pending, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (alert.team_id, alert.alert_id, json.dumps(alert_to_fields(alert)),
                 int(alert.pending), alert.created_at))

    def _alert_statements(self, alert: Alert) -> list[tuple[str, tuple]]:
        """Keep a new alert and trim the pending ones to the newest ``MAX_PENDING_ALERTS``."""
        check_id(alert.team_id, "team_id")
        check_id(alert.alert_id, "alert_id")
        return [
            self._put_alert(alert),
            ("DELETE FROM alerts WHERE team_id = ? AND pending = 1 AND alert_id NOT IN ("
             "SELECT alert_id FROM alerts WHERE team_id = ? AND pending = 1 "
             "ORDER BY created_at DESC LIMIT ?)",
             (alert.team_id, alert.team_id, MAX_PENDING_ALERTS)),
        ]

    def add_alert(self, alert: Alert) -> None:
        """Keep a new alert; only the newest pending ones are kept."""
        self._transaction(self._alert_statements(alert))

    def get_alert(self, team_id: str, alert_id: str) -> Alert | None:
        """One alert, None when unknown."""
        rows = self._query("SELECT fields FROM alerts WHERE team_id = ? AND alert_id = ?",
                           (team_id, alert_id))
        return alert_from_fields(json.loads(rows[0][0])) if rows else None

    def _change_alert(self, team_id: str, alert_id: str, change) -> Alert | None:
        """Apply ``change(alert) -> (alert, extra statements)`` in one transaction."""
        with self._immediate() as conn:
            row = conn.execute("SELECT fields FROM alerts WHERE team_id = ? AND alert_id = ?",
                               (team_id, alert_id)).fetchone()
            if row is None:
                return None  # nothing was written: the commit is empty
            alert, extra = change(alert_from_fields(json.loads(row[0])))
            for sql, args in [self._put_alert(alert), *extra]:
                conn.execute(sql, args)
        return alert

    def resolve_alert(self, team_id: str, alert_id: str, state: str, user_id: str,
                      at: float) -> Alert | None:
        """Mark an alert acknowledged or a false alarm (counted once per alert)."""
        check_state(state)

        def change(alert: Alert):
            extra = []
            after = resolved(alert, state, user_id, at)
            if counts_false_alarm(alert, after):
                extra = [("INSERT OR IGNORE INTO moderation_settings (team_id) VALUES (?)",
                          (team_id,)),
                         ("UPDATE moderation_settings SET false_alarms = false_alarms + 1 "
                          "WHERE team_id = ?", (team_id,))]
            return after, extra

        return self._change_alert(team_id, alert_id, change)

    def mark_alert_posted(self, team_id: str, alert_id: str, channel_id: str, ts: str,
                          permalink: str | None) -> None:
        """The alert was posted in the moderators' channel."""
        self._change_alert(team_id, alert_id, lambda alert: (dataclasses.replace(
            alert, posted_channel=channel_id, posted_ts=ts, permalink=permalink,
            post_error=None), []))

    def mark_alert_pending(self, team_id: str, alert_id: str, permalink: str | None,
                           error: str | None) -> None:
        """The alert was not posted: its permalink and why."""
        self._change_alert(team_id, alert_id, lambda alert: (dataclasses.replace(
            alert, permalink=permalink, post_error=error), []))

    def warn_channel_once(self, team_id: str, channel_id: str) -> str | None:
        """Mark the moderators' channel's breakage told; who set it, the first time only."""
        with self._immediate() as conn:
            row = conn.execute(
                "SELECT channel_set_by FROM moderation_settings WHERE team_id = ? AND "
                "channel_id = ? AND channel_warned = 0", (team_id, channel_id)).fetchone()
            if row is not None:
                conn.execute("UPDATE moderation_settings SET channel_warned = 1 "
                             "WHERE team_id = ?", (team_id,))
        return row[0] if row is not None else None

    def clear_channel_warning(self, team_id: str, channel_id: str) -> None:
        """The moderators' channel works again."""
        self._transaction([("UPDATE moderation_settings SET channel_warned = 0 "
                            "WHERE team_id = ? AND channel_id = ?", (team_id, channel_id))])

    def pending_alerts(self, team_id: str) -> list[Alert]:
        """Alerts waiting for a moderators' channel, newest first."""
        rows = self._query("SELECT fields FROM alerts WHERE team_id = ? AND pending = 1 "
                           "ORDER BY created_at DESC", (team_id,))
        return [alert_from_fields(json.loads(row[0])) for row in rows]

    # -- retention -----------------------------------------------------------------------
    def purge_expired(self, now: float | None = None) -> dict[str, int]:
        """Delete what outlived its retention, in one transaction (see :class:`Retention`).
        Tallies go by their ``day``, alerts by ``created_at``, threads and claims by
        ``expires_at``."""
        now = self.clock() if now is None else now
        cutoff = tally_cutoff(now, self.retention.tallies).isoformat()
        counts = self._transaction([
            ("DELETE FROM channel_days WHERE day < ?", (cutoff,)),
            ("DELETE FROM threads WHERE expires_at <= ?", (now,)),
            ("DELETE FROM alerts WHERE created_at <= ?",
             (now - self.retention.alerts * DAY_S,)),
            ("DELETE FROM claims WHERE key LIKE 'event:%' AND expires_at <= ?", (now,)),
            ("DELETE FROM claims WHERE key LIKE 'digest:%' AND expires_at <= ?", (now,)),
            # the model versions of a day are part of its tally (not counted apart)
            ("DELETE FROM channel_day_models WHERE day < ?", (cutoff,)),
        ])
        return dict(zip(EXPIRING_KINDS, [*counts[:-1], 0]))  # no write markers in SQLite

    # -- feedback ------------------------------------------------------------------------------
    def record_feedback(self, team_id: str, model: str, predicted: str, actual: str) -> None:
        """Add one vote (an upsert increment)."""
        check_feedback(team_id, model, predicted, actual)
        self._transaction([(
            "INSERT INTO feedback (team_id, model, predicted, actual, votes) "
            "VALUES (?, ?, ?, ?, 1) ON CONFLICT (team_id, model, predicted, actual) "
            "DO UPDATE SET votes = votes + 1", (team_id, model, predicted, actual))])

    def feedback_counts(self, team_id: str) -> list[FeedbackCount]:
        """Every count of a workspace."""
        return [FeedbackCount(*row) for row in self._query(
            "SELECT model, predicted, actual, votes FROM feedback WHERE team_id = ? "
            "ORDER BY model, predicted, actual", (team_id,))]

    def alert_verdicts(self, team_id: str) -> dict[str, int]:
        """Kept alerts per verdict."""
        found = dict(self._query(
            "SELECT json_extract(fields, '$.state'), COUNT(*) FROM alerts WHERE team_id = ? "
            "GROUP BY 1", (team_id,)))
        return {state: int(found.get(state, 0)) for state in ("acknowledged", "false_alarm")}

    # -- a workspace as a whole ------------------------------------------------------------
    def forget_team(self, team_id: str) -> dict[str, int]:
        """Delete every row of the workspace (and its buffered counts); the counts by kind."""
        check_id(team_id, "team_id")
        buffered = self._drop_buffered(team_id)
        statements = [(f"DELETE FROM {table} WHERE team_id = ?", (team_id,))
                      for _kind, table in _TEAM_TABLES]
        prefixes = [f"event:{team_id}:", f"digest:{team_id}:"]
        statements += [("DELETE FROM claims WHERE substr(key, 1, ?) = ?", (len(p), p))
                       for p in prefixes]
        statements.append(("DELETE FROM scheduled_deletions WHERE team_id = ?", (team_id,)))
        with self._flush_lock:
            counts = self._transaction(statements)
        deleted = {kind: counts[i] for i, (kind, _table) in enumerate(_TEAM_TABLES)}
        deleted["claims"] = counts[-3] + counts[-2]
        deleted["buffered_messages"] = buffered
        return deleted

    def schedule_forget(self, team_id: str, due_at: float) -> None:
        """Delete the workspace's data at ``due_at`` or later."""
        self._transaction([("INSERT OR REPLACE INTO scheduled_deletions (team_id, due_at) "
                            "VALUES (?, ?)", (check_id(team_id, "team_id"), float(due_at)))])

    def cancel_forget(self, team_id: str) -> bool:
        """Keep the workspace's data; True when a deletion was scheduled."""
        return self._transaction([("DELETE FROM scheduled_deletions WHERE team_id = ?",
                                   (team_id,))])[0] == 1

    def forgets_due(self, now: float) -> list[str]:
        """Workspaces whose deletion is due, in date order."""
        return [row[0] for row in self._query(
            "SELECT team_id FROM scheduled_deletions WHERE due_at <= ? ORDER BY due_at, team_id",
            (now,))]

    def _release(self) -> None:
        with self._db_lock:
            if self._db is not None:
                self._db.close()
                self._db = None
