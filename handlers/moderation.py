"""Moderation in Slack: the settings subcommands (``moderacao``, ``limiar``, ``regra``), the
alert buttons "Ciente" / "Falso alarme", the "Sinalizar para moderação" shortcut and the
admin's App Home section. Threads are watched by :func:`bot.moderation.alerts.thread_watcher`,
added to the message counter by :func:`bot.app.build_app`."""

from __future__ import annotations

from functools import partial

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.command import Subcommand, SubcommandHelp
from bot.deps import Deps
from bot.home.usecases import HomeSections
from bot.moderation import usecases, views
from bot.moderation.alerts import FlaggedMessage, flag_thread
from bot.moderation.rules import parse_rule
from bot.slack import payload_id, send_ephemeral
from handlers import ack_now


def run_moderation(deps: Deps, *, args: str, command: dict, respond: Respond, client: WebClient,
                   **_kwargs) -> None:
    """``moderacao [status | #canal | grupo @grupo]``."""
    respond(**usecases.configure(deps.store, client, command.get("team_id", ""),
                                 command.get("user_id", ""), args))


def run_rule_change(deps: Deps, parse: usecases.RuleChange, *, args: str, command: dict,
                    respond: Respond, client: WebClient, **_kwargs) -> None:
    """``limiar`` and ``regra``."""
    respond(**usecases.change_rule(deps.store, client, command.get("team_id", ""),
                                   command.get("user_id", ""), args, parse))


def subcommands(deps: Deps) -> list[Subcommand]:
    """``moderacao``, ``limiar`` and ``regra`` for :func:`handlers.command.register`."""
    return [
        Subcommand("moderacao", SubcommandHelp(
            "moderacao #canal | status | grupo @grupo",
            "onde os moderadores recebem os alertas de threads negativas (quem configura é "
            "responsável por quem está no canal), o estado atual, ou o grupo que pode mudar as "
            "configurações (só admins e esse grupo mudam)"), partial(run_moderation, deps)),
        Subcommand("limiar", SubcommandHelp(
            "limiar 0,85", "probabilidade de negativo (maior que 0, até 1) a partir da qual uma "
            "mensagem conta como muito negativa (padrão 0,80)"),
            partial(run_rule_change, deps, usecases.with_threshold)),
        Subcommand("regra", SubcommandHelp(
            "regra N M T", "alerta quando N mensagens muito negativas aparecem entre as últimas "
            "M mensagens ou nos últimos T minutos de uma thread (padrão: regra 3 10 30)"),
            partial(run_rule_change, deps, parse_rule)),
    ]


def resolve_alert(deps: Deps, state: str, body: dict, action: dict, client: WebClient,
                  respond: Respond) -> None:
    """After the ack: "Ciente" (``acknowledged``) or "Falso alarme" (``false_alarm``)."""
    answer = usecases.resolve(deps.store, client, payload_id(body, "team"),
                              payload_id(body, "user"), payload_id(body, "channel"),
                              action.get("value", ""), state, deps.clock())
    if answer is not None:
        respond(**answer)


def flag_message(deps: Deps, body: dict, client: WebClient, respond: Respond) -> None:
    """After the ack: "Sinalizar para moderação" on a message; the answer only for the member."""
    message = body.get("message") or {}
    flagged = FlaggedMessage(team_id=payload_id(body, "team"), channel_id=payload_id(body, "channel"),
                             ts=message.get("ts"), thread_ts=message.get("thread_ts"),
                             user_id=payload_id(body, "user"))
    send_ephemeral(respond, client, body, flag_thread(deps.store, client, flagged, deps.clock()))


def register(app: App, deps: Deps) -> None:
    """The alert buttons and the "Sinalizar para moderação" message shortcut."""
    app.action(views.ACK_ACTION_ID)(ack=ack_now,
                                    lazy=[partial(resolve_alert, deps, "acknowledged")])
    app.action(views.FALSE_ALARM_ACTION_ID)(ack=ack_now,
                                            lazy=[partial(resolve_alert, deps, "false_alarm")])
    app.message_shortcut(views.FLAG_CALLBACK_ID)(ack=ack_now, lazy=[partial(flag_message, deps)])


def home_section(deps: Deps) -> HomeSections:
    """The admin's App Home section (see :func:`usecases.home_section`)."""
    return lambda team_id, user_id, client: usecases.home_section(deps.store, client, team_id,
                                                                  user_id)
