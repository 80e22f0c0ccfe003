"""Label normalisation for the real models' schemes, and the original API's response shape."""

import pytest

from service.devmodel import LABEL_SCHEMES
from service.labels import (LABELS, Classification, UnknownLabelError, format_confidence, label_pt,
                            normalise_label)


@pytest.mark.parametrize("scheme", sorted(LABEL_SCHEMES))
def test_every_published_scheme_maps_to_negative_neutral_positive_in_order(scheme):
    """Every published scheme maps to negative neutral positive in order."""
    id2label = LABEL_SCHEMES[scheme]
    assert [normalise_label(id2label[i]) for i in range(3)] == ["negative", "neutral", "positive"]


@pytest.mark.parametrize("raw, expected", [
    ("negative", "negative"), ("Negative", "negative"), ("NEGATIVE ", "negative"),
    ("Neutral", "neutral"), ("neutro", "neutral"), ("Positivo", "positive"), ("pos", "positive"),
    ("LABEL_0", "negative"), ("label_1", "neutral"), ("LABEL-2", "positive"), ("label 2", "positive"),
])
def test_aliases_and_generic_names(raw, expected):
    """Aliases and generic names."""
    assert normalise_label(raw) == expected


@pytest.mark.parametrize("raw", ["LABEL_3", "joy", "", "label_x", "very positive"])
def test_unknown_labels_are_refused_with_their_name(raw):
    """Unknown labels are refused with their name."""
    with pytest.raises(UnknownLabelError, match="desconhecido"):
        normalise_label(raw)


def test_portuguese_names():
    """Portuguese names."""
    assert [label_pt(name) for name in LABELS] == ["Negativo", "Neutro", "Positivo"]


@pytest.mark.parametrize("score, text", [(0.989, "98.900%"), (1.0, "100.000%"), (0.3333333, "33.333%")])
def test_confidence_string_is_the_original_format(score, text):
    """Confidence string is the original format."""
    assert format_confidence(score) == text


def test_classification_picks_the_most_probable_and_fills_missing_labels():
    """Classification picks the most probable and fills missing labels."""
    result = Classification.from_scores({"positive": 0.7, "negative": 0.3})
    assert (result.label, result.score) == ("positive", 0.7)
    assert result.scores == {"negative": 0.3, "neutral": 0.0, "positive": 0.7}
    assert result.label_pt == "Positivo"


def test_original_shape_and_v1_shape():
    """Original shape and v1 shape."""
    result = Classification.from_scores({"negative": 0.011, "neutral": 0.1, "positive": 0.889})
    assert result.to_original() == {"Classificação": "Positivo", "Confiança": "88.900%"}
    assert result.to_dict() == {"label": "positive", "label_pt": "Positivo", "score": 0.889,
                                "scores": {"negative": 0.011, "neutral": 0.1, "positive": 0.889}}


@pytest.mark.parametrize("names", [("NEG", "NEU", "POS"), ("neg", "neu", "pos")])
def test_models_that_abbreviate_their_labels_are_understood(names):
    """Models that name their classes ``NEG``/``NEU``/``POS`` (pysentimiento's BERTweet for
    Portuguese does) give Negativo, Neutro and Positivo, never an unknown-label error."""
    assert [label_pt(normalise_label(name)) for name in names] == ["Negativo", "Neutro", "Positivo"]


def test_the_api_answers_probabilities_with_six_decimals():
    """``POST /v1/classify`` gives every probability rounded to 6 decimals (what the model's
    float32 output can tell), the top label's included."""
    result = Classification.from_scores({"negative": 0.1234564321, "neutral": 0.0000001234,
                                         "positive": 0.8765434445}).to_dict()
    assert result == {"label": "positive", "label_pt": "Positivo", "score": 0.876543,
                      "scores": {"negative": 0.123456, "neutral": 0.0, "positive": 0.876543}}
