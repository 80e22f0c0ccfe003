"""XLM-RoBERTa (or any sequence classifier) through Hugging Face ``transformers`` and torch."""

from __future__ import annotations

import logging
from typing import Sequence

from service.backends.errors import BackendLoadError
from service.labels import Classification, UnknownLabelError, normalise_label

log = logging.getLogger(__name__)

MAX_TOKENS = 512


class TransformersBackend:
    """Loads a checkpoint once (hub id or local directory) and classifies padded batches."""

    name = "transformers"

    def __init__(self, model: str, device: str | None = None):
        # pylint: disable=import-outside-toplevel  # torch is heavy: import only when used
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bars in the service's logs

        self.model = model
        self._torch = torch
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(model)
            self._model = AutoModelForSequenceClassification.from_pretrained(model)
        except (OSError, ValueError) as exc:
            raise BackendLoadError(
                f"não foi possível carregar o modelo {model!r} ({exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}). Defina SENTIMENT_MODEL com um "
                "id do Hugging Face Hub acessível ou um diretório local com o modelo salvo "
                "(save_pretrained), ou SENTIMENT_BACKEND=lexicon para usar o léxico LeIA."
            ) from exc
        try:
            id2label = self._model.config.id2label
            self._labels = [normalise_label(id2label[i]) for i in range(len(id2label))]
        except (UnknownLabelError, KeyError) as exc:
            raise BackendLoadError(f"o modelo {model!r} não é um classificador de sentimento "
                                   f"com 3 classes: {exc}") from exc
        if sorted(self._labels) != ["negative", "neutral", "positive"]:
            raise BackendLoadError(f"o modelo {model!r} tem rótulos {self._labels}; esperados "
                                   "negative, neutral e positive")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model.to(self.device)
        self._model.eval()
        positions = getattr(self._model.config, "max_position_embeddings", MAX_TOKENS + 2) - 2
        self.max_tokens = min(MAX_TOKENS, positions, self._tokenizer.model_max_length)
        self.predict(["aquecendo o modelo"])  # the first forward pass allocates: not a user's wait
        log.info("loaded model %s on %s (labels %s, max %d tokens)",
                 model, self.device, self._labels, self.max_tokens)

    def predict(self, texts: Sequence[str]) -> list[Classification]:
        """Tokenize with padding (truncating at the model's limit) and run one forward pass."""
        if not texts:
            return []
        batch = self._tokenizer(list(texts), padding=True, truncation=True,
                                max_length=self.max_tokens, return_tensors="pt")
        batch = {key: value.to(self.device) for key, value in batch.items()}
        with self._torch.inference_mode():
            probs = self._torch.softmax(self._model(**batch).logits.float(), dim=-1).cpu().tolist()
        return [Classification.from_scores(dict(zip(self._labels, row))) for row in probs]
