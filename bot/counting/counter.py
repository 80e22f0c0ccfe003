"""Channel messages to tallies: batched classification, then one store record per batch.

Slack delivers one ``message`` event per request. :class:`MessageCounter` gathers them (up to
``batch_size`` or ``wait_ms``) so that the model sees batches, then hands the store one
:class:`bot.counting.model.Observation` per message: label and scores only, never the text. The texts
wait only in memory, for at most ``wait_ms`` plus one model call.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from typing import Callable, Sequence

from bot.classify.clients import MAX_TEXT_CHARS, ClassifierInputError, ModelUnavailableError
from bot.classify.port import Classifier
from bot.counting.model import Observation, PendingMessage
from bot.ids import valid_id
from bot.store.base import TallyStore
from service.batching import gather
from service.labels import Classification

log = logging.getLogger(__name__)

Classified = Callable[[Sequence[PendingMessage], Sequence[Classification]], None]
"""A listener told of every classified batch (after the store recorded it), in the worker
thread: ``listener(messages, results)``. Moderation watches threads this way."""


_STOP = object()


class MessageCounter:
    """Batches channel messages for the classifier and records the results in the store.

    ``submit`` never blocks the request thread: when ``max_pending`` messages already wait
    (the model is far behind), new ones are dropped and counted in :attr:`dropped`.
    """

    def __init__(self, classifier: Classifier, store: TallyStore, batch_size: int = 64,
                 wait_ms: float = 500.0, max_pending: int = 10_000):
        self._classifier = classifier
        self._store = store
        self._batch_size = batch_size
        self._wait = wait_ms / 1000.0
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._lock = threading.Lock()
        self.counted = 0
        self.dropped = 0
        self._closed = False
        self._listeners: list[Classified] = []
        self._thread = threading.Thread(target=self._run, name="message-counter", daemon=True)
        self._thread.start()

    def submit(self, message: PendingMessage) -> bool:
        """Queue one message; False (and counted as dropped) when closed or full, or when its
        ids are not valid Slack ids (the store would refuse the whole batch with it)."""
        if not (valid_id(message.team_id) and valid_id(message.channel_id)):
            with self._lock:
                self.dropped += 1
            log.warning("a channel message without a valid team or channel id was not counted")
            return False
        if len(message.text) > MAX_TEXT_CHARS:
            message = dataclasses.replace(message, text=message.text[:MAX_TEXT_CHARS])
        with self._lock:
            if self._closed:
                self.dropped += 1
                return False
            try:
                self._queue.put_nowait(message)
            except queue.Full:
                self.dropped += 1
                log.warning("message queue full: a channel message was not counted")
                return False
        return True

    def add_listener(self, listener: Classified) -> None:
        """Call ``listener(messages, results)`` after each batch is recorded."""
        self._listeners.append(listener)

    def close(self, timeout: float | None = 30.0) -> None:
        """Classify and record what is queued, then stop the worker."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            stopping = gather(self._take, batch, self._batch_size,
                              time.monotonic() + self._wait, _STOP)
            self._process(batch)

    def _take(self, deadline: float):
        """The next queued message (or the stop marker); None once ``deadline`` has passed."""
        try:
            return self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None

    def _process(self, batch: list[PendingMessage]) -> None:
        try:
            results = self._classifier.classify([item.text for item in batch])
        except (ModelUnavailableError, ClassifierInputError) as exc:
            with self._lock:
                self.dropped += len(batch)
            log.warning("%d channel messages not counted: %s", len(batch), exc.__class__.__name__)
            return
        except Exception as exc:  # pylint: disable=broad-exception-caught  # the worker must survive
            with self._lock:
                self.dropped += len(batch)
            # Only the class: an exception message could quote the text.
            log.error("classifying %d channel messages failed: %s", len(batch), exc.__class__.__name__)
            return
        observations = [Observation(team_id=item.team_id, channel_id=item.channel_id, day=item.day,
                                    label=result.label, scores=dict(result.scores))
                        for item, result in zip(batch, results)]
        try:
            self._store.record(observations)
        except Exception:  # pylint: disable=broad-exception-caught  # the worker must survive
            with self._lock:
                self.dropped += len(batch)
            log.exception("store.record failed for %d observations", len(batch))
            return
        for listener in self._listeners:
            try:
                listener(batch, results)
            except Exception as exc:  # pylint: disable=broad-exception-caught  # the worker must survive
                log.error("a classified-batch listener failed: %s", exc.__class__.__name__)
        with self._lock:  # after the listeners: a counted message has been fully handled
            self.counted += len(batch)
