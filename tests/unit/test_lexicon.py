"""The LeIA lexicon backend: real labels without model weights."""

import pytest

from service.backends import load_backend
from service.backends.lexicon import THRESHOLD, LexiconBackend, compound_to_scores
from service.settings import ModelSettings


@pytest.fixture(name="lexicon", scope="module")
def lexicon_backend():
    """One analyser for the module (it reads its lexicon files on creation)."""
    return LexiconBackend()


def test_real_sentences(lexicon):
    """Real sentences."""
    positive, negative, neutral = lexicon.predict([
        "Vocês são ótimos, parabéns pelo trabalho!",
        "Que serviço horrível, estou muito irritado",
        "A reunião é às quinze horas",
    ])
    assert (positive.label, positive.label_pt) == ("positive", "Positivo")
    assert (negative.label, negative.label_pt) == ("negative", "Negativo")
    assert neutral.label == "neutral"
    for result in (positive, negative, neutral):
        assert sum(result.scores.values()) == pytest.approx(1.0)
        assert result.score == max(result.scores.values())


def test_backend_is_chosen_by_setting():
    """Backend is chosen by setting."""
    backend = load_backend(ModelSettings(backend="lexicon"))
    assert (backend.name, backend.model) == ("lexicon", "LeIA")


@pytest.mark.parametrize("compound", [-1.0, -0.81, -0.05, -0.049, 0.0, 0.03, 0.05, 0.5, 1.0])
def test_compound_to_scores_is_a_distribution_whose_top_follows_vader(compound):
    """Compound to scores is a distribution whose top follows vader."""
    scores = compound_to_scores(compound)
    assert set(scores) == {"negative", "neutral", "positive"}
    assert sum(scores.values()) == pytest.approx(1.0)
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    top = max(scores, key=scores.get)
    if abs(compound) < THRESHOLD:
        assert top == "neutral"
    else:
        assert top == ("positive" if compound > 0 else "negative")


def test_compound_magnitude_sets_confidence():
    """Compound magnitude sets confidence."""
    assert compound_to_scores(-0.81)["negative"] == pytest.approx(0.905)
