"""Many workspaces, end to end over signed HTTP: "Adicionar ao Slack" (Bolt's OAuth flow against
the fake Slack's ``oauth.v2.access``), two workspaces installed on one bot whose commands,
buttons, App Home, digest and export never show or change each other's data, a Slack Connect
member of another company refused, an uninstall and the deletion of the workspace's data; and
in single-workspace mode, the same team check against the token's ``auth.test``."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from bot.reports.export import main as export_main
from bot.reports.views import SHARE_ACTION_ID
from bot.store import StoreSettings
from bot.store.installations import open_installation_store, open_state_store
from bot.workspaces.cli import main as forget_main
from tests.support.slack_harness import (
    TEAM_ID, blocks_text, bot_env, counted, message_event, wait_until,
)

CLIENT_ID, CLIENT_SECRET = "1111.2222", "client-secret-0123456789abcdef"
DIGEST_SECRET = "digest-secret-0123456789abcdef"
TA, TB, TC = "T0AAAA", "T0BBBB", "T0CCCC"
TOKEN_A, TOKEN_B = "xoxb-aaaa-token", "xoxb-bbbb-token"
POSITIVE = "Que notícia maravilhosa, adorei o resultado! Parabéns, equipe incrível!"
NEGATIVE = "Que serviço horrível, estou muito irritado e triste com esse atraso péssimo."
FOREIGN = "pertence a outro workspace"


def oauth_env(fake_slack, **extra) -> dict[str, str]:
    """A bot in OAuth mode: no SLACK_BOT_TOKEN, the app's client id and secret."""
    env = bot_env(fake_slack, SLACK_CLIENT_ID=CLIENT_ID, SLACK_CLIENT_SECRET=CLIENT_SECRET,
                  DIGEST_SECRET=DIGEST_SECRET, **extra)
    del env["SLACK_BOT_TOKEN"]
    return env


@pytest.fixture
def oauth_bot(bot_factory, lexicon_classifier, fake_slack, store_env, open_stores):
    """A bot in OAuth mode on the test's store (SQLite and Firestore), with its installation
    and state stores on the same backend."""
    settings = StoreSettings.from_env(store_env)
    bot = bot_factory(lexicon_classifier, open_stores(store_env),
                      env=oauth_env(fake_slack, WORKSPACE_GRACE_DAYS="0"),
                      installations=open_installation_store(settings, CLIENT_ID),
                      oauth_states=open_state_store(settings))
    bot.store_env = store_env
    return bot


def install_page(bot) -> tuple[httpx.Response, str, str]:
    """``GET /slack/install``: the page, the state cookie (``name=value``) and the state."""
    page = httpx.get(bot.server.url + "/slack/install")
    cookie = page.headers["set-cookie"].split(";")[0]
    return page, cookie, cookie.split("=", 1)[1]


def redirect(bot, query: str, cookie: str | None) -> httpx.Response:
    """Slack sending the browser back to ``GET /slack/oauth_redirect?<query>``."""
    headers = {"Cookie": cookie} if cookie else {}
    return httpx.get(f"{bot.server.url}/slack/oauth_redirect?{query}", headers=headers)


def install(bot, fake_slack, team: str, token: str, name: str) -> httpx.Response:
    """The whole "Adicionar ao Slack" for workspace ``team``: the page, then Slack's redirect."""
    code = f"code-{team}"
    fake_slack.install(code, team, token, team_name=name)
    _page, cookie, state = install_page(bot)
    return redirect(bot, f"code={code}&state={state}", cookie)


def token_of(call) -> str:
    """The bot token a Web API call was made with."""
    return (call.headers.get("Authorization") or "").removeprefix("Bearer ")


def send(bot, team: str, text: str, channel: str = "C0GERAL", author_team: str | None = None,
         **kwargs) -> None:
    """A channel message delivered for ``team``'s installation (written by a member of
    ``author_team``, default: the same)."""
    event = message_event(text, channel=channel, team=author_team or team,
                          ts=kwargs.pop("ts", None))
    assert bot.sender.event(event, team_id=team, **kwargs).status_code == 200


def answer(bot, fake_slack, team: str, text: str, name: str, channel: str = "C0GERAL",
           user: str = "U0USER1") -> dict:
    """``/sentimento <text>`` in ``team``; the ephemeral answer posted to its response_url."""
    assert bot.sender.command(text, fake_slack.response_url(name), channel_id=channel,
                              team_id=team, user_id=user).status_code == 200
    [call] = fake_slack.wait_for("response", name)
    return call.params


def analysed(message: dict) -> int | None:
    """The "Mensagens analisadas" figure of a report."""
    shown = blocks_text(message)
    marker = "*Mensagens analisadas*\n"
    return int(shown.split(marker, 1)[1].split()[0]) if marker in shown else None


def share_value(message: dict) -> str:
    """The value of a report's share button."""
    values = [element["value"] for block in message["blocks"]
              for element in block.get("elements", [])
              if element.get("action_id") == SHARE_ACTION_ID]
    assert values, "no share button"
    return values[0]


def task(bot, path: str) -> httpx.Response:
    """A Cloud Scheduler call of ``POST /tasks/<path>`` with the secret."""
    return bot.sender.client.post(f"{bot.server.url}/tasks/{path}",
                                  headers={"X-Digest-Secret": DIGEST_SECRET})


def metric(bot, name: str) -> str:
    """The ``/metrics`` lines of ``name``."""
    text = httpx.get(bot.server.url + "/metrics").text
    return "\n".join(line for line in text.splitlines() if line.startswith(name))


# ------------------------------------------------------------------ the install flow

def test_add_to_slack_installs_a_workspace_through_the_fake_slack(oauth_bot, fake_slack):
    """The install page is Portuguese, explains each scope and links to Slack's authorize URL
    with this app's client id and a state; the redirect exchanges the code with
    ``oauth.v2.access`` at SLACK_API_URL and saves the installation; the bot then answers
    that workspace with its own token."""
    page, cookie, state = install_page(oauth_bot)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Adicionar ao Slack" in page.text and 'lang="pt-BR"' in page.text
    assert "<code>channels:history</code>: ler as mensagens dos canais públicos" in page.text
    assert "HttpOnly" in page.headers["set-cookie"]
    [href] = set(re.findall(r'href="([^"]+)"', page.text))
    query = parse_qs(urlparse(href.replace("&amp;", "&")).query)
    assert query["client_id"] == [CLIENT_ID] and query["state"] == [state]
    assert "commands" in query["scope"][0].split(",")

    fake_slack.install("code-1", TA, TOKEN_A, team_name="Empresa A")
    done = redirect(oauth_bot, f"code=code-1&state={state}", cookie)
    assert done.status_code == 200, done.text
    assert "Pronto!" in done.text and "Empresa A" in done.text
    [exchange] = fake_slack.recorded("api", "oauth.v2.access")
    assert exchange.params["code"] == "code-1"
    basic = exchange.headers["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(basic).decode() == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert [token_of(c) for c in fake_slack.recorded("api", "auth.test")] == [TOKEN_A]

    reply = answer(oauth_bot, fake_slack, TA, "relatorio", "r")
    assert analysed(reply) is None and "Nenhuma mensagem analisada" in blocks_text(reply)


def test_a_failed_install_gets_a_portuguese_page_and_saves_nothing(oauth_bot, fake_slack):
    """The state is valid once, in the browser that got it; Slack's "cancel", a bad code:
    each a Portuguese page with the reason and a retry link, and no installation."""
    _page, cookie, state = install_page(oauth_bot)
    other_browser = redirect(oauth_bot, f"code=x&state={state}", None)
    assert other_browser.status_code == 400 and "outro navegador" in other_browser.text
    bad_code = redirect(oauth_bot, f"code=nunca-emitido&state={state}", cookie)
    assert bad_code.status_code == 401 and "recusou o código" in bad_code.text
    replayed = redirect(oauth_bot, f"code=x&state={state}", cookie)
    assert replayed.status_code == 401 and "já foi usado" in replayed.text
    cancelled = redirect(oauth_bot, "error=access_denied&state=x", None)
    assert cancelled.status_code == 200 and "cancelada" in cancelled.text
    assert 'href="/slack/install"' in cancelled.text
    not_installed = oauth_bot.sender.command("relatorio", fake_slack.response_url("n"),
                                             team_id=TA)
    assert not_installed.status_code == 200
    [call] = fake_slack.wait_for("response", "n")
    assert "não está instalado neste workspace" in call.params["text"]


# ------------------------------------------------------------------ two workspaces, kept apart

def test_two_workspaces_never_see_or_change_each_others_data(oauth_bot, fake_slack):
    """A and B both installed, both with a channel C0GERAL: messages, reports, the pause
    switch, the share button, the App Home, moderation settings, the weekly digest and the
    export of one never show or change the other's, and every Slack call for one is made
    with its own token."""
    bot = oauth_bot
    assert install(bot, fake_slack, TA, TOKEN_A, "Empresa A").status_code == 200
    assert install(bot, fake_slack, TB, TOKEN_B, "Empresa B").status_code == 200
    week_ago = f"{time.time() - 7 * 86_400:.6f}"
    for text in (POSITIVE, POSITIVE):
        send(bot, TA, text, ts=week_ago)
    for text in (NEGATIVE, NEGATIVE, NEGATIVE):
        send(bot, TB, text, ts=week_ago)
    send(bot, TA, POSITIVE, channel="C0AGORA")  # this week's, for the App Home
    send(bot, TB, NEGATIVE, channel="C0AGORA")
    wait_until(lambda: bot.counter.counted == 7, what="7 counted")
    assert counted(bot.store, TA, "C0GERAL")["positive"] == 2
    assert counted(bot.store, TB, "C0GERAL") == {"negative": 3, "neutral": 0, "positive": 0}

    # Commands: each workspace's report is its own.
    report_a = answer(bot, fake_slack, TA, "relatorio 30d", "ra")
    report_b = answer(bot, fake_slack, TB, "relatorio 30d", "rb")
    assert (analysed(report_a), analysed(report_b)) == (2, 3)
    assert "Positivo: 100% (2)" in blocks_text(report_a)
    assert "Negativo: 100% (3)" in blocks_text(report_b)

    # Buttons: A shares its report with A's token, in A's channel, with A's numbers.
    bot.sender.action(SHARE_ACTION_ID, share_value(report_a), fake_slack.response_url("sa"),
                      team_id=TA, user_id="U0USER1")
    [post] = fake_slack.wait_for("api", "chat.postMessage")
    assert token_of(post) == TOKEN_A and analysed(post.params) == 2
    # A's button value replayed in B shares B's own report (B's token, B's numbers) at most.
    bot.sender.action(SHARE_ACTION_ID, share_value(report_a), fake_slack.response_url("sb"),
                      team_id=TB, user_id="U0USER1")
    fake_slack.wait_for("response", "sb")
    assert all(token_of(p) == TOKEN_B and analysed(p.params) == 3
               for p in fake_slack.recorded("api", "chat.postMessage")[1:])

    # A switch changed in B leaves A's channel alone.
    assert "pausou a análise" in blocks_text(answer(bot, fake_slack, TB, "pausar", "pb"))
    assert bot.store.channel_settings(TB, "C0GERAL").paused
    assert not bot.store.channel_settings(TA, "C0GERAL").paused

    # App Home: A's viewer sees A's mood, published with A's token.
    fake_slack.memberships["U0VIEWER"] = ["C0AGORA"]
    bot.sender.home_opened("U0VIEWER", team_id=TA)
    [home] = fake_slack.wait_for("api", "views.publish")
    assert token_of(home) == TOKEN_A
    assert "1 mensagem · humor +100 (positivo 🙂)" in blocks_text(home.params["view"])
    assert "humor −100" not in blocks_text(home.params["view"])

    # Moderation: B's admin sets B's channel; A's settings stay empty.
    fake_slack.admins.add("U0ADMB")
    fake_slack.workspaces.user_teams["U0ADMB"] = TB
    answer(bot, fake_slack, TB, "moderacao <#C0MODSB|mods>", "mb", user="U0ADMB")
    assert bot.store.moderation_settings(TB).channel_id == "C0MODSB"
    assert bot.store.moderation_settings(TA).channel_id is None

    # Digest: each workspace's channel gets its own week, with its own token.
    answer(bot, fake_slack, TA, "resumo on", "da")
    answer(bot, fake_slack, TB, "retomar", "rb2")
    answer(bot, fake_slack, TB, "resumo on", "db")
    posted_before = len(fake_slack.recorded("api", "chat.postMessage"))
    run = task(bot, "digest")
    assert run.status_code == 200, run.text
    assert run.json()["posted"] == ["C0GERAL", "C0GERAL"]
    digests = fake_slack.recorded("api", "chat.postMessage")[posted_before:]
    assert sorted((token_of(p), analysed(p.params)) for p in digests) == [
        (TOKEN_A, 2), (TOKEN_B, 3)]

    # Export: A's figures only.
    exported = export(bot.store_env, team=TA)
    assert exported["totals"]["positive"] == 2 and exported["totals"]["negative"] == 0


def export(store_env: dict[str, str], team: str) -> dict:
    """``python -m bot report --team <team> --channel C0GERAL --days 30`` against the store."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for key, value in store_env.items():
            patch.setenv(key, value)
        with contextlib.redirect_stdout(out):
            assert export_main(["--team", team, "--channel", "C0GERAL", "--days", "30"]) == 0
    return json.loads(out.getvalue())


def test_another_companys_member_is_refused_and_their_messages_not_counted(oauth_bot,
                                                                             fake_slack):
    """Slack Connect: in A's shared channel, a member of company X clicks a button (refused
    on response_url, in Portuguese) and writes messages (not counted by A: counted once, by
    their own workspace's installation, here B's); each refusal is counted by kind."""
    install(oauth_bot, fake_slack, TA, TOKEN_A, "Empresa A")
    install(oauth_bot, fake_slack, TB, TOKEN_B, "Empresa B")
    report = answer(oauth_bot, fake_slack, TA, "relatorio", "ra")
    oauth_bot.sender.action(SHARE_ACTION_ID, share_value(report), fake_slack.response_url("x"),
                            team_id=TA, user_id="U0EXTERNO", user_team_id=TC)
    [refusal] = fake_slack.wait_for("response", "x")
    assert FOREIGN in refusal.params["text"] and refusal.params["response_type"] == "ephemeral"

    # The same message event delivered for both installations: counted once, by B (its author's).
    event = message_event(POSITIVE, channel="C0SHARED", team=TB, ts="1764500000.000100")
    for team in (TA, TB):
        assert oauth_bot.sender.event(event, event_id="Ev0SHARED", team_id=team,
                                      ext_shared=True).status_code == 200
    oauth_bot.settle()
    assert counted(oauth_bot.store, TB, "C0SHARED")["positive"] == 1
    assert counted(oauth_bot.store, TA, "C0SHARED")["positive"] == 0
    assert not fake_slack.recorded("api", "chat.postMessage")
    lines = metric(oauth_bot, "sentimento_bot_foreign_team_requests_total")
    assert 'kind="action"} 1.0' in lines and 'kind="message"} 1.0' in lines


def test_uninstall_deletes_the_installation_now_and_the_data_after_the_grace_period(
        oauth_bot, fake_slack):
    """``app_uninstalled`` in B: B's installation is gone at once (B's requests get "not
    installed"); its data stays until the grace period ends (0 days here), then
    ``POST /tasks/retention`` deletes all of it, and nothing of A's."""
    install(oauth_bot, fake_slack, TA, TOKEN_A, "Empresa A")
    install(oauth_bot, fake_slack, TB, TOKEN_B, "Empresa B")
    send(oauth_bot, TA, POSITIVE)
    send(oauth_bot, TB, NEGATIVE)
    wait_until(lambda: oauth_bot.counter.counted == 2, what="2 counted")
    answer(oauth_bot, fake_slack, TB, "pausar", "pb")
    installations = oauth_bot.app.installation_store
    assert oauth_bot.sender.event({"type": "app_uninstalled"}, team_id=TB).status_code == 200
    wait_until(lambda: installations.find_bot(enterprise_id=None, team_id=TB) is None,
               what="B's installation deleted")
    assert installations.find_bot(enterprise_id=None, team_id=TA).bot_token == TOKEN_A
    wait_until(lambda: oauth_bot.store.forgets_due(time.time()) == [TB], what="B scheduled")
    assert counted(oauth_bot.store, TB)["negative"] == 1  # kept during the grace period
    oauth_bot.sender.command("relatorio", fake_slack.response_url("gone"), team_id=TB)
    assert "não está instalado" in fake_slack.wait_for("response", "gone")[0].params["text"]

    refused = oauth_bot.sender.client.post(oauth_bot.server.url + "/tasks/retention")
    assert refused.status_code == 401
    run = task(oauth_bot, "retention")
    assert run.status_code == 200, run.text
    assert list(run.json()["workspaces_forgotten"]) == [TB]
    assert counted(oauth_bot.store, TB)["negative"] == 0
    assert not oauth_bot.store.channel_settings(TB, "C0GERAL").paused
    assert counted(oauth_bot.store, TA)["positive"] == 1
    assert task(oauth_bot, "retention").json()["workspaces_forgotten"] == {}


def test_a_reinstall_within_the_grace_period_keeps_the_data(bot_factory, lexicon_classifier,
                                                            fake_slack, sqlite_env, open_stores):
    """Uninstalled then installed again before the deletion date: nothing is deleted."""
    settings = StoreSettings.from_env({**sqlite_env, "FLUSH_INTERVAL": "0"})
    bot = bot_factory(lexicon_classifier, open_stores({**sqlite_env, "FLUSH_INTERVAL": "0"}),
                      env=oauth_env(fake_slack), installations=open_installation_store(
                          settings, CLIENT_ID), oauth_states=open_state_store(settings))
    install(bot, fake_slack, TA, TOKEN_A, "Empresa A")
    send(bot, TA, POSITIVE)
    wait_until(lambda: bot.counter.counted == 1, what="1 counted")
    bot.sender.event({"type": "app_uninstalled"}, team_id=TA)
    wait_until(lambda: bot.store.forgets_due(time.time() + 31 * 86_400) == [TA],
               what="deletion scheduled in 30 days")
    assert bot.store.forgets_due(time.time() + 29 * 86_400) == []
    install(bot, fake_slack, TA, TOKEN_A, "Empresa A")
    assert bot.store.forgets_due(time.time() + 365 * 86_400) == []
    assert counted(bot.store, TA)["positive"] == 1


def test_a_rotating_bot_token_is_refreshed_through_slack_api_url(oauth_bot, fake_slack):
    """Token rotation: a bot token about to expire is refreshed (``oauth.v2.access`` with
    ``grant_type=refresh_token`` at SLACK_API_URL) before a request uses it, and before the
    digest does; the new token and refresh token are saved and used from then on."""
    fake_slack.install("code-r", TA, "xoxe.xoxb-old", team_name="Empresa A",
                       refresh_token="xoxe-1-r1", expires_in=600)
    _page, cookie, state = install_page(oauth_bot)
    assert redirect(oauth_bot, f"code=code-r&state={state}", cookie).status_code == 200
    fake_slack.rotate("xoxe-1-r1", TA, "xoxe.xoxb-new", "xoxe-1-r2", expires_in=600)
    oauth_bot.sender.home_opened("U0VIEWER", team_id=TA)
    [home] = fake_slack.wait_for("api", "views.publish")
    assert token_of(home) == "xoxe.xoxb-new"
    bot = oauth_bot.app.installation_store.find_bot(enterprise_id=None, team_id=TA)
    assert (bot.bot_token, bot.bot_refresh_token) == ("xoxe.xoxb-new", "xoxe-1-r2")

    # Each use within 120 minutes of the expiry refreshes first: the command...
    fake_slack.rotate("xoxe-1-r2", TA, "xoxe.xoxb-newer", "xoxe-1-r3", expires_in=600)
    answer(oauth_bot, fake_slack, TA, "resumo on", "on")
    # ...and the digest, which no request carries (bot.workspaces.oauth.bot_clients).
    fake_slack.rotate("xoxe-1-r3", TA, "xoxe.xoxb-newest", "xoxe-1-r4")
    send(oauth_bot, TA, POSITIVE, ts=f"{time.time() - 7 * 86_400:.6f}")
    wait_until(lambda: oauth_bot.counter.counted == 1, what="1 counted")
    assert task(oauth_bot, "digest").json()["posted"] == ["C0GERAL"]
    [digest] = fake_slack.recorded("api", "chat.postMessage")
    assert token_of(digest) == "xoxe.xoxb-newest"
    refreshes = [c for c in fake_slack.recorded("api", "oauth.v2.access")
                 if c.params.get("grant_type") == "refresh_token"]
    assert [c.params["refresh_token"] for c in refreshes] == ["xoxe-1-r1", "xoxe-1-r2",
                                                              "xoxe-1-r3"]
    assert oauth_bot.app.installation_store.find_bot(
        enterprise_id=None, team_id=TA).bot_refresh_token == "xoxe-1-r4"


# ------------------------------------------------------------------ single workspace

@pytest.fixture
def single_bot(bot_factory, lexicon_classifier, fake_slack):
    """A bot with one token (its team: TEAM_ID, from auth.test)."""
    return bot_factory(lexicon_classifier, env=bot_env(fake_slack))


def test_single_workspace_refuses_another_team_and_counts_its_own_only(single_bot, fake_slack):
    """With one token, the token's team (auth.test) is the only one: another team's command
    gets the Portuguese refusal as its ack, another company's member's message in a shared
    channel is not counted, this team's are."""
    refused = single_bot.sender.command("pausar", fake_slack.response_url("x"), team_id=TC)
    assert refused.status_code == 200
    assert refused.json()["response_type"] == "ephemeral" and FOREIGN in refused.json()["text"]
    assert not single_bot.store.channel_settings(TC, "C0GERAL").paused
    assert not fake_slack.recorded("response", "x")
    send(single_bot, TEAM_ID, POSITIVE, channel="C0SHARED", author_team=TC, ext_shared=True)
    send(single_bot, TEAM_ID, POSITIVE, channel="C0SHARED", ext_shared=True)
    single_bot.settle()
    assert counted(single_bot.store, TEAM_ID, "C0SHARED")["positive"] == 1
    assert counted(single_bot.store, TC, "C0SHARED")["positive"] == 0
    lines = metric(single_bot, "sentimento_bot_foreign_team_requests_total")
    assert 'kind="command"} 1.0' in lines and 'kind="message"} 1.0' in lines


def test_single_workspace_uninstall_and_retention(bot_factory, lexicon_classifier, fake_slack):
    """With one token: ``app_uninstalled`` schedules the data's deletion; the sweep keeps the
    data while ``auth.test`` of the token still names the workspace (reinstalled), and deletes
    it once the token is revoked."""
    bot = bot_factory(lexicon_classifier, env=bot_env(fake_slack, DIGEST_SECRET=DIGEST_SECRET,
                                                      WORKSPACE_GRACE_DAYS="0"))
    send(bot, TEAM_ID, POSITIVE)
    wait_until(lambda: bot.counter.counted == 1, what="1 counted")
    for attempt in ("kept", "forgotten"):
        assert bot.sender.event({"type": "app_uninstalled"}).status_code == 200
        wait_until(lambda: bot.store.forgets_due(time.time()) == [TEAM_ID], what="scheduled")
        if attempt == "forgotten":
            fake_slack.error_next("auth.test", "invalid_auth")
        run = task(bot, "retention").json()
        if attempt == "kept":
            assert run["workspaces_kept"] == [TEAM_ID] and run["workspaces_forgotten"] == {}
            assert counted(bot.store, TEAM_ID)["positive"] == 1
        else:
            assert list(run["workspaces_forgotten"]) == [TEAM_ID]
            assert counted(bot.store, TEAM_ID)["positive"] == 0
        assert bot.store.forgets_due(time.time()) == []


def test_an_externally_shared_moderators_channel_is_refused(single_bot, fake_slack):
    """``moderacao #canal`` with a channel shared with another company: refused with the reason
    (alerts about private channels would leave the company), nothing set; a channel of this
    workspace only is set."""
    fake_slack.admins.add("U0ADMIN")
    fake_slack.workspaces.ext_shared.add("C0CONNECT")
    shared = answer(single_bot, fake_slack, TEAM_ID, "moderacao <#C0CONNECT|parceiros>", "s",
                    user="U0ADMIN")
    assert "compartilhado com outra empresa" in blocks_text(shared)
    assert "Nada foi alterado" in blocks_text(shared)
    assert single_bot.store.moderation_settings(TEAM_ID).channel_id is None
    answer(single_bot, fake_slack, TEAM_ID, "moderacao <#C0MODS|mods>", "ok", user="U0ADMIN")
    assert single_bot.store.moderation_settings(TEAM_ID).channel_id == "C0MODS"
    fake_slack.error_next("conversations.info", "ratelimited")
    unknown = answer(single_bot, fake_slack, TEAM_ID, "moderacao <#C0OUTRO|x>", "u",
                     user="U0ADMIN")
    assert "Não consegui verificar" in blocks_text(unknown)
    assert single_bot.store.moderation_settings(TEAM_ID).channel_id == "C0MODS"


def test_forget_command_deletes_a_workspace_now(sqlite_env, open_stores, monkeypatch, capsys):
    """``python -m bot forget --team T``: every record of T deleted (printed by kind), other
    teams untouched; a malformed id is refused with status 2."""
    env = {**sqlite_env, "FLUSH_INTERVAL": "0"}
    store = open_stores(env)
    store.set_paused(TA, "C0GERAL", True)
    store.set_paused(TB, "C0GERAL", True)
    store.schedule_forget(TA, time.time() + 86_400)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SLACK_CLIENT_ID", raising=False)
    assert forget_main(["--team", TA]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["team"] == TA and printed["deleted"]["channels"] == 1
    assert not store.channel_settings(TA, "C0GERAL").paused
    assert store.channel_settings(TB, "C0GERAL").paused
    assert store.forgets_due(time.time() + 2 * 86_400) == []
    assert forget_main(["--team", "T0 ; drop"]) == 2
