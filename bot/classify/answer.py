"""One text to one Slack answer: classify, and turn every outcome into a Portuguese message.

Used by the slash command and the message shortcut. Errors become messages a user can read;
nothing here logs the text.
"""

from __future__ import annotations

import logging

from bot.classify import views
from bot.classify.clients import ClassifierInputError, ModelUnavailableError
from bot.classify.port import Classifier
from bot.counting.model import analysable
from bot.feedback.views import vote_buttons

log = logging.getLogger(__name__)


def answer_for(classifier: Classifier, text: str, show_text: bool = True) -> dict:
    """The ephemeral message (``text`` + ``blocks``) answering "what is the sentiment of ``text``?",
    with the "Concordo" / "Discordo" buttons of the model version that answered."""
    if not analysable(text):
        return views.empty_text_message()
    try:
        verdicts = classifier.classify_detailed([text])
    except ClassifierInputError as exc:
        return views.input_error_message(str(exc))
    except ModelUnavailableError:
        return views.unavailable_message()
    except Exception as exc:  # pylint: disable=broad-exception-caught  # never a stack trace in Slack
        log.error("classification failed: %s", exc.__class__.__name__)
        return views.internal_error_message()
    result = verdicts.results[0]
    message = views.result_message(result, verdicts.backend, verdicts.fallback,
                                   text if show_text else None)
    buttons = vote_buttons(result.label, verdicts.model)  # labels and the version, never the text
    if buttons is not None:
        message["blocks"].append(buttons)
    return message
