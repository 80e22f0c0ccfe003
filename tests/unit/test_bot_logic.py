"""The bot's pure logic without Slack: formats, command parsing, message filters, days."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.classify import views
from bot.command import SubcommandHelp, help_message, parse_command
from bot.home.views import home_view
from bot.counting.counter import RetryPolicy
from bot.counting.model import analysable, countable, message_day
from service.labels import Classification

SP = ZoneInfo("America/Sao_Paulo")


@pytest.mark.parametrize("score, shown", [(0.989, "98,9%"), (0.98949, "98,9%"), (1.0, "100,0%"),
                                          (0.5, "50,0%"), (0.0523, "5,2%")])
def test_confidence_in_brazilian_format(score, shown):
    """Confidence uses a decimal comma and one decimal place."""
    assert views.format_confidence_br(score) == shown


@pytest.mark.parametrize("text, expected", [
    ("", ("ajuda", "")), ("ajuda", ("ajuda", "")), (" AJUDA ", ("ajuda", "")), ("help", ("ajuda", "")),
    ("ajuda com o deploy, por favor", (None, "ajuda com o deploy, por favor")),
    ("Relatório 7d", ("relatorio", "7d")), ("relatorio", ("relatorio", "")),
    ("que dia lindo", (None, "que dia lindo")), ("  pausar  ", (None, "pausar")),
])
def test_parse_command(text, expected):
    """Subcommands are matched on the first word, case- and accent-insensitively; the rest is text."""
    assert parse_command(text, ["relatorio"]) == expected


def test_result_message_fields():
    """The result blocks hold Classificação with emoji and Confiança; no note for the transformer."""
    result = Classification.from_scores({"positive": 0.989, "neutral": 0.01, "negative": 0.001})
    message = views.result_message(result, "transformers", text="Adorei!")
    fields = message["blocks"][1]["fields"]
    assert fields[0]["text"] == "*Classificação*\n:smiley: Positivo"
    assert fields[1]["text"] == "*Confiança*\n98,9%"
    assert len(message["blocks"]) == 2  # no backend note for the transformer
    assert message["text"] == "Classificação: Positivo · Confiança: 98,9%"
    assert message["blocks"][0]["text"]["text"] == "> Adorei!"


def test_result_message_names_the_lexicon_and_flags_a_fallback():
    """A lexicon answer is named; a fallback answer says the model is unavailable."""
    result = Classification.from_scores({"negative": 0.9, "neutral": 0.1})
    lexicon = views.result_message(result, "lexicon")
    assert "Analisado pelo léxico LeIA" in lexicon["blocks"][-1]["elements"][0]["text"]
    fallback = views.result_message(result, "lexicon", fallback=True)
    note = fallback["blocks"][-1]["elements"][0]["text"]
    assert "indisponível" in note and "léxico LeIA" in note
    assert ":disappointed: Negativo" in fallback["blocks"][0]["fields"][0]["text"]


def test_long_quote_is_cut():
    """The quoted text in an answer is shortened with an ellipsis."""
    assert views.quote("a " * 500).endswith("…")
    assert len(views.quote("a " * 500)) <= views.QUOTE_CHARS + 2


def test_help_lists_builtin_and_extra_subcommands():
    """The help lists the built-in lines and any registered subcommand."""
    extra = SubcommandHelp("pausar", "pausa a análise deste canal")
    text = help_message([extra])["text"]
    assert "`/sentimento <texto>`" in text and "`/sentimento ajuda`" in text
    assert "`/sentimento pausar`: pausa a análise deste canal" in text


def test_home_view_with_extra_sections():
    """Later features can append blocks to the App Home."""
    view = home_view(extra_blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "X"}}])
    assert view["type"] == "home" and view["blocks"][-1]["text"]["text"] == "X"
    assert any("O que guardo" in block.get("text", {}).get("text", "") for block in view["blocks"])


def _event(**extra):
    event = {"type": "message", "user": "U1", "text": "bom dia", "channel": "C1",
             "channel_type": "channel", "ts": "1.0"}
    event.update(extra)
    return {k: v for k, v in event.items() if v is not None}


@pytest.mark.parametrize("extra, counted", [
    ({}, True), ({"channel_type": "group"}, True), ({"thread_ts": "0.5"}, True),
    ({"channel_type": "im"}, False), ({"channel_type": "mpim"}, False),
    ({"subtype": "message_changed"}, False), ({"subtype": "message_deleted"}, False),
    ({"subtype": "channel_join"}, False), ({"subtype": "bot_message"}, False),
    ({"bot_id": "B1"}, False), ({"bot_profile": {"id": "B1"}}, False), ({"user": "UBOT"}, False),
    ({"user": None}, False), ({"hidden": True}, False), ({"text": ""}, False),
    ({"text": "<@U2> <https://x.y|link>"}, False), ({"text": "```code```"}, False),
    ({"text": ":tada:"}, True),
])
def test_countable(extra, counted):
    """Only a person's new message with text in a public or private channel counts."""
    assert countable(_event(**extra), bot_user_id="UBOT") is counted


def test_analysable():
    """Only links and mentions leave nothing to analyse; words next to them do."""
    assert analysable("bom dia <@U1>") and not analysable("<@U1> <#C1|geral> <https://a.b>")


@pytest.mark.parametrize("ts, day", [
    ("1732665600.000100", "2024-11-26"),  # 00:00 UTC is 21:00 the day before in São Paulo
    ("1732676400.0", "2024-11-27"),  # 03:00 UTC is midnight in São Paulo
])
def test_message_day_in_sao_paulo(ts, day):
    """Slack timestamps map to the São Paulo calendar day."""
    assert message_day(ts, SP) == day


def test_a_message_an_app_posts_on_a_persons_behalf_is_not_counted():
    """An app posting with a person's token (a workflow, an integration) sends the person's
    ``user`` and the app's ``app_id`` but no ``bot_id``: it is not the person speaking, so the
    channel's mood does not count it."""
    assert countable(_event(app_id="A0INTEGRATION"), bot_user_id="UBOT") is False
    assert countable(_event(), bot_user_id="UBOT") is True


def test_the_counter_retries_after_0_5_s_doubling_up_to_10_s():
    """While the model or the store does not answer, the counter waits 0.5 s after the first
    failure, then 1 s, 2 s, 4 s, 8 s, and 10 s from then on (README, "An acked message is a
    promise": "0.5 s doubling up to 10 s")."""
    policy = RetryPolicy()
    assert [policy.delay(failures) for failures in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]
    assert RetryPolicy(first_s=0.05, max_s=0.2).delay(3) == 0.2
