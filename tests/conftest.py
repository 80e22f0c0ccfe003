"""Shared fixtures: a tiny real XLM-RoBERTa saved to disk and loaded offline."""

from __future__ import annotations

import os

import pytest

# The tests never reach the Hugging Face Hub: every model is built locally.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A 2-layer, hidden-32 XLM-RoBERTa sentiment classifier with cardiffnlp's labels."""
    from service.devmodel import build_model  # pylint: disable=import-outside-toplevel

    return str(build_model(tmp_path_factory.mktemp("tiny-xlmr"), size="tiny", labels="cardiffnlp"))
