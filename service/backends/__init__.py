"""Model runtimes. Each backend turns a batch of cleaned texts into classifications.

A new runtime (ONNX, a GPU build...) is one new module here plus one line in
:func:`load_backend`.
"""

from __future__ import annotations

import logging
import os
from typing import Protocol, Sequence

from service.backends.errors import BackendLoadError
from service.backends.hub import hub_access, looks_like_hub_id
from service.labels import Classification
from service.settings import ModelSettings

log = logging.getLogger(__name__)

__all__ = ["Backend", "BackendLoadError", "HubUnreachableError", "load_backend"]


class HubUnreachableError(BackendLoadError):
    """A hub model that is not cached while the hub cannot be reached."""


def _progress_disabled() -> bool:
    return os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS", "").strip().lower() in {"1", "on", "yes",
                                                                                   "true"}


class Backend(Protocol):
    """What the batching worker needs from a model runtime."""

    name: str
    runtime: str
    model: str
    revision: str  # hub commit sha, "sha256:<12 hex>" of a local directory, or "lexicon-<version>"

    def predict(self, texts: Sequence[str]) -> list[Classification]:
        """Classify already-cleaned, non-empty texts, in order."""


def load_backend(settings: ModelSettings) -> Backend:
    """Load the backend chosen by ``SENTIMENT_BACKEND`` on the runtime chosen by ``SENTIMENT_RUNTIME``.

    ``auto`` tries the transformer and falls back to the LeIA lexicon with a loud
    warning; ``transformers`` fails with :class:`BackendLoadError` instead. The ONNX
    runtimes import neither torch nor ``transformers``.

    A hub id is checked first (:func:`service.backends.hub.hub_access`: ``HF_HUB_OFFLINE``, or one
    HEAD request with a 2 s timeout): when the hub cannot be reached and the model is not in the
    local cache, ``auto`` says so once, in Portuguese, and falls back at once instead of going
    through ``huggingface_hub``'s retries; a cached model is then read from the cache only. A
    first download shows its progress.
    """
    # pylint: disable=import-outside-toplevel  # torch is only imported when asked for
    from service.backends.lexicon import LexiconBackend

    if settings.backend == "lexicon":
        return LexiconBackend()
    try:
        if settings.runtime == "torch":
            from service.backends.transformers_backend import TransformersBackend

            access = hub_access(settings.model) if looks_like_hub_id(settings.model) else None
            if access is not None and access.local_only and not access.cached:
                raise HubUnreachableError(
                    f"o Hugging Face Hub não pode ser acessado ({access.reason}) e o modelo "
                    f"{settings.model!r} não está no cache local. Defina SENTIMENT_MODEL com um "
                    "diretório local com o modelo salvo, ou SENTIMENT_BACKEND=lexicon.")
            return TransformersBackend(
                settings.model, local_files_only=access is not None and access.local_only,
                show_progress=access is not None and not access.cached and not _progress_disabled())
        from service.backends.onnx_backend import OnnxBackend

        return OnnxBackend(settings.model, settings.runtime)
    except HubUnreachableError as exc:
        if settings.backend == "transformers":
            raise
        log.warning("SENTIMENT_BACKEND=auto: %s Usando o léxico LeIA (menos preciso) no lugar do "
                    "modelo.", exc)
        return LexiconBackend()
    except BackendLoadError as exc:
        if settings.backend == "transformers":
            raise
        log.warning(
            "SENTIMENT_BACKEND=auto: transformer model unavailable (%s). FALLING BACK TO THE "
            "LeIA LEXICON, which is less accurate; set SENTIMENT_BACKEND=transformers to fail "
            "instead.", exc)
        return LexiconBackend()
