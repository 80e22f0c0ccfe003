"""Counting channel messages, the pure part: which messages count, on which day, and the value
types that carry a classified message to the store and counts back out of it.

Only counts, scores and Slack ids: a :class:`PendingMessage` holds its text in memory while it
waits for the model; an :class:`Observation`, what may be stored, has no text field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping
from zoneinfo import ZoneInfo

from service.labels import LABELS
from service.text import clean_text

COUNTED_CHANNEL_TYPES = frozenset({"channel", "group"})  # public and private channels
# Message subtypes that are still a person's own message. Empty: every subtype is skipped
# (edits, deletions, joins/leaves, bot messages, file shares, thread broadcasts...).
COUNTED_SUBTYPES: frozenset[str] = frozenset()


# What clean_text leaves of links and mentions: placeholders with no sentiment of their own.
_PLACEHOLDER = re.compile(r"(?<!\S)(?:http|@\w+|#[\w-]+)(?!\S)")


def analysable(text: str) -> bool:
    """True when ``text`` has something to analyse once code, links and mentions are removed."""
    return bool(_PLACEHOLDER.sub(" ", clean_text(text or "")).strip())


def countable(event: Mapping, bot_user_id: str | None = None) -> bool:
    """True for a person's new message in a public or private channel that has text to analyse.

    Skipped: any bot (``bot_id``, ``bot_profile``, or the bot's own user), any subtype
    (``message_changed``, ``message_deleted``, ``channel_join``, ``bot_message``...), hidden
    events, other channel types (DMs) and texts with nothing left after clean-up.
    """
    if event.get("type") != "message" or event.get("hidden"):
        return False
    subtype = event.get("subtype")
    if subtype is not None and subtype not in COUNTED_SUBTYPES:
        return False
    if event.get("bot_id") or event.get("bot_profile") or event.get("app_id"):
        return False
    user = event.get("user")
    if not user or (bot_user_id is not None and user == bot_user_id):
        return False
    if event.get("channel_type") not in COUNTED_CHANNEL_TYPES:
        return False
    text = event.get("text")
    return isinstance(text, str) and analysable(text)


def message_day(ts: str, tz: ZoneInfo) -> str:
    """The ISO date of Slack timestamp ``ts`` (``"1732665600.000100"``) in time zone ``tz``."""
    return datetime.fromtimestamp(float(ts), tz).date().isoformat()


@dataclass(frozen=True)
class PendingMessage:
    """A message waiting for the model: its ids, its day and (in memory only) its text."""

    team_id: str
    channel_id: str
    day: str
    text: str
    ts: str = ""  # the message's Slack ts
    thread_ts: str | None = None  # its thread's root ts, for a reply (see bot.moderation)


DROPPED = "dropped"  # the "label" of an acked message that could not be classified
MODELS = "models"  # the stored field of a channel-day's model versions (not a count)


@dataclass(frozen=True)
class Observation:
    """One channel message, reduced to what may be stored: its label and scores once
    classified, or the label :data:`DROPPED` (and no scores) when it was acked but could not be
    classified (a text the model refuses, a shutdown deadline), so that reports can say so."""

    team_id: str
    channel_id: str
    day: str  # ISO date (YYYY-MM-DD) in the workspace's time zone
    label: str  # negative | neutral | positive | dropped
    scores: dict[str, float] = field(default_factory=dict)  # per label (none when dropped)
    model: str = ""  # the model version that classified it (``id@revision``; "" when dropped)


@dataclass
class Tally:
    """Counts per label and the sums of the scores per label (enough for shares and mood),
    the messages acked but not counted (``dropped``: they are in no label), and the set of
    model versions that classified them (a report spanning a model change says so)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    score_sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LABELS, 0.0))
    dropped: int = 0
    models: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        """Messages counted (classified)."""
        return sum(self.counts.values())

    @property
    def empty(self) -> bool:
        """Nothing counted and nothing dropped."""
        return self.total == 0 and self.dropped == 0

    def add_observation(self, obs: Observation) -> None:
        """Count one classified (or dropped) message."""
        if obs.label == DROPPED:
            self.dropped += 1
            return
        if obs.model:
            self.models.add(obs.model)
        self.counts[obs.label] += 1
        for label in LABELS:
            self.score_sums[label] += float(obs.scores.get(label, 0.0))

    def add(self, other: "Tally") -> None:
        """Add another tally into this one."""
        for label in LABELS:
            self.counts[label] += other.counts[label]
            self.score_sums[label] += other.score_sums[label]
        self.dropped += other.dropped
        self.models |= other.models

    def copy(self) -> "Tally":
        """An independent copy."""
        return Tally(dict(self.counts), dict(self.score_sums), self.dropped, set(self.models))

    @classmethod
    def from_fields(cls, data: Mapping[str, object]) -> "Tally":
        """Read ``{"positive": 3, ..., "score_positive": 2.7, ..., "dropped": 1,
        "models": ["id@rev"]}`` (missing fields are zero, or no model)."""
        models = data.get(MODELS) or []
        return cls({label: int(data.get(label, 0) or 0) for label in LABELS},
                   {label: float(data.get(f"score_{label}", 0.0) or 0.0) for label in LABELS},
                   int(data.get(DROPPED, 0) or 0),
                   {str(model) for model in models} if isinstance(models, (list, tuple, set))
                   else set())

    def to_fields(self) -> dict[str, float]:
        """The flat stored shape, the inverse of :meth:`from_fields`."""
        fields: dict[str, float] = dict(self.counts)
        fields.update({f"score_{label}": value for label, value in self.score_sums.items()})
        fields[DROPPED] = self.dropped
        return fields


@dataclass(frozen=True)
class ChannelSettings:
    """A channel's switches, decided by its members."""

    paused: bool = False
    digest: bool = False


@dataclass(frozen=True)
class ChannelActivity:
    """How much a channel talked over a period, and with what mood (for App Home)."""

    channel_id: str
    tally: Tally
