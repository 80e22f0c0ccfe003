"""``/sentimento``: help at once in the ack, everything else after the ack (a Bolt lazy listener)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Sequence

from slack_bolt import Ack, App, Respond

from bot import messages
from bot.analysis import answer_for
from bot.ports import Classifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subcommand:
    """A ``/sentimento <name> ...`` subcommand added by a later feature (reports, moderation...).

    ``run(args=..., command=..., respond=..., client=..., context=...)`` is called after the ack,
    in a lazy listener; ``help`` is its line in the help text.
    """

    name: str  # lower case, no accents: what the first word must fold to
    help: messages.SubcommandHelp
    run: Callable[..., None]


def register(app: App, classifier: Classifier, subcommands: Sequence[Subcommand] = (),
             command: str = messages.COMMAND) -> None:
    """Listen to ``command``: ``ajuda`` is answered in the ack, the rest in a lazy listener."""
    by_name = {sub.name: sub for sub in subcommands}
    extra_help = [sub.help for sub in subcommands]

    def ack_command(ack: Ack, body: dict) -> None:
        name, _rest = messages.parse_command(body.get("text", ""), list(by_name))
        if name == "ajuda":
            ack(response_type="ephemeral", **messages.help_message(extra_help))
        else:
            ack()

    def run_command(body: dict, respond: Respond, client, context) -> None:
        name, rest = messages.parse_command(body.get("text", ""), list(by_name))
        if name == "ajuda":
            return
        try:
            if name is not None:
                by_name[name].run(args=rest, command=body, respond=respond, client=client,
                                  context=context)
                return
            respond(response_type="ephemeral", **answer_for(classifier, rest))
        except Exception as exc:  # pylint: disable=broad-exception-caught  # never a stack trace in Slack
            log.error("%s %s failed: %s", command, name or "<texto>", exc.__class__.__name__)
            respond(response_type="ephemeral", **messages.internal_error_message())

    app.command(command)(ack=ack_command, lazy=[run_command])
