"""The reports' use cases: each reads and changes the store and Slack through the dependencies
it is given, and returns what the user should read (the listeners in :mod:`handlers.reports`
only translate Slack payloads to these calls and send the answer).

A report answers only for the channel where it was asked: the command's own channel, and the
share button posts only into the channel its report is about.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Protocol, Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import notice
from bot.ids import is_channel_id
from bot.reports import views
from bot.reports.model import Period, PeriodError, Report, build_report, parse_period, report_range
from bot.reports.publish import post_report
from bot.slack import SLACK_ERRORS, member_channels, slack_error
from bot.store.base import ChannelSwitches, TallyStore

log = logging.getLogger(__name__)

HOME_DAYS = 7
HOME_CHANNELS = 10
HOME_RANKED = 500  # channels read from the store before keeping those the viewer is in

Answer = dict[str, Any]  # keyword arguments for ``respond``


def fetch_report(store: TallyStore, team_id: str, channel_id: str, period: Period,
                 today: dt.date) -> Report:
    """Read the counts a report needs from the store (one ranged read) and build it."""
    first, last = report_range(period, today)
    return build_report(team_id, channel_id, period, today,
                        store.daily_counts(team_id, channel_id, first, last))


class ReportStore(TallyStore, ChannelSwitches, Protocol):
    """What a report needs: counts and the channel's switches (to say it is paused)."""


def channel_report(store: ReportStore, team_id: str, channel_id: str, args: str,
                   today: dt.date) -> Answer:
    """``/sentimento relatorio [hoje|7d|30d]``: the channel's report, only for the caller."""
    if not is_channel_id(channel_id):
        return {"response_type": "ephemeral", **views.not_a_channel_message("relatorio")}
    try:
        period = parse_period(args)
    except PeriodError as exc:
        return {"response_type": "ephemeral", **notice(str(exc))}
    report = fetch_report(store, team_id, channel_id, period, today)
    paused = store.channel_settings(team_id, channel_id).paused
    return {"response_type": "ephemeral", **views.report_message(report, paused=paused)}


def switch_pause(store: ChannelSwitches, team_id: str, channel_id: str, user_id: str,
                 paused: bool, subcommand: str) -> Answer:
    """``pausar`` (``paused``) or ``retomar``: said in the channel when it changed something."""
    if not is_channel_id(channel_id):
        return {"response_type": "ephemeral", **views.not_a_channel_message(subcommand)}
    before = store.channel_settings(team_id, channel_id).paused
    store.set_paused(team_id, channel_id, paused)
    return views.pause_message(user_id, paused, changed=before != paused)


def switch_digest(store: ChannelSwitches, team_id: str, channel_id: str, user_id: str,
                  args: str) -> Answer:
    """``resumo`` (the state), ``resumo on|off`` (and Portuguese synonyms) for this channel."""
    if not is_channel_id(channel_id):
        return {"response_type": "ephemeral", **views.not_a_channel_message("resumo")}
    before = store.channel_settings(team_id, channel_id).digest
    if not args.strip():
        return views.digest_status_message(before)
    enabled = views.parse_switch(args)
    if enabled is None:
        return views.digest_usage_message(args.strip())
    store.set_digest(team_id, channel_id, enabled)
    return views.digest_changed_message(user_id, enabled, changed=before != enabled)


def share_report(store: TallyStore, client: WebClient, value: str, here: tuple[str, str],
                 user_id: str, today: dt.date, *, charts: bool = True) -> Answer:
    """The "Compartilhar no canal" button: post the report named by the button's ``value`` in
    its channel, if that is the channel ``here`` (team, channel) where the button was clicked.
    The answer replaces the caller's copy, or (on a problem) is a new ephemeral message."""
    try:
        team_id, channel_id, period = views.parse_share_value(value)
    except ValueError:
        return {"response_type": "ephemeral", "replace_original": False,
                **views.bad_share_message()}
    if not all(here) or (team_id, channel_id) != here:
        log.warning("share button for another channel refused")
        return {"response_type": "ephemeral", "replace_original": False,
                **views.wrong_channel_message()}
    report = fetch_report(store, team_id, channel_id, period, today)
    try:
        post_report(client, channel_id, views.shared_report_message(report, user_id), report,
                    chart=charts)
    except SlackApiError as exc:
        error = slack_error(exc)
        log.warning("shared report not posted: %s", error)
        return {"response_type": "ephemeral", "replace_original": False,
                **views.share_failed_message(error)}
    return views.shared_confirmation(report)


def home_channel_moods(store: ReportStore, client: WebClient, team_id: str, user_id: str,
                       today: dt.date, *, days: int = HOME_DAYS,
                       limit: int = HOME_CHANNELS) -> Sequence[dict]:
    """The App Home's channel moods: the workspace's most active channels over ``days`` that
    the viewer is a member of, with their mood; a Portuguese notice when Slack or the store
    cannot answer (the rest of the Home still shows)."""
    try:
        visible = member_channels(client, user_id)
    except SLACK_ERRORS as exc:
        log.warning("App Home: users.conversations failed: %s", slack_error(exc))
        return views.home_channels_unavailable()
    try:
        ranked = store.top_channels(team_id, today - dt.timedelta(days=days - 1), today,
                                    limit=HOME_RANKED)
        shown = [activity for activity in ranked if activity.channel_id in visible][:limit]
        paused = [a.channel_id for a in shown
                  if store.channel_settings(team_id, a.channel_id).paused]
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the Home tab still shows
        log.error("App Home: channel moods unavailable: %s", exc.__class__.__name__)
        return views.home_moods_unavailable()
    return views.home_channels_blocks(shown, paused, days=days)
