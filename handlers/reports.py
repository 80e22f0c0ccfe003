"""Channel reports in Slack: ``/sentimento relatorio|pausar|retomar|resumo``, the share button
and the App Home's channel moods.

The subcommands run after the ack (lazy listeners, see :mod:`handlers.commands`). A report
answers only for the channel where it was asked: the command's own channel, and the share
button posts only into the channel its report is about.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Sequence
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import report_views as views
from bot.messages import SubcommandHelp, notice
from bot.publish import post_report, slack_error
from bot.reports import SHARE_ACTION_ID, PeriodError, fetch_report, parse_period, parse_share_value
from handlers.commands import Subcommand

log = logging.getLogger(__name__)

HOME_DAYS = 7
HOME_CHANNELS = 10
MAX_CONVERSATION_PAGES = 20

Today = Callable[[], dt.date]


def today_in(timezone: ZoneInfo) -> Today:
    """A function giving today's date in the workspace's time zone."""
    return lambda: dt.datetime.now(timezone).date()


def in_a_channel(channel_id: str) -> bool:
    """True for a public or private channel id (not a DM, ``D...``, nor a missing id)."""
    return bool(channel_id) and channel_id[0] in ("C", "G")


def subcommands(store: Any, today: Today) -> list[Subcommand]:
    """``relatorio``, ``pausar``, ``retomar`` and ``resumo``, for :func:`handlers.commands.register`."""

    def ids(command: dict) -> tuple[str, str, str]:
        return command.get("team_id", ""), command.get("channel_id", ""), command.get("user_id", "")

    def run_report(args: str, command: dict, respond: Respond, **_kwargs) -> None:
        team, channel, _user = ids(command)
        if not in_a_channel(channel):
            respond(response_type="ephemeral", **views.not_a_channel_message("relatorio"))
            return
        try:
            period = parse_period(args)
        except PeriodError as exc:
            respond(response_type="ephemeral", **notice(str(exc)))
            return
        report = fetch_report(store, team, channel, period, today())
        paused = store.channel_settings(team, channel).paused
        respond(response_type="ephemeral", **views.report_message(report, paused=paused))

    def pause_switch(paused: bool, name: str) -> Callable[..., None]:
        def run(command: dict, respond: Respond, **_kwargs) -> None:
            team, channel, user = ids(command)
            if not in_a_channel(channel):
                respond(response_type="ephemeral", **views.not_a_channel_message(name))
                return
            before = store.channel_settings(team, channel).paused
            store.set_paused(team, channel, paused)
            respond(**views.pause_message(user, paused, changed=before != paused))
        return run

    def run_digest_switch(args: str, command: dict, respond: Respond, **_kwargs) -> None:
        team, channel, user = ids(command)
        if not in_a_channel(channel):
            respond(response_type="ephemeral", **views.not_a_channel_message("resumo"))
            return
        before = store.channel_settings(team, channel).digest
        if not args.strip():
            respond(**views.digest_status_message(before))
            return
        enabled = views.parse_switch(args)
        if enabled is None:
            respond(**views.digest_usage_message(args.strip()))
            return
        store.set_digest(team, channel, enabled)
        respond(**views.digest_changed_message(user, enabled, changed=before != enabled))

    return [
        Subcommand("relatorio", SubcommandHelp(
            "relatorio [hoje|7d|30d]",
            "o humor deste canal no período (padrão: 7d), só para você, com um botão para "
            "compartilhar no canal"), run_report),
        Subcommand("pausar", SubcommandHelp(
            "pausar", "para de analisar e contar as mensagens deste canal"),
            pause_switch(True, "pausar")),
        Subcommand("retomar", SubcommandHelp(
            "retomar", "volta a analisar e contar as mensagens deste canal"),
            pause_switch(False, "retomar")),
        Subcommand("resumo", SubcommandHelp(
            "resumo on|off", "liga ou desliga o resumo semanal do humor publicado neste canal"),
            run_digest_switch),
    ]


def register(app: App, store: Any, today: Today, *, charts: bool = True) -> None:
    """Listen to the report's "Compartilhar no canal" button: ack at once, post after the ack."""

    def ack_action(ack: Ack) -> None:
        ack()

    def share(body: dict, action: dict, client, respond: Respond) -> None:
        try:
            team, channel, period = parse_share_value(action.get("value", ""))
        except ValueError:
            respond(response_type="ephemeral", replace_original=False, **views.bad_share_message())
            return
        here = ((body.get("team") or {}).get("id"), (body.get("channel") or {}).get("id"))
        if (team, channel) != here:
            log.warning("share button for another channel refused")
            respond(response_type="ephemeral", replace_original=False,
                    **views.wrong_channel_message())
            return
        user = (body.get("user") or {}).get("id", "")
        report = fetch_report(store, team, channel, period, today())
        try:
            post_report(client, channel, views.shared_report_message(report, user), report,
                        chart=charts)
        except SlackApiError as exc:
            error = slack_error(exc)
            log.warning("shared report not posted: %s", error)
            respond(response_type="ephemeral", replace_original=False,
                    **views.share_failed_message(error))
            return
        respond(**views.shared_confirmation(report))

    app.action(SHARE_ACTION_ID)(ack=ack_action, lazy=[share])


def member_channels(client: Any, user_id: str) -> set[str]:
    """The public and private channels ``user_id`` is a member of (``users.conversations``;
    private ones only where the bot is a member too), following the pagination cursor."""
    found: set[str] = set()
    cursor = None
    for _page in range(MAX_CONVERSATION_PAGES):
        page = client.users_conversations(user=user_id, types="public_channel,private_channel",
                                          exclude_archived=True, limit=999, cursor=cursor)
        found.update(channel["id"] for channel in page.get("channels") or [])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return found


def home_sections(store: Any, today: Today, *, days: int = HOME_DAYS,
                  limit: int = HOME_CHANNELS) -> Callable[[str, str, Any], Sequence[dict]]:
    """The App Home's channel moods: ``sections(team_id, user_id, client)`` gives the blocks
    of the workspace's most active channels over ``days`` that the viewer is a member of."""

    def sections(team_id: str, user_id: str, client: Any) -> Sequence[dict]:
        end = today()
        try:
            visible = member_channels(client, user_id)
        except (SlackApiError, SlackClientError) as exc:
            log.warning("App Home: users.conversations failed: %s", slack_error(exc))
            return views.home_channels_unavailable()
        try:
            ranked = store.top_channels(team_id, end - dt.timedelta(days=days - 1), end, limit=500)
            shown = [activity for activity in ranked if activity.channel_id in visible][:limit]
            paused = [a.channel_id for a in shown
                      if store.channel_settings(team_id, a.channel_id).paused]
        except Exception as exc:  # pylint: disable=broad-exception-caught  # the Home tab still shows
            log.error("App Home: channel moods unavailable: %s", exc.__class__.__name__)
            return views.home_moods_unavailable()
        return views.home_channels_blocks(shown, paused, days=days)

    return sections
