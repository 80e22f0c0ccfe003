"""Figures of a sentiment model on a labelled set: pure functions, no model, no I/O.

Rules (the same as scikit-learn's where both define one):

- ``confusion[true][predicted]`` counts texts; rows are the true labels.
- Per class: precision = TP / predicted as that class, recall = TP / truly that class,
  F1 = 2PR / (P + R); any 0/0 is 0.0 (scikit-learn's ``zero_division=0``).
- Macro-F1: the unweighted mean of the three classes' F1 (a rare class counts as much as a
  frequent one). Accuracy: the diagonal over the total.
- Expected calibration error (ECE) of P(label): the top probability of each text is put in one of
  :data:`ECE_BINS` equal-width bins over [0, 1] (bin ``i`` holds ``i/10 < p <= (i+1)/10``, and
  ``p = 0`` goes to the first); ECE = sum over bins of ``|bin| / n * |accuracy(bin) - mean p(bin)|``.
  0 is perfectly calibrated.
- Threshold shares: for each ``t`` of :data:`THRESHOLDS`, the share of texts with
  P(negative) >= t among the true negatives (what moderation catches) and among the others
  (its false alarms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from service.labels import LABELS, NEGATIVE, Classification

ECE_BINS = 10
THRESHOLDS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)

Confusion = dict[str, dict[str, int]]


class EvaluationError(ValueError):
    """Figures asked of nothing (no text) or of mismatched inputs."""


@dataclass(frozen=True)
class ClassFigures:
    """Precision, recall and F1 of one label, and how many texts truly carry it."""

    precision: float
    recall: float
    f1: float
    support: int

    def to_dict(self) -> dict:
        """The JSON shape: ``{"precision", "recall", "f1", "support"}``."""
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "support": self.support}


@dataclass(frozen=True)
class ThresholdShare:
    """Share of P(negative) >= ``threshold`` among true negatives and among the other texts."""

    threshold: float
    negatives: float
    others: float


@dataclass(frozen=True)
class Figures:
    """Every figure of one evaluation."""

    n: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassFigures]
    confusion: Confusion
    ece: float
    thresholds: tuple[ThresholdShare, ...]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def confusion_matrix(truth: Sequence[str], predicted: Sequence[str]) -> Confusion:
    """``confusion[true][predicted]``: how many texts of each true label got each prediction."""
    if len(truth) != len(predicted):
        raise EvaluationError(f"{len(truth)} rótulos verdadeiros para {len(predicted)} previsões")
    matrix = {true: {pred: 0 for pred in LABELS} for true in LABELS}
    for true, pred in zip(truth, predicted):
        matrix[true][pred] += 1
    return matrix


def class_figures(confusion: Confusion) -> dict[str, ClassFigures]:
    """Precision, recall, F1 and support of every label (0/0 gives 0.0)."""
    figures = {}
    for label in LABELS:
        true_positive = confusion[label][label]
        predicted = sum(confusion[true][label] for true in LABELS)
        support = sum(confusion[label].values())
        precision = _ratio(true_positive, predicted)
        recall = _ratio(true_positive, support)
        figures[label] = ClassFigures(precision, recall,
                                      _ratio(2 * precision * recall, precision + recall), support)
    return figures


def accuracy(confusion: Confusion) -> float:
    """Share of texts whose prediction is their true label."""
    total = sum(sum(row.values()) for row in confusion.values())
    return _ratio(sum(confusion[label][label] for label in LABELS), total)


def macro_f1(per_class: Mapping[str, ClassFigures]) -> float:
    """The unweighted mean of the labels' F1."""
    return sum(per_class[label].f1 for label in LABELS) / len(LABELS)


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool],
                               bins: int = ECE_BINS) -> float:
    """ECE over ``bins`` equal-width bins of the top probability (see the module's rules)."""
    if len(confidences) != len(correct):
        raise EvaluationError("confianças e acertos com tamanhos diferentes")
    if not confidences:
        return 0.0
    totals = [[0, 0.0, 0] for _ in range(bins)]  # count, sum of confidence, correct
    for confidence, hit in zip(confidences, correct):
        # ceil(p * bins) - 1, rounded first so that 0.7 * 10 (7.000000000000001) stays in (0.6, 0.7]
        index = min(bins - 1, max(0, math.ceil(round(confidence * bins, 9)) - 1))
        totals[index][0] += 1
        totals[index][1] += confidence
        totals[index][2] += int(hit)
    return sum(count / len(confidences) * abs(hits / count - conf_sum / count)
               for count, conf_sum, hits in totals if count)


def threshold_shares(truth: Sequence[str], p_negative: Sequence[float],
                     thresholds: Sequence[float] = THRESHOLDS) -> tuple[ThresholdShare, ...]:
    """For each threshold, the share of P(negative) >= it among true negatives and the others."""
    negatives = [p for label, p in zip(truth, p_negative) if label == NEGATIVE]
    others = [p for label, p in zip(truth, p_negative) if label != NEGATIVE]
    return tuple(ThresholdShare(t, _ratio(sum(p >= t for p in negatives), len(negatives)),
                                _ratio(sum(p >= t for p in others), len(others)))
                 for t in thresholds)


def evaluate(truth: Sequence[str], predictions: Sequence[Classification]) -> Figures:
    """Every figure of ``predictions`` against the true labels ``truth`` (same order)."""
    if not truth:
        raise EvaluationError("nenhum texto válido para avaliar")
    if len(truth) != len(predictions):
        raise EvaluationError(f"{len(truth)} rótulos verdadeiros para {len(predictions)} previsões")
    confusion = confusion_matrix(truth, [p.label for p in predictions])
    per_class = class_figures(confusion)
    return Figures(
        n=len(truth), accuracy=accuracy(confusion), macro_f1=macro_f1(per_class),
        per_class=per_class, confusion=confusion,
        ece=expected_calibration_error([p.score for p in predictions],
                                       [p.label == t for p, t in zip(predictions, truth)]),
        thresholds=threshold_shares(truth, [p.scores[NEGATIVE] for p in predictions]))


def figures_json(figures: Figures, *, model: str, revision: str, backend: str, runtime: str,
                 messages_per_second: float, skipped: Sequence[tuple[int, str]]) -> dict:
    """The stable JSON of an evaluation (``python -m service evaluate --format json``)."""
    return {
        "accuracy": round(figures.accuracy, 6),
        "macro_f1": round(figures.macro_f1, 6),
        "per_class": {label: {key: round(value, 6) if isinstance(value, float) else value
                              for key, value in figures.per_class[label].to_dict().items()}
                      for label in LABELS},
        "confusion": figures.confusion,
        "ece": round(figures.ece, 6),
        "n": figures.n,
        "model": model,
        "revision": revision,
        "backend": backend,
        "runtime": runtime,
        "thresholds": {f"{share.threshold:g}": {"negatives": round(share.negatives, 6),
                                                "others": round(share.others, 6)}
                       for share in figures.thresholds},
        "messages_per_second": round(messages_per_second, 1),
        "skipped": [{"line": line, "reason": reason} for line, reason in skipped],
    }


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def figures_table(report: Mapping) -> str:
    """The figures of :func:`figures_json`'s dict as Markdown tables (Portuguese headings)."""
    lines = [f"Modelo: {report['model']} (revisão {report['revision']}, backend {report['backend']}, "
             f"runtime {report['runtime']})",
             f"Textos avaliados: {report['n']} ({len(report['skipped'])} linhas ignoradas); "
             f"{report['messages_per_second']:g} mensagens/s",
             "",
             "| métrica | valor |", "|---|---:|",
             f"| acurácia | {_pct(report['accuracy'])} |",
             f"| F1 macro | {report['macro_f1']:.3f} |",
             f"| ECE (10 faixas) | {report['ece']:.3f} |",
             "",
             "| rótulo | precisão | revocação | F1 | textos |", "|---|---:|---:|---:|---:|"]
    for label in LABELS:
        row = report["per_class"][label]
        lines.append(f"| {label} | {_pct(row['precision'])} | {_pct(row['recall'])} | "
                     f"{row['f1']:.3f} | {row['support']} |")
    lines += ["", "| verdadeiro \\ previsto | " + " | ".join(LABELS) + " |",
              "|---|" + "---:|" * len(LABELS)]
    for true in LABELS:
        lines.append(f"| {true} | " + " | ".join(str(report["confusion"][true][pred])
                                                 for pred in LABELS) + " |")
    lines += ["", "| P(negative) >= | entre os negativos | entre os demais |", "|---:|---:|---:|"]
    for threshold, share in report["thresholds"].items():
        lines.append(f"| {threshold} | {_pct(share['negatives'])} | {_pct(share['others'])} |")
    return "\n".join(lines) + "\n"
