"""The Firestore store (``STORE=firestore``): what several bot instances share in production.

Layout (see the README's "What is stored"):

- ``channels/{team}:{channel}``: ``paused``, ``digest`` switches.
- ``channels/{team}:{channel}/months/{YYYY-MM}``: ``days.{YYYY-MM-DD}.{label}`` counts and
  ``days.{YYYY-MM-DD}.score_{label}`` score sums. A 30-day report and its previous period
  read at most 3 documents.
- ``teams/{team}/days/{YYYY-MM-DD}``: ``channels.{channel}.{label}`` counts (App Home ranking;
  a week is 7 reads).
- ``moderation/{team}``: the moderation settings, the ``false_alarms`` count, who set the
  moderators' channel (``channel_set_by``) and whether its breakage was told (``channel_warned``);
  ``moderation/{team}/alerts/{alert id}``: alerts (ids, counts, times, state; no text) with an
  ``expires_at`` (``ALERT_RETENTION_DAYS`` after its creation).
- ``threads/{team}:{channel}:{thread ts}``: a thread's recent ``entries`` (``ts``, ``negative``)
  and its last alert, changed in a transaction (two instances never both alert); ``expires_at``.
- ``channels/{team}:{channel}/months/{YYYY-MM}`` also holds ``days.{YYYY-MM-DD}.models``: the
  model versions that classified that day's messages (``ArrayUnion``).
- ``feedback/{team}/models/{model version}``: ``model`` and ``votes.{predicted}.{actual}``
  counts of users' votes (never text, never who voted).
- ``event_claims/{team}:{event id}`` (with ``team_id``), ``digest_claims/{team}:{channel}:{week}``,
  ``tally_writes/{chunk id}``: claims with an ``expires_at`` field for a TTL policy.
- ``scheduled_deletions/{team}``: ``due_at``, when an uninstalled workspace's data goes.

Month and team-day documents carry an ``expires_at``: ``TALLY_RETENTION_DAYS`` after their last
day. Every ``expires_at`` is a timestamp for a TTL policy (``scripts/firestore-ttl.sh``);
:meth:`FirestoreStore.purge_expired` deletes the same documents itself (the emulator has no TTL).

Counts are written with ``Increment`` in batched writes, one per ``FLUSH_INTERVAL``. Each
batch also creates a ``tally_writes/{chunk id}`` document: if a commit is retried after a
lost answer, that create fails and the whole batch with it, so counts are never doubled.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import random
import re
import threading
import time
import uuid
from typing import Any, Callable

from google.api_core import exceptions as gexc
from google.api_core import retry as retries
from google.cloud import firestore

from bot.counting.model import MODELS, ChannelSettings, Tally
from bot.feedback.rules import FeedbackCount
from bot.ids import check_id, check_ts
from bot.moderation.rules import (
    MAX_PENDING_ALERTS, THREAD_TTL_S, Alert, ModerationRule, ModerationSettings, ThreadEntry,
    ThreadState,
)
from bot.store.base import (
    DAY_S, DIGEST_CLAIM_TTL_S, EXPIRING_KINDS, BufferedStore, Chunk, Clock, RetentionDays,
    TallyKey, ThreadAlertChange, ThreadChange,
    alert_from_fields, alert_to_fields, check_feedback, check_state, counts_false_alarm, iter_days,
    moderation_changes, resolved, settings_from_fields,
)
from service.labels import LABELS

log = logging.getLogger(__name__)

CHANNELS, MONTHS, TEAMS, TEAM_DAYS = "channels", "months", "teams", "days"
EVENT_CLAIMS, DIGEST_CLAIMS, TALLY_WRITES = "event_claims", "digest_claims", "tally_writes"
MODERATION, ALERTS, THREADS = "moderation", "alerts", "threads"
FEEDBACK, FEEDBACK_MODELS = "feedback", "models"
SCHEDULED_DELETIONS = "scheduled_deletions"
TTL_FIELD = "expires_at"
WRITE_MARKER_TTL_S = 7 * 86_400
MAX_BATCH_WRITES = 500
# The collections purge_expired reads, by kind: (parent collection or None, collection).
_EXPIRING = {"tallies": [(CHANNELS, MONTHS), (TEAMS, TEAM_DAYS)], "threads": [(None, THREADS)],
             "alerts": [(MODERATION, ALERTS)], "event_claims": [(None, EVENT_CLAIMS)],
             "digest_claims": [(None, DIGEST_CLAIMS)], "write_markers": [(None, TALLY_WRITES)]}
TRANSACTION_ATTEMPTS = 20  # a busy thread: several instances change its document at once

_SAFE_DOC_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


def doc_id(key: str) -> str:
    """A valid document id for an arbitrary key (readable when safe, else a hash)."""
    if _SAFE_DOC_ID.match(key) and not key.startswith("__") and key not in (".", ".."):
        return key
    return "h-" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def last_day_of(month: str) -> str:
    """The last day (``YYYY-MM-DD``) of ``month`` (``YYYY-MM``)."""
    first = dt.date.fromisoformat(month + "-01")
    following = (first + dt.timedelta(days=31)).replace(day=1)
    return (following - dt.timedelta(days=1)).isoformat()


def make_client(project: str | None, emulator_host: str | None = None,
                database: str = "(default)") -> firestore.Client:
    """A Firestore client; ``emulator_host`` points it at an emulator without touching os.environ."""
    if not emulator_host:
        return firestore.Client(project=project, database=database)
    from google.auth.credentials import AnonymousCredentials  # pylint: disable=import-outside-toplevel

    client = firestore.Client(project=project or "sentimento-local", database=database,
                              credentials=AnonymousCredentials())
    # The client reads FIRESTORE_EMULATOR_HOST from os.environ at construction and builds
    # its channel lazily; setting it here honours the settings' value instead.
    client._emulator_host = emulator_host  # pylint: disable=protected-access  # see above
    return client


class FirestoreStore(BufferedStore):  # pylint: disable=too-many-public-methods  # every feature's store interface
    """:class:`bot.store.base.Store` on Firestore (or its emulator)."""

    def __init__(self, client: firestore.Client, *, flush_interval: float = 2.0,
                 claim_ttl_s: int = 86_400, channel_cache_s: float = 10.0,
                 timeout_s: float = 10.0, clock: Clock = time.time, owns_client: bool = True,
                 retention: RetentionDays = RetentionDays()):
        super().__init__(flush_interval, clock)
        self.client = client
        self.claim_ttl_s = claim_ttl_s
        self.retention = retention
        self.channel_cache_s = channel_cache_s
        self.timeout_s = timeout_s
        self._owns_client = owns_client
        self._retry = retries.Retry(timeout=timeout_s)
        self._cache: dict[tuple[str, str], tuple[float, ChannelSettings]] = {}
        self._cache_lock = threading.Lock()

    def _rpc(self) -> dict[str, Any]:
        return {"retry": self._retry, "timeout": self.timeout_s}

    def _expiry(self, ttl_s: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock() + ttl_s, tz=dt.timezone.utc)

    def _day_expiry(self, day: str) -> dt.datetime:
        """When the counts of ``day`` expire: midnight UTC after ``TALLY_RETENTION_DAYS`` days
        (see :func:`bot.store.base.tally_cutoff`)."""
        date = dt.date.fromisoformat(day) + dt.timedelta(days=self.retention.tallies + 1)
        return dt.datetime(date.year, date.month, date.day, tzinfo=dt.timezone.utc)

    def _alert_doc(self, alert: Alert) -> dict[str, Any]:
        """An alert's stored fields, with ``pending`` (queried) and ``expires_at``."""
        expires = dt.datetime.fromtimestamp(
            alert.created_at + self.retention.alerts * DAY_S, tz=dt.timezone.utc)
        return {**alert_to_fields(alert), "pending": alert.pending, TTL_FIELD: expires}

    # -- claims ------------------------------------------------------------------------------
    def _claim(self, ref: firestore.DocumentReference, ttl_s: float,
               extra: dict[str, Any] | None = None, token: str | None = None) -> bool:
        # The token recognises our own claim if a retried create finds it already written.
        data = {TTL_FIELD: self._expiry(ttl_s), "claim": token or uuid.uuid4().hex,
                **(extra or {})}
        try:
            ref.create(data, **self._rpc())
            return True
        except gexc.AlreadyExists:
            return self._retake(ref, data)

    def _retake(self, ref: firestore.DocumentReference, data: dict[str, Any]) -> bool:
        """The claim exists. It may be ours (a retried create), or expired but not yet deleted
        by the TTL policy (that takes up to a day or so): re-take it only if nobody changed it
        since we read it."""
        snap = ref.get(**self._rpc())
        stored = snap.to_dict() if snap.exists else None
        try:
            if stored is None:
                ref.create(data, **self._rpc())
            elif stored.get("claim") == data["claim"]:
                pass
            elif stored.get(TTL_FIELD) is not None and stored[TTL_FIELD].timestamp() > self.clock():
                return False
            else:
                ref.update(data, option=self.client.write_option(last_update_time=snap.update_time),
                           **self._rpc())
        except (gexc.AlreadyExists, gexc.FailedPrecondition, gexc.NotFound, gexc.Aborted):
            return False
        return True

    def _transact(self, run: Callable[[firestore.Transaction], Any]) -> Any:
        """``run`` (a ``firestore.transactional`` function) in a new transaction, retried on
        contention after a jittered pause that grows with each attempt. The client's own retries
        are immediate: two instances that keep colliding on one document (each waiting for the
        other's lock, as the emulator makes them) then retry in lock-step until they give up."""
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                return run(self.client.transaction(max_attempts=1))
            except (gexc.Aborted, ValueError) as exc:
                contention = isinstance(exc, gexc.Aborted) or str(exc).startswith(
                    "Failed to commit transaction")
                if not contention or attempt == TRANSACTION_ATTEMPTS - 1:
                    raise
            time.sleep(random.uniform(0.0, min(1.0, 0.01 * 2 ** attempt)))
        raise AssertionError("unreachable")  # the last attempt returned or raised

    def claim_event(self, key: str, token: str | None = None) -> bool:
        """True the first time any instance claims this Slack event id (until it expires), and
        again for the same ``token`` (a retry whose first write landed unseen)."""
        team = key.partition(":")[0] if ":" in key else None  # "{team}:{event id}"
        return self._claim(self.client.collection(EVENT_CLAIMS).document(doc_id(key)),
                           self.claim_ttl_s, {"team_id": team} if team else None, token=token)

    def _digest_ref(self, team_id: str, channel_id: str, week: str) -> firestore.DocumentReference:
        key = f"{check_id(team_id, 'team_id')}:{check_id(channel_id, 'channel_id')}:{week}"
        return self.client.collection(DIGEST_CLAIMS).document(doc_id(key))

    def claim_digest(self, team_id: str, channel_id: str, week: str) -> bool:
        """True the first time this week's digest is claimed for the channel."""
        return self._claim(self._digest_ref(team_id, channel_id, week), DIGEST_CLAIM_TTL_S,
                           {"team_id": team_id, "channel_id": channel_id, "week": week})

    def release_digest(self, team_id: str, channel_id: str, week: str) -> None:
        """Forget a digest claim so that a later call may post it."""
        self._digest_ref(team_id, channel_id, week).delete(**self._rpc())

    # -- tallies -----------------------------------------------------------------------------
    def _channel_ref(self, team_id: str, channel_id: str) -> firestore.DocumentReference:
        return self.client.collection(CHANNELS).document(f"{team_id}:{channel_id}")

    def _month_ref(self, team_id: str, channel_id: str, month: str) -> firestore.DocumentReference:
        return self._channel_ref(team_id, channel_id).collection(MONTHS).document(month)

    def _team_day_ref(self, team_id: str, day: str) -> firestore.DocumentReference:
        return self.client.collection(TEAMS).document(team_id).collection(TEAM_DAYS).document(day)

    def _chunks(self, entries: dict[TallyKey, Tally]) -> list[Chunk]:
        """Group entries so that each batch holds at most 500 writes (marker included)."""
        chunks: list[Chunk] = []
        current: dict[TallyKey, Tally] = {}
        docs: set[tuple] = set()
        for key in sorted(entries):
            team, channel, day = key
            new_docs = {("m", team, channel, day[:7]), ("t", team, day)} - docs
            if current and len(docs) + len(new_docs) + 1 > MAX_BATCH_WRITES:
                chunks.append(Chunk(uuid.uuid4().hex, current))
                current, docs = {}, set()
                new_docs = {("m", team, channel, day[:7]), ("t", team, day)}
            current[key] = entries[key]
            docs |= new_docs
        if current:
            chunks.append(Chunk(uuid.uuid4().hex, current))
        return chunks

    def _commit(self, chunk: Chunk) -> None:
        months: dict[tuple[str, str, str], dict[str, Any]] = {}
        team_days: dict[tuple[str, str], dict[str, Any]] = {}
        for (team, channel, day), tally in chunk.entries.items():
            fields: dict[str, Any] = {name: firestore.Increment(value)
                                      for name, value in tally.to_fields().items() if value}
            if tally.models:
                fields[MODELS] = firestore.ArrayUnion(sorted(tally.models))
            month = months.setdefault((team, channel, day[:7]), {})
            month[day] = fields
            counts = {label: firestore.Increment(tally.counts[label])
                      for label in LABELS if tally.counts[label]}
            team_days.setdefault((team, day), {})[channel] = counts
        batch = self.client.batch()
        batch.create(self.client.collection(TALLY_WRITES).document(chunk.chunk_id),
                     {TTL_FIELD: self._expiry(WRITE_MARKER_TTL_S)})
        for (team, channel, month), days in months.items():
            batch.set(self._month_ref(team, channel, month),
                      {"team_id": team, "channel_id": channel, "month": month, "days": days,
                       TTL_FIELD: self._day_expiry(last_day_of(month))}, merge=True)
        for (team, day), channels in team_days.items():
            batch.set(self._team_day_ref(team, day),
                      {"team_id": team, "day": day, "channels": channels,
                       TTL_FIELD: self._day_expiry(day)}, merge=True)
        try:
            batch.commit(**self._rpc())
        except gexc.AlreadyExists:
            # The marker exists: an earlier attempt of this very chunk was committed and
            # only its answer was lost. Nothing of this attempt was applied.
            log.info("tally chunk %s was already written; not counting it twice", chunk.chunk_id)

    def _read_days(self, team_id: str, channel_id: str,
                   start: dt.date, end: dt.date) -> dict[str, Tally]:
        months = sorted({day.isoformat()[:7] for day in iter_days(start, end)})
        refs = [self._month_ref(team_id, channel_id, month) for month in months]
        first, last = start.isoformat(), end.isoformat()
        out: dict[str, Tally] = {}
        for snap in self.client.get_all(refs, **self._rpc()):
            if not snap.exists:
                continue
            for day, fields in (snap.to_dict().get("days") or {}).items():
                if first <= day <= last:
                    out[day] = Tally.from_fields(fields)
        return out

    def _read_team(self, team_id: str, start: dt.date, end: dt.date) -> dict[str, Tally]:
        refs = [self._team_day_ref(team_id, day.isoformat()) for day in iter_days(start, end)]
        out: dict[str, Tally] = {}
        for snap in self.client.get_all(refs, **self._rpc()):
            if not snap.exists:
                continue
            for channel, counts in (snap.to_dict().get("channels") or {}).items():
                out.setdefault(channel, Tally()).add(Tally.from_fields(counts))
        return out

    # -- channel switches ----------------------------------------------------------------
    def channel_settings(self, team_id: str, channel_id: str) -> ChannelSettings:
        """A channel's switches, cached for ``CHANNEL_CACHE_SECONDS`` (every message asks): a
        change made through this instance is seen at once, one made through another instance
        within that time (by the store's clock; a clock that went back refreshes the cache)."""
        key = (team_id, channel_id)
        now = self.clock()
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached is not None and 0 <= now - cached[0] < self.channel_cache_s:
            return cached[1]
        snap = self._channel_ref(check_id(team_id, "team_id"),
                                 check_id(channel_id, "channel_id")).get(**self._rpc())
        data = snap.to_dict() if snap.exists else {}
        value = ChannelSettings(bool(data.get("paused", False)), bool(data.get("digest", False)))
        with self._cache_lock:
            self._cache[key] = (now, value)
        return value

    def _set_switch(self, team_id: str, channel_id: str, name: str, value: bool) -> None:
        self._channel_ref(team_id, channel_id).set(
            {"team_id": team_id, "channel_id": channel_id, name: value,
             "updated_at": firestore.SERVER_TIMESTAMP}, merge=True, **self._rpc())
        with self._cache_lock:
            self._cache.pop((team_id, channel_id), None)

    def digest_channels(self) -> list[tuple[str, str]]:
        """Every channel with the weekly digest on (one single-field-indexed query)."""
        query = self.client.collection(CHANNELS).where(
            filter=firestore.FieldFilter("digest", "==", True))
        found = [(snap.get("team_id"), snap.get("channel_id"))
                 for snap in query.stream(**self._rpc())]
        return sorted(found)

    # -- moderation ----------------------------------------------------------------------
    def _moderation_ref(self, team_id: str) -> firestore.DocumentReference:
        return self.client.collection(MODERATION).document(check_id(team_id, "team_id"))

    def _alert_ref(self, team_id: str, alert_id: str) -> firestore.DocumentReference:
        return self._moderation_ref(team_id).collection(ALERTS).document(
            check_id(alert_id, "alert_id"))

    def moderation_settings(self, team_id: str) -> ModerationSettings:
        """A workspace's moderation settings (defaults when never set)."""
        snap = self._moderation_ref(team_id).get(**self._rpc())
        return settings_from_fields(snap.to_dict() if snap.exists else {})

    def set_moderation(self, team_id: str, *, channel_id: str | None = None,
                       group_id: str | None = None, rule: ModerationRule | None = None,
                       set_by: str | None = None) -> ModerationSettings:
        """Change the given settings; the new ones."""
        changes = moderation_changes(channel_id, group_id, rule, set_by)
        if changes:
            self._moderation_ref(team_id).set({"team_id": team_id, **changes}, merge=True,
                                              **self._rpc())
        return self.moderation_settings(team_id)

    def update_thread(self, team_id: str, channel_id: str, thread_ts: str,
                      change: ThreadChange):
        """Read, change and write a thread's document in a transaction (retried on contention)."""
        return self._update_thread(team_id, channel_id, thread_ts, change, keep_alert=False)

    def update_thread_and_alert(self, team_id: str, channel_id: str, thread_ts: str,
                                change: ThreadAlertChange) -> Alert | None:
        """Change a thread's document and create the alert ``change`` returns in the same
        transaction; then trim the pending alerts to the newest 50."""
        alert = self._update_thread(team_id, channel_id, thread_ts, change, keep_alert=True)
        if alert is not None and alert.pending:
            self._trim_pending(alert.team_id)
        return alert

    def _update_thread(self, team_id: str, channel_id: str, thread_ts: str, change,
                       keep_alert: bool):
        key = (f"{check_id(team_id, 'team_id')}:{check_id(channel_id, 'channel_id')}:"
               f"{check_ts(thread_ts, 'thread_ts')}")
        ref = self.client.collection(THREADS).document(key)

        @firestore.transactional
        def run(transaction):
            snap = ref.get(transaction=transaction)
            data = snap.to_dict() if snap.exists else {}
            state = ThreadState(
                tuple(ThreadEntry(float(e["ts"]), bool(e["negative"]))
                      for e in data.get("entries") or []),
                data.get("last_alert_at"), int(data.get("last_alert_negatives") or 0))
            new_state, result = change(state)
            if new_state != state:
                transaction.set(ref, {
                    "team_id": team_id, "channel_id": channel_id, "thread_ts": thread_ts,
                    "entries": [{"ts": e.ts, "negative": e.negative} for e in new_state.entries],
                    "last_alert_at": new_state.last_alert_at,
                    "last_alert_negatives": new_state.last_alert_negatives,
                    TTL_FIELD: self._expiry(THREAD_TTL_S)})
            if keep_alert and result is not None:
                transaction.create(self._alert_ref(result.team_id, result.alert_id),
                                   self._alert_doc(result))
            return result

        return self._transact(run)

    def add_alert(self, alert: Alert) -> None:
        """Keep a new alert; only the newest pending ones are kept (older ones deleted)."""
        self._alert_ref(alert.team_id, alert.alert_id).set(self._alert_doc(alert), **self._rpc())
        if alert.pending:
            self._trim_pending(alert.team_id)

    def _trim_pending(self, team_id: str) -> None:
        for extra in self.pending_alerts(team_id)[MAX_PENDING_ALERTS:]:
            self._alert_ref(team_id, extra.alert_id).delete(**self._rpc())

    def get_alert(self, team_id: str, alert_id: str) -> Alert | None:
        """One alert, None when unknown."""
        snap = self._alert_ref(team_id, alert_id).get(**self._rpc())
        return alert_from_fields(snap.to_dict()) if snap.exists else None

    def _change_alert(self, team_id: str, alert_id: str, change) -> Alert | None:
        """Apply ``change(alert, transaction) -> alert`` in a transaction."""
        ref = self._alert_ref(team_id, alert_id)

        @firestore.transactional
        def run(transaction):
            snap = ref.get(transaction=transaction)
            if not snap.exists:
                return None
            alert = change(alert_from_fields(snap.to_dict()), transaction)
            transaction.set(ref, self._alert_doc(alert))
            return alert

        return self._transact(run)

    def resolve_alert(self, team_id: str, alert_id: str, state: str, user_id: str,
                      at: float) -> Alert | None:
        """Mark an alert acknowledged or a false alarm (counted once per alert)."""
        check_state(state)

        def change(alert: Alert, transaction) -> Alert:
            after = resolved(alert, state, user_id, at)
            if counts_false_alarm(alert, after):
                transaction.set(self._moderation_ref(team_id),
                                {"team_id": team_id, "false_alarms": firestore.Increment(1)},
                                merge=True)
            return after

        return self._change_alert(team_id, alert_id, change)

    def mark_alert_posted(self, team_id: str, alert_id: str, channel_id: str, ts: str,
                          permalink: str | None) -> None:
        """The alert was posted in the moderators' channel."""
        self._change_alert(team_id, alert_id, lambda alert, _t: dataclasses.replace(
            alert, posted_channel=channel_id, posted_ts=ts, permalink=permalink, post_error=None))

    def mark_alert_pending(self, team_id: str, alert_id: str, permalink: str | None,
                           error: str | None) -> None:
        """The alert was not posted: its permalink and why."""
        self._change_alert(team_id, alert_id, lambda alert, _t: dataclasses.replace(
            alert, permalink=permalink, post_error=error))

    def warn_channel_once(self, team_id: str, channel_id: str) -> str | None:
        """Mark the moderators' channel's breakage told (a transaction); who set it, the first
        time only."""
        ref = self._moderation_ref(team_id)

        @firestore.transactional
        def run(transaction):
            snap = ref.get(transaction=transaction)
            data = snap.to_dict() if snap.exists else {}
            if data.get("channel_id") != channel_id or data.get("channel_warned"):
                return None
            transaction.update(ref, {"channel_warned": True})
            return data.get("channel_set_by") or None

        return self._transact(run)

    def clear_channel_warning(self, team_id: str, channel_id: str) -> None:
        """The moderators' channel works again (only while it is still the channel)."""
        ref = self._moderation_ref(team_id)

        @firestore.transactional
        def run(transaction):
            snap = ref.get(transaction=transaction)
            if snap.exists and (snap.to_dict() or {}).get("channel_id") == channel_id:
                transaction.update(ref, {"channel_warned": False})

        self._transact(run)

    def pending_alerts(self, team_id: str) -> list[Alert]:
        """Alerts waiting for a moderators' channel, newest first (at most 50 are kept)."""
        query = self._moderation_ref(team_id).collection(ALERTS).where(
            filter=firestore.FieldFilter("pending", "==", True))
        found = [alert_from_fields(snap.to_dict()) for snap in query.stream(**self._rpc())]
        return sorted(found, key=lambda a: a.created_at, reverse=True)

    # -- retention -----------------------------------------------------------------------
    def purge_expired(self, now: float | None = None) -> dict[str, int]:
        """Delete every document whose ``expires_at`` is past (what the TTL policies do in
        production, within a day or so; the emulator has none): one range query on
        ``expires_at`` per collection, collection-scoped so that the automatic single-field
        index serves it (sub-collections are reached through their parents' ids)."""
        cutoff = dt.datetime.fromtimestamp(self.clock() if now is None else now,
                                           tz=dt.timezone.utc)
        deleted = dict.fromkeys(EXPIRING_KINDS, 0)
        for kind, places in _EXPIRING.items():
            for parent, name in places:
                collections = ([self.client.collection(name)] if parent is None else
                               [ref.collection(name) for ref in self.client.collection(
                                   parent).list_documents(**self._rpc())])
                for collection in collections:
                    deleted[kind] += self._delete_expired(collection, cutoff)
        return deleted

    def _delete_expired(self, collection, cutoff: dt.datetime) -> int:
        query = collection.where(filter=firestore.FieldFilter(TTL_FIELD, "<=", cutoff))
        refs = [snap.reference for snap in query.stream(**self._rpc())]
        for start in range(0, len(refs), MAX_BATCH_WRITES):
            batch = self.client.batch()
            for ref in refs[start:start + MAX_BATCH_WRITES]:
                batch.delete(ref)
            batch.commit(**self._rpc())
        return len(refs)

    # -- feedback ------------------------------------------------------------------------------
    def _feedback_ref(self, team_id: str, model: str) -> firestore.DocumentReference:
        return self.client.collection(FEEDBACK).document(team_id).collection(
            FEEDBACK_MODELS).document(doc_id(model))

    def record_feedback(self, team_id: str, model: str, predicted: str, actual: str) -> None:
        """Add one vote (an ``Increment`` in one write)."""
        check_feedback(team_id, model, predicted, actual)
        self._feedback_ref(team_id, model).set(
            {"team_id": team_id, "model": model,
             "votes": {predicted: {actual: firestore.Increment(1)}}}, merge=True, **self._rpc())

    def feedback_counts(self, team_id: str) -> list[FeedbackCount]:
        """Every count of a workspace (one document per model version)."""
        found = []
        query = self.client.collection(FEEDBACK).document(check_id(team_id, "team_id")).collection(
            FEEDBACK_MODELS)
        for snap in query.stream(**self._rpc()):
            data = snap.to_dict() or {}
            for predicted, row in (data.get("votes") or {}).items():
                for actual, votes in (row or {}).items():
                    found.append(FeedbackCount(str(data.get("model", "")), predicted, actual,
                                               int(votes or 0)))
        return sorted(found, key=lambda c: (c.model, c.predicted, c.actual))

    def alert_verdicts(self, team_id: str) -> dict[str, int]:
        """Kept alerts per verdict (a count aggregation per state)."""
        alerts = self._moderation_ref(team_id).collection(ALERTS)
        out = {}
        for state in ("acknowledged", "false_alarm"):
            query = alerts.where(filter=firestore.FieldFilter("state", "==", state))
            [[result]] = query.count(alias="n").get(**self._rpc())
            out[state] = int(result.value)
        return out

    # -- a workspace as a whole ------------------------------------------------------------
    def forget_team(self, team_id: str) -> dict[str, int]:
        """Delete every document of the workspace, subcollections included (and its buffered
        counts); the number of documents deleted by kind."""
        check_id(team_id, "team_id")
        deleted = {"buffered_messages": self._drop_buffered(team_id)}

        def by_team(collection: str) -> list[firestore.DocumentReference]:
            query = self.client.collection(collection).where(
                filter=firestore.FieldFilter("team_id", "==", team_id))
            return [snap.reference for snap in query.stream(**self._rpc())]

        with self._flush_lock:
            deleted["channels"] = sum(self.client.recursive_delete(ref)
                                      for ref in by_team(CHANNELS))
            deleted["tallies"] = self.client.recursive_delete(
                self.client.collection(TEAMS).document(team_id))
            deleted["moderation"] = self.client.recursive_delete(
                self.client.collection(MODERATION).document(team_id))
            deleted["feedback"] = self.client.recursive_delete(
                self.client.collection(FEEDBACK).document(team_id))
            for kind, collection in (("threads", THREADS), ("claims", EVENT_CLAIMS),
                                     ("claims", DIGEST_CLAIMS)):
                refs = by_team(collection)
                for ref in refs:
                    ref.delete(**self._rpc())
                deleted[kind] = deleted.get(kind, 0) + len(refs)
            self.client.collection(SCHEDULED_DELETIONS).document(team_id).delete(**self._rpc())
        with self._cache_lock:
            for key in [key for key in self._cache if key[0] == team_id]:
                del self._cache[key]
        return deleted

    def schedule_forget(self, team_id: str, due_at: float) -> None:
        """Delete the workspace's data at ``due_at`` or later."""
        self.client.collection(SCHEDULED_DELETIONS).document(check_id(team_id, "team_id")).set(
            {"team_id": team_id, "due_at": float(due_at)}, **self._rpc())

    def cancel_forget(self, team_id: str) -> bool:
        """Keep the workspace's data; True when a deletion was scheduled."""
        ref = self.client.collection(SCHEDULED_DELETIONS).document(check_id(team_id, "team_id"))
        try:
            ref.delete(option=self.client.write_option(exists=True), **self._rpc())
        except gexc.NotFound:
            return False
        return True

    def forgets_due(self, now: float) -> list[str]:
        """Workspaces whose deletion is due, in date order (a single-field range query)."""
        query = self.client.collection(SCHEDULED_DELETIONS).where(
            filter=firestore.FieldFilter("due_at", "<=", float(now)))
        found = sorted((snap.get("due_at"), snap.get("team_id"))
                       for snap in query.stream(**self._rpc()))
        return [team for _due, team in found]

    def _release(self) -> None:
        if self._owns_client:
            self.client.close()
            self._owns_client = False
