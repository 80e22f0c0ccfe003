"""The interface between the Slack layer and the model: the classifier and what it answers.

Only labels, scores and the model's identity come back through it: never message text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

from service.labels import Classification

MAX_VERSION_CHARS = 200  # a model version longer than this is cut (store keys, button values)


def model_version(model: str, revision: str = "") -> str:
    """The model version recorded with counts and feedback: ``id@revision``, or the id alone
    when the revision is unknown (``""`` when both are), at most :data:`MAX_VERSION_CHARS`."""
    model, revision = (model or "").strip(), (revision or "").strip()
    version = f"{model}@{revision}" if model and revision else model
    return version[:MAX_VERSION_CHARS]


def short_version(version: str) -> str:
    """A model version named briefly: the id's last path part and 7 characters of its revision
    (``cardiffnlp/xlm-roberta@3f5c...`` -> ``xlm-roberta@3f5c1a2``; ``sha256:`` dropped)."""
    model, _, revision = version.partition("@")
    name = model.rstrip("/").rsplit("/", 1)[-1] or model
    revision = revision.removeprefix("sha256:")
    if revision.startswith("lexicon-"):
        return f"{name}@{revision}"
    return f"{name}@{revision[:7]}" if revision else name


@dataclass(frozen=True)
class Verdicts:
    """The results of one classify call and who produced them (shown to users when not the model)."""

    results: list[Classification]
    backend: str  # transformers | lexicon
    fallback: bool = False  # True when the model was unavailable and the lexicon answered instead
    model: str = ""  # the model version that answered (see :func:`model_version`)


@dataclass(frozen=True)
class ModelInfo:
    """The model in use: its id, revision, backend and runtime, and its figures on the
    evaluation set (the JSON of ``python -m service evaluate --format json``) when known."""

    model: str
    revision: str = ""
    backend: str = ""
    runtime: str = ""
    evaluation: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def version(self) -> str:
        """``id@revision`` (see :func:`model_version`)."""
        return model_version(self.model, self.revision)


class Classifier(Protocol):
    """Classifies texts, in-process or through the shared model service."""

    def classify(self, texts: Sequence[str]) -> list[Classification]:
        """Classify raw Slack texts (clean-up happens inside), results in input order."""

    @property
    def backend(self) -> str:
        """Which backend answered (``transformers`` or ``lexicon``)."""

    def classify_detailed(self, texts: Sequence[str]) -> Verdicts:
        """Like :meth:`classify`, also saying which backend and model version answered and
        whether it was a fallback."""

    def describe(self) -> ModelInfo:
        """The model in use; raises ``ModelUnavailableError`` when it cannot be asked."""

    def close(self) -> None:
        """Release threads and connections (idempotent)."""
