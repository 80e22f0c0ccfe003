"""The interface between the Slack layer and the model: the classifier and what it answers.

Only labels and scores come back through it: never message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from service.labels import Classification


@dataclass(frozen=True)
class Verdicts:
    """The results of one classify call and who produced them (shown to users when not the model)."""

    results: list[Classification]
    backend: str  # transformers | lexicon
    fallback: bool = False  # True when the model was unavailable and the lexicon answered instead


class Classifier(Protocol):
    """Classifies texts, in-process or through the shared model service."""

    def classify(self, texts: Sequence[str]) -> list[Classification]:
        """Classify raw Slack texts (clean-up happens inside), results in input order."""

    @property
    def backend(self) -> str:
        """Which backend answered (``transformers`` or ``lexicon``)."""

    def classify_detailed(self, texts: Sequence[str]) -> Verdicts:
        """Like :meth:`classify`, also saying which backend answered and whether it was a fallback."""

    def close(self) -> None:
        """Release threads and connections (idempotent)."""
