"""The payload parsers (bot.payloads): what they accept, what they refuse and how they name it.

Payload shapes come from the harness (the shapes of Slack's documentation); the fuzz part checks
that no JSON value in any field makes a parser raise instead of answering.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.payloads import Rejection, check, check_envelope, kind_of
from tests.support.slack_harness import (
    block_actions_body, event_callback, message_action_body, message_event, set_field,
    slash_command_body,
)
from tests.support.fuzz import fuzz_settings

FUZZ = fuzz_settings(0.75)  # 150 examples in CI; FUZZ_EXAMPLES scales it
URL = "https://hooks.slack.com/commands/T0001/1/abc"


def form(body: str) -> dict:
    """A form body as Bolt parses it (``payload=<json>`` for interactivity)."""
    fields = dict(parse_qsl(body, keep_blank_values=True))
    return json.loads(fields["payload"]) if "payload" in fields else fields


def command() -> dict:
    """A slash command's fields."""
    return form(slash_command_body("adorei o resultado", URL))


def message() -> dict:
    """A ``message`` event delivery."""
    return json.loads(event_callback(message_event("Que dia ótimo!", ts="1732600000.000200")))


def home() -> dict:
    """An ``app_home_opened`` delivery."""
    return json.loads(event_callback({"type": "app_home_opened", "user": "U0USER1", "tab": "home",
                                      "channel": "D0HOME", "event_ts": "1732600000.000300"}))


def click() -> dict:
    """A button click (the report's share button)."""
    return form(block_actions_body("compartilhar_relatorio", '{"team": "T0001"}', URL))


def shortcut() -> dict:
    """A message shortcut on a reply in a thread."""
    return form(message_action_body("Que dia ótimo!", URL, thread_ts="1732599000.000100"))


VALID = {"slash_command": command, "event": message, "block_actions": click,
         "message_action": shortcut}


def with_value(payload: dict, path: str, value) -> dict:
    """``payload`` with the field at dotted ``path`` set to ``value`` (``...`` removes it; a
    field that is already absent stays absent)."""
    set_field(payload, path, value)
    return payload


@pytest.mark.parametrize("make", [command, message, home, click, shortcut,
                                  lambda: {"type": "url_verification", "challenge": "abc"}])
def test_slack_payloads_pass(make):
    """The payloads Slack sends, as the harness builds them, are accepted."""
    assert check(make()) is None


def test_message_subtypes_without_text_or_user_pass():
    """An edit or a deletion (no top-level text or user) is a well-formed message event."""
    edited = message()
    for field in ("text", "user"):
        del edited["event"][field]
    edited["event"].update(subtype="message_changed", hidden=True,
                           message={"type": "message", "user": "U0USER1", "text": "novo"})
    assert check(edited) is None


def test_kinds_are_told_apart_like_bolt_does():
    """A ``command`` field makes a slash command; else the ``type`` decides."""
    assert [kind_of(make()) for make in (command, message, click, shortcut)] == [
        "slash_command", "event", "block_actions", "message_action"]
    assert kind_of({"type": "view_submission"}) == kind_of({"type": ["x"]}) == "other"
    assert kind_of([1]) == "other"


@pytest.mark.parametrize("make,path,value,field", [
    (command, "text", 5, "text"),
    (command, "team_id", ..., "team_id"),
    (command, "response_url", None, "response_url"),
    (message, "event", "texto", "event"),
    (message, "event", None, "event"),
    (message, "event.type", 5, "event.type"),
    (message, "event.text", 5, "event.text"),
    (message, "event.ts", 1732600000.0002, "event.ts"),
    (message, "event.ts", "ontem", "event.ts"),
    (message, "event.ts", "99999999999.1", "event.ts"),  # past the year 9999
    (message, "event.channel", ["C0GERAL"], "event.channel"),
    (message, "event.subtype", ["bot_message"], "event.subtype"),
    (message, "team_id", 5, "team_id"),
    (message, "team_id", "T/../x", "team_id"),
    (message, "authorizations", "x", "authorizations"),
    (message, "authorizations", [1], "authorizations.0"),
    (home, "event.user", ..., "event.user"),
    (home, "event.user", {"id": "U1"}, "event.user"),
    (click, "team", 5, "team"),
    (click, "user", {"id": 5}, "user.id"),
    (click, "channel", "C0GERAL", "channel"),
    (click, "actions", {"action_id": "x"}, "actions"),
    (click, "actions", [], "actions"),
    (click, "actions", ["x"], "actions.0"),
    (click, "actions.0.action_id", 5, "actions.0.action_id"),
    (click, "actions.0.value", {"team": "T0001"}, "actions.0.value"),
    (shortcut, "message", "texto", "message"),
    (shortcut, "message.text", 5, "message.text"),
    (shortcut, "message.ts", ..., "message.ts"),
    (shortcut, "message.thread_ts", 5, "message.thread_ts"),
    (shortcut, "channel", {"name": "geral"}, "channel.id"),
    (shortcut, "callback_id", 5, "callback_id"),
])
def test_a_wrong_field_is_named_by_its_path(make, path, value, field):
    """A missing or wrong-typed field the listeners read is refused, named by its path only."""
    payload = with_value(make(), path, value)
    rejection = check(payload)
    assert rejection == Rejection(kind_of(payload), field)


def test_listeners_that_check_ids_themselves_get_them_unchanged():
    """A shortcut's odd ts, or a command from a DM, reaches the listener, which answers it."""
    assert check(with_value(shortcut(), "message.ts", "nada")) is None
    assert check(with_value(command(), "channel_id", "")) is None


def test_kinds_without_a_listener_are_refused_as_other():
    """A kind the bot has no listener for is refused (Bolt would answer 404)."""
    assert check({"type": "view_submission", "view": {"callback_id": "x"}}) == Rejection("other", "type")
    assert check({"type": "view_submission", "view": None}) == Rejection("other", "view")
    assert check("not an object") == Rejection("other", "(body)")


def test_the_envelope_only_checks_what_bolt_reads():
    """check_envelope leaves the kind's own fields to check()."""
    assert check_envelope(with_value(message(), "event.text", 5)) is None
    assert check_envelope(with_value(message(), "event", "x")) == Rejection("event", "event")


# -- fuzz ----------------------------------------------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=8)
FIELDS = {
    "slash_command": ["command", "text", "team_id", "channel_id", "user_id", "response_url"],
    "event": ["event", "event.type", "event.text", "event.ts", "event.channel", "event.user",
              "event.thread_ts", "event.team", "event.subtype", "event.channel_type", "team_id",
              "event_id", "authorizations", "authorizations.0", "authorizations.0.team"],
    "block_actions": ["team", "user", "channel", "actions", "actions.0", "actions.0.action_id",
                      "actions.0.value", "team.id", "user.id", "channel.id", "response_url"],
    "message_action": ["callback_id", "message", "message.text", "message.ts",
                       "message.thread_ts", "channel", "user", "team", "channel.id", "user.id",
                       "team.id", "response_url"],
}


@FUZZ
@given(data=st.data())
def test_no_value_in_any_field_makes_a_parser_raise(data):
    """Any JSON value (or none) in any field the listeners read: an answer, never an exception;
    a refusal names the field (or one of its parents), never a value."""
    kind = data.draw(st.sampled_from(sorted(FIELDS)))
    path = data.draw(st.sampled_from(FIELDS[kind]))
    value = data.draw(JSON | st.just(...))
    payload = VALID[kind]()
    try:
        payload = with_value(payload, path, value)
    except (KeyError, IndexError, TypeError):
        return  # a parent was replaced by an earlier path: nothing to set
    rejection = check(payload)
    if rejection is not None:
        assert rejection.kind == kind_of(payload)
        if rejection.kind == kind:
            assert rejection.field.split(".")[0] == path.split(".")[0]


@FUZZ
@given(body=JSON)
def test_any_json_value_gets_an_answer(body):
    """Any JSON value at all as the whole body: an answer, never an exception."""
    rejection = check(body)
    assert rejection is None or isinstance(rejection, Rejection)
