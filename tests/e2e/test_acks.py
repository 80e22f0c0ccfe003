"""Acks never wait, and an acked message is a promise: the real bot over signed HTTP while the
model service hangs (it holds every answer until a gate opens).

Slack waits 3 s for an ack: every request here is sent with a 3-second client timeout, so a
late ack fails the test the way it fails a user.
"""

from __future__ import annotations

import threading

import httpx

from bot.classify.clients import RemoteClassifier
from tests.support.slack_harness import (
    SIGNING_SECRET, ScriptedService, SlackSender, blocks_text, bot_env, message_event, wait_until,
)

SLACK_ACK_TIMEOUT_S = 3.0
TEXT = "Adorei o resultado, equipe incrível, parabéns!"


def slack_like(sender: SlackSender) -> SlackSender:
    """The same signed sender, giving up after Slack's 3 seconds."""
    patient = SlackSender(sender.url.removesuffix("/slack/events"), SIGNING_SECRET)
    patient.client = httpx.Client(timeout=SLACK_ACK_TIMEOUT_S)
    return patient


def metric(bot, name: str, **labels: str) -> float:
    """One sample of the bot's ``GET /metrics`` (0 when absent)."""
    text = httpx.get(bot.server.url + "/metrics", timeout=5).text
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    head = f"{name}{{{wanted}}} " if wanted else f"{name} "
    for line in text.splitlines():
        if line.startswith(head):
            return float(line.split()[-1])
    return 0.0


def test_slow_commands_never_delay_the_help_or_channel_messages(bot_factory, fake_slack):
    """With room for one command at work and one waiting (USER_WORKERS=1, USER_QUEUE=1) and the
    model hanging: more commands are acked at once with a Portuguese "try again", the help is
    still answered in its ack, channel messages still get 200, and the two commands at work
    are answered once the model is back."""
    service = ScriptedService(gate=threading.Event())
    classifier = RemoteClassifier(service.url, timeout=20, retries=0)
    try:
        bot = bot_factory(classifier, env=bot_env(fake_slack, USER_WORKERS="1", USER_QUEUE="1"))
        sender = slack_like(bot.sender)
        acks = [sender.command(TEXT, fake_slack.response_url(f"slow{n}")) for n in range(4)]
        assert [ack.status_code for ack in acks] == [200] * 4
        assert acks[0].content == b"" and acks[1].content == b""
        for busy in acks[2:]:
            assert "muitos pedidos" in blocks_text(busy.json())
        helped = sender.command("ajuda", fake_slack.response_url("help"))
        assert "Como usar o Sentimento" in blocks_text(helped.json())
        assert sender.event(message_event(TEXT)).status_code == 200
        # Refused: the two late commands, and the help's follow-up (Bolt starts one for every
        # command; the help's has nothing left to do).
        assert metric(bot, "sentimento_bot_user_tasks_refused_total") == 3
        service.gate.set()
        answers = [fake_slack.wait_for("response", f"slow{n}")[0] for n in range(2)]
        assert all(":neutral_face: Neutro" in blocks_text(a.params) for a in answers)
        wait_until(lambda: bot.counter.counted == 1, what="the channel message counted")
        assert not fake_slack.recorded("response", "slow2")
    finally:
        service.gate.set()
        service.close()
        classifier.close()


def test_a_full_backlog_answers_503_and_the_redelivery_is_counted(bot_factory, fake_slack):
    """MESSAGE_BACKLOG_MAX=2 while the model hangs: two messages are acked (200), the third gets
    503 (Slack redelivers it; nothing of it is kept). Once the model answers, Slack's redelivery
    of the third is acked and every acked message is counted exactly once."""
    service = ScriptedService(gate=threading.Event())
    classifier = RemoteClassifier(service.url, timeout=20, retries=0)
    try:
        bot = bot_factory(classifier, env=bot_env(fake_slack, MESSAGE_BACKLOG_MAX="2"))
        sender = slack_like(bot.sender)
        events = [message_event(f"{TEXT} {n}", ts=f"1732600000.00000{n}") for n in range(3)]
        statuses = [sender.event(event, event_id=f"EvFULL{n}").status_code
                    for n, event in enumerate(events)]
        assert statuses == [200, 200, 503]
        assert metric(bot, "sentimento_bot_messages_refused_total", reason="full") == 1
        assert metric(bot, "sentimento_bot_backlog_messages") == 2
        service.gate.set()
        wait_until(lambda: bot.counter.counted == 2, what="the two acked messages counted")
        assert sender.event(events[2], event_id="EvFULL2", retry_num=1).status_code == 200
        wait_until(lambda: bot.counter.counted == 3, what="the redelivered message counted")
        assert metric(bot, "sentimento_bot_messages_counted_total") == 3
        assert metric(bot, "sentimento_bot_messages_acked_total") == 3
        assert metric(bot, "sentimento_bot_messages_dropped_total", reason="shutdown") == 0
    finally:
        service.gate.set()
        service.close()
        classifier.close()
