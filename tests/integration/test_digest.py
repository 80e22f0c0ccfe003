"""The weekly digest and its switch, on a real SQLite store and the real Web API client talking
to the fake Slack: ``resumo off`` stops the digest, a channel the bot cannot post in is given up
for the week (not retried every hour), any other failure is released for the scheduler's retry."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from slack_sdk import WebClient

from bot.counting.model import Observation
from bot.failures import FAILURES
from bot.reports.digest import digest_job, send_weekly_digests
from bot.reports.model import last_week
from bot.reports.usecases import switch_digest
from service.labels import LABELS
from tests.support.slack_harness import BOT_TOKEN, TEAM_ID

T = TEAM_ID
MONDAY = dt.date(2026, 11, 23)  # the digest of the week 2026-11-16..22 is sent on this day
LAST_WEEK = "2026-11-18"


@pytest.fixture
def store(sqlite_env, open_stores):
    """A real SQLite store, written at once."""
    return open_stores({**sqlite_env, "FLUSH_INTERVAL": "0", "CHANNEL_CACHE_SECONDS": "0"})


@pytest.fixture
def client(fake_slack):
    """The real Web API client, answered by the fake Slack."""
    return WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)


def count(store, channel: str, label: str = "positive", team: str = T) -> None:
    """One message counted in ``channel`` last week."""
    store.record([Observation(team, channel, LAST_WEEK, label,
                              {name: 0.9 if name == label else 0.05 for name in LABELS})])


def resumo(store, channel: str, args: str, team: str = T) -> dict:
    """``/sentimento resumo <args>`` in ``channel``."""
    return switch_digest(store, team, channel, "U0USER1", args)


def posted(fake_slack) -> list[str]:
    """The channels Slack accepted a digest for, in order."""
    return [call.params["channel"] for call in fake_slack.recorded("api", "chat.postMessage")
            if call.outcome == "ok"]


def run(store, client, team: str | None = T):
    """One digest run on Monday (charts off: the chart upload is tested with the bot)."""
    return send_weekly_digests(store, client, MONDAY, team_id=team, charts=False)


@pytest.mark.parametrize("off", ["off", "desligar", "desativar", "OFF", "Não"])
def test_resumo_off_turns_the_weekly_digest_off(store, client, fake_slack, off):
    """``resumo on`` then ``resumo off`` (or a Portuguese synonym): the channel gets no digest,
    and the channel is told who turned it off."""
    count(store, "C0GERAL")
    count(store, "C0OUTRO")
    for channel in ("C0GERAL", "C0OUTRO"):
        assert "ligou o resumo semanal" in str(resumo(store, channel, "ativar"))
    answer = resumo(store, "C0GERAL", off)
    assert answer["response_type"] == "in_channel" and "desligou o resumo semanal" in str(answer)
    assert "desligado" in str(resumo(store, "C0GERAL", ""))
    assert store.digest_channels() == [(T, "C0OUTRO")]
    assert run(store, client).posted == ["C0OUTRO"]
    assert posted(fake_slack) == ["C0OUTRO"]


def test_resumo_on_twice_says_it_was_already_on(store):
    """Turning the digest on when it is on changes nothing and says so, privately."""
    resumo(store, "C0GERAL", "on")
    again = resumo(store, "C0GERAL", "ligar")
    assert again["response_type"] == "ephemeral" and "já está ligado" in str(again)


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found", "is_archived"])
def test_a_channel_the_bot_can_no_longer_post_in_is_given_up_for_the_week(store, client,
                                                                         fake_slack, error):
    """The bot was removed from a channel (or it was archived): its digest is given up for the
    week, not counted as a failure and not retried by the scheduler's next call; the other
    channels get theirs."""
    for channel in ("C0AAA", "C0GERAL"):
        count(store, channel)
        resumo(store, channel, "on")
    fake_slack.error_next("chat.postMessage", error)
    failures = FAILURES.get("digest_channel_failed")
    first = run(store, client)
    assert (first.gave_up, first.posted, first.failed) == (["C0AAA"], ["C0GERAL"], [])
    assert FAILURES.get("digest_channel_failed") == failures
    again = run(store, client)
    assert (again.posted, again.already_sent, again.failed) == ([], ["C0AAA", "C0GERAL"], [])
    assert len(fake_slack.recorded("api", "chat.postMessage")) == 2


@pytest.mark.parametrize("error", ["ratelimited", "internal_error", "fatal_error"])
def test_a_temporary_slack_error_is_retried_by_the_next_call(store, client, fake_slack, error,
                                                              caplog):
    """Any other error: counted as a failure, the week's claim released, so the scheduler's
    retry posts that channel's digest, once."""
    count(store, "C0GERAL")
    resumo(store, "C0GERAL", "on")
    fake_slack.error_next("chat.postMessage", error)
    failures = FAILURES.get("digest_channel_failed")
    first = run(store, client)
    assert (first.failed, first.posted, first.gave_up) == (["C0GERAL"], [], [])
    assert FAILURES.get("digest_channel_failed") == failures + 1
    assert f"failure event=digest_channel_failed week=2026-W47 step=post error={error}" \
        in caplog.text
    assert run(store, client).posted == ["C0GERAL"]
    assert run(store, client).already_sent == ["C0GERAL"]
    assert posted(fake_slack) == ["C0GERAL"]


def test_a_paused_channel_gets_no_digest_until_it_is_resumed(store, client, fake_slack):
    """``pausar`` also stops the digest; after ``retomar`` the week's digest goes out."""
    count(store, "C0GERAL")
    resumo(store, "C0GERAL", "on")
    store.set_paused(T, "C0GERAL", True)
    paused = run(store, client)
    assert (paused.paused, paused.posted) == (["C0GERAL"], [])
    store.set_paused(T, "C0GERAL", False)
    assert run(store, client).posted == ["C0GERAL"]
    assert posted(fake_slack) == ["C0GERAL"]


def test_the_digest_covers_last_monday_to_sunday(store, client, fake_slack):
    """The digest sent on a Monday (or any day of the next week) reports the week before:
    messages of that week are in it, this week's are not."""
    count(store, "C0GERAL", "negative")
    store.record([Observation(T, "C0GERAL", MONDAY.isoformat(), "positive",
                              {"positive": 0.9, "neutral": 0.05, "negative": 0.05})])
    resumo(store, "C0GERAL", "on")
    done = send_weekly_digests(store, client, MONDAY + dt.timedelta(days=3), team_id=T,
                               charts=False)
    assert done.week == last_week(MONDAY)[0] == "2026-W47"
    text = fake_slack.recorded("api", "chat.postMessage")[0].params["text"]
    assert "1 mensagens" in text or "1 mensagem" in text
    assert "Negativo 100%" in text


def test_only_the_bot_tokens_workspace_gets_its_digest(store, client, fake_slack):
    """The job posts in the workspace of its token (``auth.test``) only: another workspace's
    channels in the same store (listed before and after it) are left for that workspace's bot."""
    for team in ("T0000", T, "T0OTHER"):
        count(store, "C0GERAL", team=team)
        resumo(store, "C0GERAL", "on", team=team)
    done = digest_job(store, client, lambda: MONDAY, charts=False)()
    assert done.to_dict() == {"week": "2026-W47", "posted": ["C0GERAL"], "already_sent": [],
                              "paused": [], "gave_up": [], "failed": []}
    assert posted(fake_slack) == ["C0GERAL"]
    assert store.claim_digest("T0OTHER", "C0GERAL", "2026-W47") is True
    assert store.claim_digest("T0000", "C0GERAL", "2026-W47") is True


def test_a_store_that_cannot_be_read_fails_the_channel_and_releases_nothing_else(
        store, client, fake_slack, sqlite_env, caplog):
    """The counts cannot be read for a channel (a real SQLite error): that channel fails and
    is retried by the next call once the store answers; Slack saw nothing for it."""
    count(store, "C0GERAL")
    resumo(store, "C0GERAL", "on")
    with sqlite3.connect(sqlite_env["SQLITE_PATH"]) as conn:
        conn.execute("ALTER TABLE channel_days RENAME TO channel_days_away")
    failed = run(store, client)
    assert (failed.failed, failed.posted) == (["C0GERAL"], [])
    assert "failure event=digest_channel_failed week=2026-W47 step=read error=OperationalError" \
        in caplog.text
    assert posted(fake_slack) == []
    with sqlite3.connect(sqlite_env["SQLITE_PATH"]) as conn:
        conn.execute("ALTER TABLE channel_days_away RENAME TO channel_days")
    assert run(store, client).posted == ["C0GERAL"]


def test_a_claim_that_cannot_be_released_is_counted_and_the_run_goes_on(store, client, fake_slack,
                                                                       sqlite_env, caplog):
    """Slack fails a channel's digest and then the store cannot release that week's claim: the
    run still answers (that channel failed, the next one posted) and the unreleased claim is
    counted and logged by week and error class, so an operator knows to release it."""
    for channel in ("C0AAA", "C0GERAL"):
        count(store, channel)
        resumo(store, channel, "on")
    fake_slack.error_next("chat.postMessage", "internal_error")
    with sqlite3.connect(sqlite_env["SQLITE_PATH"]) as conn:
        conn.execute("CREATE TRIGGER keep BEFORE DELETE ON claims "
                     "BEGIN SELECT RAISE(ABORT, 'read-only'); END")
    released = FAILURES.get("digest_release_failed")
    done = run(store, client)
    assert (done.failed, done.posted) == (["C0AAA"], ["C0GERAL"])
    assert FAILURES.get("digest_release_failed") == released + 1
    assert "failure event=digest_release_failed week=2026-W47 error=IntegrityError" in caplog.text


def test_the_scheduled_job_posts_the_chart_with_the_digest(store, client, fake_slack):
    """The job Cloud Scheduler calls posts the week's chart after the digest (unless charts
    are off, as for a workspace without ``files:write``)."""
    count(store, "C0GERAL")
    resumo(store, "C0GERAL", "on")
    assert digest_job(store, client, lambda: MONDAY)().posted == ["C0GERAL"]
    assert len(fake_slack.recorded("api", "files.completeUploadExternal")) == 1
    store.release_digest(T, "C0GERAL", "2026-W47")
    assert digest_job(store, client, lambda: MONDAY, charts=False)().posted == ["C0GERAL"]
    assert len(fake_slack.recorded("api", "files.completeUploadExternal")) == 1
    assert len(posted(fake_slack)) == 2


def test_a_week_that_cannot_be_claimed_fails_that_channel_and_posts_nothing(store, client,
                                                                          fake_slack, sqlite_env,
                                                                          caplog):
    """The store cannot record the week's claim (a real SQLite error): the channel's digest is
    not posted (it could be posted twice otherwise), it is counted and logged as failed at the
    claim step, and the next call posts it once the store answers."""
    count(store, "C0GERAL")
    resumo(store, "C0GERAL", "on")
    with sqlite3.connect(sqlite_env["SQLITE_PATH"]) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON claims "
                     "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    failures = FAILURES.get("digest_channel_failed")
    failed = run(store, client)
    assert (failed.failed, failed.posted, failed.already_sent) == (["C0GERAL"], [], [])
    assert FAILURES.get("digest_channel_failed") == failures + 1
    assert "failure event=digest_channel_failed week=2026-W47 step=claim error=IntegrityError" \
        in caplog.text
    assert posted(fake_slack) == []
    with sqlite3.connect(sqlite_env["SQLITE_PATH"]) as conn:
        conn.execute("DROP TRIGGER refuse")
    assert run(store, client).posted == ["C0GERAL"]
