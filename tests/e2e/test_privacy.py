"""Message text is never persisted: a canary through every path, then every place scanned.

A distinctive canary word rides in real Portuguese messages (LeIA classifies them for real, so
the negative ones raise a moderation alert) through the real bot over signed HTTP: channel
messages (and Slack's retries), thread replies, ``/sentimento <texto>``, both message shortcuts,
moderation alerts (automatic, manual, pending then posted), reports and their share, the weekly
digest, the retention task, the export, and errors (a text over the limit, a forged signature,
Slack refusing a post, Slack failing). Then the SQLite file's bytes (WAL included), every
Firestore document, every captured log record and ``GET /metrics`` are searched for it.

The scan is shown to see: the stored ids are found by the same search, every stored record is
of a kind the README and the App Home list, and a text that does leak is caught (see
``test_the_scan_finds_a_planted_leak``).
"""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import io
import itertools
import json
import logging
import time

import pytest

from bot.feedback.views import DISAGREE_ACTION_ID, PICK_ACTION_PREFIX
from bot.moderation.views import FLAG_CALLBACK_ID
from bot.reports.export import main as export_main
from bot.reports.views import SHARE_ACTION_ID
from bot.store.base import RECORD_KINDS
from service.logs import QUIET_LOGGERS, configure_logging
from tests.support.firestore_support import dump_store, find_strings
from tests.support.slack_harness import (
    TEAM_ID, blocks_text, bot_env, message_action_body, message_event, wait_until,
)

CANARY = "zebracanora7781"
SECRET = "digest-secret-0123456789abcdef"
ADMIN, MODS = "U0ADMIN", "C0MODS"
NEGATIVE = ["Que serviço horrível, estou muito irritado e triste com esse atraso péssimo.",
            "Isso é péssimo, horrível, uma vergonha, estou furioso!",
            "Que raiva, odeio esse lixo de sistema horrível!"]
POSITIVE = "Que notícia maravilhosa, adorei o resultado! Parabéns, equipe incrível!"
# Where each stored document or row lives -> its kind in the README's "What is stored".
FIRESTORE_KINDS = {"months": "tallies", "days": "tallies", "channels": "switches",
                   "moderation": "moderation_settings", "threads": "threads",
                   "alerts": "alerts", "event_claims": "event_claims",
                   "digest_claims": "digest_claims", "tally_writes": "write_markers",
                   "models": "feedback", "slack_installations": "installations",
                   "slack_bots": "installations", "oauth_states": "oauth_states",
                   "scheduled_deletions": "scheduled_deletions"}
SQLITE_KINDS = {"channel_days": "tallies", "channel_settings": "switches",
                "moderation_settings": "moderation_settings", "threads": "threads",
                "alerts": "alerts", "channel_day_models": "tallies", "feedback": "feedback",
                "slack_installations": "installations", "slack_bots": "installations",
                "oauth_states": "oauth_states", "scheduled_deletions": "scheduled_deletions"}
_ts = itertools.count()


def canary(text: str) -> str:
    """``text`` with the canary in it."""
    return f"{text} {CANARY}"


def next_ts() -> str:
    """A fresh, increasing Slack ts near now."""
    return f"{time.time() + next(_ts) * 0.001:.6f}"


def stored_kinds(store_env: dict[str, str], dump: list) -> set[str]:
    """The kinds of record found in a store dump."""
    if store_env["STORE"] == "firestore":
        # a document path alternates collection/document: the last collection names the kind;
        # a parent that was never written (no fields) only names its sub-collections' documents
        return {FIRESTORE_KINDS.get(path.split("/")[-2], path) for path, fields in dump if fields}
    kinds = set()
    for table, row in dump:
        if table == "claims":
            kinds.add("event_claims" if str(row[0]).startswith("event:") else "digest_claims")
        else:
            kinds.add(SQLITE_KINDS.get(table, table))
    return kinds


def everything_the_bot_kept(bot, store_env, caplog, logs: io.StringIO) -> dict[str, str]:
    """What to search, by place: the store (documents or rows, and SQLite's raw bytes), the
    log output as production writes it, every log record that reached a handler (message,
    arguments, exception), ``/metrics``."""
    bot.store.flush()
    dump, raw = dump_store(store_env)
    records = "\n".join(f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}"
                        for r in caplog.records)
    metrics = bot.sender.client.get(bot.server.url + "/metrics").text
    return {"store": json.dumps(dump, default=str, ensure_ascii=False), "sqlite bytes": raw,
            "logs": logs.getvalue(), "log records": records, "metrics": metrics}


def button_value(message: dict, action_id: str) -> str:
    """The value of the button ``action_id`` in a message's blocks."""
    blocks = message.get("blocks") or []
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return next(element["value"] for block in blocks for element in block.get("elements", [])
                if element.get("action_id") == action_id)


def leaks(places: dict[str, str], needle: str = CANARY) -> list[str]:
    """The places where ``needle`` was found (case-insensitive)."""
    return [place for place, text in places.items() if needle.lower() in text.lower()]


@pytest.fixture
def logs():
    """The bot's logging as in production at ``LOG_LEVEL=DEBUG`` (libraries that print request
    bodies held at INFO or WARNING), written to a buffer; restored afterwards."""
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", *QUIET_LOGGERS)}
    stream = io.StringIO()
    handler = configure_logging("DEBUG", "json", stream=stream)
    yield stream
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def bot(bot_factory, lexicon_classifier, fake_slack, open_stores, store_env, logs):
    """The real bot on either store, with the digest and retention tasks, every log captured."""
    del logs  # only its set-up
    fake_slack.admins.add(ADMIN)
    return bot_factory(lexicon_classifier, open_stores(store_env),
                       env=bot_env(fake_slack, DIGEST_SECRET=SECRET))


def answer(fake_slack, name: str) -> str:
    """What the response posted to ``name`` shows."""
    [call] = fake_slack.wait_for("response", name)
    return blocks_text(call.params)


def disagree_and_vote(sender, fake_slack, reply: dict) -> None:
    """"Discordo" on an answer, then the label the user picks: a vote is stored."""
    disagree = button_value(reply, DISAGREE_ACTION_ID)
    sender.action(DISAGREE_ACTION_ID, disagree, fake_slack.response_url("disagree"))
    [picker] = fake_slack.wait_for("response", "disagree")
    pick = PICK_ACTION_PREFIX + "neutral"
    sender.action(pick, button_value(picker.params, pick), fake_slack.response_url("vote"))
    assert "Obrigado" in answer(fake_slack, "vote")


def send_errors(sender, fake_slack) -> None:
    """Errors: a text over the limit, a forged signature, Slack refusing a share."""
    sender.command(canary("a" * 40_001), fake_slack.response_url("long"))
    assert "limite" in answer(fake_slack, "long")
    assert sender.command(canary(NEGATIVE[0]), fake_slack.response_url("forged"),
                          secret="not-the-signing-secret").status_code == 401
    sender.command("relatorio", fake_slack.response_url("rep"))
    [report] = fake_slack.wait_for("response", "rep")
    fake_slack.error_next("chat.postMessage", "not_in_channel")
    sender.action(SHARE_ACTION_ID, button_value(report.params, SHARE_ACTION_ID),
                  fake_slack.response_url("share"))
    fake_slack.wait_for("response", "share")


def drive_every_path(bot, fake_slack, monkeypatch, capsys, store_env) -> None:
    """Send the canary through every path that could store it."""
    sender = bot.sender
    sender.command(f"moderacao <#{MODS}|mods>", fake_slack.response_url("mods"), user_id=ADMIN)
    assert "alerta" in answer(fake_slack, "mods").lower()
    # channel messages, each delivered twice (Slack's retry)
    for n, text in enumerate([POSITIVE, NEGATIVE[0]]):
        body = message_event(canary(text), ts=next_ts())
        sender.event(body, event_id=f"Ev0CANARY{n}")
        sender.event(body, event_id=f"Ev0CANARY{n}", retry_num=1)
    # a thread whose replies turn negative: an automatic alert, posted in the moderators' channel
    root = next_ts()
    sender.event(message_event(canary("A reunião é às quinze horas."), ts=root))
    for text in NEGATIVE:
        sender.event(message_event(canary(text), ts=next_ts(), thread_ts=root))
    wait_until(lambda: bot.counter.counted == 6, what="6 messages counted")
    wait_until(lambda: any(c.params.get("channel") == MODS
                           for c in fake_slack.recorded("api", "chat.postMessage")),
               what="the alert posted")
    # /sentimento <texto>, the analysis shortcut, a manual flag (posting it fails once: Slack down)
    sender.command(canary(NEGATIVE[1]), fake_slack.response_url("cmd"))
    [reply] = fake_slack.wait_for("response", "cmd")
    assert "Negativo" in blocks_text(reply.params)
    disagree_and_vote(sender, fake_slack, reply.params)
    sender.shortcut(canary(POSITIVE), fake_slack.response_url("sc"))
    assert "Positivo" in answer(fake_slack, "sc")
    fake_slack.fail_next("chat.postMessage", 500)
    sender.post(message_action_body(canary(NEGATIVE[2]), fake_slack.response_url("flag"),
                                    callback_id=FLAG_CALLBACK_ID, message_ts=next_ts(),
                                    thread_ts=next_ts()), sender.FORM)
    fake_slack.wait_for("response", "flag")
    send_errors(sender, fake_slack)
    # the weekly digest, the retention task, the App Home
    sender.command("resumo on", fake_slack.response_url("on"))
    fake_slack.wait_for("response", "on")
    headers = {"X-Digest-Secret": SECRET}
    assert sender.client.post(bot.server.url + "/tasks/digest", headers=headers).status_code == 200
    assert sender.client.post(bot.server.url + "/tasks/retention",
                              headers=headers).status_code == 200
    sender.home_opened(ADMIN)
    fake_slack.wait_for("api", "views.publish")
    # the export reads the store like an operator would
    bot.store.flush()
    for name, value in store_env.items():
        monkeypatch.setenv(name, value)
    assert export_main(["--team", TEAM_ID, "--channel", "C0GERAL", "--days", "7"]) == 0
    exported = capsys.readouterr().out
    assert json.loads(exported)["totals"]["negative"] >= 1 and CANARY not in exported


def test_no_path_keeps_the_text_of_a_message(bot, fake_slack, store_env, caplog, logs,
                                             monkeypatch, capsys):
    """The canary, through every path, is found in no store, log or metric; the same search
    finds the ids that are stored, and every stored record is of a documented kind."""
    drive_every_path(bot, fake_slack, monkeypatch, capsys, store_env)
    places = everything_the_bot_kept(bot, store_env, caplog, logs)
    assert leaks(places) == []
    # the search sees what is there: the workspace id, stored and logged; the metrics
    assert leaks(places, TEAM_ID)[:1] == ["store"]
    assert "sentimento_bot_requests" in places["metrics"]
    dump, _raw = dump_store(store_env)
    assert find_strings(dump, [MODS]) == [MODS]
    kinds = stored_kinds(store_env, dump)
    assert kinds <= set(RECORD_KINDS), kinds - set(RECORD_KINDS)
    assert {"tallies", "switches", "moderation_settings", "threads", "alerts", "feedback"} <= kinds


def test_the_scan_finds_a_planted_leak(bot, store_env, caplog, logs):
    """The scan is not blind: the canary in one log line is found there, and the canary kept in
    the store (as an event id) is found in the store."""
    logging.getLogger("bot.counting").info("planted %s", canary("texto"))
    assert leaks(everything_the_bot_kept(bot, store_env, caplog, logs)) == ["logs", "log records"]
    caplog.clear()
    logs.truncate(0)
    bot.store.claim_event(CANARY)
    assert leaks(everything_the_bot_kept(bot, store_env, caplog, logs))[:1] == ["store"]
