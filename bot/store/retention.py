"""Running :meth:`bot.store.base.Retention.purge_expired`: once a day in the process (SQLite, or
the emulator: nothing else deletes there) and from ``POST /tasks/retention`` (Cloud Scheduler).

A failed purge is logged and counted (``failure event=retention_purge_failed``) and tried again
at the next run: nothing is lost by waiting, the records only stay a little longer.
"""

from __future__ import annotations

import logging
import threading

from bot.failures import count_failure, describe
from bot.store.base import Retention

log = logging.getLogger(__name__)

PURGE_INTERVAL_S = 86_400.0


def purge(store: Retention) -> dict[str, int]:
    """Purge now; what was deleted, by kind (logged: counts only). Raises what the store raises."""
    deleted = store.purge_expired()
    log.info("retention: deleted %s", ", ".join(f"{kind}={n}" for kind, n in deleted.items()))
    return deleted


class RetentionTimer:
    """A daemon thread that purges at start and then every ``interval_s`` until :meth:`stop`
    (or, used as a context manager, while the ``with`` block runs)."""

    def __init__(self, store: Retention, interval_s: float = PURGE_INTERVAL_S):
        self.store = store
        self.interval_s = interval_s
        self.runs = 0  # purges attempted so far, failed ones included
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)

    def start(self) -> "RetentionTimer":
        """Start the thread (the first purge runs at once, in it); returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (a purge in progress finishes first, up to ``timeout``)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> "RetentionTimer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                purge(self.store)
            except Exception as exc:  # pylint: disable=broad-exception-caught  # retried next run
                count_failure("retention_purge_failed", describe(exc))
            self.runs += 1
            self._stop.wait(self.interval_s)
