"""Channel messages to tallies: a bounded backlog in memory, batched classification with
retries, and one store record per batch.

The promise: a message that :meth:`MessageCounter.offer` accepts (the bot then answers Slack
200) is counted exactly once, whatever fails after. It waits in the backlog (its text in memory
only: never written to disk, store or log) until the model and the store answer, retried with
backoff. Before its first classification it is admitted once: a message of a paused channel, or
a redelivery already claimed by any instance, is skipped (counted as skipped); an admitted
message is counted even if its channel is paused while it waits. A text the model refuses is
classified alone, so it never takes its batch down; if it fails alone it is recorded as
*dropped* (reports say how many). When the backlog is full (``max_messages``, ``max_bytes``)
or stalled (its oldest message older than ``max_age_s``), :meth:`offer` refuses: the bot
answers non-200 and Slack redelivers later.

:meth:`close` stops taking messages, drains the backlog until a deadline, and records whatever
is left as dropped (reason ``shutdown``). A batch still stuck in a model or store call at the
deadline is given up on: recorded as dropped, and not counted if its answer comes later, so a
hung call never holds the shutdown past its deadline (the store's last flush needs that time).
Listeners (moderation's thread watcher) run on their own bounded executor, so their store
transactions and Slack calls never slow counting down; at shutdown they get the same deadline,
and those still running then are counted (``listener_errors{where="shutdown"}``) and left to
their own timeouts.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from bot.classify.clients import MAX_TEXT_CHARS, ModelUnavailableError
from bot.classify.port import Classifier
from bot.counting.limits import BATCH_SIZE, BATCH_WAIT_MS, LISTENER_WORKERS, BacklogLimits
from bot.counting.model import DROPPED, Observation, PendingMessage
from bot.executors import BoundedExecutor
from bot.ids import valid_id
from bot.metrics import BotMetrics
from bot.store.base import ChannelSwitches, Claims, TallyStore
from bot.store.base import StoreClosedError
from service.labels import Classification

log = logging.getLogger(__name__)

Classified = Callable[[Sequence[PendingMessage], Sequence[Classification]], None]
"""A listener told of every classified batch (after the store recorded it), on the listeners'
executor: ``listener(messages, results)``. Moderation watches threads this way."""

REFUSED_FULL = "full"  # max_messages or max_bytes reached
REFUSED_STALLED = "stalled"  # the oldest waiting message is older than max_age_s
REFUSED_CLOSED = "shutting_down"  # close() was called: another instance should take it
LISTENER_POLL_S = 0.05  # close(): how often it looks whether the listeners are done
JOIN_GRACE_S = 0.2  # close(): past the deadline, a worker that is not stuck records what is left
COMMIT_WAIT_S = 0.5  # close(): longest wait for a batch being written before giving up on it
CLAIM_WORKERS = 16  # concurrent pause checks and event claims within one batch
LISTENER_QUEUE = 256  # recorded batches waiting for moderation; past that, moderation skips them


class CounterStore(TallyStore, ChannelSwitches, Claims, Protocol):
    """What counting needs: tallies, the channels' pause switch, the event claims."""


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between attempts while the model or the store does not answer."""

    first_s: float = 0.5
    max_s: float = 10.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1, 2, ...)."""
        return min(self.max_s, self.first_s * (2 ** max(0, failures - 1)))


@dataclass
class _Waiting:
    """One accepted message in the backlog."""

    message: PendingMessage
    event_id: str | None
    since: float  # monotonic time it was accepted
    size: int  # UTF-8 bytes of its text
    claimed: bool = field(default=False)  # its event id is ours: never skip it as a redelivery
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # this instance's claim


# A classified message: its backlog entry, its result and the model version that answered.
_Classified = tuple[_Waiting, Classification, str]


class MessageCounter:  # pylint: disable=too-many-instance-attributes  # one worker's state
    """Batches channel messages for the classifier and records the results in the store."""

    def __init__(self, classifier: Classifier, store: CounterStore, batch_size: int = BATCH_SIZE,
                 wait_ms: float = BATCH_WAIT_MS, *, limits: BacklogLimits = BacklogLimits(),
                 retry: RetryPolicy = RetryPolicy(), metrics: BotMetrics | None = None,
                 listener_workers: int = LISTENER_WORKERS):
        self._classifier = classifier
        self._store = store
        self._batch_size = batch_size
        self._wait = wait_ms / 1000.0
        self.limits = limits
        self._retry = retry
        self.metrics = metrics or BotMetrics()
        self._clock = time.monotonic
        self._backlog: deque[_Waiting] = deque()
        self._in_flight: list[_Waiting] = []  # the batch the worker holds
        self._count = 0  # accepted and not finished: backlog + in flight
        self._bytes = 0  # UTF-8 bytes of their texts
        self._cond = threading.Condition()
        self._accepting = True
        self._deadline: float | None = None  # set by close(): drain until then
        # Held while the worker records a batch; close() takes it to give up on a stuck batch.
        self._commit = threading.Lock()
        self._abandoned = False  # close() gave up on the worker: it must not count anything
        self.counted = self.dropped = self.refused = self.skipped = 0
        self.listened = 0  # counted messages whose listeners have all run
        self._listeners: list[Classified] = []
        self._listener_pool = BoundedExecutor(listener_workers, LISTENER_QUEUE, "count-listeners")
        # Claims of one batch run concurrently; never more than one batch is admitted at once.
        self._claims = ThreadPoolExecutor(max_workers=CLAIM_WORKERS,
                                          thread_name_prefix="count-claims")
        self.metrics.track_backlog(self.depth, self.size_bytes, self.oldest_age)
        self._thread = threading.Thread(target=self._run, name="message-counter", daemon=True)
        self._thread.start()

    # -- the request side: never blocks ---------------------------------------------------
    def offer(self, message: PendingMessage, event_id: str | None = None) -> str | None:
        """Accept ``message`` (None) or say why not: :data:`REFUSED_FULL`,
        :data:`REFUSED_STALLED` or :data:`REFUSED_CLOSED`. Invalid ids raise ValueError (the
        caller checks them first). Called in the request thread: in memory only."""
        if not (valid_id(message.team_id) and valid_id(message.channel_id)):
            raise ValueError("team_id/channel_id inválidos")
        if len(message.text) > MAX_TEXT_CHARS:
            message = dataclasses.replace(message, text=message.text[:MAX_TEXT_CHARS])
        size = len(message.text.encode("utf-8", "surrogatepass"))
        now = self._clock()
        with self._cond:
            reason = self._refusal(size, now)
            if reason is None:
                self._backlog.append(_Waiting(message, event_id or None, now, size))
                self._count += 1
                self._bytes += size
                self._cond.notify()
        if reason is None:
            self.metrics.acked.inc()
            return None
        with self._cond:
            self.refused += 1
        self.metrics.refused.labels(reason).inc()
        log.warning("channel message refused (%s): Slack will redeliver it", reason)
        return reason

    def _refusal(self, size: int, now: float) -> str | None:
        """Why a message of ``size`` bytes cannot be accepted now (call with the lock held)."""
        if not self._accepting:
            return REFUSED_CLOSED
        if self._count >= self.limits.max_messages or self._bytes + size > self.limits.max_bytes:
            return REFUSED_FULL
        oldest = self._oldest_since()
        if oldest is not None and now - oldest > self.limits.max_age_s:
            return REFUSED_STALLED
        return None

    def _oldest_since(self) -> float | None:
        """When the oldest unfinished message was accepted (call with the lock held)."""
        times = ([self._in_flight[0].since] if self._in_flight else []) + (
            [self._backlog[0].since] if self._backlog else [])
        return min(times) if times else None

    def add_listener(self, listener: Classified) -> None:
        """Call ``listener(messages, results)`` after each batch is recorded."""
        self._listeners.append(listener)

    def depth(self) -> int:
        """Messages accepted and not yet counted, skipped or dropped (the batch being
        classified included)."""
        with self._cond:
            return self._count

    def size_bytes(self) -> int:
        """UTF-8 bytes of the waiting texts."""
        with self._cond:
            return self._bytes

    def oldest_age(self) -> float:
        """Seconds the oldest waiting message has waited (0 when none)."""
        with self._cond:
            oldest = self._oldest_since()
            return self._clock() - oldest if oldest is not None else 0.0

    def stop_accepting(self) -> None:
        """Refuse every new message from now on (the first step of a shutdown)."""
        with self._cond:
            self._accepting = False

    def close(self, timeout: float) -> None:
        """Stop accepting, count what waits until ``timeout`` seconds from now, record what
        could not be counted as dropped (``shutdown``), and let the listeners finish until then.
        Returns at the deadline (plus :data:`JOIN_GRACE_S`) even when the worker is stuck in a
        model or store call (its batch is then recorded as dropped, see :meth:`_abandon`) or a
        listener in a Slack call (counted, see :meth:`_await_listeners`)."""
        started = self._clock()
        with self._cond:
            self._accepting = False
            if self._deadline is None:
                self._deadline = started + timeout
            deadline = self._deadline
            self._cond.notify_all()
        self._thread.join(max(0.0, deadline - self._clock()) + JOIN_GRACE_S)
        stuck = self._thread.is_alive() and self._abandon()
        # A stuck worker may still wait on a claim: never wait for it past the deadline.
        self._claims.shutdown(wait=not stuck, cancel_futures=stuck)
        self._listener_pool.shutdown(wait=False)
        self._await_listeners(deadline + JOIN_GRACE_S)

    def _await_listeners(self, until: float) -> None:
        """Wait until the listeners have run on every recorded batch, or until ``until``; those
        still running or queued then are counted and left to finish on their own (their Slack
        calls have their own timeouts), so that the store's last flush keeps its time."""
        while self._listener_pool.in_use and self._clock() < until:
            time.sleep(LISTENER_POLL_S)
        busy = self._listener_pool.in_use
        if busy:
            self.metrics.listener_errors.labels("shutdown").inc(busy)
            log.error("%d recorded batches were still with the listeners (moderation) at the "
                      "shutdown deadline: left to finish on their own", busy)

    def _abandon(self) -> bool:
        """The deadline passed with the worker inside a call: record its batch and whatever
        waits as dropped (``shutdown``), and make sure the worker counts none of it when its
        call returns. False when the worker is writing its batch right now (it then counts it
        itself: the write goes to the store's in-memory buffer)."""
        # pylint: disable-next=consider-using-with  # a bounded wait, which `with` cannot do
        if not self._commit.acquire(timeout=COMMIT_WAIT_S):
            return False
        try:
            with self._cond:
                self._abandoned = True
            self._drop_waiting()
            return True
        finally:
            self._commit.release()

    # -- the worker ------------------------------------------------------------------------
    def _run(self) -> None:
        failures = 0
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            retry = self._process(batch)
            if not self._finish(batch, retry):
                return  # close() gave up on this batch and recorded it
            if not retry:
                failures = 0
                continue
            failures += 1  # past the deadline, the pause ends at once and nothing is retried
            self._pause(self._retry.delay(failures))

    def _take_batch(self) -> list[_Waiting] | None:
        """The next batch (up to ``batch_size``, gathered for at most ``wait_ms``), or None
        when closing and nothing is left."""
        with self._cond:
            while not self._backlog:
                if self._deadline is not None:
                    return None
                self._cond.wait()
            if not self._past_deadline():
                return self._gather_locked()
        self._drop_waiting()  # the deadline passed with messages still waiting
        return None

    def _gather_locked(self) -> list[_Waiting]:
        """Up to ``batch_size`` waiting messages, after at most ``wait_ms`` for a fuller batch;
        they become the batch in flight (call with the lock held)."""
        gather_until = self._clock() + self._wait
        while len(self._backlog) < self._batch_size and self._deadline is None:
            left = gather_until - self._clock()
            if left <= 0:
                break
            self._cond.wait(left)
        batch = [self._backlog.popleft()
                 for _ in range(min(self._batch_size, len(self._backlog)))]
        self._in_flight = batch
        return batch

    def _finish(self, batch: list[_Waiting], retry: list[_Waiting]) -> bool:
        """The batch is handled: what must be retried goes back to the front, the rest leaves.
        False when close() gave up on it meanwhile (it is accounted for already)."""
        kept = {id(item) for item in retry}
        done = [item for item in batch if id(item) not in kept]
        with self._cond:
            if self._abandoned:
                return False
            self._backlog.extendleft(reversed(retry))
            self._in_flight = []
            self._count -= len(done)
            self._bytes -= sum(item.size for item in done)
        return True

    def _pause(self, seconds: float) -> None:
        """Wait before the next attempt; a close() meanwhile ends the wait at once (one more
        attempt before the deadline), and no wait goes past the deadline."""
        with self._cond:
            closing_already = self._deadline is not None
            end = self._clock() + seconds
            while True:
                if self._deadline is not None:
                    if not closing_already:
                        return
                    end = min(end, self._deadline)
                left = end - self._clock()
                if left <= 0:
                    return
                self._cond.wait(left)

    def _past_deadline(self) -> bool:
        return self._deadline is not None and self._clock() >= self._deadline

    def _drop_waiting(self) -> None:
        """Give up on every message not yet counted, the batch in flight included (the
        shutdown deadline passed): recorded as dropped (``shutdown``)."""
        with self._cond:
            items = self._in_flight + list(self._backlog)
            self._in_flight = []
            self._backlog.clear()
            self._count -= len(items)
            self._bytes -= sum(item.size for item in items)
        if items:
            log.error("%d acked channel messages could not be counted before the shutdown "
                      "deadline: recorded as dropped", len(items))
            self._record_dropped(items, "shutdown")

    # -- one batch -------------------------------------------------------------------------
    def _process(self, batch: list[_Waiting]) -> list[_Waiting]:
        """Classify and record one batch; returns what must be retried."""
        ready, retry = self._admit_all(batch)
        if not ready:
            return retry
        classified, rejected, unavailable = self._classify(ready)
        with self._commit:
            if self._abandoned:  # close() recorded this batch as dropped at its deadline
                log.warning("a batch given up on at shutdown was answered late: not counted")
                return []
            self._record(classified)
            if rejected:
                self._record_dropped(rejected, "rejected_text")
        return unavailable + retry

    def _admit_all(self, batch: list[_Waiting]) -> tuple[list[_Waiting], list[_Waiting]]:
        """(ready to classify, to retry): each message not yet ours is checked (paused channel?)
        and claimed, concurrently (one store round trip each would otherwise cap counting)."""
        outcomes = {id(item): self._claims.submit(self._admit, item)
                    for item in batch if not item.claimed}
        ready, retry, failed = [], [], None
        for item in batch:
            if item.claimed:
                ready.append(item)
                continue
            try:
                outcome = outcomes[id(item)].result()
            except Exception as exc:  # pylint: disable=broad-exception-caught  # retried later
                self.metrics.store_errors.labels("claim").inc()
                failed = exc
                retry.append(item)
                continue
            if outcome is None:
                item.claimed = True
                ready.append(item)
            else:
                self._skip(outcome)
        if failed is not None:
            log.warning("store unavailable before classifying (%s): %d messages wait",
                        failed.__class__.__name__, len(retry))
        return ready, retry

    def _admit(self, item: _Waiting) -> str | None:
        """None when the message is ours to count; else why it is skipped (``paused``,
        ``redelivery``). Store errors are raised (the message is retried)."""
        message = item.message
        if self._store.channel_settings(message.team_id, message.channel_id).paused:
            return "paused"
        # Scoped by the workspace: event ids are unique per app, the key says whose it is.
        if item.event_id is not None and not self._store.claim_event(
                f"{message.team_id}:{item.event_id}", item.token):
            log.info("event %s already processed: redelivery skipped", item.event_id)
            return "redelivery"
        return None

    def _classify(self, items: list[_Waiting]) -> tuple[list[_Classified],
                                                         list[_Waiting], list[_Waiting]]:
        """(classified, rejected by the model, to retry). A batch that fails for any reason
        but an unavailable model is split into single texts, so that only a bad text fails."""
        try:
            verdicts = self._classifier.classify_detailed([item.message.text for item in items])
            return [(item, result, verdicts.model)
                    for item, result in zip(items, verdicts.results)], [], []
        except ModelUnavailableError:
            self.metrics.model_errors.labels("unavailable").inc()
            log.warning("model unavailable: %d channel messages wait for a retry", len(items))
            return [], [], items
        except Exception as exc:  # pylint: disable=broad-exception-caught  # isolate the bad text
            # Only the class: an exception message could quote the text.
            log.warning("a batch of %d failed (%s): classifying one by one", len(items),
                        exc.__class__.__name__)
        classified: list[_Classified] = []
        rejected: list[_Waiting] = []
        for index, item in enumerate(items):
            try:
                verdicts = self._classifier.classify_detailed([item.message.text])
                classified.append((item, verdicts.results[0], verdicts.model))
            except ModelUnavailableError:
                self.metrics.model_errors.labels("unavailable").inc()
                return classified, rejected, items[index:]
            except Exception as exc:  # pylint: disable=broad-exception-caught  # this text only
                self.metrics.model_errors.labels("rejected_text").inc()
                log.warning("one channel message could not be classified: %s",
                            exc.__class__.__name__)
                rejected.append(item)
        return classified, rejected, []

    def _record(self, classified: list[_Classified]) -> None:
        if not classified:
            return
        observations = [Observation(team_id=item.message.team_id,
                                    channel_id=item.message.channel_id, day=item.message.day,
                                    label=result.label, scores=dict(result.scores),
                                    model=model)
                        for item, result, model in classified]
        refused = self._write(observations)
        if refused is not None:  # acked, then lost to the store: said in the dropped count
            with self._cond:
                self.dropped += len(observations)
            self.metrics.dropped.labels(refused).inc(len(observations))
            return
        with self._cond:
            self.counted += len(classified)
        self.metrics.counted.inc(len(classified))
        messages = [item.message for item, _, _ in classified]
        results = [result for _, result, _ in classified]
        future = self._listener_pool.submit(self._notify, messages, results)
        if future.done() and future.exception() is not None:  # refused: the pool is full
            self.metrics.listener_errors.labels("listener_queue_full").inc()
            self._listened(len(messages))

    def _notify(self, messages: list[PendingMessage], results: list[Classification]) -> None:
        """Run every listener on one recorded batch (on the listeners' executor)."""
        for listener in self._listeners:
            try:
                listener(messages, results)
            except Exception as exc:  # pylint: disable=broad-exception-caught  # counting goes on
                self.metrics.listener_errors.labels("listener").inc()
                log.error("a classified-batch listener failed: %s", exc.__class__.__name__)
        self._listened(len(messages))

    def _listened(self, count: int) -> None:
        with self._cond:
            self.listened += count

    def _record_dropped(self, items: list[_Waiting], reason: str) -> None:
        """Count ``items`` as acked but not counted: in the metric, and in the store (reports
        say how many) when it still takes writes."""
        with self._cond:
            self.dropped += len(items)
        self.metrics.dropped.labels(reason).inc(len(items))
        self._write([Observation(team_id=item.message.team_id, channel_id=item.message.channel_id,
                                 day=item.message.day, label=DROPPED)
                     for item in items])

    def _write(self, observations: list[Observation]) -> str | None:
        """``store.record`` (buffered in memory, flushed with retries): None once the store took
        them, else why it refused them (``store_closed``, ``store_error``; counted)."""
        try:
            self._store.record(observations)
            return None
        except StoreClosedError:
            reason = "store_closed"
        except Exception as exc:  # pylint: disable=broad-exception-caught  # the worker must survive
            reason = "store_error"
            log.error("store.record failed for %d observations: %s", len(observations),
                      exc.__class__.__name__)
        self.metrics.store_errors.labels("record").inc()
        return reason

    def _skip(self, reason: str) -> None:
        with self._cond:
            self.skipped += 1
        self.metrics.skipped.labels(reason).inc()
