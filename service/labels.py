"""Sentiment labels: one canonical scheme whatever the model calls its classes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
LABELS: tuple[str, ...] = (NEGATIVE, NEUTRAL, POSITIVE)
LABELS_PT = {NEGATIVE: "Negativo", NEUTRAL: "Neutro", POSITIVE: "Positivo"}

_ALIASES = {
    "negative": NEGATIVE, "neg": NEGATIVE, "negativo": NEGATIVE, "negativa": NEGATIVE,
    "neutral": NEUTRAL, "neu": NEUTRAL, "neutro": NEUTRAL, "neutra": NEUTRAL,
    "positive": POSITIVE, "pos": POSITIVE, "positivo": POSITIVE, "positiva": POSITIVE,
}
# Checkpoints saved without label names (``LABEL_0``...) follow the order used by
# cardiffnlp's XLM-T sentiment models: 0 negative, 1 neutral, 2 positive.
_GENERIC = re.compile(r"^label[_\s-]?(\d+)$")


class UnknownLabelError(ValueError):
    """A model label that cannot be mapped to negative, neutral or positive."""


def normalise_label(raw: str) -> str:
    """Map a model's label name (``Negative``, ``neutral``, ``LABEL_2``...) to the canonical one."""
    key = raw.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    match = _GENERIC.match(key)
    if match and int(match.group(1)) < len(LABELS):
        return LABELS[int(match.group(1))]
    raise UnknownLabelError(
        f"rótulo de modelo desconhecido {raw!r}: esperado negative/neutral/positive ou LABEL_0..2"
    )


def label_pt(label: str) -> str:
    """The Portuguese display name of a canonical label."""
    return LABELS_PT[label]


def format_confidence(score: float) -> str:
    """The original API's confidence string: ``0.989`` becomes ``"98.900%"``."""
    return f"{score * 100:.3f}%"


@dataclass(frozen=True)
class Classification:
    """The sentiment of one text: the top label, its probability and all three probabilities."""

    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_scores(cls, scores: dict[str, float]) -> "Classification":
        """Build from canonical-label probabilities; the top label is the most probable."""
        full = {name: float(scores.get(name, 0.0)) for name in LABELS}
        top = max(LABELS, key=lambda name: full[name])
        return cls(label=top, score=full[top], scores=full)

    @property
    def label_pt(self) -> str:
        """Portuguese name of the top label."""
        return LABELS_PT[self.label]

    def to_dict(self) -> dict:
        """The JSON shape of ``POST /v1/classify`` results."""
        return {"label": self.label, "label_pt": self.label_pt,
                "score": round(self.score, 6),
                "scores": {name: round(self.scores[name], 6) for name in LABELS}}

    def to_original(self) -> dict:
        """The original API's shape: ``{"Classificação": "Positivo", "Confiança": "98.900%"}``."""
        return {"Classificação": self.label_pt, "Confiança": format_confidence(self.score)}
