"""Feedback in Slack: the "Concordo" / "Discordo" buttons under an answer to
``/sentimento <texto>`` or "Analisar sentimento", the label picker after "Discordo", and the
``/sentimento modelo`` subcommand (admins and the moderators' group)."""

from __future__ import annotations

import re
from functools import partial

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.command import Subcommand, SubcommandHelp
from bot.deps import Deps
from bot.feedback import usecases, views
from bot.slack import payload_id
from handlers import ack_now

PICK_ACTION = re.compile("^" + re.escape(views.PICK_ACTION_PREFIX) + "(negative|neutral|positive)$")


def agree(deps: Deps, body: dict, action: dict, respond: Respond) -> None:
    """After the ack: "Concordo" counts the answer's label as the user's."""
    respond(**usecases.record_vote(deps.store, payload_id(body, "team"), action.get("value", "")))


def disagree(action: dict, respond: Respond) -> None:
    """After the ack: "Discordo" replaces the answer with the label picker."""
    respond(**usecases.disagree(action.get("value", "")))


def pick(deps: Deps, body: dict, action: dict, respond: Respond) -> None:
    """After the ack: the label the user says is right, named by the button's action id."""
    label = action.get("action_id", "").removeprefix(views.PICK_ACTION_PREFIX)
    respond(**usecases.record_vote(deps.store, payload_id(body, "team"), action.get("value", ""),
                                   label))


def run_model(deps: Deps, *, command: dict, respond: Respond, client: WebClient,
              **_kwargs) -> None:
    """``/sentimento modelo``."""
    respond(**usecases.model_report(deps.classifier, deps.store, client,
                                    command.get("team_id", ""), command.get("user_id", "")))


def subcommands(deps: Deps) -> list[Subcommand]:
    """``modelo`` for :func:`handlers.command.register`."""
    return [Subcommand("modelo", SubcommandHelp(
        "modelo", "o modelo em uso, suas métricas de avaliação, a concordância dos votos "
        "Concordo/Discordo e uma sugestão de limiar de moderação (só admins e o grupo de "
        "moderadores)"), partial(run_model, deps))]


def register(app: App, deps: Deps) -> None:
    """The vote buttons (acked at once, answered after the ack)."""
    app.action(views.AGREE_ACTION_ID)(ack=ack_now, lazy=[partial(agree, deps)])
    app.action(views.DISAGREE_ACTION_ID)(ack=ack_now, lazy=[disagree])
    app.action(PICK_ACTION)(ack=ack_now, lazy=[partial(pick, deps)])
