"""The model's figures on the evaluation set, read once at start-up from
``SENTIMENT_EVALUATION_FILE`` (the JSON written by ``python -m service evaluate --format json``),
and what ``GET /v1/model`` answers about the model in use.

Tolerant: any JSON object is accepted and keys the reader does not know are kept as they are;
a missing, unreadable or non-object file is logged once and the figures are ``None``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_EVALUATION_BYTES = 1_000_000  # an evaluation report is a few KB; a larger file is refused


def load_evaluation(path: str | None) -> dict[str, Any] | None:
    """The evaluation JSON object at ``path``; None (logged once, never raised) when ``path`` is
    unset, missing, larger than :data:`MAX_EVALUATION_BYTES`, not JSON or not an object."""
    if not path:
        return None
    try:
        file = Path(path)
        if file.stat().st_size > MAX_EVALUATION_BYTES:
            log.warning("SENTIMENT_EVALUATION_FILE %s is larger than %d bytes: figures not shown",
                        path, MAX_EVALUATION_BYTES)
            return None
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("SENTIMENT_EVALUATION_FILE %s could not be read (%s): figures not shown",
                    path, exc.__class__.__name__)
        return None
    if not isinstance(data, dict):
        log.warning("SENTIMENT_EVALUATION_FILE %s is not a JSON object: figures not shown", path)
        return None
    return data


def model_card(backend: Any, evaluation: dict[str, Any] | None) -> dict[str, Any]:
    """``GET /v1/model``: ``{"model", "revision", "backend", "runtime", "evaluation"}`` of a
    loaded backend (``revision`` is ``""`` when the backend does not know it)."""
    return {"model": backend.model, "revision": str(getattr(backend, "revision", "") or ""),
            "backend": backend.name, "runtime": backend.runtime, "evaluation": evaluation}
