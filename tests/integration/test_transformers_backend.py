"""The transformers backend on tiny XLM-RoBERTa checkpoints built at test time and loaded offline."""

import json
import logging
from pathlib import Path

import pytest

from service.backends import BackendLoadError, load_backend
from service.backends.transformers_backend import TransformersBackend
from service.devmodel import build_model
from service.labels import LABELS
from service.settings import ModelSettings

TEXTS = ["Vocês são ótimos, parabéns pelo trabalho!", "Que serviço horrível, estou muito irritado",
         "bom dia", "a reunião é às quinze horas " * 5]


@pytest.fixture(name="backend", scope="module")
def tiny_backend(tiny_model_dir):
    """The cardiffnlp-labelled tiny model."""
    return TransformersBackend(tiny_model_dir)


def _edit_config(model_dir: Path, id2label: dict[int, str]) -> None:
    config_path = model_dir / "config.json"
    config = json.loads(config_path.read_text())
    config["id2label"] = {str(k): v for k, v in id2label.items()}
    config["label2id"] = {v: k for k, v in id2label.items()}
    config_path.write_text(json.dumps(config))


def test_results_are_distributions_over_the_three_labels(backend):
    """Results are distributions over the three labels."""
    results = backend.predict(TEXTS)
    assert len(results) == len(TEXTS)
    for result in results:
        assert tuple(result.scores) == LABELS
        assert sum(result.scores.values()) == pytest.approx(1.0, abs=1e-5)
        assert result.label == max(result.scores, key=result.scores.get)
        assert result.score == result.scores[result.label]


@pytest.mark.parametrize("scheme", ["citizenlab", "generic"])
def test_other_label_schemes_load_and_give_the_same_answers(tmp_path, backend, scheme):
    """Other label schemes load and give the same answers."""
    # Same seed, same weights: only the label names differ (Negative..., LABEL_0...).
    other = TransformersBackend(str(build_model(tmp_path / scheme, labels=scheme)))
    for got, want in zip(other.predict(TEXTS), backend.predict(TEXTS)):
        assert got.scores == pytest.approx(want.scores, abs=1e-6)


def test_labels_are_mapped_by_name_not_position(tmp_path, backend):
    """Labels are mapped by name not position."""
    model_dir = build_model(tmp_path / "permuted")
    _edit_config(model_dir, {0: "Positive", 1: "Neutral", 2: "Negative"})
    permuted = TransformersBackend(str(model_dir))
    for got, want in zip(permuted.predict(TEXTS), backend.predict(TEXTS)):
        assert got.scores["positive"] == pytest.approx(want.scores["negative"], abs=1e-6)
        assert got.scores["negative"] == pytest.approx(want.scores["positive"], abs=1e-6)


@pytest.mark.parametrize("id2label", [{0: "joy", 1: "anger", 2: "fear"},
                                      {0: "negative", 1: "negative", 2: "positive"}])
def test_a_model_that_is_not_a_sentiment_classifier_is_refused(tmp_path, id2label):
    """A model that is not a sentiment classifier is refused."""
    model_dir = build_model(tmp_path / "other")
    _edit_config(model_dir, id2label)
    with pytest.raises(BackendLoadError, match="other"):
        TransformersBackend(str(model_dir))


def test_a_missing_model_says_what_to_set(tmp_path):
    """A missing model says what to set."""
    with pytest.raises(BackendLoadError, match="SENTIMENT_MODEL") as caught:
        load_backend(ModelSettings(model=str(tmp_path / "nada"), backend="transformers"))
    assert "SENTIMENT_BACKEND=lexicon" in str(caught.value)


def test_auto_falls_back_to_the_lexicon_loudly(tmp_path, caplog):
    """Auto falls back to the lexicon loudly."""
    with caplog.at_level(logging.WARNING):
        backend = load_backend(ModelSettings(model=str(tmp_path / "nada"), backend="auto"))
    assert backend.name == "lexicon"
    assert "FALLING BACK" in caplog.text


def test_auto_uses_the_transformer_when_it_loads(tiny_model_dir):
    """Auto uses the transformer when it loads."""
    backend = load_backend(ModelSettings(model=tiny_model_dir, backend="auto"))
    assert (backend.name, backend.model) == ("transformers", tiny_model_dir)


def test_long_texts_are_truncated_at_512_tokens(backend):
    """Long texts are truncated at 512 tokens."""
    assert backend.max_tokens == 512
    long_text = ("Que serviço horrível, estou muito irritado. " * 1000)[:40_000]
    tail = " vocês são ótimos, parabéns pelo trabalho! " * 50
    whole, with_tail = backend.predict([long_text, long_text + tail])
    # Past 512 tokens nothing is read: the extra tail changes nothing.
    assert with_tail.scores == pytest.approx(whole.scores, abs=1e-6)
    short = backend.predict(["Que serviço horrível, estou muito irritado."])[0]
    assert short.scores != pytest.approx(whole.scores, abs=1e-6)


def test_padding_in_a_batch_does_not_change_answers(backend):
    """Padding in a batch does not change answers."""
    batched = backend.predict(TEXTS)
    for text, got in zip(TEXTS, batched):
        assert got.scores == pytest.approx(backend.predict([text])[0].scores, abs=1e-5)


def test_empty_batch(backend):
    """Empty batch."""
    assert not backend.predict([])
