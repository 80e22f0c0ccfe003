"""Executors the bot sizes and bounds itself, so that one kind of background work can never
starve another or grow without limit.

Bolt's default (``ThreadPoolExecutor(max_workers=5)``) has an unbounded queue shared by every
listener: five slow commands made every other request wait. Here each kind of work has its own
:class:`BoundedExecutor`: ``workers`` threads and at most ``queue`` tasks waiting. A task
offered to a full executor is refused at once (its future fails with :class:`ExecutorFullError`)
and counted; ``submit`` itself never raises, because Bolt calls it after the ack, where an
exception would become an HTTP 500.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Callable

log = logging.getLogger(__name__)


class ExecutorFullError(RuntimeError):
    """The executor already had ``workers`` tasks running and ``queue`` tasks waiting."""


class BoundedExecutor(Executor):
    """A thread pool with ``workers`` threads and room for ``queue`` waiting tasks."""

    def __init__(self, workers: int, queue: int, name: str,
                 on_refused: Callable[[], None] | None = None):
        if workers < 1 or queue < 0:
            raise ValueError("workers >= 1 and queue >= 0")
        self.capacity = workers + queue
        self.name = name
        self._pool = ThreadPoolExecutor(  # pylint: disable=consider-using-with  # shut down by shutdown()
            max_workers=workers, thread_name_prefix=name)
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._lock = threading.Lock()
        self._in_use = 0
        self._on_refused = on_refused
        self.refused = 0

    @property
    def in_use(self) -> int:
        """Tasks running or waiting."""
        with self._lock:
            return self._in_use

    @property
    def saturated(self) -> bool:
        """True when the next task would be refused."""
        return self.in_use >= self.capacity

    def submit(self, fn, /, *args, **kwargs) -> Future:  # pylint: disable=arguments-differ
        """Run ``fn(*args, **kwargs)`` on a worker, or refuse it at once when full (the returned
        future then holds :class:`ExecutorFullError`). Never raises."""
        # Not a ``with``: the slot is released by the task when it ends, on another thread.
        if not self._slots.acquire(blocking=False):  # pylint: disable=consider-using-with
            return self._refuse()
        with self._lock:
            self._in_use += 1

        def run():
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self._in_use -= 1
                self._slots.release()

        try:
            return self._pool.submit(run)
        except RuntimeError:  # shut down: nothing more runs
            with self._lock:
                self._in_use -= 1
            self._slots.release()
            return self._refuse()

    def _refuse(self) -> Future:
        with self._lock:
            self.refused += 1
        if self._on_refused is not None:
            self._on_refused()
        log.warning("%s executor full: a task was refused", self.name)
        future: Future = Future()
        future.set_exception(ExecutorFullError(f"{self.name}: fila cheia"))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking tasks; with ``wait``, let the running and queued ones finish."""
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)
