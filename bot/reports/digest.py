"""The weekly digest: last week's report posted in every channel that asked for it
(``/sentimento resumo on``), once per channel and week, triggered by ``POST /tasks/digest``
(the route is in :mod:`bot.server`).

The endpoint is meant for Cloud Scheduler (e.g. every Monday 09:00) and is authenticated by a
shared secret in the ``X-Digest-Secret`` header (``DIGEST_SECRET``; without it the route does
not exist). The work happens inside the request, so it also runs on Cloud Run with CPU
allocated only during requests. Calling it twice, or from two instances at once, posts each
channel's digest once: each (channel, ISO week) is claimed in the store first
(``claim_digest``). Any failure after the claim (reading the counts, a Slack error, a connection
error after the Web API client's retries) releases the claim and the answer is 503, so that the
scheduler's retry posts what is missing; only Slack's permanent errors (:data:`PERMANENT_ERRORS`)
keep the claim and give the channel up for the week. One channel's failure never stops the
others; every failure is logged and counted (:mod:`bot.failures`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.reports.model import last_week, parse_period
from bot.reports.publish import post_report
from bot.reports.usecases import fetch_report
from bot.reports.views import digest_message
from bot.failures import count_failure, describe
from bot.slack import slack_error
from bot.store.base import ChannelSwitches, Claims, TallyStore

log = logging.getLogger(__name__)

# Errors a retry cannot fix: the channel's digest is given up for the week (claim kept).
PERMANENT_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived",
                              "restricted_action", "invalid_channel"})


class DigestStore(TallyStore, ChannelSwitches, Claims, Protocol):
    """What the digest needs: counts, the channels' switches and the weekly claims."""


@dataclass
class DigestRun:
    """What one digest run did, per channel id."""

    week: str
    posted: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)  # permanent error: not retried this week
    failed: list[str] = field(default_factory=list)  # any other failure: claim released, retry

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer of the endpoint."""
        return {"week": self.week, "posted": self.posted, "already_sent": self.already_sent,
                "paused": self.paused, "gave_up": self.gave_up, "failed": self.failed}


def send_weekly_digests(store: DigestStore, client: WebClient, today: dt.date, *, team_id: str | None = None,
                        charts: bool = True) -> DigestRun:
    """Post last week's (Monday to Sunday before ``today``) report in every channel with the
    digest on, except paused channels and those already sent this week. ``team_id``: only that
    workspace's channels (the one the bot token belongs to)."""
    week, sunday = last_week(today)
    run = DigestRun(week)
    for team, channel in store.digest_channels():
        if team_id is not None and team != team_id:
            continue
        _digest_channel(store, client, run, (team, channel), sunday, charts)
    log.info("digest %s: %d posted, %d already sent, %d paused, %d given up, %d failed", week,
             len(run.posted), len(run.already_sent), len(run.paused), len(run.gave_up),
             len(run.failed))
    return run


def _digest_channel(store: DigestStore, client: WebClient, run: DigestRun,
                    where: tuple[str, str], sunday: dt.date, charts: bool) -> None:
    """One channel's digest, recorded in ``run``; never raises."""
    team, channel, week = where[0], where[1], run.week
    try:
        if store.channel_settings(team, channel).paused:
            run.paused.append(channel)
            return
        if not store.claim_digest(team, channel, week):
            run.already_sent.append(channel)
            return
    except Exception as exc:  # pylint: disable=broad-exception-caught  # nothing claimed: retried
        count_failure("digest_channel_failed", f"week={week} step=claim error={describe(exc)}")
        run.failed.append(channel)
        return
    step = "read"
    try:
        report = fetch_report(store, team, channel, parse_period("7d"), sunday)
        step = "post"
        post_report(client, channel, digest_message(report, week), report, chart=charts)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # released below, retried
        error = slack_error(exc) if isinstance(exc, SlackApiError) else describe(exc)
        if error in PERMANENT_ERRORS:
            log.warning("digest %s for %s given up: %s", week, channel, error)
            run.gave_up.append(channel)
            return
        count_failure("digest_channel_failed", f"week={week} step={step} error={error}")
        run.failed.append(channel)
        _release(store, team, channel, week)
        return
    run.posted.append(channel)


def _release(store: DigestStore, team: str, channel: str, week: str) -> None:
    """Release a failed channel's claim so that the scheduler's retry posts it."""
    try:
        store.release_digest(team, channel, week)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # logged and counted
        count_failure("digest_release_failed", f"week={week} error={describe(exc)}")


def digest_job(store: DigestStore, client: WebClient, today: Callable[[], dt.date], *,
               charts: bool = True) -> Callable[[], DigestRun]:
    """The job the endpoint runs: the bot token's workspace (``auth.test``), today's date."""

    def job() -> DigestRun:
        team_id = client.auth_test().get("team_id")
        return send_weekly_digests(store, client, today(), team_id=team_id, charts=charts)

    return job


def digest_job_per_team(store: DigestStore, client_for: Callable[[str], WebClient | None],
                        today: Callable[[], dt.date], *,
                        charts: bool = True) -> Callable[[], DigestRun]:
    """The job of the endpoint in OAuth mode: each workspace's channels with the client of its
    own installation (``client_for``); a workspace with none (uninstalled) is skipped and its
    channels listed as given up."""

    def job() -> DigestRun:
        day = today()
        total = DigestRun(last_week(day)[0])
        channels = store.digest_channels()
        for team in sorted({team for team, _channel in channels}):
            client = client_for(team)
            if client is None:
                total.gave_up.extend(channel for t, channel in channels if t == team)
                continue
            run = send_weekly_digests(store, client, day, team_id=team, charts=charts)
            for name in ("posted", "already_sent", "paused", "gave_up", "failed"):
                getattr(total, name).extend(getattr(run, name))
        return total

    return job
