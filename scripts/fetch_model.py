"""Download a sentiment model at image build time and save it to a local directory.

    python fetch_model.py MODEL OUTPUT_DIR

MODEL is a Hugging Face Hub id (or a local directory). The model is loaded through
``transformers`` exactly as the service loads it and saved with ``save_pretrained``
(safetensors weights and a fast tokenizer), so a broken or non-3-class model fails
the build rather than the container start, and the container loads it offline.
"""

from __future__ import annotations

import sys
from pathlib import Path


def fetch(model: str, output: Path) -> Path:
    """Load ``model`` (tokenizer and sequence classifier) and save both to ``output``."""
    # pylint: disable=import-outside-toplevel  # heavy; keeps ``--help``-style failures fast
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    classifier = AutoModelForSequenceClassification.from_pretrained(model)
    labels = classifier.config.id2label
    if len(labels) != 3:
        raise SystemExit(f"fetch_model: {model} has {len(labels)} labels {labels}; a 3-class "
                         "(negative/neutral/positive) sentiment classifier is required")
    output.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(output)
    classifier.save_pretrained(output)
    print(f"fetch_model: saved {model} (labels {labels}) to {output}")
    return output


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    fetch(sys.argv[1], Path(sys.argv[2]))
