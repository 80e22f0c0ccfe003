"""Slack helpers every feature shares: the ids in a payload, sending an answer only to its
asker, Slack's error codes, and the channels a member is in.

The one home of Slack Web API plumbing that is not a feature's own; pure modules do not import it.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

SLACK_ERRORS = (SlackApiError, SlackClientError)
MAX_CONVERSATION_PAGES = 20


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
