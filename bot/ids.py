"""Slack ids and timestamps: what the bot accepts from a payload before using it as a key.

Pure functions. The store refuses a whole batch with an invalid id, so messages with one are
skipped before they are queued; the same rules check ids before they become document ids.
"""

from __future__ import annotations

import re

_SLACK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")


def valid_id(value: object) -> bool:
    """True for a Slack id the store accepts (``T0123``, ``C0456``): letters, digits, ``_`` and
    ``-``, at most 64 characters, not starting with ``__`` (reserved by Firestore)."""
    return isinstance(value, str) and bool(_SLACK_ID.match(value)) and not value.startswith("__")


def valid_ts(value: object) -> bool:
    """True for a Slack message ts (``1732600000.000200``)."""
    return isinstance(value, str) and bool(_TS.match(value))


def check_id(value: str, what: str) -> str:
    """``value`` when :func:`valid_id`; ValueError naming ``what`` otherwise."""
    if not valid_id(value):
        raise ValueError(f"{what} inválido: {value!r}")
    return value


def check_ts(value: str, what: str = "ts") -> str:
    """``value`` when :func:`valid_ts`; ValueError naming ``what`` otherwise."""
    if not valid_ts(value):
        raise ValueError(f"{what} inválido: {value!r}")
    return value


def is_channel_id(channel_id: object) -> bool:
    """True for a public or private channel id (``C...``/``G...``), not a DM (``D...``) nor a
    missing id."""
    return isinstance(channel_id, str) and channel_id[:1] in ("C", "G") and valid_id(channel_id)
