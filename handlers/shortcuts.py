"""Message shortcut "Analisar sentimento": the result only for whoever asked."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, Respond

from bot import messages
from bot.analysis import answer_for
from bot.ports import Classifier

log = logging.getLogger(__name__)

ANALYSE_CALLBACK_ID = "analisar_sentimento"


def register(app: App, classifier: Classifier) -> None:
    """Ack the shortcut at once; classify and answer ephemerally after the ack."""

    def ack_shortcut(ack: Ack) -> None:
        ack()

    def analyse_message(body: dict, client, respond: Respond) -> None:
        text = (body.get("message") or {}).get("text") or ""
        try:
            answer = answer_for(classifier, text)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # never a stack trace in Slack
            log.error("shortcut %s failed: %s", ANALYSE_CALLBACK_ID, exc.__class__.__name__)
            answer = messages.internal_error_message()
        send_ephemeral(respond, client, body, answer)

    app.message_shortcut(ANALYSE_CALLBACK_ID)(ack=ack_shortcut, lazy=[analyse_message])


def send_ephemeral(respond: Respond, client, body: dict, answer: dict) -> None:
    """Show ``answer`` only to the user who triggered ``body`` (a message_action payload):
    through its ``response_url``, else ``chat.postEphemeral``."""
    if body.get("response_url"):
        sent = respond(response_type="ephemeral", **answer)
        if sent.status_code == 200:
            return
        log.warning("response_url answered HTTP %d; trying chat.postEphemeral", sent.status_code)
    channel = (body.get("channel") or {}).get("id")
    user = (body.get("user") or {}).get("id")
    if channel and user:
        client.chat_postEphemeral(channel=channel, user=user, **answer)
