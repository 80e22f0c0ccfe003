"""Message shortcut "Analisar sentimento": the result only for whoever asked."""

from __future__ import annotations

import logging
from functools import partial

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.classify.answer import answer_for
from bot.classify.port import Classifier
from bot.classify.views import internal_error_message
from bot.slack import send_ephemeral
from handlers import ack_now

log = logging.getLogger(__name__)

ANALYSE_CALLBACK_ID = "analisar_sentimento"


def analyse_message(classifier: Classifier, body: dict, client: WebClient,
                    respond: Respond) -> None:
    """After the ack: classify the message's text and answer only the asker."""
    text = (body.get("message") or {}).get("text") or ""
    try:
        answer = answer_for(classifier, text)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # never a stack trace in Slack
        log.error("shortcut %s failed: %s", ANALYSE_CALLBACK_ID, exc.__class__.__name__)
        answer = internal_error_message()
    send_ephemeral(respond, client, body, answer)


def register(app: App, classifier: Classifier) -> None:
    """Ack the shortcut at once; classify and answer ephemerally after the ack."""
    app.message_shortcut(ANALYSE_CALLBACK_ID)(ack=ack_now,
                                              lazy=[partial(analyse_message, classifier)])
