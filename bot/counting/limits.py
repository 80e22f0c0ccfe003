"""The message counter's sizes and limits, with their documented defaults (README,
"Configuration"): one source that the settings and the counter both read. Pure and light, so
that reading the settings never imports the counter."""

from __future__ import annotations

from dataclasses import dataclass

BATCH_SIZE = 64  # MESSAGE_BATCH_SIZE: channel messages per model call (at most 64)
BATCH_WAIT_MS = 500.0  # MESSAGE_BATCH_WAIT_MS: how long a message may wait for a fuller batch
LISTENER_WORKERS = 2  # MODERATION_WORKERS: threads running the classified-batch listeners


@dataclass(frozen=True)
class BacklogLimits:
    """How much may wait in memory before new messages are refused (Slack then redelivers).

    The defaults absorb a model outage of 60 s at 30 messages/s (1,800 messages, well under a
    megabyte of typical text) many times over, and cap the worst case (40,000-character texts)
    at ``max_bytes`` of text.
    """

    max_messages: int = 20_000  # MESSAGE_BACKLOG_MAX
    max_bytes: int = 32 * 1024 * 1024  # MESSAGE_BACKLOG_MAX_BYTES: UTF-8 bytes of the texts
    max_age_s: float = 600.0  # MESSAGE_BACKLOG_MAX_AGE: refuse while the oldest is older


DEFAULT_LIMITS = BacklogLimits()
