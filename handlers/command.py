"""``/sentimento``: the help in the ack itself, everything else after the ack (a Bolt lazy
listener): a feature's subcommand, or the sentiment of the text."""

from __future__ import annotations

import logging
from functools import partial
from typing import Callable, Mapping, Sequence

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks import COMMAND
from bot.classify.answer import answer_for
from bot.classify.port import Classifier
from bot.classify.views import internal_error_message
from bot.command import Subcommand, SubcommandHelp, busy_message, help_message, parse_command
from bot.slack import RetryingRespond

log = logging.getLogger(__name__)

Busy = Callable[[], bool]  # True when the work after an ack would be refused now


def ack_command(names: Sequence[str], extra_help: Sequence[SubcommandHelp], busy: Busy,
                ack: Ack, body: dict) -> None:
    """Answer the help in the ack (nothing to wait for); ack anything else empty, or with a
    Portuguese "try again" when the work after the ack has no room (``busy()``)."""
    name, _rest = parse_command(body.get("text", ""), names)
    if name == "ajuda":
        ack(response_type="ephemeral", **help_message(extra_help))
    elif busy():
        ack(response_type="ephemeral", **busy_message())
    else:
        ack()


def run_command(classifier: Classifier, by_name: Mapping[str, Subcommand], body: dict,
                respond: Respond, client: WebClient, context: BoltContext) -> None:
    """After the ack: run the subcommand, or classify the text; never a stack trace in Slack.
    Answers that Slack rate-limits (429) are sent again after its ``Retry-After``."""
    name, rest = parse_command(body.get("text", ""), list(by_name))
    if name == "ajuda":
        return
    respond = RetryingRespond(respond)
    try:
        if name is not None:
            by_name[name].run(args=rest, command=body, respond=respond, client=client,
                              context=context)
            return
        respond(response_type="ephemeral", **answer_for(classifier, rest))
    except Exception as exc:  # pylint: disable=broad-exception-caught  # never a stack trace in Slack
        log.error("%s %s failed: %s", COMMAND, name or "<texto>", exc.__class__.__name__)
        respond(response_type="ephemeral", **internal_error_message())


def never_busy() -> bool:
    """The default :data:`Busy`: there is always room."""
    return False


def register(app: App, classifier: Classifier, subcommands: Sequence[Subcommand] = (),
             command: str = COMMAND, busy: Busy = never_busy) -> None:
    """Listen to ``command``: ``ajuda`` is answered in the ack, the rest in a lazy listener."""
    by_name = {sub.name: sub for sub in subcommands}
    extra_help = [sub.help for sub in subcommands]
    app.command(command)(ack=partial(ack_command, list(by_name), extra_help, busy),
                         lazy=[partial(run_command, classifier, by_name)])
