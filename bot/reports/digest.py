"""The weekly digest: last week's report posted in every channel that asked for it
(``/sentimento resumo on``), once per channel and week, triggered by ``POST /tasks/digest``
(the route is in :mod:`bot.server`).

The endpoint is meant for Cloud Scheduler (e.g. every Monday 09:00) and is authenticated by a
shared secret in the ``X-Digest-Secret`` header (``DIGEST_SECRET``; without it the route does
not exist). The work happens inside the request, so it also runs on Cloud Run with CPU
allocated only during requests. Calling it twice, or from two instances at once, posts each
channel's digest once: each (channel, ISO week) is claimed in the store first
(``claim_digest``); a post that fails with a temporary error releases its claim, and the
answer is 503 so that the scheduler's retry posts what is missing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from slack_sdk import WebClient

from bot.reports.model import last_week, parse_period
from bot.reports.publish import post_report
from bot.reports.usecases import fetch_report
from bot.reports.views import digest_message
from bot.slack import SLACK_ERRORS, slack_error
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
    failed: list[str] = field(default_factory=list)  # temporary error: claim released, retry

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
        if store.channel_settings(team, channel).paused:
            run.paused.append(channel)
            continue
        if not store.claim_digest(team, channel, week):
            run.already_sent.append(channel)
            continue
        error = _post_digest(store, client, team, channel, sunday, week, charts)
        if error is None:
            run.posted.append(channel)
        elif error in PERMANENT_ERRORS:
            log.warning("digest %s for %s given up: %s", week, channel, error)
            run.gave_up.append(channel)
        else:
            log.warning("digest %s for %s failed, will retry: %s", week, channel, error)
            store.release_digest(team, channel, week)
            run.failed.append(channel)
    log.info("digest %s: %d posted, %d already sent, %d paused, %d given up, %d failed", week,
             len(run.posted), len(run.already_sent), len(run.paused), len(run.gave_up),
             len(run.failed))
    return run


def _post_digest(store: DigestStore, client: WebClient, team: str, channel: str, sunday: dt.date, week: str,
                 charts: bool) -> str | None:
    """Post one channel's digest; None when posted, else Slack's error code."""
    report = fetch_report(store, team, channel, parse_period("7d"), sunday)
    try:
        post_report(client, channel, digest_message(report, week), report, chart=charts)
    except SLACK_ERRORS as exc:
        return slack_error(exc)
    return None


def digest_job(store: DigestStore, client: WebClient, today: Callable[[], dt.date], *,
               charts: bool = True) -> Callable[[], DigestRun]:
    """The job the endpoint runs: the bot token's workspace (``auth.test``), today's date."""

    def job() -> DigestRun:
        team_id = client.auth_test().get("team_id")
        return send_weekly_digests(store, client, today(), team_id=team_id, charts=charts)

    return job
