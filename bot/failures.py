"""Failures the bot handled instead of letting them reach the transport: each is logged as one
line with a stable event name and counted here.

Hook for metrics (``/metrics`` is being added separately): register a listener with
``FAILURES.add_listener(lambda event: counter.labels(event=event).inc())`` and every handled
failure is also exported; ``FAILURES.counts`` holds the totals since start.

Event names are stable (dashboards and alerts depend on them):

- ``digest_job_failed``: the weekly digest job itself failed (answered 503: Cloud Scheduler
  retries).
- ``digest_channel_failed``: one channel's weekly digest failed (claim released, retried).
- ``digest_release_failed``: a failed channel's digest claim could not be released.
- ``moderation_watch_failed``: one classified message could not be applied to its thread.
- ``moderation_alert_post_failed``: an alert could not be posted in the moderators' channel.
- ``moderation_alert_update_failed``: an alert's state could not be saved after Slack's answer.
- ``moderation_warning_dm_failed``: the DM telling who set the moderators' channel that it
  is unreachable could not be sent.
- ``retention_purge_failed``: deleting expired records failed (tried again at the next run).
- ``feedback_store_failed``: a user's "Concordo" / "Discordo" vote could not be stored (the
  user is told; the answer and its buttons stay for another try).
- ``workspace_uninstall_failed``: an uninstall's installation or scheduled deletion could not
  be saved (run ``python -m bot forget --team T``).
- ``workspace_forget_failed``: a workspace's due deletion failed (it stays scheduled, retried).
- ``workspace_install_hook_failed``: after an install, a scheduled deletion could not be
  cancelled.
- ``workspace_client_failed``: a workspace's installation could not be read for background
  work (an alert stays pending, a digest is given up for that run).

The detail of a line is an exception class name or a Slack error code: never message text.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)

Listener = Callable[[str], None]


class FailureCounter:
    """Thread-safe counts of handled failures, by event name, with listeners (metrics)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every failure counted from now on."""
        with self._lock:
            self._listeners.append(listener)

    def count(self, event: str, detail: str = "") -> None:
        """Log one line ``failure event=<event> <detail>`` and count it."""
        log.warning("failure event=%s %s", event, detail)
        with self._lock:
            self.counts[event] = self.counts.get(event, 0) + 1
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # pylint: disable=broad-exception-caught  # a metric never breaks the bot
                log.exception("failure listener raised")

    def snapshot(self) -> dict[str, int]:
        """A copy of the counts so far, by event."""
        with self._lock:
            return dict(self.counts)

    def get(self, event: str) -> int:
        """How many ``event`` failures were counted so far."""
        with self._lock:
            return self.counts.get(event, 0)


FAILURES = FailureCounter()


def count_failure(event: str, detail: str = "") -> None:
    """Log and count one handled failure (see the module's event names)."""
    FAILURES.count(event, detail)


def describe(exc: BaseException) -> str:
    """What may be logged about an exception: its class name (never its message, which could
    quote a payload)."""
    return exc.__class__.__name__
