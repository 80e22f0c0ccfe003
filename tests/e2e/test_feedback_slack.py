"""Feedback through Slack, end to end: signed requests into the real Bolt app, the LeIA lexicon
for real (deterministic) answers, votes read back from both stores (a SQLite file and the
Firestore emulator), and ``/sentimento modelo`` by a member and by an admin."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import itertools
import json

import httpx
import pytest

from bot.classify.clients import LocalClassifier
from bot.feedback.rules import FeedbackCount
from bot.feedback.views import AGREE_ACTION_ID, DISAGREE_ACTION_ID, PICK_ACTION_PREFIX
from bot.moderation.rules import Alert
from service.settings import ModelSettings
from tests.support.firestore_support import dump_store, find_strings
from tests.support.slack_harness import TEAM_ID, blocks_text, bot_env

ADMIN, MEMBER = "U0ADMIN", "U0MEMBRO"
# LeIA: positive; distinctive words for the privacy scan
POSITIVE = "Adorei o deploy zebra-dourada-5521, ficou excelente!"
NEEDLES = ["zebra-dourada-5521", "Adorei", "excelente", "deploy"]
LEXICON = "LeIA@lexicon-0.0.1"
_names = itertools.count()


@pytest.fixture
def start(open_stores, bot_factory, lexicon_classifier, fake_slack, store_env):
    """A bot on a store of each kind; ``ADMIN`` is a workspace admin."""
    fake_slack.admins.add(ADMIN)
    store = open_stores(store_env)
    return lambda classifier=lexicon_classifier: bot_factory(classifier, store,
                                                             env=bot_env(fake_slack))


def command(bot, fake_slack, text, user=MEMBER):
    """``/sentimento <text>`` by ``user``; the ephemeral answer's parameters."""
    name = f"cmd{next(_names)}"
    assert bot.sender.command(text, fake_slack.response_url(name), user_id=user).status_code == 200
    [call] = fake_slack.wait_for("response", name)
    assert call.params.get("response_type") == "ephemeral"
    return call.params


def buttons(message):
    """``{action_id: value}`` of every button of a message."""
    blocks = message.get("blocks") or []
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return {element["action_id"]: element["value"] for block in blocks
            for element in block.get("elements", []) if element.get("type") == "button"}


def click(bot, fake_slack, action_id, value):
    """A click on a button of the answer; what the bot sent to the click's ``response_url``."""
    name = f"click{next(_names)}"
    assert bot.sender.action(action_id, value, fake_slack.response_url(name),
                             user_id=MEMBER).status_code == 200
    [call] = fake_slack.wait_for("response", name)
    return call.params


def test_discordo_then_a_label_stores_one_count_and_thanks(start, fake_slack, store_env):
    """"Discordo" replaces the answer with a picker of the two other labels; picking one
    replaces it with a thanks (no buttons left: one vote per answer), and the store holds one
    count for (model version, predicted, user's label): no text, no user id anywhere."""
    bot = start()
    answer = command(bot, fake_slack, POSITIVE)
    assert "Positivo" in blocks_text(answer)
    votes = buttons(answer)
    assert set(votes) == {AGREE_ACTION_ID, DISAGREE_ACTION_ID}
    assert all(needle.lower() not in value.lower() for value in votes.values()
               for needle in NEEDLES)
    picker = click(bot, fake_slack, DISAGREE_ACTION_ID, votes[DISAGREE_ACTION_ID])
    assert picker["replace_original"] is True
    choices = buttons(picker)
    assert set(choices) == {PICK_ACTION_PREFIX + "negative", PICK_ACTION_PREFIX + "neutral"}
    assert bot.store.feedback_counts(TEAM_ID) == []  # nothing until a label is picked
    thanks = click(bot, fake_slack, PICK_ACTION_PREFIX + "neutral",
                   choices[PICK_ACTION_PREFIX + "neutral"])
    assert thanks["replace_original"] is True and buttons(thanks) == {}
    assert "Obrigado" in blocks_text(thanks) and "*Neutro*" in blocks_text(thanks)
    assert bot.store.feedback_counts(TEAM_ID) == [FeedbackCount(LEXICON, "positive", "neutral", 1)]
    dump, raw = dump_store(store_env)
    assert find_strings(dump, NEEDLES + [MEMBER]) == []
    assert [needle for needle in NEEDLES + [MEMBER] if needle.lower() in raw] == []
    assert find_strings(dump, [LEXICON]) == [LEXICON]  # the scan does see the vote


def test_concordo_counts_the_label_given_and_the_shortcut_answer_has_the_buttons(
        start, fake_slack):
    """"Concordo" counts (predicted, predicted); the "Analisar sentimento" answer carries the
    same buttons."""
    bot = start()
    name = f"sc{next(_names)}"
    assert bot.sender.shortcut(POSITIVE, fake_slack.response_url(name)).status_code == 200
    [call] = fake_slack.wait_for("response", name)
    votes = buttons(call.params)
    thanks = click(bot, fake_slack, AGREE_ACTION_ID, votes[AGREE_ACTION_ID])
    assert "você concorda com *Positivo*" in blocks_text(thanks)
    assert bot.store.feedback_counts(TEAM_ID) == [FeedbackCount(LEXICON, "positive", "positive", 1)]


@pytest.mark.parametrize("store_env", ["sqlite"], indirect=True)
def test_a_vote_the_store_cannot_keep_is_told_and_counted(start, fake_slack):
    """Store down: the user reads a Portuguese message, the answer and its buttons stay (not
    replaced), and ``sentimento_bot_handled_failures{event="feedback_store_failed"}`` goes up."""
    bot = start()
    votes = buttons(command(bot, fake_slack, POSITIVE))
    before = failures(bot)
    bot.store.close()
    answer = click(bot, fake_slack, AGREE_ACTION_ID, votes[AGREE_ACTION_ID])
    assert answer["replace_original"] is False
    assert "Não consegui registrar seu voto" in blocks_text(answer)
    assert failures(bot) == before + 1


def failures(bot) -> float:
    """``sentimento_bot_handled_failures_total{event="feedback_store_failed"}`` at /metrics."""
    text = httpx.get(bot.server.url + "/metrics", timeout=5).text
    head = 'sentimento_bot_handled_failures_total{event="feedback_store_failed"} '
    return next((float(line.split()[-1]) for line in text.splitlines() if line.startswith(head)),
                0.0)


def test_a_forged_vote_is_refused_and_nothing_is_stored(start, fake_slack):
    """A button value the bot did not make (an unknown label, a version with a newline) is
    answered in Portuguese and stores nothing."""
    bot = start()
    for value in ("bravo||LeIA", "positive||Le\nIA", "positive|", ""):
        answer = click(bot, fake_slack, AGREE_ACTION_ID, value)
        assert "Não reconheci este botão" in blocks_text(answer)
    assert bot.store.feedback_counts(TEAM_ID) == []


def test_modelo_is_refused_to_a_member(start, fake_slack):
    """A member who is neither admin nor in the moderators' group reads "Sem permissão"."""
    bot = start()
    text = blocks_text(command(bot, fake_slack, "modelo", user=MEMBER))
    assert "Sem permissão" in text
    assert "Modelo em uso" not in text


@pytest.mark.parametrize("store_env", ["sqlite"], indirect=True)
def test_modelo_shows_the_model_its_figures_the_votes_and_a_threshold(start, fake_slack,
                                                                      tmp_path):
    """For an admin: the model and revision, its figures from SENTIMENT_EVALUATION_FILE, the
    votes of this version (agreement, confusion), and a raised threshold after 4 false alarms
    in 10 decided alerts."""
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text(json.dumps({
        "accuracy": 0.71, "macro_f1": 0.6843, "n": 312, "model": "LeIA",
        "per_class": {"negative": {"precision": 0.8, "recall": 0.5, "f1": 0.615, "support": 104}},
    }), encoding="utf-8")
    classifier = LocalClassifier.from_settings(ModelSettings(backend="lexicon",
                                                             evaluation_file=str(evaluation)))
    try:
        bot = start(classifier)
        for actual in ("positive", "positive", "positive", "neutral"):
            bot.store.record_feedback(TEAM_ID, LEXICON, "positive", actual)
        bot.store.record_feedback(TEAM_ID, "org/antigo@abc", "negative", "neutral")
        for n in range(10):
            bot.store.add_alert(Alert(alert_id=f"a{n:04d}", team_id=TEAM_ID, channel_id="C0GERAL",
                                      message_ts=f"1800000{n:03d}.000100", negatives=3,
                                      span_s=60.0, created_at=1_800_000_000.0 + n,
                                      posted_channel="C0MODS", posted_ts=f"1800000{n:03d}.000200"))
            bot.store.resolve_alert(TEAM_ID, f"a{n:04d}",
                                    "false_alarm" if n < 4 else "acknowledged", ADMIN,
                                    1_800_000_100.0)
        text = blocks_text(command(bot, fake_slack, "modelo", user=ADMIN))
    finally:
        classifier.close()
    assert "`LeIA`" in text and "`lexicon-0.0.1`" in text
    assert "macro-F1 0,68" in text and "acurácia 71,0%" in text and "(312 mensagens)" in text
    assert "Negativo: precisão 80,0%, revocação 50,0%, F1 0,61" in text
    assert "Votos nesta versão (LeIA@lexicon-0.0.1)*: 4 votos, concordância 75,0%" in text
    assert "Modelo disse Positivo (4): usuários disseram Negativo 0 · Neutro 1 · Positivo 3" in text
    assert "Votos em todas as versões*: 5 votos, concordância 60,0%" in text
    assert "4 falsos alarmes em 10 alertas decididos (40,0%)" in text
    assert "`/sentimento limiar 0,85`" in text


def test_modelo_is_in_the_help(start, fake_slack):
    """``/sentimento ajuda`` lists ``modelo``."""
    bot = start()
    name = f"help{next(_names)}"
    response = bot.sender.command("ajuda", fake_slack.response_url(name))
    assert "/sentimento modelo" in response.json()["text"]
