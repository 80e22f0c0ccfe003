"""The bot end to end: signed HTTP requests into the real Bolt app, answers seen at a fake Slack.

Classification uses the LeIA lexicon (deterministic, real labels) in-process, or the real model
service over HTTP; failure modes use small real HTTP servers (slow, down).
"""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.classify.clients import FallbackClassifier, RemoteClassifier
from bot.counting.model import message_day
from tests.support.slack_harness import (
    BOT_ID, BOT_TOKEN, BOT_USER_ID, TEAM_ID, ScriptedService, ServerThread, blocks_text,
    bot_env, closed_port_url, message_event, wait_until,
)

ROOT = Path(__file__).resolve().parents[2]

POSITIVE_TEXT = "Que notícia maravilhosa, adorei o resultado! Parabéns, equipe incrível!"
NEGATIVE_TEXT = "Que serviço horrível, estou muito irritado e triste com esse atraso péssimo."
CONFIDENCE = re.compile(r"\b\d{1,3},\d%")


@pytest.fixture(scope="module")
def model_service():
    """The real model service (service.app) on the lexicon backend, over HTTP on port 0."""
    # pylint: disable=import-outside-toplevel
    from service.app import create_app
    from service.backends.lexicon import LexiconBackend
    from service.settings import ModelSettings, ServiceSettings

    server = ServerThread(create_app(ServiceSettings(model=ModelSettings(backend="lexicon")),
                                     backend=LexiconBackend()))
    yield server.url + "/"
    server.close()


@pytest.fixture()
def bot(bot_factory, lexicon_classifier):
    """A bot on the in-process lexicon with its own SQLite store."""
    return bot_factory(lexicon_classifier)


def response_posts(fake_slack, name, count=1):
    """The JSON bodies posted to response_url ``name``."""
    return [call.params for call in fake_slack.wait_for("response", name, count)]


# ---------------------------------------------------------------- /sentimento

def test_command_answers_privately_with_label_emoji_and_brazilian_confidence(bot, fake_slack):
    """/sentimento <texto> answers ephemerally with label, emoji, 'NN,N%' and the backend."""
    ack = bot.sender.command(POSITIVE_TEXT, fake_slack.response_url("cmd"))
    assert ack.status_code == 200
    [answer] = response_posts(fake_slack, "cmd")
    assert answer["response_type"] == "ephemeral"
    shown = blocks_text(answer)
    assert "*Classificação*\n:smiley: Positivo" in shown
    assert "*Confiança*" in shown
    assert CONFIDENCE.search(shown), shown
    assert "." not in CONFIDENCE.search(shown).group(0)
    # the lexicon is not the transformer: the answer says which backend answered
    assert "léxico LeIA" in shown
    assert not fake_slack.recorded("api", "chat.postMessage")  # nothing public


def test_command_negative_text(bot, fake_slack):
    """A clearly negative text is shown as Negativo."""
    bot.sender.command(NEGATIVE_TEXT, fake_slack.response_url("neg"))
    shown = blocks_text(response_posts(fake_slack, "neg")[0])
    assert ":disappointed: Negativo" in shown


@pytest.mark.parametrize("text", ["", "ajuda", "  Ajuda  "])
def test_help_is_in_the_ack_itself(bot, fake_slack, text):
    """Empty text or 'ajuda' is answered in the ack with the Portuguese help, nothing after."""
    ack = bot.sender.command(text, fake_slack.response_url("help"))
    assert ack.status_code == 200
    help_message = ack.json()
    assert help_message["response_type"] == "ephemeral"
    shown = blocks_text(help_message)
    assert "Como usar" in shown
    assert "`/sentimento <texto>`" in shown and "`/sentimento ajuda`" in shown
    assert "Analisar sentimento" in shown
    # A command sent after the help is answered: the help's own follow-up has run by then.
    bot.sender.command(POSITIVE_TEXT, fake_slack.response_url("after"))
    response_posts(fake_slack, "after")
    assert not fake_slack.recorded("response", "help")  # no second message after the help


def test_command_with_nothing_to_analyse_says_so(bot, fake_slack):
    """A command with only code gets a Portuguese 'nothing to analyse' reply."""
    bot.sender.command("```print('oi')```", fake_slack.response_url("empty"))
    shown = blocks_text(response_posts(fake_slack, "empty")[0])
    assert "Não há texto para analisar" in shown


def test_text_over_the_limit_gets_a_portuguese_reply(bot, fake_slack):
    """A text over 40.000 characters gets a Portuguese reply, no stack trace."""
    bot.sender.command("ótimo " * 8000, fake_slack.response_url("long"))
    shown = blocks_text(response_posts(fake_slack, "long")[0])
    assert "Não foi possível analisar este texto" in shown
    assert "40.000" in shown
    assert "Traceback" not in shown


def test_subcommands_extend_the_help_and_dispatch_after_the_ack(bot_factory, lexicon_classifier,
                                                                fake_slack):
    """A registered subcommand appears in the help and runs after the ack."""
    # pylint: disable=import-outside-toplevel
    from bot.command import SubcommandHelp
    from bot.command import Subcommand

    seen = []

    def run(args, command, respond, **_kwargs):
        seen.append((args, command["channel_id"]))
        respond(response_type="ephemeral", text=f"relatório de {args}")

    sub = Subcommand("relatorio", SubcommandHelp("relatorio [hoje|7d|30d]", "clima do canal"), run)
    bot = bot_factory(lexicon_classifier, subcommands=[sub])
    help_message = bot.sender.command("ajuda", fake_slack.response_url("h")).json()
    assert "`/sentimento relatorio [hoje|7d|30d]`: clima do canal" in blocks_text(help_message)
    bot.sender.command("Relatório 7d", fake_slack.response_url("r"))
    assert response_posts(fake_slack, "r")[0]["text"] == "relatório de 7d"
    assert seen == [("7d", "C0GERAL")]


# ---------------------------------------------------------------- request verification

def test_bad_signature_is_rejected(bot, fake_slack):
    """A request signed with another secret gets 401 and nothing is answered."""
    response = bot.sender.command(POSITIVE_TEXT, fake_slack.response_url("x"), secret="not-the-secret")
    assert response.status_code == 401
    # Refused before Bolt: nothing was dispatched, so nothing can be answered later.
    assert not fake_slack.recorded("response")


def test_timestamp_older_than_five_minutes_is_rejected(bot, fake_slack):
    """A timestamp older than 5 minutes gets 401; one minute old is accepted."""
    old = int(time.time()) - 6 * 60
    response = bot.sender.command(POSITIVE_TEXT, fake_slack.response_url("x"), timestamp=old)
    assert response.status_code == 401
    fresh = bot.sender.command(POSITIVE_TEXT, fake_slack.response_url("y"),
                               timestamp=int(time.time()) - 60)
    assert fresh.status_code == 200


def test_rejected_requests_are_not_logged_with_their_text(bot, fake_slack, caplog):
    """Neither the HTTP layer nor Bolt's own check (driven directly) logs a rejected body."""
    # pylint: disable=import-outside-toplevel
    import logging

    from slack_bolt import BoltRequest

    from tests.support.slack_harness import signed_headers, slash_command_body

    caplog.set_level(logging.DEBUG)
    secret_text = "segredo-zebra-42 adorei"
    assert bot.sender.command(secret_text, fake_slack.response_url("x"), secret="bad").status_code == 401
    body = slash_command_body(secret_text, fake_slack.response_url("y"))
    headers = signed_headers(body, "application/x-www-form-urlencoded", secret="bad")
    assert bot.app.dispatch(BoltRequest(body=body, headers=headers)).status == 401
    assert "invalid" in caplog.text.lower()
    assert "zebra" not in caplog.text


def test_healthz(bot):
    """GET /healthz answers 200."""
    response = bot.sender.client.get(bot.server.url + "/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


# ---------------------------------------------------------------- channel messages

def test_channel_messages_are_counted_per_label_and_day(bot, fake_slack):
    """Messages in public and private channels end up counted per label and day."""
    del fake_slack
    ts = "1732665600.000100"  # 2024-11-27 00:00 UTC = 2024-11-26 21:00 in São Paulo
    for text in [POSITIVE_TEXT, POSITIVE_TEXT, NEGATIVE_TEXT, "A reunião é às quinze horas."]:
        assert bot.sender.event(message_event(text, ts=ts)).status_code == 200
    assert bot.sender.event(message_event(NEGATIVE_TEXT, channel="G0PRIV", channel_type="group",
                                          ts=ts)).status_code == 200
    wait_until(lambda: sum(bot.counted().values()) == 5, what="5 counted messages")
    day = bot.counted("C0GERAL", "2024-11-26")
    assert (day["positive"], day["negative"], day["neutral"]) == (2, 1, 1)
    assert bot.counted("G0PRIV")["negative"] == 1
    stored = bot.store.daily_counts(TEAM_ID, "C0GERAL", dt.date(2024, 11, 26), dt.date(2024, 11, 26))
    assert stored["2024-11-26"].score_sums["positive"] > 1.0  # the scores are summed too


@pytest.mark.parametrize("event", [
    message_event("ótimo trabalho", subtype="bot_message", bot_id="B0OTHER", user=None),
    message_event("ótimo trabalho", bot_id="B0OTHER", bot_profile={"id": "B0OTHER"}),
    message_event("ótimo trabalho", user=BOT_USER_ID, bot_id=BOT_ID),
    message_event("ótimo trabalho", subtype="message_changed",
                  message={"type": "message", "user": "U0USER1", "text": "ótimo trabalho!"}),
    message_event("", subtype="message_deleted", previous_message={"text": "ótimo"}),
    message_event("<@U0USER1> has joined the channel", subtype="channel_join"),
    message_event("<@U0USER1> has left the channel", subtype="channel_leave"),
    message_event("ótimo trabalho", subtype="thread_broadcast"),
    message_event("ótimo trabalho", channel="D0DM", channel_type="im"),
    message_event("   "),
    message_event("<https://example.com|link> `code`"),
], ids=["bot_message", "other-bot", "itself", "edit", "delete", "join", "leave", "subtype",
        "dm", "blank", "only-code"])
def test_skipped_messages_are_not_counted(bot, event):
    """Bots, the bot itself, edits, deletions, joins, subtypes, DMs and empty texts are not counted."""
    assert bot.sender.event(event).status_code == 200
    bot.sender.event(message_event(POSITIVE_TEXT))  # a marker that is counted
    wait_until(lambda: sum(bot.counted().values()) >= 1, what="the marker")
    bot.settle()
    assert bot.counted() == {"negative": 0, "neutral": 0, "positive": 1}


def test_retried_delivery_is_counted_once(bot):
    """An event delivered again with X-Slack-Retry-Num is counted once."""
    event = message_event(POSITIVE_TEXT)
    assert bot.sender.event(event, event_id="Ev0RETRY01").status_code == 200
    for retry in (1, 2, 3):
        assert bot.sender.event(event, event_id="Ev0RETRY01", retry_num=retry).status_code == 200
    bot.sender.event(message_event(NEGATIVE_TEXT), event_id="Ev0OTHER01")
    wait_until(lambda: sum(bot.counted().values()) >= 2, what="two counted")
    bot.settle()
    assert bot.counter.skipped == 3  # the three retries, recognised as redeliveries
    assert bot.counted() == {"negative": 1, "neutral": 0, "positive": 1}


def test_day_follows_the_configured_time_zone(bot_factory, lexicon_classifier, fake_slack):
    """TIMEZONE decides which day a message is counted on."""
    bot = bot_factory(lexicon_classifier, env=bot_env(fake_slack, TIMEZONE="Asia/Tokyo"))
    ts = "1732665600.000100"
    bot.sender.event(message_event(POSITIVE_TEXT, ts=ts))
    wait_until(lambda: sum(bot.counted().values()) == 1, what="counted")
    assert message_day(ts, ZoneInfo("Asia/Tokyo")) == "2024-11-27"
    assert bot.counted("C0GERAL", "2024-11-27")["positive"] == 1


# ---------------------------------------------------------------- shortcut and App Home

def test_message_shortcut_answers_only_the_asker(bot, fake_slack):
    """The shortcut is acked empty and answered ephemerally via response_url, nothing public."""
    ack = bot.sender.shortcut(NEGATIVE_TEXT, fake_slack.response_url("sc"))
    assert ack.status_code == 200 and ack.text == ""
    [answer] = response_posts(fake_slack, "sc")
    assert answer["response_type"] == "ephemeral"
    shown = blocks_text(answer)
    assert ":disappointed: Negativo" in shown and CONFIDENCE.search(shown)
    assert not fake_slack.recorded("api", "chat.postMessage")


def test_shortcut_on_a_message_without_text(bot, fake_slack):
    """The shortcut on a message without text says there is nothing to analyse."""
    bot.sender.shortcut("", fake_slack.response_url("sc-empty"))
    assert "Não há texto para analisar" in blocks_text(response_posts(fake_slack, "sc-empty")[0])


def test_app_home_explains_what_is_stored(bot, fake_slack):
    """Opening the App Home publishes a view that says what the bot does and that no text is kept."""
    event = {"type": "app_home_opened", "user": "U0USER1", "channel": "D0HOME", "tab": "home",
             "event_ts": f"{time.time():.6f}"}
    assert bot.sender.event(event).status_code == 200
    [call] = fake_slack.wait_for("api", "views.publish")
    assert call.params["user_id"] == "U0USER1"
    view = call.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home"
    shown = blocks_text(view)
    assert "O que guardo" in shown and "Nada do texto das mensagens" in shown
    assert "/sentimento" in shown and "Analisar sentimento" in shown
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"


def test_web_api_rate_limit_is_retried(bot, fake_slack):
    """A 429 from the Web API is retried by slack_sdk's handler and the view is published."""
    fake_slack.fail_next("views.publish", 429, {"Retry-After": "0"})
    bot.sender.event({"type": "app_home_opened", "user": "U0USER2", "tab": "home",
                      "event_ts": f"{time.time():.6f}"})
    calls = fake_slack.wait_for("api", "views.publish", count=2)
    assert [c.params["user_id"] for c in calls] == ["U0USER2", "U0USER2"]


# ---------------------------------------------------------------- the model service

def test_command_is_acked_before_a_slow_model_answers(bot_factory, fake_slack):
    """The slash command's ack arrives while the model service is still holding its answer."""
    service = ScriptedService(gate=threading.Event())
    classifier = RemoteClassifier(service.url, timeout=15, retries=0)
    try:
        bot = bot_factory(classifier)
        ack = bot.sender.command(POSITIVE_TEXT, fake_slack.response_url("slow"))
        # The ack came back while the model service was still holding its answer.
        assert ack.status_code == 200
        assert not service.answered.is_set()
        assert not fake_slack.recorded("response", "slow")
        service.gate.set()
        [answer] = response_posts(fake_slack, "slow")
        assert service.answered.is_set()
        shown = blocks_text(answer)
        assert ":neutral_face: Neutro" in shown and "60,0%" in shown
        assert "léxico" not in shown  # the transformer answered: no backend note
    finally:
        service.close()
        classifier.close()


def test_model_service_down_gets_a_portuguese_message(bot_factory, fake_slack):
    """With the model service down, command and shortcut get a Portuguese 'indisponível' message."""
    classifier = RemoteClassifier(closed_port_url(), timeout=2, retries=2, backoff=0.01)
    bot = bot_factory(classifier)
    bot.sender.command(POSITIVE_TEXT, fake_slack.response_url("down"))
    shown = blocks_text(response_posts(fake_slack, "down")[0])
    assert "indisponível" in shown
    assert "Traceback" not in shown and "Error" not in shown
    bot.sender.shortcut(POSITIVE_TEXT, fake_slack.response_url("down-sc"))
    assert "indisponível" in blocks_text(response_posts(fake_slack, "down-sc")[0])
    classifier.close()


def test_model_service_down_with_lexicon_fallback_is_flagged(bot_factory, fake_slack):
    """With SENTIMENT_FALLBACK=lexicon the answer comes from the lexicon and says so."""
    classifier = FallbackClassifier(RemoteClassifier(closed_port_url(), timeout=2, retries=1,
                                                     backoff=0.01))
    bot = bot_factory(classifier)
    bot.sender.command(POSITIVE_TEXT, fake_slack.response_url("fb"))
    shown = blocks_text(response_posts(fake_slack, "fb")[0])
    assert ":smiley: Positivo" in shown
    assert "indisponível" in shown and "léxico LeIA" in shown
    classifier.close()


def test_channel_messages_reach_the_model_service_in_batches(bot_factory, fake_slack):
    """Messages arriving one event at a time are sent to the model service together."""
    service = ScriptedService()
    classifier = RemoteClassifier(service.url)
    try:
        bot = bot_factory(classifier, env=bot_env(fake_slack, MESSAGE_BATCH_WAIT_MS="300"))
        for i in range(12):
            assert bot.sender.event(message_event(f"mensagem {i}: bom dia")).status_code == 200
        wait_until(lambda: sum(bot.counted().values()) == 12, what="12 counted")
        assert sum(service.sizes) == 12
        assert len(service.sizes) < 12 and max(service.sizes) > 1
        assert bot.counted()["neutral"] == 12
    finally:
        classifier.close()
        service.close()


def test_channel_messages_through_the_model_service(bot_factory, model_service):
    """Channel messages classified by the real model service over HTTP are all counted."""
    classifier = RemoteClassifier(model_service, timeout=10)
    bot = bot_factory(classifier)
    for text in [POSITIVE_TEXT] * 3 + [NEGATIVE_TEXT] * 2:
        bot.sender.event(message_event(text))
    wait_until(lambda: sum(bot.counted().values()) == 5, what="5 counted")
    assert bot.counted() == {"negative": 2, "neutral": 0, "positive": 3}
    classifier.close()


def test_settings_error_exits_2_without_traceback(tmp_path):
    """python -m bot with bad settings exits 2 with one clear message and no traceback."""
    # pylint: disable=import-outside-toplevel
    import os
    import subprocess
    import sys

    env = {"PATH": os.environ.get("PATH", ""), "SLACK_BOT_TOKEN": "xoxp-wrong-kind",
           "PORT": "http", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bot"], env=env, capture_output=True, text=True,
                          timeout=60, check=False, cwd=ROOT)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "SLACK_BOT_TOKEN deve começar com 'xoxb-'" in done.stderr
    assert "SLACK_SIGNING_SECRET não definido" in done.stderr
    assert "PORT='http'" in done.stderr
    assert "api.slack.com/apps" in done.stderr
    assert "xoxp-wrong-kind" not in done.stderr
