"""Feedback's pure parts: the vote buttons' values, what votes say, the evaluation figures,
the moderation threshold advice and the views, at their edges."""

from __future__ import annotations

import json
from unittest.mock import Mock

import pytest
from slack_bolt import Respond

from bot.classify.port import MAX_VERSION_CHARS, ModelInfo, model_version, short_version
from bot.feedback.rules import (
    FeedbackCount, FeedbackError, Vote, decode_vote, encode_vote, evaluation_figures,
    suggest_threshold, summarise,
)
from bot.feedback.views import (
    DISAGREE_ACTION_ID, PICK_ACTION_PREFIX, model_message, picker_message, vote_buttons,
)
from bot.limits import BUTTON_VALUE
from handlers.feedback import PICK_ACTION, disagree

HUB = "cardiffnlp/twitter-xlm-roberta-base-sentiment@f2f1202b1bdeb07342385c3f807f9c07cd8f5cf8"


def test_model_versions_and_their_short_names():
    """``id@revision``, the id alone without a revision, cut at 200; short names for reports."""
    assert model_version("org/m", "abc") == "org/m@abc"
    assert model_version("LeIA", "") == "LeIA"
    assert model_version("", "abc") == ""
    assert len(model_version("m" * 300, "r")) == MAX_VERSION_CHARS
    assert short_version(HUB) == "twitter-xlm-roberta-base-sentiment@f2f1202"
    assert short_version("/modelos/xlm@sha256:0123456789abcdef") == "xlm@0123456"
    assert short_version("LeIA@lexicon-0.0.1") == "LeIA@lexicon-0.0.1"
    assert short_version("LeIA") == "LeIA"


def test_a_vote_round_trips_and_fits_a_button_at_the_longest_version():
    """What a button carries decodes to the same vote; the longest version kept (200 characters)
    gives a value far under Slack's 2,000; one character more is refused."""
    for vote in (Vote("positive", HUB), Vote("negative", HUB, "neutral")):
        assert decode_vote(encode_vote(vote)) == vote
    longest = Vote("negative", "m" * MAX_VERSION_CHARS, "positive")
    assert len(encode_vote(longest)) <= BUTTON_VALUE
    with pytest.raises(FeedbackError):
        encode_vote(Vote("negative", "m" * (MAX_VERSION_CHARS + 1)))


@pytest.mark.parametrize("value", ["", "positive", "positive|", "bravo||m", "positive|bravo|m",
                                   "positive||", "positive||a\nb", "dropped||m"])
def test_values_the_bot_did_not_make_are_refused(value):
    """Anything but ``label|[label]|version`` is a :class:`FeedbackError`."""
    with pytest.raises(FeedbackError):
        decode_vote(value)


def test_the_buttons_carry_no_text_and_vanish_when_the_version_cannot_be_kept():
    """Concordo/Discordo carry the label and version only; no buttons without a valid version."""
    block = vote_buttons("positive", HUB)
    assert [e["value"] for e in block["elements"]] == [f"positive||{HUB}"] * 2
    assert vote_buttons("positive", "") is None
    assert vote_buttons("positive", "x" * (MAX_VERSION_CHARS + 1)) is None
    picker = picker_message(Vote("positive", HUB))
    values = [e["value"] for b in picker["blocks"] for e in b.get("elements", []) if "value" in e]
    assert values == [f"positive|negative|{HUB}", f"positive|neutral|{HUB}"]


def test_agreement_and_confusion_per_version_and_overall():
    """Agreement is the share of votes where the user's label is the model's."""
    counts = [FeedbackCount("a", "positive", "positive", 3), FeedbackCount("a", "positive", "neutral", 1),
              FeedbackCount("b", "negative", "neutral", 4)]
    this = summarise(counts, "a")
    assert (this.votes, this.agreed, this.agreement) == (4, 3, 0.75)
    assert this.confusion["positive"] == {"negative": 0, "neutral": 1, "positive": 3}
    everything = summarise(counts)
    assert (everything.votes, everything.agreement) == (8, 3 / 8)
    assert summarise([], "a").agreement is None


def test_evaluation_figures_are_read_tolerantly():
    """Missing or malformed keys are None; nothing usable gives None."""
    figures = evaluation_figures({"accuracy": 0.7, "macro_f1": "x", "n": 300,
                                  "per_class": {"negative": {"f1": 0.5}, "neutral": "?"}})
    assert (figures.accuracy, figures.macro_f1, figures.n) == (0.7, None, 300)
    assert figures.per_class["negative"].f1 == 0.5 and figures.per_class["negative"].support is None
    assert "neutral" not in figures.per_class
    for nothing in (None, [], {"n": 3}, {"accuracy": True}):
        assert evaluation_figures(nothing) is None


@pytest.mark.parametrize("current, false_alarms, decided, suggested, reason", [
    (0.80, 9, 9, 0.80, "few_decisions"),  # under 10 decided: too few, whatever the rate
    (0.80, 3, 10, 0.80, "keep"),  # exactly 30%: not more than 30%
    (0.80, 4, 10, 0.85, "raise"),  # 40%
    (0.93, 8, 10, 0.95, "raise"),  # never above 0.95
    (0.95, 8, 10, 0.95, "at_ceiling"),
    (0.80, 0, 50, 0.80, "keep"),
])
def test_threshold_advice(current, false_alarms, decided, suggested, reason):
    """Raise by 0.05 when false alarms exceed 30% of at least 10 decided alerts, up to 0.95."""
    advice = suggest_threshold(current, false_alarms, decided)
    assert (advice.suggested, advice.reason) == (suggested, reason)


def test_the_model_message_when_the_model_cannot_be_asked_still_shows_the_votes():
    """No model information (service down): said in Portuguese; votes and advice still shown."""
    message = model_message(None, None, summarise([]),
                            summarise([FeedbackCount("a", "negative", "negative", 2)]),
                            suggest_threshold(0.8, 0, 0), "O serviço não respondeu.")
    text = json.dumps(message, ensure_ascii=False)
    assert "Não consegui consultar o modelo em uso. O serviço não respondeu." in text
    assert "Votos em todas as versões*: 2 votos, concordância 100,0%" in text
    assert "Poucas decisões" in text


def test_the_model_message_warns_when_its_figures_are_of_another_revision():
    """Figures measured on another revision than the one in use are flagged."""
    info = ModelInfo("org/m", "bbbbbbb", "transformers", "onnx-int8",
                     {"macro_f1": 0.7, "revision": "aaaaaaa"})
    text = json.dumps(model_message(info, evaluation_figures(info.evaluation), summarise([]),
                                    summarise([]), suggest_threshold(0.8, 0, 0)), ensure_ascii=False)
    assert "revisão `aaaaaaa`, não da que está em uso (`bbbbbbb`)" in text


def test_discordo_answers_the_picker_or_a_refusal_through_respond():
    """The lazy listener after "Discordo" replaces the answer with the picker; a forged value
    gets a Portuguese refusal that leaves the answer in place."""
    respond = Mock(Respond)
    disagree({"action_id": DISAGREE_ACTION_ID, "value": f"negative||{HUB}"}, respond)
    answer = respond.call_args.kwargs
    assert answer["replace_original"] is True and "O modelo disse *Negativo*" in answer["text"]
    respond = Mock(Respond)
    disagree({"action_id": DISAGREE_ACTION_ID, "value": "negative||"}, respond)
    assert respond.call_args.kwargs["replace_original"] is False
    assert "Não reconheci este botão" in respond.call_args.kwargs["text"]


def test_the_picker_buttons_are_routed_by_their_action_ids_only():
    """One listener for the three picker buttons, and nothing else."""
    assert [bool(PICK_ACTION.match(PICK_ACTION_PREFIX + label))
            for label in ("negative", "neutral", "positive", "dropped", "")] == [
        True, True, True, False, False]
    assert not PICK_ACTION.match(PICK_ACTION_PREFIX + "positive2")
