"""Slack helpers every feature shares: the ids in a payload, sending an answer only to its
asker, Slack's error codes, and the channels a member is in.

The one home of Slack Web API plumbing that is not a feature's own; pure modules do not import it.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Mapping

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookResponse

from bot.classify.clients import parse_retry_after

log = logging.getLogger(__name__)

SLACK_ERRORS = (SlackApiError, SlackClientError)
MAX_CONVERSATION_PAGES = 20
RESPOND_RATE_LIMIT_BUDGET_S = 60.0  # how long an answer waits out Slack's 429s on response_url
RESPOND_MAX_WAIT_S = 30.0  # the longest single Retry-After honoured


def payload_id(body: Mapping[str, Any], key: str) -> str:
    """The ``id`` of an object field of an interactivity payload (``team``, ``user``,
    ``channel``): ``""`` when missing or not an object."""
    value = body.get(key)
    if not isinstance(value, Mapping):
        return ""
    found = value.get("id")
    return found if isinstance(found, str) else ""


def slack_error(exc: Exception) -> str:
    """Slack's error code of a failed Web API call (``not_in_channel``...), else the class name."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "unknown_error")
    return exc.__class__.__name__


class RetryingRespond:  # pylint: disable=too-few-public-methods  # a callable, like Respond
    """Bolt's ``respond`` that waits out Slack's rate limit: a ``response_url`` post answered
    429 is sent again after its ``Retry-After`` (1 s when absent), for at most ``budget_s``.

    Bolt's ``Respond`` posts through a ``WebhookClient`` that retries connection errors only,
    and returns a 429 without raising: the user's answer was silently lost.
    """

    def __init__(self, respond: Respond, budget_s: float = RESPOND_RATE_LIMIT_BUDGET_S,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self._respond = respond
        self._budget_s = budget_s
        self._sleep = sleep
        self._clock = clock

    def __call__(self, *args: Any, **kwargs: Any) -> WebhookResponse:
        """``respond(*args, **kwargs)``, again after each 429 while the budget lasts."""
        deadline = self._clock() + self._budget_s
        while True:
            response = self._respond(*args, **kwargs)
            if response.status_code != 429:
                return response
            headers = getattr(response, "headers", None) or {}
            wait = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
            wait = min(RESPOND_MAX_WAIT_S, max(0.1, 1.0 if wait is None else wait))
            if self._clock() + wait > deadline:
                log.warning("response_url still rate limited (HTTP 429) after %.0f s: answer not "
                            "delivered", self._budget_s)
                return response
            log.info("response_url rate limited (HTTP 429): answering again in %.1f s", wait)
            self._sleep(wait)


def send_ephemeral(respond: Respond, client: WebClient, body: Mapping[str, Any],
                   answer: dict) -> None:
    """Show ``answer`` only to the user who triggered ``body`` (a message_action payload):
    through its ``response_url``, else ``chat.postEphemeral``."""
    if body.get("response_url"):
        sent = respond(response_type="ephemeral", **answer)
        if sent.status_code == 200:
            return
        log.warning("response_url answered HTTP %d; trying chat.postEphemeral", sent.status_code)
    channel, user = payload_id(body, "channel"), payload_id(body, "user")
    if channel and user:
        client.chat_postEphemeral(channel=channel, user=user, **answer)


def member_channels(client: WebClient, user_id: str) -> set[str]:
    """The public and private channels ``user_id`` is a member of (``users.conversations``;
    private ones only where the bot is a member too), following the pagination cursor."""
    found: set[str] = set()
    cursor = None
    for _page in range(MAX_CONVERSATION_PAGES):
        page = client.users_conversations(user=user_id, types="public_channel,private_channel",
                                          exclude_archived=True, limit=999, cursor=cursor)
        found.update(channel["id"] for channel in page.get("channels") or [])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return found
