"""Feedback's use cases: a vote from the buttons under an answer, and ``/sentimento modelo``.
Each takes its dependencies explicitly and returns what the user should read (keyword
arguments for ``respond``); :mod:`handlers.feedback` only translates payloads.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from slack_sdk import WebClient

from bot.classify.clients import ModelUnavailableError
from bot.classify.port import Classifier, ModelInfo
from bot.failures import count_failure, describe
from bot.feedback import views
from bot.feedback.rules import (
    FeedbackError, Vote, decode_vote, evaluation_figures, suggest_threshold, summarise,
)
from bot.moderation.usecases import refusal
from bot.store.base import FeedbackStore, ModerationStore

log = logging.getLogger(__name__)

Answer = dict[str, Any]  # keyword arguments for ``respond``


class ModelReportStore(FeedbackStore, ModerationStore, Protocol):
    """What ``modelo`` reads: the votes, the moderation settings and the alerts' verdicts."""


def _bad_vote() -> Answer:
    return {"response_type": "ephemeral", "replace_original": False, **views.bad_vote_message()}


def disagree(value: str) -> Answer:
    """"Discordo": replace the answer with the label picker (nothing is stored yet)."""
    try:
        vote = decode_vote(value)
    except FeedbackError:
        log.warning("feedback button with a value this bot did not make refused")
        return _bad_vote()
    return {"response_type": "ephemeral", "replace_original": True, **views.picker_message(vote)}


def record_vote(store: FeedbackStore, team_id: str, value: str, actual: str | None = None) -> Answer:
    """"Concordo" (``actual`` None: the predicted label is the user's) or a label picked after
    "Discordo": add one count and replace the answer with the thanks (its buttons go with it:
    one vote per answer, without keeping who voted). When the store fails the answer stays, the
    user reads why, and the failure is counted (``feedback_store_failed``)."""
    try:
        vote = decode_vote(value)
        if actual is not None and vote.actual not in (None, actual):
            raise FeedbackError("botão e rótulo não conferem")
    except FeedbackError:
        log.warning("feedback button with a value this bot did not make refused")
        return _bad_vote()
    vote = Vote(vote.predicted, vote.model, vote.actual or actual or vote.predicted)
    try:
        store.record_feedback(team_id, vote.model, vote.predicted, vote.actual or vote.predicted)
    except FeedbackError:
        return _bad_vote()
    except Exception as exc:  # pylint: disable=broad-exception-caught  # told, counted
        count_failure("feedback_store_failed", describe(exc))
        return {"response_type": "ephemeral", "replace_original": False,
                **views.vote_failed_message()}
    return {"response_type": "ephemeral", "replace_original": True, **views.thanks_message(vote)}


def model_report(classifier: Classifier, store: ModelReportStore, client: WebClient,
                 team_id: str, user_id: str) -> Answer:
    """``/sentimento modelo`` (workspace admins and owners, the moderators' group): the model
    in use and its evaluation figures (``Classifier.describe``), the agreement and confusion
    of users' votes for this version and overall, and the moderation threshold advice."""
    refused = refusal(client, store, team_id, user_id)
    if refused is not None:
        return refused
    info: ModelInfo | None = None
    unavailable = None
    try:
        info = classifier.describe()
    except ModelUnavailableError as exc:
        unavailable = str(exc)
    counts = store.feedback_counts(team_id)
    verdicts = store.alert_verdicts(team_id)
    decided = verdicts.get("acknowledged", 0) + verdicts.get("false_alarm", 0)
    advice = suggest_threshold(store.moderation_settings(team_id).rule.threshold,
                               verdicts.get("false_alarm", 0), decided)
    current = summarise(counts, info.version) if info is not None else summarise([])
    return {"response_type": "ephemeral", **views.model_message(
        info, evaluation_figures(info.evaluation if info else None), current, summarise(counts),
        advice, unavailable)}
