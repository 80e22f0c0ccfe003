"""Feedback on the model, the pure part: what a vote button carries, the counts kept, what they
say (agreement, confusion), the model's figures on the evaluation set, and the moderation
threshold advice.

A vote is stored as one count per (workspace, model version, predicted label, user's label):
never the text, never who voted. "Concordo" counts the predicted label as the user's label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from bot import limits
from bot.classify.port import MAX_VERSION_CHARS
from service.labels import LABELS

MAX_BUTTON_VALUE = limits.BUTTON_VALUE  # Slack's limit on a button's value
_VERSION = re.compile(r"^[^\x00-\x1f\x7f]{1,%d}$" % MAX_VERSION_CHARS)

# The moderation threshold advice (see :func:`suggest_threshold`).
MIN_DECISIONS = 10
FALSE_ALARM_LIMIT = 0.30
THRESHOLD_STEP = 0.05
MAX_SUGGESTED_THRESHOLD = 0.95


class FeedbackError(ValueError):
    """A vote button's value that this bot did not make (or a version it cannot keep)."""


@dataclass(frozen=True)
class Vote:
    """What a vote button carries: the label the model gave, the model version that gave it,
    and, once the user picked it, the label the user says is right."""

    predicted: str
    model: str
    actual: str | None = None


def valid_version(model: str) -> bool:
    """A model version that can be stored and carried: 1 to 200 printable characters."""
    return bool(_VERSION.match(model or ""))


def encode_vote(vote: Vote) -> str:
    """``predicted|actual|model`` (``actual`` empty until picked): labels and a version, never
    text; at most 2 + 8 + 8 + 200 characters, far under Slack's 2,000."""
    if vote.predicted not in LABELS or (vote.actual is not None and vote.actual not in LABELS):
        raise FeedbackError("rótulo inválido")
    if not valid_version(vote.model):
        raise FeedbackError("versão de modelo inválida")
    value = f"{vote.predicted}|{vote.actual or ''}|{vote.model}"
    if len(value) > MAX_BUTTON_VALUE:  # cannot happen with the checks above
        raise FeedbackError("valor longo demais para um botão")
    return value


def decode_vote(value: str) -> Vote:
    """The inverse of :func:`encode_vote`; :class:`FeedbackError` for anything else."""
    parts = (value or "").split("|", 2)
    if len(parts) != 3:
        raise FeedbackError("valor de voto inválido")
    predicted, actual, model = parts
    vote = Vote(predicted, model, actual or None)
    encode_vote(vote)  # the same checks
    return vote


@dataclass(frozen=True)
class FeedbackCount:
    """Votes of one workspace for one (model version, predicted label, user's label)."""

    model: str
    predicted: str
    actual: str
    votes: int


@dataclass(frozen=True)
class FeedbackSummary:
    """What the votes say: how many, how many agreed with the model, and the confusion
    (``confusion[predicted][actual]``: votes)."""

    votes: int = 0
    agreed: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def agreement(self) -> float | None:
        """Share of votes that agreed with the model; None without votes."""
        return self.agreed / self.votes if self.votes else None


def summarise(counts: Iterable[FeedbackCount], model: str | None = None) -> FeedbackSummary:
    """The votes of one model version (or of all when ``model`` is None)."""
    confusion = {predicted: dict.fromkeys(LABELS, 0) for predicted in LABELS}
    votes = agreed = 0
    for count in counts:
        if (model is not None and count.model != model) or count.predicted not in LABELS \
                or count.actual not in LABELS:
            continue
        confusion[count.predicted][count.actual] += count.votes
        votes += count.votes
        agreed += count.votes if count.predicted == count.actual else 0
    return FeedbackSummary(votes, agreed, confusion)


@dataclass(frozen=True)
class ClassFigures:
    """Precision, recall, F1 and support of one label on the evaluation set."""

    precision: float | None
    recall: float | None
    f1: float | None
    support: int | None


@dataclass(frozen=True)
class EvaluationFigures:
    """The figures of ``python -m service evaluate --format json`` that ``modelo`` shows."""

    accuracy: float | None = None
    macro_f1: float | None = None
    n: int | None = None
    revision: str = ""
    per_class: dict[str, ClassFigures] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def evaluation_figures(data: Mapping[str, Any] | None) -> EvaluationFigures | None:
    """Read the evaluation JSON tolerantly: missing or malformed keys are None; None when there
    is no object at all or it holds neither accuracy nor macro-F1."""
    if not isinstance(data, Mapping):
        return None
    per_class: dict[str, ClassFigures] = {}
    raw_classes = data.get("per_class")
    for label in LABELS:
        raw = raw_classes.get(label) if isinstance(raw_classes, Mapping) else None
        if isinstance(raw, Mapping):
            support = _number(raw.get("support"))
            per_class[label] = ClassFigures(_number(raw.get("precision")),
                                            _number(raw.get("recall")), _number(raw.get("f1")),
                                            None if support is None else int(support))
    figures = EvaluationFigures(_number(data.get("accuracy")), _number(data.get("macro_f1")),
                                None if _number(data.get("n")) is None else int(data["n"]),
                                str(data.get("revision") or ""), per_class)
    if figures.accuracy is None and figures.macro_f1 is None:
        return None
    return figures


@dataclass(frozen=True)
class ThresholdAdvice:
    """The moderation threshold suggested from moderators' verdicts."""

    current: float
    suggested: float
    false_alarms: int
    decided: int
    reason: str  # few_decisions | raise | at_ceiling | keep

    @property
    def false_alarm_rate(self) -> float | None:
        """Share of decided alerts marked "Falso alarme"; None before any decision."""
        return self.false_alarms / self.decided if self.decided else None


def suggest_threshold(current: float, false_alarms: int, decided: int) -> ThresholdAdvice:
    """The rule: with fewer than 10 decided alerts ("Ciente" or "Falso alarme"), keep the
    threshold (too few to judge). When false alarms are more than 30% of the decided alerts,
    raise it by 0.05, never above 0.95 (already at 0.95 or above: keep, ``at_ceiling``).
    Otherwise keep it. It never suggests lowering: missed threads leave no verdict to count."""
    if decided < MIN_DECISIONS:
        return ThresholdAdvice(current, current, false_alarms, decided, "few_decisions")
    if false_alarms / decided > FALSE_ALARM_LIMIT:
        if current >= MAX_SUGGESTED_THRESHOLD:
            return ThresholdAdvice(current, current, false_alarms, decided, "at_ceiling")
        suggested = min(MAX_SUGGESTED_THRESHOLD, round(current + THRESHOLD_STEP, 2))
        return ThresholdAdvice(current, suggested, false_alarms, decided, "raise")
    return ThresholdAdvice(current, current, false_alarms, decided, "keep")
