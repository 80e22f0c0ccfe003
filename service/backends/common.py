"""What every transformer runtime shares: the token limit and the label check of a checkpoint."""

from __future__ import annotations

from typing import Mapping

from service.backends.errors import BackendLoadError
from service.labels import UnknownLabelError, normalise_label

MAX_TOKENS = 512


def checked_labels(model: str, id2label: Mapping[int, str]) -> list[str]:
    """The canonical label of each output position, or :class:`BackendLoadError` when the model
    is not a negative/neutral/positive classifier."""
    try:
        labels = [normalise_label(id2label[i]) for i in range(len(id2label))]
    except (UnknownLabelError, KeyError) as exc:
        raise BackendLoadError(f"o modelo {model!r} não é um classificador de sentimento "
                               f"com 3 classes: {exc}") from exc
    if sorted(labels) != ["negative", "neutral", "positive"]:
        raise BackendLoadError(f"o modelo {model!r} tem rótulos {labels}; esperados "
                               "negative, neutral e positive")
    return labels


def token_limit(max_position_embeddings: int | None, tokenizer_limit: int | None = None) -> int:
    """Tokens read per text: 512, or less when the model's positions (minus RoBERTa's 2 offset
    positions) or the tokenizer allow fewer."""
    positions = (max_position_embeddings or MAX_TOKENS + 2) - 2
    return min(MAX_TOKENS, positions, tokenizer_limit or MAX_TOKENS)
