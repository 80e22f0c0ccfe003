"""Channel reports through Slack, end to end on both stores (a SQLite file and the Firestore
emulator): signed requests into the real Bolt app, answers and posts seen at the fake Slack.

Classification uses the deterministic LeIA lexicon, so labels are real.
"""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from google.api_core import exceptions as gexc

from bot.failures import FAILURES
from bot.reports.model import iso_week
from bot.reports.views import SHARE_ACTION_ID, week_pt
from bot.store.firestore import FirestoreStore, make_client
from bot.store.sqlite import SCHEMA
from tests.support.firestore_support import (
    dump_firestore, dump_sqlite, find_strings, free_port, sqlite_file_bytes,
)
from tests.support.slack_harness import (
    BOT_TOKEN, SIGNING_SECRET, TEAM_ID, SlackSender, blocks_text, bot_env, message_event,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
POSITIVE_TEXT = "Que notícia maravilhosa, adorei o resultado! Parabéns, equipe incrível!"
NEGATIVE_TEXT = "Que serviço horrível, estou muito irritado e triste com esse atraso péssimo."
NEUTRAL_TEXT = "A reunião é às quinze horas."
DIGEST_SECRET = "digest-secret-0123456789abcdef"
TZ = ZoneInfo("America/Sao_Paulo")


@pytest.fixture
def start(open_stores, bot_factory, lexicon_classifier, fake_slack, store_env):
    """Start a bot on its own store object over the test's backing data (call twice for two
    instances sharing one store, like replicas behind a load balancer)."""

    def start_(**env):
        store = open_stores(store_env)
        return bot_factory(lexicon_classifier, store,
                           env=bot_env(fake_slack, DIGEST_SECRET=DIGEST_SECRET, **env))

    return start_


@pytest.fixture
def bot(start):
    """One bot with the digest endpoint enabled."""
    return start()


def report(bot, fake_slack, name, period="", channel="C0GERAL"):
    """``/sentimento relatorio <period>`` in ``channel``; the ephemeral answer."""
    assert bot.sender.command(f"relatorio {period}".strip(), fake_slack.response_url(name),
                              channel_id=channel).status_code == 200
    [call] = fake_slack.wait_for("response", name)
    return call.params


def reply(fake_slack, name):
    """The one message posted to response_url ``name``."""
    [call] = fake_slack.wait_for("response", name)
    return call.params


def send(bot, text, channel="C0GERAL", event_id=None, **kwargs):
    """Deliver one channel message event."""
    channel_type = "group" if channel.startswith("G") else "channel"
    response = bot.sender.event(message_event(text, channel=channel, channel_type=channel_type,
                                              ts=kwargs.pop("ts", None)),
                                event_id=event_id, **kwargs)
    assert response.status_code == 200


def analysed(message) -> int | None:
    """The "Mensagens analisadas" figure of a report message (None when it has none)."""
    shown = blocks_text(message)
    marker = "*Mensagens analisadas*\n"
    if marker not in shown:
        return None
    return int(shown.split(marker, 1)[1].split()[0])


def share_value(message) -> str:
    """The value of the report's share button."""
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == SHARE_ACTION_ID:
                return element["value"]
    raise AssertionError("no share button")


# ---------------------------------------------------------------- reports

def test_report_shows_every_message_once_and_only_for_its_channel(bot, fake_slack):
    """N messages in, the report shows N (Slack retries counted once), for its own channel only."""
    for n, text in enumerate([POSITIVE_TEXT, POSITIVE_TEXT, POSITIVE_TEXT, NEGATIVE_TEXT,
                              NEUTRAL_TEXT]):
        send(bot, text, event_id=f"Ev0MSG{n}")
    wait_until(lambda: bot.counter.counted == 5, what="5 counted")
    for n in (0, 3):  # Slack retries two deliveries
        for retry in (1, 2):
            send(bot, POSITIVE_TEXT, event_id=f"Ev0MSG{n}", retry_num=retry)
    send(bot, NEGATIVE_TEXT, channel="C0OUTRO", event_id="Ev0OTHER")
    wait_until(lambda: bot.counter.counted == 6, what="the other channel's message")
    bot.settle()
    assert bot.counter.skipped == 4  # the four retries

    answer = report(bot, fake_slack, "r7")
    assert answer["response_type"] == "ephemeral"
    assert analysed(answer) == 5
    shown = blocks_text(answer)
    assert "Humor do canal — últimos 7 dias" in shown
    assert "Positivo: 60% (3)" in shown and "Neutro: 20% (1)" in shown
    assert "Negativo: 20% (1)" in shown
    assert "+40 (positivo 🙂)" in shown  # 60% positive - 20% negative
    assert share_value(answer)
    assert analysed(report(bot, fake_slack, "today", "hoje")) == 5
    assert analysed(report(bot, fake_slack, "other", channel="C0OUTRO")) == 1
    empty = report(bot, fake_slack, "empty", "30d", channel="C0VAZIO")
    assert analysed(empty) is None and "Nenhuma mensagem analisada" in blocks_text(empty)
    assert not fake_slack.recorded("api", "chat.postMessage")  # nothing public yet


def test_bad_period_gets_a_portuguese_message(bot, fake_slack):
    """An unknown period or digest switch is answered in Portuguese, privately."""
    answer = report(bot, fake_slack, "bad", "ontem")
    shown = blocks_text(answer)
    assert answer["response_type"] == "ephemeral"
    assert "Período inválido" in shown and "`hoje`, `7d` ou `30d`" in shown
    bot.sender.command("resumo talvez", fake_slack.response_url("bad2"))
    assert "Opção inválida: “talvez”" in blocks_text(reply(fake_slack, "bad2"))


def test_report_outside_a_channel_is_refused(bot, fake_slack):
    """In a DM the report says it must be asked in a channel."""
    shown = blocks_text(report(bot, fake_slack, "dm", channel="D0DIRECT"))
    assert "dentro de um canal" in shown


def test_help_lists_the_report_subcommands(bot, fake_slack):
    """The help lists relatorio, pausar, retomar and resumo."""
    shown = blocks_text(bot.sender.command("ajuda", fake_slack.response_url("h")).json())
    for usage in ("relatorio [hoje|7d|30d]", "pausar", "retomar", "resumo ativar|desativar"):
        assert f"`/sentimento {usage}`" in shown


# ---------------------------------------------------------------- pause

def test_paused_channel_messages_are_not_counted(bot, fake_slack):
    """Messages sent while a channel is paused are never counted; retomar counts again."""
    send(bot, POSITIVE_TEXT)
    send(bot, NEGATIVE_TEXT)
    wait_until(lambda: bot.counter.counted == 2, what="2 counted")
    bot.sender.command("pausar", fake_slack.response_url("pause"))
    paused = reply(fake_slack, "pause")
    assert paused["response_type"] == "in_channel"  # the channel's members see it
    assert "pausou a análise" in blocks_text(paused)
    bot.sender.command("pausar", fake_slack.response_url("again"))
    again = reply(fake_slack, "again")
    assert again["response_type"] == "ephemeral" and "já está pausada" in blocks_text(again)

    for _ in range(3):
        send(bot, POSITIVE_TEXT)
    send(bot, POSITIVE_TEXT, channel="C0OUTRO")  # other channels still count
    wait_until(lambda: bot.counter.counted == 3, what="the other channel")
    bot.settle()
    while_paused = report(bot, fake_slack, "while")
    assert analysed(while_paused) == 2
    assert "está pausada" in blocks_text(while_paused)

    bot.sender.command("retomar", fake_slack.response_url("resume"))
    assert "retomou a análise" in blocks_text(reply(fake_slack, "resume"))
    send(bot, NEUTRAL_TEXT)
    wait_until(lambda: bot.counter.counted == 4, what="counting again")
    assert analysed(report(bot, fake_slack, "after")) == 3


# ---------------------------------------------------------------- share

def test_share_button_posts_the_report_and_its_chart_in_the_channel(bot, fake_slack):
    """The share button posts the report in the channel, then its chart through files_upload_v2."""
    for text in (POSITIVE_TEXT, NEGATIVE_TEXT, POSITIVE_TEXT):
        send(bot, text)
    wait_until(lambda: bot.counter.counted == 3, what="3 counted")
    value = share_value(report(bot, fake_slack, "r"))
    assert bot.sender.action(SHARE_ACTION_ID, value, fake_slack.response_url("click"),
                             user_id="U0JOAO").status_code == 200
    [post] = fake_slack.wait_for("api", "chat.postMessage")
    assert post.params["channel"] == "C0GERAL"
    assert analysed(post.params) == 3
    shown = blocks_text(post.params)
    assert "Compartilhado por <@U0JOAO>" in shown
    assert "Compartilhar no canal" not in json.dumps(post.params["blocks"], ensure_ascii=False)
    confirmation = reply(fake_slack, "click")
    assert confirmation["replace_original"] is True
    assert "compartilhado no canal" in blocks_text(confirmation)
    # the chart: files_upload_v2's three steps, a real PNG, into the channel
    [complete] = fake_slack.wait_for("api", "files.completeUploadExternal")
    assert complete.params["channel_id"] == "C0GERAL"
    [upload] = fake_slack.recorded("upload")
    assert upload.params["body"].startswith(b"\x89PNG")
    files = complete.params["files"]
    files = json.loads(files) if isinstance(files, str) else files
    assert files[0]["id"] == upload.name and "Humor diário" in files[0]["title"]


def test_share_without_files_write_posts_the_text_report_alone(bot, fake_slack):
    """Without files:write (missing_scope) the text report is shared alone."""
    send(bot, POSITIVE_TEXT)
    wait_until(lambda: bot.counter.counted == 1, what="1 counted")
    fake_slack.error_next("files.getUploadURLExternal", "missing_scope")
    value = share_value(report(bot, fake_slack, "r"))
    bot.sender.action(SHARE_ACTION_ID, value, fake_slack.response_url("click"))
    [post] = fake_slack.wait_for("api", "chat.postMessage")
    assert analysed(post.params) == 1
    assert "compartilhado no canal" in blocks_text(reply(fake_slack, "click"))
    assert fake_slack.recorded("api", "files.getUploadURLExternal")
    assert not fake_slack.recorded("api", "files.completeUploadExternal")
    assert "Traceback" not in json.dumps([c.params for c in fake_slack.recorded()], default=str)


def test_share_button_posts_only_in_the_reports_own_channel(bot, fake_slack):
    """A report's button never posts into another channel; a malformed value is refused."""
    send(bot, POSITIVE_TEXT, channel="C0SECRETO")
    wait_until(lambda: bot.counter.counted == 1, what="1 counted")
    value = share_value(report(bot, fake_slack, "r", channel="C0SECRETO"))
    # the same button value used from another channel (a copied or forged payload)
    bot.sender.action(SHARE_ACTION_ID, value, fake_slack.response_url("elsewhere"),
                      channel_id="C0GERAL")
    refusal = reply(fake_slack, "elsewhere")
    assert "outro canal" in blocks_text(refusal)
    bot.sender.action(SHARE_ACTION_ID, "{not json", fake_slack.response_url("junk"))
    assert "Não entendi" in blocks_text(reply(fake_slack, "junk"))
    # Both refusals were answered by the listener, which posts nothing after answering.
    assert not fake_slack.recorded("api", "chat.postMessage")


def test_share_when_the_bot_is_not_in_the_channel_says_how_to_fix_it(bot, fake_slack):
    """not_in_channel: the caller is told to invite the bot, the report stays."""
    value = share_value(report(bot, fake_slack, "r"))
    fake_slack.error_next("chat.postMessage", "not_in_channel")
    bot.sender.action(SHARE_ACTION_ID, value, fake_slack.response_url("click"))
    answer = reply(fake_slack, "click")
    assert answer["replace_original"] is False and "/invite @Sentimento" in blocks_text(answer)


# ---------------------------------------------------------------- weekly digest

def last_week_ts() -> str:
    """A Slack timestamp seven days ago: always inside last week (Monday to Sunday)."""
    return f"{time.time() - 7 * 86_400:.6f}"


def digest(bot, secret: str | None = DIGEST_SECRET) -> httpx.Response:
    """``POST /tasks/digest`` like Cloud Scheduler, with the shared secret header."""
    headers = {} if secret is None else {"X-Digest-Secret": secret}
    return bot.sender.client.post(bot.server.url + "/tasks/digest", headers=headers)


def test_digest_posts_last_week_once_per_channel(bot, fake_slack):
    """POST /tasks/digest: 401/403 without the secret; last week's report once per channel."""
    for text in (POSITIVE_TEXT, POSITIVE_TEXT, NEGATIVE_TEXT):
        send(bot, text, ts=last_week_ts())
    send(bot, NEGATIVE_TEXT)  # this week: not in the digest
    send(bot, POSITIVE_TEXT, channel="C0PAUSADO", ts=last_week_ts())
    wait_until(lambda: bot.counter.counted == 5, what="5 counted")
    for channel, text, name in (("C0GERAL", "resumo on", "on"), ("C0PAUSADO", "resumo on", "on2"),
                                ("C0PAUSADO", "pausar", "p"), ("C0SEM", "resumo", "status")):
        bot.sender.command(text, fake_slack.response_url(name), channel_id=channel)
    turned_on = reply(fake_slack, "on")
    assert turned_on["response_type"] == "in_channel" and "ligou o resumo semanal" in \
        blocks_text(turned_on)
    assert "está *desligado*" in blocks_text(reply(fake_slack, "status"))
    fake_slack.wait_for("response", "p")

    assert digest(bot, secret=None).status_code == 401
    assert digest(bot, secret="wrong-secret").status_code == 403
    assert not fake_slack.recorded("api", "chat.postMessage")
    first = digest(bot)
    assert first.status_code == 200, first.text
    week = iso_week(dt.datetime.now(TZ).date() - dt.timedelta(days=7))
    assert first.json() == {"week": week, "posted": ["C0GERAL"], "already_sent": [],
                            "paused": ["C0PAUSADO"], "gave_up": [], "failed": []}
    [post] = fake_slack.recorded("api", "chat.postMessage")
    assert post.params["channel"] == "C0GERAL"
    assert analysed(post.params) == 3
    monday = dt.datetime.now(TZ).date() - dt.timedelta(days=7 + dt.datetime.now(TZ).weekday())
    assert f"Resumo semanal do humor — {week_pt(monday, monday + dt.timedelta(days=6))}" in \
        blocks_text(post.params)
    assert week not in blocks_text(post.params)  # the ISO name is for the job's answer only
    second = digest(bot)
    assert second.status_code == 200
    assert second.json()["posted"] == [] and second.json()["already_sent"] == ["C0GERAL"]
    assert len(fake_slack.recorded("api", "chat.postMessage")) == 1


def test_digest_retries_a_channel_whose_post_failed(bot, fake_slack):
    """A failed post releases its claim and answers 503; the retry posts it."""
    bot.sender.command("resumo on", fake_slack.response_url("on"))
    fake_slack.wait_for("response", "on")
    fake_slack.fail_next("chat.postMessage", 500)
    failed = digest(bot)
    assert failed.status_code == 503 and failed.json()["failed"] == ["C0GERAL"]
    retried = digest(bot)
    assert retried.status_code == 200 and retried.json()["posted"] == ["C0GERAL"]
    # the failed attempt, and the one that got through
    assert len(fake_slack.recorded("api", "chat.postMessage")) == 2
    assert digest(bot).json()["already_sent"] == ["C0GERAL"]


def digest_on(bot, fake_slack, *channels):
    """``/sentimento resumo on`` in each channel."""
    for channel in channels:
        bot.sender.command("resumo on", fake_slack.response_url(f"on-{channel}"), channel_id=channel)
        fake_slack.wait_for("response", f"on-{channel}")


def digests_delivered(fake_slack) -> list[str]:
    """The channels of the digests Slack accepted (failed attempts left out), in order."""
    return [call.params["channel"] for call in fake_slack.recorded("api", "chat.postMessage")
            if call.outcome == "ok"]


def test_digest_retries_a_channel_slack_could_not_be_reached_for(bot, fake_slack):
    """Slack unreachable for one channel's post (urllib's URLError after the client's retries):
    the other channel gets its digest, the run answers 503 and the scheduler's retry posts the
    failed channel's digest, once."""
    digest_on(bot, fake_slack, "C0AAA", "C0GERAL")
    failures = FAILURES.get("digest_channel_failed")
    fake_slack.unreachable_next("chat.postMessage", times=3)  # the call and the client's 2 retries
    failed = digest(bot)
    assert failed.status_code == 503
    assert (failed.json()["failed"], failed.json()["posted"]) == (["C0AAA"], ["C0GERAL"])
    assert FAILURES.get("digest_channel_failed") == failures + 1
    assert digests_delivered(fake_slack) == ["C0GERAL"]
    retried = digest(bot)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["posted"], retried.json()["already_sent"]) == (["C0AAA"], ["C0GERAL"])
    assert digest(bot).json()["already_sent"] == ["C0AAA", "C0GERAL"]
    assert digests_delivered(fake_slack) == ["C0GERAL", "C0AAA"]


class FailingReads:
    """The Firestore client (the store's backend), whose batched document reads (``get_all``,
    what the store uses to read counts) fail with the error of a read timeout while ``failing``;
    everything else goes to the real emulator. Used because the emulator cannot be made to
    time out on reads alone (its transactions lock writes only)."""

    def __init__(self, client):
        self._client = client
        self.failing = False

    def __getattr__(self, name):
        return getattr(self._client, name)

    def get_all(self, *args, **kwargs):
        """``Client.get_all``, or ``DeadlineExceeded`` while failing."""
        if self.failing:
            raise gexc.DeadlineExceeded("read timed out (test)")
        return self._client.get_all(*args, **kwargs)


@pytest.fixture
def store_with_failing_reads(store_env, open_stores):
    """``(store, fail, restore)``: a real store whose reads of the counts fail between
    ``fail()`` and ``restore()``. SQLite: the counts table is dropped by another connection
    (a real ``sqlite3.OperationalError``), then created again; Firestore: see
    :class:`FailingReads`."""
    if store_env["STORE"] == "sqlite":
        path = store_env["SQLITE_PATH"]

        def run_sql(sql):
            with sqlite3.connect(path) as conn:
                conn.executescript(sql)

        yield open_stores(store_env), partial(run_sql, "DROP TABLE channel_days;"), \
            partial(run_sql, SCHEMA)
        return
    client = FailingReads(make_client(store_env["GOOGLE_CLOUD_PROJECT"],
                                      store_env["FIRESTORE_EMULATOR_HOST"]))
    store = FirestoreStore(client, flush_interval=0, channel_cache_s=0)  # type: ignore[arg-type]
    yield store, partial(setattr, client, "failing", True), \
        partial(setattr, client, "failing", False)
    store.close()


def test_digest_retries_a_channel_whose_counts_could_not_be_read(
        store_with_failing_reads, bot_factory, lexicon_classifier, fake_slack):
    """The store fails while the digest reads a channel's counts (after claiming it): the
    claim is released, the run answers 503, and the scheduler's retry posts that digest once."""
    store, fail, restore = store_with_failing_reads
    bot = bot_factory(lexicon_classifier, store,
                      env=bot_env(fake_slack, DIGEST_SECRET=DIGEST_SECRET))
    digest_on(bot, fake_slack, "C0GERAL")
    fail()
    failed = digest(bot)
    assert failed.status_code == 503 and failed.json()["failed"] == ["C0GERAL"]
    assert digests_delivered(fake_slack) == []
    restore()
    retried = digest(bot)
    assert retried.status_code == 200 and retried.json()["posted"] == ["C0GERAL"]
    assert digest(bot).json()["already_sent"] == ["C0GERAL"]
    assert digests_delivered(fake_slack) == ["C0GERAL"]


def test_digest_counts_a_claim_that_could_not_be_released(bot_factory, lexicon_classifier,
                                                         fake_slack, sqlite_env, open_stores):
    """A failed post whose claim cannot be released either (the SQLite file refuses the
    delete): the run still answers 503 and the failure is logged and counted."""
    store = open_stores({**sqlite_env, "FLUSH_INTERVAL": "0"})
    bot = bot_factory(lexicon_classifier, store,
                      env=bot_env(fake_slack, DIGEST_SECRET=DIGEST_SECRET))
    digest_on(bot, fake_slack, "C0GERAL")
    with sqlite3.connect(sqlite_env["SQLITE_PATH"]) as conn:
        conn.execute("CREATE TRIGGER keep_claims BEFORE DELETE ON claims "
                     "BEGIN SELECT RAISE(ABORT, 'claims are read-only'); END")
    released_before = FAILURES.get("digest_release_failed")
    fake_slack.fail_next("chat.postMessage", 500)
    failed = digest(bot)
    assert failed.status_code == 503 and failed.json()["failed"] == ["C0GERAL"]
    assert FAILURES.get("digest_release_failed") == released_before + 1


def test_digest_endpoint_is_absent_without_a_secret(bot_factory, lexicon_classifier, fake_slack):
    """Without DIGEST_SECRET there is no digest endpoint."""
    plain = bot_factory(lexicon_classifier, env=bot_env(fake_slack))
    assert digest(plain).status_code == 404


# ---------------------------------------------------------------- two instances

def test_two_instances_count_an_event_once(open_stores, bot_factory, lexicon_classifier,
                                           fake_slack, firestore_env):
    """Two app instances on one Firestore emulator count the same event once."""
    env = {**firestore_env, "FLUSH_INTERVAL": "0"}
    first, second = (bot_factory(lexicon_classifier, open_stores(env)) for _ in range(2))
    event = message_event(POSITIVE_TEXT)
    # the same event at both at once, and retried (Slack, or a load balancer)
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda bot: bot.sender.event(event, event_id="Ev0SHARED").status_code,
                              (first, second, second, first)))
    assert codes == [200] * 4
    send(second, NEGATIVE_TEXT, event_id="Ev0SECOND")
    wait_until(lambda: first.counter.counted + second.counter.counted == 2, what="2 counted")
    first.settle()
    second.settle()
    assert first.counter.counted + second.counter.counted == 2
    for bot, name in ((first, "a"), (second, "b")):
        assert analysed(report(bot, fake_slack, name)) == 2


# ---------------------------------------------------------------- App Home

def test_app_home_lists_the_viewers_busiest_channels_with_their_mood(bot, fake_slack):
    """App Home: the busiest channels the viewer is a member of, with their mood."""
    fake_slack.memberships["U0VIEWER"] = ["C0GERAL", "C0QUIETO", "G0PRIV", "C0VAZIO"]
    for channel, texts in (("C0GERAL", [POSITIVE_TEXT] * 3 + [NEGATIVE_TEXT]),
                           ("G0PRIV", [NEGATIVE_TEXT] * 5),
                           ("C0SECRETO", [POSITIVE_TEXT] * 9),
                           ("C0QUIETO", [NEUTRAL_TEXT])):
        for text in texts:
            send(bot, text, channel=channel)
    wait_until(lambda: bot.counter.counted == 19, what="19 counted")
    bot.sender.command("pausar", fake_slack.response_url("p"), channel_id="C0QUIETO")
    fake_slack.wait_for("response", "p")
    bot.sender.home_opened("U0VIEWER")
    [publish] = fake_slack.wait_for("api", "views.publish")
    assert publish.params["user_id"] == "U0VIEWER"
    shown = blocks_text(publish.params["view"])
    assert "C0SECRETO" not in shown  # busiest, but the viewer is not a member
    order = [shown.index(f"<#{channel}>") for channel in ("G0PRIV", "C0GERAL", "C0QUIETO")]
    assert order == sorted(order)  # busiest first
    assert "5 mensagens · humor −100 (negativo 🙁)" in shown
    assert "4 mensagens · humor +50 (positivo 🙂)" in shown
    assert "1 mensagem · humor 0 (neutro 😐) · ⏸️ pausado" in shown
    assert "<#C0VAZIO>" not in shown
    calls = fake_slack.recorded("api", "users.conversations")
    assert calls and all(c.params["user"] == "U0VIEWER" for c in calls)
    assert calls[0].params["types"] == "public_channel,private_channel"
    assert len(calls) >= 2  # followed the pagination cursor


def test_app_home_without_channel_scopes_shows_no_channels(bot, fake_slack):
    """Without channels:read / groups:read the Home lists no channel at all."""
    send(bot, POSITIVE_TEXT)
    wait_until(lambda: bot.counter.counted == 1, what="1 counted")
    fake_slack.error_next("users.conversations", "missing_scope")
    bot.sender.home_opened("U0VIEWER")
    shown = blocks_text(fake_slack.wait_for("api", "views.publish")[0].params["view"])
    assert "Não consegui listar os canais" in shown and "<#C0GERAL>" not in shown


# ---------------------------------------------------------------- privacy

NEEDLES = ["xylofone-azul-7731", "quimera-roxa-4410", "pinguim-verde-9902"]


def test_no_message_text_is_stored_after_the_whole_slack_path(bot, fake_slack, store_env, caplog):
    """Distinctive texts through the whole Slack path: no stored document, row or log line has them."""
    caplog.set_level(logging.INFO)
    texts = [f"Adorei o resultado {NEEDLES[0]}, ficou ótimo!",
             f"Que desastre horrível no deploy {NEEDLES[1]}",
             f"Reunião às 15h sobre o orçamento {NEEDLES[2]}"]
    for n, text in enumerate(texts):
        send(bot, text, event_id=f"Ev0PRIV{n}")
        send(bot, text, event_id=f"Ev0PRIV{n}", retry_num=1)
    bot.sender.shortcut(texts[0], fake_slack.response_url("sc"))
    bot.sender.command(texts[1], fake_slack.response_url("cmd"))
    wait_until(lambda: bot.counter.counted == 3, what="3 counted")
    value = share_value(report(bot, fake_slack, "r"))
    bot.sender.action(SHARE_ACTION_ID, value, fake_slack.response_url("click"))
    fake_slack.wait_for("response", "click")
    bot.sender.command("resumo on", fake_slack.response_url("on"))
    fake_slack.wait_for("response", "on")
    assert digest(bot).status_code == 200
    bot.store.flush()
    if store_env["STORE"] == "firestore":
        dump = dump_firestore(store_env["FIRESTORE_EMULATOR_HOST"])
        raw = ""
    else:
        dump = dump_sqlite(store_env["SQLITE_PATH"])
        raw = sqlite_file_bytes(store_env["SQLITE_PATH"]).decode("utf-8", "replace").lower()
    assert find_strings(dump, NEEDLES + ["Adorei", "desastre", "orçamento"]) == []
    assert [needle for needle in NEEDLES if needle in raw] == []
    assert find_strings(dump, [TEAM_ID, "C0GERAL"]) == [TEAM_ID, "C0GERAL"]  # the scan sees data
    assert [needle for needle in NEEDLES if needle in caplog.text] == []


# ---------------------------------------------------------------- shutdown

def test_sigterm_flushes_buffered_counts(fake_slack, tmp_path):
    """``python -m bot`` with a long flush interval: the counts reach the SQLite file only
    because SIGTERM closes the store. The process serves ``POST /tasks/digest`` too."""
    port = free_port()
    db = tmp_path / "bot.db"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1",
           "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": fake_slack.api_url, "PORT": str(port), "SENTIMENT_BACKEND": "lexicon",
           "MESSAGE_BATCH_WAIT_MS": "10", "STORE": "sqlite", "SQLITE_PATH": str(db),
           "FLUSH_INTERVAL": "300", "DIGEST_SECRET": DIGEST_SECRET}
    log_path = tmp_path / "bot.log"
    with open(log_path, "w", encoding="utf-8") as log_file:
        process = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped below
            [sys.executable, "-m", "bot"], env=env, cwd=ROOT, stdout=log_file,
            stderr=subprocess.STDOUT)
    sender = SlackSender(f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: _healthy(sender) or process.poll() is not None, timeout=60,
                   what="the bot")
        assert process.poll() is None, log_path.read_text(encoding="utf-8")
        for text in (POSITIVE_TEXT, POSITIVE_TEXT, NEGATIVE_TEXT):
            assert sender.event(message_event(text)).status_code == 200
        # the report reads through the instance, buffer included
        wait_until(lambda: _reported(sender, fake_slack) == 3, timeout=20, what="3 in the report")
        assert _stored_total(db) == 0  # still buffered
        # the process also serves the digest endpoint
        digest_url = sender.url.replace("/slack/events", "/tasks/digest")
        assert sender.client.post(digest_url).status_code == 401
        ran = sender.client.post(digest_url, headers={"X-Digest-Secret": DIGEST_SECRET})
        assert ran.status_code == 200 and ran.json()["posted"] == []
    finally:
        sender.close()
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    assert code == 0, log_path.read_text(encoding="utf-8")
    assert _stored_total(db) == 3


def _healthy(sender: SlackSender) -> bool:
    try:
        return sender.client.get(sender.url.replace("/slack/events", "/healthz"),
                                 timeout=1).status_code == 200
    except httpx.TransportError:
        return False


_asked = iter(range(1_000_000))


def _reported(sender: SlackSender, fake_slack) -> int | None:
    name = f"poll{next(_asked)}"
    sender.command("relatorio hoje", fake_slack.response_url(name))
    return analysed(fake_slack.wait_for("response", name)[0].params)


def _stored_total(db: Path) -> int:
    if not db.exists():
        return 0
    rows = [row for table, row in dump_sqlite(db) if table == "channel_days"]
    return sum(sum(row[3:6]) for row in rows)  # the negative, neutral, positive columns


def test_digest_secret_setting_is_checked_and_never_shown():
    """A short DIGEST_SECRET stops the start with a message that does not echo it."""
    # pylint: disable=import-outside-toplevel
    from bot.settings import BotSettings
    from service.settings import SettingsError

    base = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    with pytest.raises(SettingsError) as error:
        BotSettings.from_env({**base, "DIGEST_SECRET": "curto-demais"})
    assert "DIGEST_SECRET" in str(error.value) and "curto-demais" not in str(error.value)
    settings = BotSettings.from_env({**base, "DIGEST_SECRET": DIGEST_SECRET})
    assert settings.digest_secret == DIGEST_SECRET and DIGEST_SECRET not in repr(settings)
    assert BotSettings.from_env(base).digest_secret is None


def test_event_without_a_team_id_does_not_cost_the_batch_its_counts(bot):
    """A delivery without a usable team id is skipped; the messages around it are counted."""
    # pylint: disable=import-outside-toplevel
    from tests.support.slack_harness import event_callback

    body = json.loads(event_callback(message_event(POSITIVE_TEXT, team=None)))
    body["team_id"] = ""
    assert bot.sender.post(json.dumps(body), SlackSender.JSON).status_code == 200
    send(bot, NEGATIVE_TEXT)
    send(bot, POSITIVE_TEXT)
    wait_until(lambda: bot.counter.counted == 2, what="2 counted")
    bot.settle()
    days = bot.store.daily_counts(TEAM_ID, "C0GERAL", dt.date.today() - dt.timedelta(days=2),
                                  dt.date.today() + dt.timedelta(days=2))
    assert sum(tally.total for tally in days.values()) == 2
    assert bot.counter.dropped == 0  # skipped before the queue, not refused by the store


def test_manifest_asks_for_the_report_scopes():
    """channels:read and groups:read (App Home filter) and files:write (charts) are requested."""
    import yaml  # pylint: disable=import-outside-toplevel

    manifest = yaml.safe_load((ROOT / "manifest.yaml").read_text(encoding="utf-8"))
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert {"chat:write", "channels:read", "groups:read", "files:write"} <= set(scopes)
    assert manifest["settings"]["interactivity"]["is_enabled"] is True  # the share button
    assert "relatorio" in manifest["features"]["slash_commands"][0]["usage_hint"]


# ---------------------------------------------------------------- retention

def test_retention_task_deletes_what_outlived_its_retention(bot):
    """POST /tasks/retention, like Cloud Scheduler: 401/403 without the secret; with it, an
    alert older than ALERT_RETENTION_DAYS (90) is deleted and a recent one kept, and the
    answer counts what went, by kind."""
    # pylint: disable=import-outside-toplevel
    from bot.moderation.rules import Alert
    from bot.store.base import EXPIRING_KINDS

    now = time.time()
    for alert_id, age_days in (("a0old", 90.01), ("a0new", 89.99)):
        bot.store.add_alert(Alert(alert_id=alert_id, team_id=TEAM_ID, channel_id="C0GERAL",
                                  message_ts=f"{now:.6f}", negatives=3, span_s=60.0,
                                  created_at=now - age_days * 86_400))
    url = bot.server.url + "/tasks/retention"
    assert bot.sender.client.post(url).status_code == 401
    assert bot.sender.client.post(url, headers={"X-Digest-Secret": "wrong-secret"}).status_code == 403
    assert bot.store.get_alert(TEAM_ID, "a0old") is not None
    answer = bot.sender.client.post(url, headers={"X-Digest-Secret": DIGEST_SECRET})
    assert answer.status_code == 200, answer.text
    assert set(answer.json()["deleted"]) == set(EXPIRING_KINDS)
    assert answer.json()["deleted"]["alerts"] == 1
    assert bot.store.get_alert(TEAM_ID, "a0old") is None
    assert bot.store.get_alert(TEAM_ID, "a0new") is not None


def test_retention_task_answers_503_when_the_store_fails(bot, monkeypatch):
    """A purge the store cannot do: 503 (the scheduler retries) and a counted failure."""
    before = FAILURES.get("retention_purge_failed")

    def unavailable(now=None):
        raise gexc.ServiceUnavailable("store down")

    monkeypatch.setattr(bot.store, "purge_expired", unavailable)
    answer = bot.sender.client.post(bot.server.url + "/tasks/retention",
                                    headers={"X-Digest-Secret": DIGEST_SECRET})
    assert answer.status_code == 503 and "tente novamente" in answer.json()["error"]
    assert FAILURES.get("retention_purge_failed") == before + 1
