"""Moderation's use cases behind the subcommands (``moderacao``, ``limiar``, ``regra``), the
alert buttons and the admin's App Home section. Each takes its dependencies explicitly and
returns what the user should read; :mod:`handlers.moderation` only translates payloads.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable, Sequence

from slack_sdk import WebClient

from bot.failures import count_failure
from bot.ids import valid_id
from bot.moderation import views
from bot.moderation.alerts import post_pending
from bot.moderation.rules import (
    Alert, ModerationRule, ModerationSettings, RuleError, parse_channel, parse_group,
    parse_threshold,
)
from bot.slack import SLACK_ERRORS, member_channels, slack_error
from bot.store.base import ModerationStore

log = logging.getLogger(__name__)

Answer = dict[str, Any]  # keyword arguments for ``respond``
RuleChange = Callable[[str, ModerationRule], ModerationRule]


def may_change_settings(client: WebClient, store: ModerationStore, team_id: str,
                        user_id: str) -> bool:
    """Workspace admins and owners (``users.info``) and members of the configured moderators'
    user group (``usergroups.users.list``). Raises Slack errors for the caller to report."""
    user = client.users_info(user=user_id).get("user") or {}
    if user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"):
        return True
    group_id = store.moderation_settings(team_id).group_id
    if not group_id:
        return False
    members = client.usergroups_users_list(usergroup=group_id).get("users") or []
    return user_id in members


def refusal(client: WebClient, store: ModerationStore, team_id: str, user_id: str) -> Answer | None:
    """None when ``user_id`` may change the settings, else the answer that says why not."""
    try:
        allowed = may_change_settings(client, store, team_id, user_id)
    except SLACK_ERRORS as exc:
        log.warning("moderation permission check failed: %s", slack_error(exc))
        return {"response_type": "ephemeral", **views.check_failed_message()}
    if not allowed:
        return {"response_type": "ephemeral", **views.no_permission_message()}
    return None


def parse_target(args: str) -> tuple[str | None, str | None]:
    """``moderacao <#C123|canal>`` -> (channel, None); ``moderacao grupo <!subteam^S1>`` ->
    (None, group). RuleError otherwise."""
    word, _, rest = args.strip().partition(" ")
    if word.lower() == "grupo":
        return None, parse_group(rest)
    return parse_channel(args), None


def configure(store: ModerationStore, client: WebClient, team_id: str, user_id: str,
              args: str) -> Answer:
    """``moderacao status`` (anyone), ``moderacao #canal`` and ``moderacao grupo @grupo``
    (admins and the moderators' group): setting the channel posts the pending alerts there."""
    if args.strip().lower() in ("", "status"):
        return status(store, team_id)
    try:
        channel_id, group_id = parse_target(args)
    except RuleError as exc:
        return {"response_type": "ephemeral", **views.usage_message(str(exc))}
    refused = refusal(client, store, team_id, user_id)
    if refused is not None:
        return refused
    if group_id is not None:
        store.set_moderation(team_id, group_id=group_id)
        return {"response_type": "ephemeral", **views.group_set_message(group_id)}
    blocked = ({"response_type": "ephemeral", **views.usage_message()} if channel_id is None
               else shared_refusal(client, channel_id))  # parse_target gives one of the two
    if blocked is not None:
        return blocked
    store.set_moderation(team_id, channel_id=channel_id, set_by=user_id)
    # the caller reads a failure in the answer: no DM for it
    sent, failed = post_pending(client, store, team_id, channel_id, warn=False)
    return {"response_type": "ephemeral",
            **views.channel_set_message(user_id, channel_id, sent, failed)}


# conversations.info cannot see a private channel the bot is not in: nothing can be posted
# there either (the answer after setting it says so), so it is not refused for that.
UNSEEN_CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel"})


def shared_refusal(client: WebClient, channel_id: str) -> Answer | None:
    """None when ``channel_id`` is only this workspace's; else the refusal: a channel shared
    with another company (``is_ext_shared``, or an invitation pending) would carry alerts about
    private channels out of the company. Any other Slack failure refuses too (unknown)."""
    try:
        channel = client.conversations_info(channel=channel_id).get("channel") or {}
    except SLACK_ERRORS as exc:
        if slack_error(exc) in UNSEEN_CHANNEL_ERRORS:
            return None
        log.warning("moderators' channel check failed: %s", slack_error(exc))
        return {"response_type": "ephemeral", **views.shared_check_failed_message()}
    if channel.get("is_ext_shared") or channel.get("is_pending_ext_shared"):
        return {"response_type": "ephemeral", **views.ext_shared_message(channel_id)}
    return None


def status(store: ModerationStore, team_id: str) -> Answer:
    """``moderacao status``: the settings, and the alerts kept in the store (waiting for a
    channel, or refused by the channel set: how many, why, what to do)."""
    settings = store.moderation_settings(team_id)
    kept = kept_alerts(settings, store.pending_alerts(team_id))
    if not settings.channel_id:
        return {"response_type": "ephemeral", **views.status_message(settings, len(kept))}
    return {"response_type": "ephemeral", **views.status_message(
        settings, 0, len(kept), last_error(kept))}


def kept_alerts(settings: ModerationSettings, pending: Sequence[Alert]) -> list[Alert]:
    """The alerts to show as kept: every pending one while no channel is set, else those that
    could not be posted in the channel set (the others are being delivered)."""
    if not settings.channel_id:
        return list(pending)
    return [alert for alert in pending if alert.post_error is not None]


def last_error(alerts: Sequence[Alert]) -> str | None:
    """Slack's error code of the newest alert that could not be posted."""
    return next((alert.post_error for alert in alerts if alert.post_error), None)


def with_threshold(args: str, current: ModerationRule) -> ModerationRule:
    """``limiar 0,85``: the current rule with a new threshold."""
    return dataclasses.replace(current, threshold=parse_threshold(args))


def change_rule(store: ModerationStore, client: WebClient, team_id: str, user_id: str,
                args: str, parse: RuleChange) -> Answer:
    """``limiar`` (``parse=with_threshold``) or ``regra`` (``parse=parse_rule``): a bad value
    is explained to anyone; a valid one is saved only for admins and the moderators' group."""
    try:
        rule = parse(args, store.moderation_settings(team_id).rule)
    except RuleError as exc:
        return {"response_type": "ephemeral", **views.usage_message(str(exc))}
    refused = refusal(client, store, team_id, user_id)
    if refused is not None:
        return refused
    return {"response_type": "ephemeral",
            **views.rule_set_message(store.set_moderation(team_id, rule=rule))}


def resolve(store: ModerationStore, client: WebClient, team_id: str, user_id: str,
            channel_id: str, alert_id: str, state: str, now: float) -> Answer | None:
    """A moderator clicked "Ciente" (``acknowledged``) or "Falso alarme" (``false_alarm``) on
    the alert posted in ``channel_id``: record it and update the alert's message. The first
    verdict stands: a later click only shows (to that moderator) who decided and when. An
    answer when the alert is unknown here or already resolved."""
    alert = store.get_alert(team_id, alert_id) if valid_id(alert_id) else None
    if alert is None or alert.posted_channel != channel_id:
        log.warning("moderation button for an unknown alert or another channel refused")
        return {"response_type": "ephemeral", "replace_original": False,
                "text": "Não encontrei este alerta."}
    updated = alert if alert.resolved else store.resolve_alert(team_id, alert_id, state,
                                                                user_id, now)
    if updated is None:
        return {"response_type": "ephemeral", "replace_original": False,
                "text": "Não encontrei este alerta."}
    if (updated.state, updated.by, updated.at) != (state, user_id, now):
        return {"response_type": "ephemeral", "replace_original": False,
                **views.verdict_taken_message(updated)}
    try:
        client.chat_update(channel=updated.posted_channel, ts=updated.posted_ts,
                           **views.alert_message(updated))
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the verdict is saved
        count_failure("moderation_alert_update_failed", f"error={slack_error(exc)}")
    return None


def home_section(store: ModerationStore, client: WebClient, team_id: str,
                 user_id: str) -> Sequence[dict]:
    """The App Home's moderation section, for admins and the moderators' group only: where
    alerts go, and the alerts kept in the store (no channel set, or the channel set refused
    them) of the channels the viewer is a member of."""
    try:
        if not may_change_settings(client, store, team_id, user_id):
            return []
        settings = store.moderation_settings(team_id)
        kept = kept_alerts(settings, store.pending_alerts(team_id))
        visible = member_channels(client, user_id) if kept else set()
    except SLACK_ERRORS as exc:
        log.warning("App Home: moderation section unavailable: %s", slack_error(exc))
        return []
    shown = [alert for alert in kept if alert.channel_id in visible]
    return views.home_blocks(settings, shown, len(kept) - len(shown), last_error(kept))
