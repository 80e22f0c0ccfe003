"""The deploy gate: may a candidate model replace the one serving, judged by their evaluations?

Rule (MLflow's ``MetricThreshold`` for one metric, macro-F1, greater is better):

- refused when the candidate's macro-F1 is below ``min_macro_f1`` (an absolute floor);
- refused when it is more than ``max_drop`` below the baseline's (the model serving now),
  an absolute difference in macro-F1 (0.02 = two points);
- without a baseline (the first release evaluated) only the floor applies, and the verdict says so;
- a baseline measured on a different number of texts is still compared (the set may have grown),
  with a note in the verdict.

Both evaluations are the JSON of ``python -m service evaluate --format json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Mapping

DEFAULT_MIN_MACRO_F1 = 0.65
DEFAULT_MAX_F1_DROP = 0.02


class GateInputError(ValueError):
    """An evaluation file or a limit that cannot be used (not JSON, no macro_f1, out of range)."""


@dataclass(frozen=True)
class GatePolicy:
    """The two limits: the floor and the largest drop against the serving model."""

    min_macro_f1: float = DEFAULT_MIN_MACRO_F1
    max_drop: float = DEFAULT_MAX_F1_DROP

    def __post_init__(self):
        for name, value in (("--min-macro-f1", self.min_macro_f1), ("--max-drop", self.max_drop)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 1):
                raise GateInputError(f"{name} deve ser um número entre 0 e 1, não {value!r}")


@dataclass(frozen=True)
class Verdict:
    """The gate's answer: ``passed``, and one line per check (in Portuguese, for the deploy log)."""

    passed: bool
    lines: tuple[str, ...]

    @property
    def message(self) -> str:
        """The whole verdict, first line ``APROVADO`` or ``RECUSADO``."""
        return "\n".join(("APROVADO" if self.passed else "RECUSADO") + ": " + line
                         if i == 0 else "  " + line for i, line in enumerate(self.lines))


def load_figures(text: str, what: str) -> Mapping:
    """Parse an evaluation JSON; :class:`GateInputError` unless it has a macro_f1 in [0, 1]."""
    try:
        figures = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GateInputError(f"{what}: JSON inválido ({exc.msg}, linha {exc.lineno})") from exc
    value = figures.get("macro_f1") if isinstance(figures, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise GateInputError(f"{what}: sem \"macro_f1\" entre 0 e 1 (é a saída de "
                             "`python -m service evaluate --format json`?)")
    return figures


def _name(figures: Mapping) -> str:
    return f"{figures.get('model', '?')}@{figures.get('revision', '?')}"


def judge(candidate: Mapping, baseline: Mapping | None, policy: GatePolicy) -> Verdict:
    """Apply the rule of the module to ``candidate`` (and ``baseline``, the serving model's)."""
    score = float(candidate["macro_f1"])
    failures: list[str] = []
    notes: list[str] = []
    if score < policy.min_macro_f1:
        failures.append(f"F1 macro {score:.3f} de {_name(candidate)} abaixo do mínimo "
                        f"{policy.min_macro_f1:.3f} (MODEL_MIN_MACRO_F1)")
    else:
        notes.append(f"F1 macro {score:.3f} de {_name(candidate)} >= mínimo "
                     f"{policy.min_macro_f1:.3f}")
    if baseline is None:
        notes.append("sem avaliação do modelo em produção: só o mínimo foi verificado")
    else:
        previous = float(baseline["macro_f1"])
        drop = previous - score
        if drop > policy.max_drop + 1e-9:
            failures.append(f"F1 macro caiu {drop:.3f} em relação a {_name(baseline)} "
                            f"({previous:.3f}); queda máxima {policy.max_drop:.3f} "
                            "(MODEL_MAX_F1_DROP)")
        else:
            notes.append(f"variação {-drop:+.3f} em relação a {_name(baseline)} ({previous:.3f}); "
                         f"queda máxima {policy.max_drop:.3f}")
        if baseline.get("n") != candidate.get("n"):
            notes.append(f"atenção: avaliações com números de textos diferentes "
                         f"({baseline.get('n')} e {candidate.get('n')}): o conjunto mudou")
    return Verdict(not failures, tuple(failures + notes))
