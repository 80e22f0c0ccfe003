"""XLM-RoBERTa (or any sequence classifier) through Hugging Face ``transformers`` and torch."""

from __future__ import annotations

import logging
from typing import Sequence

from service.backends.common import MAX_TOKENS, checked_labels, token_limit
from service.backends.errors import BackendLoadError
from service.backends.revision import model_revision
from service.labels import Classification

log = logging.getLogger(__name__)

__all__ = ["MAX_TOKENS", "TransformersBackend"]


class TransformersBackend:
    """Loads a checkpoint once (hub id or local directory) and classifies padded batches."""

    name = "transformers"
    runtime = "torch"

    def __init__(self, model: str, device: str | None = None, local_files_only: bool = False,
                 show_progress: bool = False):
        """``local_files_only``: read the hub cache, never the network (the hub is unreachable);
        ``show_progress``: show the download's progress bars (a first download from the hub)."""
        # pylint: disable=import-outside-toplevel  # torch is heavy: import only when used
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        if show_progress:
            hf_logging.enable_progress_bar()
        else:
            hf_logging.disable_progress_bar()  # no "Loading weights" bars in the service's logs

        self.model = model
        self._torch = torch
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=local_files_only)
            self.network = AutoModelForSequenceClassification.from_pretrained(
                model, local_files_only=local_files_only)
        except (OSError, ValueError) as exc:
            raise BackendLoadError(
                f"não foi possível carregar o modelo {model!r} ({exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}). Defina SENTIMENT_MODEL com um "
                "id do Hugging Face Hub acessível ou um diretório local com o modelo salvo "
                "(save_pretrained), ou SENTIMENT_BACKEND=lexicon para usar o léxico LeIA."
            ) from exc
        finally:
            hf_logging.disable_progress_bar()
        self.revision = model_revision(model)
        self.labels = checked_labels(model, self.network.config.id2label)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.network.to(self.device)
        self.network.eval()
        self.max_tokens = token_limit(getattr(self.network.config, "max_position_embeddings", None),
                                      self.tokenizer.model_max_length)
        self.predict(["aquecendo o modelo"])  # the first forward pass allocates: not a user's wait
        log.info("loaded model %s revision %s on %s (labels %s, max %d tokens)",
                 model, self.revision, self.device, self.labels, self.max_tokens)

    def predict(self, texts: Sequence[str]) -> list[Classification]:
        """Tokenize with padding (truncating at the model's limit) and run one forward pass."""
        if not texts:
            return []
        batch = self.tokenizer(list(texts), padding=True, truncation=True,
                                max_length=self.max_tokens, return_tensors="pt")
        batch = {key: value.to(self.device) for key, value in batch.items()}
        with self._torch.inference_mode():
            probs = self._torch.softmax(self.network(**batch).logits.float(), dim=-1).cpu().tolist()
        return [Classification.from_scores(dict(zip(self.labels, row))) for row in probs]
