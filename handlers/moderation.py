"""Moderation in Slack: threads watched after classification, alerts in the moderators'
channel with "Ciente" / "Falso alarme", the "Sinalizar para moderação" shortcut, the settings
subcommands (``moderacao``, ``limiar``, ``regra``) and the admin's App Home section.

Alerts go only to the moderators' channel (whoever configures it is responsible for who is in
it); without one they wait in the store (the last 50) and show in an admin's App Home, only
for the channels that admin is a member of.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Callable, Sequence

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import moderation_views as views
from bot.messages import SubcommandHelp
from bot.moderation import (
    COOLDOWN_S, Alert, RuleError, ThreadEntry, ThreadState, is_strongly_negative, manual_flag,
    new_alert_id, observe, parse_channel, parse_group, parse_rule, parse_threshold,
)
from bot.pipeline import PendingMessage, valid_id
from bot.publish import slack_error
from handlers.commands import Subcommand
from handlers.reports import member_channels
from handlers.shortcuts import send_ephemeral
from service.labels import Classification

log = logging.getLogger(__name__)

SLACK_ERRORS = (SlackApiError, SlackClientError)
Clock = Callable[[], float]


def valid_ts(value: object) -> bool:
    """True for a Slack message ts (``1732600000.000200``)."""
    if not isinstance(value, str) or value.count(".") != 1:
        return False
    seconds, fraction = value.split(".")
    return seconds.isdigit() and fraction.isdigit() and len(seconds) <= 12 and len(fraction) <= 9


# -- alerts ---------------------------------------------------------------------------------

def permalink(client: Any, channel_id: str, ts: str) -> str | None:
    """``chat.getPermalink`` (no scope needed); None when Slack cannot give one."""
    try:
        return client.chat_getPermalink(channel=channel_id, message_ts=ts).get("permalink")
    except SLACK_ERRORS as exc:
        log.warning("no permalink for an alert: %s", slack_error(exc))
        return None


def post_alert(client: Any, store: Any, alert: Alert, channel_id: str) -> bool:
    """Post ``alert`` in the moderators' channel and record where; False when it stays pending."""
    try:
        posted = client.chat_postMessage(channel=channel_id, unfurl_links=False,
                                         **views.alert_message(alert))
    except SLACK_ERRORS as exc:
        log.warning("alert not posted to the moderators' channel: %s", slack_error(exc))
        return False
    store.mark_alert_posted(alert.team_id, alert.alert_id, channel_id, str(posted.get("ts")),
                            alert.permalink)
    return True


def raise_alert(client: Any, store: Any, alert: Alert) -> Alert:
    """Keep the alert (pending), then post it where the workspace's settings say."""
    alert = dataclasses.replace(alert, permalink=permalink(client, alert.channel_id,
                                                           alert.message_ts))
    store.add_alert(alert)
    channel_id = store.moderation_settings(alert.team_id).channel_id
    if channel_id:
        post_alert(client, store, alert, channel_id)
    return alert


def post_pending(client: Any, store: Any, team_id: str, channel_id: str) -> tuple[int, bool]:
    """Post the workspace's pending alerts, oldest first, in its new moderators' channel: how
    many were posted, and whether one failed (the rest then stay pending)."""
    sent = 0
    for alert in reversed(store.pending_alerts(team_id)):
        if not post_alert(client, store, alert, channel_id):
            return sent, True
        sent += 1
    return sent, False


def thread_watcher(store: Any, client: Any, clock: Clock = time.time):
    """The :class:`bot.pipeline.MessageCounter` listener: each classified thread reply (and a
    strongly negative top-level message, a possible thread root) goes to its thread's rule."""

    def watch(batch: Sequence[PendingMessage], results: Sequence[Classification]) -> None:
        rules: dict[str, Any] = {}
        for item, result in zip(batch, results):
            if not valid_ts(item.ts) or (item.thread_ts is not None and not valid_ts(item.thread_ts)):
                continue
            if item.team_id not in rules:
                rules[item.team_id] = store.moderation_settings(item.team_id).rule
            rule = rules[item.team_id]
            negative = is_strongly_negative(result.scores, rule.threshold)
            if item.thread_ts is None and not negative:
                continue  # a root that is not negative changes no thread's count
            root = item.thread_ts or item.ts
            entry = ThreadEntry(float(item.ts), negative)
            now = clock()
            flag = store.update_thread(item.team_id, item.channel_id, root,
                                       lambda state, e=entry, r=rule, n=now: observe(state, e, n, r))
            if flag is not None:
                raise_alert(client, store, Alert(
                    alert_id=new_alert_id(), team_id=item.team_id, channel_id=item.channel_id,
                    thread_ts=root, message_ts=root, negatives=flag.negatives,
                    span_s=flag.span_s, created_at=now))
                log.info("moderation alert raised for a thread (%d negative messages)",
                         flag.negatives)

    return watch


# -- who may change settings ----------------------------------------------------------------

def may_change_settings(client: Any, store: Any, team_id: str, user_id: str) -> bool:
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


def parse_target(args: str) -> tuple[str | None, str | None]:
    """``moderacao <#C123|canal>`` -> (channel, None); ``moderacao grupo <!subteam^S1>`` ->
    (None, group). RuleError otherwise."""
    word, _, rest = args.strip().partition(" ")
    if word.lower() == "grupo":
        return None, parse_group(rest)
    return parse_channel(args), None


def subcommands(store: Any) -> list[Subcommand]:
    """``moderacao``, ``limiar`` and ``regra`` for :func:`handlers.commands.register`."""

    def allowed(command: dict, respond: Respond, client: Any) -> bool:
        try:
            ok = may_change_settings(client, store, command.get("team_id", ""),
                                     command.get("user_id", ""))
        except SLACK_ERRORS as exc:
            log.warning("moderation permission check failed: %s", slack_error(exc))
            respond(response_type="ephemeral", **views.check_failed_message())
            return False
        if not ok:
            respond(response_type="ephemeral", **views.no_permission_message())
        return ok

    def run_moderation(args: str, command: dict, respond: Respond, client: Any, **_kw) -> None:
        team, user = command.get("team_id", ""), command.get("user_id", "")
        if args.strip().lower() in ("", "status"):
            settings = store.moderation_settings(team)
            pending = 0 if settings.channel_id else len(store.pending_alerts(team))
            respond(response_type="ephemeral", **views.status_message(settings, pending))
            return
        try:
            channel_id, group_id = parse_target(args)
        except RuleError as exc:
            respond(response_type="ephemeral", **views.usage_message(str(exc)))
            return
        if not allowed(command, respond, client):
            return
        if group_id is not None:
            store.set_moderation(team, group_id=group_id)
            respond(response_type="ephemeral", **views.group_set_message(group_id))
            return
        store.set_moderation(team, channel_id=channel_id)
        sent, failed = post_pending(client, store, team, channel_id)
        respond(response_type="ephemeral",
                **views.channel_set_message(user, channel_id, sent, failed))

    def rule_change(parse: Callable[[str, Any], Any]) -> Callable[..., None]:
        def run(args: str, command: dict, respond: Respond, client: Any, **_kw) -> None:
            team = command.get("team_id", "")
            try:
                rule = parse(args, store.moderation_settings(team).rule)
            except RuleError as exc:
                respond(response_type="ephemeral", **views.usage_message(str(exc)))
                return
            if allowed(command, respond, client):
                respond(response_type="ephemeral",
                        **views.rule_set_message(store.set_moderation(team, rule=rule)))
        return run

    def threshold(args: str, current):
        return dataclasses.replace(current, threshold=parse_threshold(args))

    return [
        Subcommand("moderacao", SubcommandHelp(
            "moderacao #canal | status | grupo @grupo",
            "onde os moderadores recebem os alertas de threads negativas (quem configura é "
            "responsável por quem está no canal), o estado atual, ou o grupo que pode mudar as "
            "configurações (só admins e esse grupo mudam)"), run_moderation),
        Subcommand("limiar", SubcommandHelp(
            "limiar 0.85", "probabilidade de negativo (0 a 1) a partir da qual uma mensagem conta "
            "como muito negativa (padrão 0,80)"), rule_change(threshold)),
        Subcommand("regra", SubcommandHelp(
            "regra N M T", "alerta quando N mensagens muito negativas aparecem entre as últimas "
            "M mensagens ou nos últimos T minutos de uma thread (padrão: regra 3 10 30)"),
            rule_change(parse_rule)),
    ]


# -- buttons and the shortcut ---------------------------------------------------------------

def register(app: App, store: Any, clock: Clock = time.time) -> None:
    """The alert buttons and the "Sinalizar para moderação" message shortcut (threads are
    watched by :func:`thread_watcher`, added to the message counter by ``build_app``)."""

    def ack_now(ack: Ack) -> None:
        ack()

    def resolve(state: str) -> Callable[..., None]:
        def run(body: dict, action: dict, client: Any, respond: Respond) -> None:
            team = (body.get("team") or {}).get("id", "")
            user = (body.get("user") or {}).get("id", "")
            channel = (body.get("channel") or {}).get("id")
            alert_id = action.get("value", "")
            alert = store.get_alert(team, alert_id) if valid_id(alert_id) else None
            if alert is None or alert.posted_channel != channel:
                log.warning("moderation button for an unknown alert or another channel refused")
                respond(response_type="ephemeral", replace_original=False,
                        text="Não encontrei este alerta.")
                return
            updated = store.resolve_alert(team, alert_id, state, user, clock())
            try:
                client.chat_update(channel=updated.posted_channel, ts=updated.posted_ts,
                                   **views.alert_message(updated))
            except SLACK_ERRORS as exc:
                log.warning("alert message not updated: %s", slack_error(exc))
        return run

    app.action(views.ACK_ACTION_ID)(ack=ack_now, lazy=[resolve("acknowledged")])
    app.action(views.FALSE_ALARM_ACTION_ID)(ack=ack_now, lazy=[resolve("false_alarm")])

    def flag_message(body: dict, client: Any, respond: Respond) -> None:
        answer = flag_thread(store, client, body, clock())
        send_ephemeral(respond, client, body, answer)

    app.message_shortcut(views.FLAG_CALLBACK_ID)(ack=ack_now, lazy=[flag_message])


def flag_thread(store: Any, client: Any, body: dict, now: float) -> dict:
    """A member flagged a message (a ``message_action`` payload): raise a manual alert for its
    thread unless one was raised in the last 6 h; the answer for that member."""
    team = (body.get("team") or {}).get("id", "")
    channel = (body.get("channel") or {}).get("id", "")
    message = body.get("message") or {}
    ts, root = message.get("ts"), message.get("thread_ts") or message.get("ts")
    if not (valid_id(team) and channel[:1] in ("C", "G") and valid_id(channel)
            and valid_ts(ts) and valid_ts(root)):
        return views.flag_refused_message()
    rule = store.moderation_settings(team).rule

    def change(state: ThreadState):
        if state.last_alert_at is not None and now - state.last_alert_at < COOLDOWN_S:
            return state, None
        flag = manual_flag(state, now, rule)
        return dataclasses.replace(state, last_alert_at=now,
                                   last_alert_negatives=flag.negatives), flag

    flag = store.update_thread(team, channel, root, change)
    if flag is not None:
        raise_alert(client, store, Alert(
            alert_id=new_alert_id(), team_id=team, channel_id=channel, thread_ts=root,
            message_ts=ts, negatives=flag.negatives, span_s=flag.span_s, created_at=now,
            manual=True, flagged_by=(body.get("user") or {}).get("id", "")))
    return views.flag_answer(flag is not None)


def home_sections(store: Any) -> Callable[[str, str, Any], Sequence[dict]]:
    """The App Home's moderation section, for admins and the moderators' group only: where
    alerts go, or the pending alerts of the channels the viewer is a member of."""

    def sections(team_id: str, user_id: str, client: Any) -> Sequence[dict]:
        try:
            if not may_change_settings(client, store, team_id, user_id):
                return []
            settings = store.moderation_settings(team_id)
            if settings.channel_id:
                return views.home_blocks(settings, [], 0)
            pending = store.pending_alerts(team_id)
            visible = member_channels(client, user_id) if pending else set()
        except SLACK_ERRORS as exc:
            log.warning("App Home: moderation section unavailable: %s", slack_error(exc))
            return []
        shown = [alert for alert in pending if alert.channel_id in visible]
        return views.home_blocks(settings, shown, len(pending) - len(shown))

    return sections
