"""Dynamic micro-batching: one worker thread owns the model and coalesces concurrent requests.

Like TEI's queue, callers enqueue texts and get futures back; the worker takes
the first waiting text plus everything already queued behind it (up to
``max_batch_size``), sorts the batch by length (less padding), runs one forward
pass and hands each caller its own result. The queue is bounded: when it is
full, :class:`QueueFullError` is raised at once so that the transport can
answer 503 instead of piling up work.

Waiting for stragglers (``max_batch_wait_ms``) only pays off under load, so the
worker waits only when there is evidence of concurrency: the first text had
been queued while the model was busy, or several texts arrived together. A
lone request on an idle service runs at once, so its latency is the model's
forward pass, not the forward pass plus the batching window.

One bad text fails alone: when a batch raises, the worker runs its texts one by
one, so the callers of the other texts still get their answers and only the
culprit's caller gets :class:`TextRejectedError`. The worker also cleans the
texts (:func:`service.text.model_input`), so that CPU work never runs on a
caller's event loop.

Memory: a backend with a ``release_memory()`` method (the ONNX runtimes) is asked to
hand freed memory back to the system once the queue has been empty for
:data:`IDLE_RELEASE_S`, so that the resident memory of an idle service is what the
model needs, not what the last burst of requests left behind.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable, Sequence

from service.backends import Backend
from service.labels import Classification
from service.text import model_input

log = logging.getLogger(__name__)

IDLE_RELEASE_S = 1.0  # an empty queue for this long: the backend may hand freed memory back

BatchObserver = Callable[[int, float], None]
"""Called by the worker after each model batch with its size and duration in seconds."""


class QueueFullError(RuntimeError):
    """The bounded queue cannot take these texts now; retry later."""


class BatcherClosedError(RuntimeError):
    """The batcher is shutting down and takes no new work."""


class TextRejectedError(ValueError):
    """The model failed on these texts alone while it answers others: the texts are at fault.

    A future gets one per rejected text; :meth:`Batcher.classify` and
    :meth:`Batcher.classify_async` raise one naming the ``positions`` (0-based, in the
    caller's order) of every rejected text. ``cause`` is the class name of the model's error:
    never the text, which may be private.
    """

    def __init__(self, cause: str, positions: Sequence[int] = ()):
        self.cause = cause
        self.positions = tuple(positions)
        where = f" nas posições {', '.join(map(str, self.positions))}" if self.positions else ""
        super().__init__(f"o modelo não conseguiu analisar o texto{where} ({cause})")


CANARY = "ok"
"""A text every working model answers: run alone when a text fails alone, to tell a bad
text (the canary passes) from a broken model (it fails too)."""


@dataclass
class _Item:
    text: str  # as submitted; the worker replaces it with the model input
    future: Future = field(default_factory=Future)


_STOP = object()


def _results(outcomes: list) -> list[Classification]:
    """The results, or the first error that is not a rejection, or one rejection naming them all."""
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, TextRejectedError):
            raise outcome
    rejected = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, TextRejectedError)]
    if rejected:
        raise TextRejectedError(outcomes[rejected[0]].cause, rejected)
    return outcomes


def gather(take: Callable[[float], object], batch: list, limit: int, deadline: float,
           stop: object) -> bool:
    """Append items from ``take(deadline)`` (None once the deadline passed) to ``batch`` until it
    holds ``limit`` items or time is up. True when ``stop`` came out of the queue (shutting down).

    The coalescing step shared by every micro-batching worker (the model's, the bot's).
    """
    while len(batch) < limit:
        item = take(deadline)
        if item is None:
            return False
        if item is stop:
            return True
        batch.append(item)
    return False


class Batcher:
    """Coalesces texts from many callers into model batches run by one worker thread."""

    def __init__(self, backend: Backend, max_batch_size: int = 16, max_batch_wait_ms: float = 5.0,
                 max_queue_size: int = 256, observer: BatchObserver | None = None):
        self.backend = backend
        self.max_batch_size = max_batch_size
        self.max_wait = max_batch_wait_ms / 1000.0
        self.max_queue_size = max_queue_size
        self._observer = observer
        self._queue: queue.Queue = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._closed = False
        # A backend that can hand freed memory back (ONNX Runtime: glibc's malloc_trim) does so
        # once the queue has been empty for IDLE_RELEASE_S, never between batches under load.
        self._release: Callable[[], None] | None = getattr(backend, "release_memory", None)
        self._thread = threading.Thread(target=self._run, name="inference-worker", daemon=True)
        self._thread.start()

    @property
    def queue_depth(self) -> int:
        """Texts waiting for the model (not yet taken into a batch)."""
        return self._pending

    def submit(self, texts: Sequence[str]) -> list[Future]:
        """Enqueue texts and return one future per text, in order.

        Cheap and non-blocking, so asyncio callers may call it on their event loop: the
        clean-up (:func:`service.text.model_input`, CPU work on up to 40,000 characters)
        runs later on the worker thread. All or nothing: raises :class:`QueueFullError`
        if they do not all fit.
        """
        items = [_Item(text) for text in texts]
        with self._lock:
            if self._closed:
                raise BatcherClosedError("o serviço está encerrando")
            if self._pending + len(items) > self.max_queue_size:
                raise QueueFullError(
                    f"fila cheia ({self._pending} textos aguardando, limite {self.max_queue_size})")
            self._pending += len(items)
            for item in items:
                self._queue.put(item)
        return [item.future for item in items]

    def classify(self, texts: Sequence[str], timeout: float | None = None) -> list[Classification]:
        """Blocking convenience: submit and wait for every result.

        Raises the model's error if it failed, else :class:`TextRejectedError` naming every
        text it rejected.
        """
        outcomes: list = []
        for future in self.submit(texts):
            try:
                outcomes.append(future.result(timeout))
            except TextRejectedError as exc:
                outcomes.append(exc)
        return _results(outcomes)

    async def classify_async(self, texts: Sequence[str]) -> list[Classification]:
        """Awaitable convenience for asyncio callers (the HTTP transport); raises as
        :meth:`classify` does."""
        futures = [asyncio.wrap_future(future) for future in self.submit(texts)]
        try:
            outcomes = await asyncio.gather(*futures, return_exceptions=True)
        except asyncio.CancelledError:
            for future in futures:
                future.cancel()
            raise
        return _results(outcomes)

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop taking work, finish what is queued, and stop the worker."""
        with self._lock:
            already_closed, self._closed = self._closed, True
            if not already_closed:
                self._queue.put(_STOP)  # behind everything queued: that work is finished first
        self._thread.join(timeout)

    def _take(self, block_until: float | None):
        """Next queued item, waiting until ``block_until`` (None: forever); None on timeout."""
        try:
            if block_until is None:
                item = self._queue.get()
            else:
                remaining = block_until - time.monotonic()
                item = self._queue.get(timeout=remaining) if remaining > 0 else \
                    self._queue.get_nowait()
        except queue.Empty:
            return None
        if item is not _STOP:
            with self._lock:
                self._pending -= 1
        return item

    def _run(self) -> None:
        stopping = False
        while not stopping:
            idle = self._queue.empty()
            first = self._take(None if idle is False or self._release is None
                               else time.monotonic() + IDLE_RELEASE_S)
            if first is None:  # idle for IDLE_RELEASE_S: hand memory back, then wait for work
                self._release_memory()
                first = self._take(None)
            if first is _STOP:
                break
            batch = [first]
            # Everything already waiting joins at once; wait for more only under load.
            stopping = self._gather(batch, time.monotonic())
            if not stopping and len(batch) < self.max_batch_size and (len(batch) > 1 or not idle):
                stopping = self._gather(batch, time.monotonic() + self.max_wait)
            try:
                self._run_batch(batch)
            except Exception as exc:  # pylint: disable=broad-exception-caught  # the worker lives on
                log.error("model batch failed unexpectedly: %s", exc.__class__.__name__)
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)

    def _release_memory(self) -> None:
        assert self._release is not None
        try:
            self._release()
        except Exception:  # pylint: disable=broad-exception-caught  # an optimisation: never fatal
            log.exception("releasing memory failed")

    def _gather(self, batch: list[_Item], deadline: float) -> bool:
        """Add queued items to ``batch`` until it is full or ``deadline``; True if told to stop."""
        return gather(self._take, batch, self.max_batch_size, deadline, _STOP)

    def _run_batch(self, batch: list[_Item]) -> None:
        live = []
        for item in batch:
            if not item.future.set_running_or_notify_cancel():
                continue
            try:  # here, on the worker thread: never on a caller's event loop
                item.text = model_input(item.text)
            except Exception as exc:  # pylint: disable=broad-exception-caught  # that text fails alone
                item.future.set_exception(_rejected(exc))
                continue
            live.append(item)
        if not live:
            return
        live.sort(key=lambda item: len(item.text))
        started = time.perf_counter()
        try:
            results = self._predict([item.text for item in live])
        except Exception as exc:  # pylint: disable=broad-exception-caught  # retried text by text
            log.warning("model batch of %d failed (%s); retrying its texts one by one",
                        len(live), exc.__class__.__name__)
            self._run_alone(live)
            return
        if self._observer is not None:
            try:
                self._observer(len(live), time.perf_counter() - started)
            except Exception:  # pylint: disable=broad-exception-caught  # metrics must not lose results
                log.exception("batch observer failed")
        for item, result in zip(live, results):
            item.future.set_result(result)

    def _predict(self, texts: list[str]) -> list[Classification]:
        """``backend.predict``, checking that it answered once per text."""
        results = self.backend.predict(texts)
        if len(results) != len(texts):
            raise RuntimeError(f"o backend devolveu {len(results)} resultados para {len(texts)} textos")
        return results

    def _run_alone(self, items: list[_Item]) -> None:
        """After a failed batch: run each text on its own so that only the culprits fail.

        A text that fails alone is the text's fault (:class:`TextRejectedError`) if the model
        answers other texts (some of this batch, or else :data:`CANARY`); if the model answers
        nothing, every caller gets the model's own error, as a broken model is no one text's fault.
        """
        failed: list[tuple[_Item, Exception]] = []
        for item in items:
            try:
                result = self._predict([item.text])[0]
            except Exception as exc:  # pylint: disable=broad-exception-caught  # sorted out below
                failed.append((item, exc))
                continue
            item.future.set_result(result)
        if not failed:
            return
        model_answers = len(failed) < len(items) or self._answers_canary()
        log.error("%d of %d texts failed alone (%s): %s", len(failed), len(items),
                  ", ".join(sorted({exc.__class__.__name__ for _item, exc in failed})),
                  "the texts are rejected" if model_answers else "the model is failing")
        for item, exc in failed:
            item.future.set_exception(_rejected(exc) if model_answers else exc)

    def _answers_canary(self) -> bool:
        try:
            self._predict([CANARY])
        except Exception:  # pylint: disable=broad-exception-caught  # the answer is "no"
            return False
        return True


def _rejected(cause: Exception) -> TextRejectedError:
    error = TextRejectedError(cause.__class__.__name__)
    error.__cause__ = cause
    return error
