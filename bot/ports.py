"""The interfaces between the Slack layer and what it uses: the classifier and the tally store.

Only counts, scores and Slack ids cross these interfaces: never message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from service.labels import Classification


class Classifier(Protocol):
    """Classifies texts, in-process or through the shared model service."""

    def classify(self, texts: Sequence[str]) -> list[Classification]:
        """Classify raw Slack texts (clean-up happens inside), results in input order."""

    @property
    def backend(self) -> str:
        """Which backend answered (``transformers`` or ``lexicon``)."""

    def classify_detailed(self, texts: Sequence[str]) -> "Verdicts":
        """Like :meth:`classify`, also saying which backend answered and whether it was a fallback."""


@dataclass(frozen=True)
class Verdicts:
    """The results of one classify call and who produced them (shown to users when not the model)."""

    results: list[Classification]
    backend: str  # transformers | lexicon
    fallback: bool = False  # True when the model was unavailable and the lexicon answered instead


@dataclass(frozen=True)
class Observation:
    """One classified channel message, reduced to what may be stored."""

    team_id: str
    channel_id: str
    day: str  # ISO date (YYYY-MM-DD) in the workspace's time zone
    label: str  # negative | neutral | positive
    scores: dict[str, float]  # probability per label


class TallySink(Protocol):
    """Where classified channel messages are counted."""

    def claim_event(self, key: str) -> bool:
        """True the first time ``key`` (a Slack event id) is seen, False for a redelivery."""

    def record(self, observations: Sequence[Observation]) -> None:
        """Count these observations (may buffer; see the store's flush)."""
