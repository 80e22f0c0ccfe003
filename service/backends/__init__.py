"""Model runtimes. Each backend turns a batch of cleaned texts into classifications.

A new runtime (ONNX, a GPU build...) is one new module here plus one line in
:func:`load_backend`.
"""

from __future__ import annotations

import logging
from typing import Protocol, Sequence

from service.backends.errors import BackendLoadError
from service.labels import Classification
from service.settings import ModelSettings

log = logging.getLogger(__name__)

__all__ = ["Backend", "BackendLoadError", "load_backend"]


class Backend(Protocol):
    """What the batching worker needs from a model runtime."""

    name: str
    runtime: str
    model: str

    def predict(self, texts: Sequence[str]) -> list[Classification]:
        """Classify already-cleaned, non-empty texts, in order."""


def load_backend(settings: ModelSettings) -> Backend:
    """Load the backend chosen by ``SENTIMENT_BACKEND`` on the runtime chosen by ``SENTIMENT_RUNTIME``.

    ``auto`` tries the transformer and falls back to the LeIA lexicon with a loud
    warning; ``transformers`` fails with :class:`BackendLoadError` instead. The ONNX
    runtimes import neither torch nor ``transformers``.
    """
    # pylint: disable=import-outside-toplevel  # torch is only imported when asked for
    from service.backends.lexicon import LexiconBackend

    if settings.backend == "lexicon":
        return LexiconBackend()
    try:
        if settings.runtime == "torch":
            from service.backends.transformers_backend import TransformersBackend

            return TransformersBackend(settings.model)
        from service.backends.onnx_backend import OnnxBackend

        return OnnxBackend(settings.model, settings.runtime)
    except BackendLoadError as exc:
        if settings.backend == "transformers":
            raise
        log.warning(
            "SENTIMENT_BACKEND=auto: transformer model unavailable (%s). FALLING BACK TO THE "
            "LeIA LEXICON, which is less accurate; set SENTIMENT_BACKEND=transformers to fail "
            "instead.", exc)
        return LexiconBackend()
