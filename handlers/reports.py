"""Channel reports in Slack: ``/sentimento relatorio|pausar|retomar|resumo``, the share button
and the App Home's channel moods. Each listener translates the payload to a use case of
:mod:`bot.reports.usecases` and sends its answer."""

from __future__ import annotations

from functools import partial

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.command import Subcommand, SubcommandHelp
from bot.deps import Deps
from bot.home.usecases import HomeSections
from bot.reports import usecases
from bot.reports.views import SHARE_ACTION_ID
from bot.slack import payload_id
from handlers import ack_now


def run_report(deps: Deps, *, args: str, command: dict, respond: Respond, **_kwargs) -> None:
    """``relatorio [hoje|7d|30d]``."""
    respond(**usecases.channel_report(deps.store, command.get("team_id", ""),
                                      command.get("channel_id", ""), args, deps.today()))


def run_pause(deps: Deps, paused: bool, subcommand: str, *, command: dict, respond: Respond,
              **_kwargs) -> None:
    """``pausar`` (``paused=True``) and ``retomar``."""
    respond(**usecases.switch_pause(deps.store, command.get("team_id", ""),
                                    command.get("channel_id", ""), command.get("user_id", ""),
                                    paused, subcommand))


def run_digest_switch(deps: Deps, *, args: str, command: dict, respond: Respond,
                      **_kwargs) -> None:
    """``resumo [on|off]``."""
    respond(**usecases.switch_digest(deps.store, command.get("team_id", ""),
                                     command.get("channel_id", ""), command.get("user_id", ""),
                                     args))


def subcommands(deps: Deps) -> list[Subcommand]:
    """``relatorio``, ``pausar``, ``retomar`` and ``resumo``, for :func:`handlers.command.register`."""
    return [
        Subcommand("relatorio", SubcommandHelp(
            "relatorio [hoje|7d|30d]",
            "o humor deste canal no período (padrão: 7d), só para você, com um botão para "
            "compartilhar no canal"), partial(run_report, deps)),
        Subcommand("pausar", SubcommandHelp(
            "pausar", "para de analisar e contar as mensagens deste canal"),
            partial(run_pause, deps, True, "pausar")),
        Subcommand("retomar", SubcommandHelp(
            "retomar", "volta a analisar e contar as mensagens deste canal"),
            partial(run_pause, deps, False, "retomar")),
        Subcommand("resumo", SubcommandHelp(
            "resumo ativar|desativar", "liga ou desliga o resumo semanal do humor publicado neste "
            "canal (`on`/`off` também valem)"),
            partial(run_digest_switch, deps)),
    ]


def share(deps: Deps, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
    """After the ack: post the report in its channel and replace the caller's copy."""
    here = (payload_id(body, "team"), payload_id(body, "channel"))
    respond(**usecases.share_report(deps.store, client, action.get("value", ""), here,
                                    payload_id(body, "user"), deps.today(), charts=deps.charts))


def register(app: App, deps: Deps) -> None:
    """Listen to the report's "Compartilhar no canal" button: ack at once, post after the ack."""
    app.action(SHARE_ACTION_ID)(ack=ack_now, lazy=[partial(share, deps)])


def home_section(deps: Deps) -> HomeSections:
    """The App Home's channel moods for one viewer (see :func:`usecases.home_channel_moods`)."""
    return lambda team_id, user_id, client: usecases.home_channel_moods(
        deps.store, client, team_id, user_id, deps.today())
