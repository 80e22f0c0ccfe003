"""Typed parsers for the Slack payloads the bot reads: one small model per payload kind.

Pure (pydantic only, no Slack SDK): :func:`check` takes a request body as Bolt parsed it (a JSON
object, or a slash command's form fields) and returns ``None`` when every field the bot reads
has the type and format its code relies on, else a :class:`Rejection` naming the payload kind
and the field path that failed, never a value. :mod:`bot.validation` runs it as a Bolt
middleware before any listener.

Two layers, both strict (no coercion: ``5`` is not a string, ``"5"`` is not a number):

* :class:`Envelope`, for every payload: the fields Bolt itself reads while building a request's
  context, in its built-in middleware and in its listener matchers (``event``, ``user``,
  ``team``, ``channel``, ``enterprise``, ``authorizations``, ``view``, ``actions``...), which
  raise ``TypeError``/``AttributeError`` (an HTTP 500) on a wrong type.
* one model per kind the bot handles, with exactly the fields its listeners read
  (``handlers/``): :class:`SlashCommand`, :class:`EventCallback` (with :class:`MessageEvent`
  and :class:`HomeOpenedEvent`), :class:`BlockActions`, :class:`MessageAction`, plus
  :class:`UrlVerification` (answered by Bolt). Any other kind has no listener here, so
  :func:`check` refuses it (kind ``other``), as Bolt would (404), before Bolt's own
  "unhandled request" code can trip on it. A listener for a new kind needs its model here.

Formats are checked only where a listener relies on one without checking it itself: an Events
API ``team_id`` and the App Home's ``user`` must be Slack ids the store accepts (``T0123``:
letters, digits, ``_``, ``-``), a channel message's ``ts`` Slack's ``1732600000.000200`` (turned
into a date) and a ``response_url`` an http(s) URL (answers are posted there). Elsewhere the
listeners check ids and timestamps themselves and answer a bad one in Portuguese
(``valid_id``, ``valid_ts``), so only the type is checked here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

# The payload kinds, as named in logs and in the rejection counts.
SLASH_COMMAND = "slash_command"
EVENT = "event"
BLOCK_ACTIONS = "block_actions"
MESSAGE_ACTION = "message_action"
URL_VERIFICATION = "url_verification"
OTHER = "other"
KINDS = (SLASH_COMMAND, EVENT, BLOCK_ACTIONS, MESSAGE_ACTION, URL_VERIFICATION, OTHER)

_SLACK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Seconds (10 digits: until the year 2286, what datetime can show) and a fraction.
_SLACK_TS = re.compile(r"[0-9]{1,10}\.[0-9]{1,9}")
_URL_CHARS = re.compile(r"[!-~]{1,2048}")


@dataclass(frozen=True)
class Rejection:
    """Why a payload was refused: its kind and the path of the first field that failed
    (``event.ts``, ``actions.0.action_id``; ``(body)`` when it is not a JSON object)."""

    kind: str
    field: str


def _slack_id(value: str) -> str:
    if not _SLACK_ID.fullmatch(value) or value.startswith("__"):
        raise ValueError("not a Slack id")
    return value


def _slack_ts(value: str) -> str:
    if not _SLACK_TS.fullmatch(value):
        raise ValueError("not a Slack message timestamp")
    return value


def _http_url(value: str) -> str:
    """``response_url``: the listeners post their answer there (printable ASCII, no spaces:
    what an HTTP client accepts; a host and, if any, a numeric port)."""
    parsed = urlparse(value)
    if (not _URL_CHARS.fullmatch(value) or parsed.scheme not in ("http", "https")
            or not parsed.hostname):
        raise ValueError("not an http(s) URL")
    _ = parsed.port  # raises ValueError for a port that is not a number in range
    return value


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("null where Bolt expects a value")
    return value


def _str_or_object(value: Any) -> Any:
    """Bolt reads ``user``/``team``/``channel``/``enterprise`` as an id or an object with ``id``."""
    if value is not None and not isinstance(value, (str, dict)):
        raise ValueError("neither an id nor an object")
    return value


SlackId = Annotated[str, AfterValidator(_slack_id)]
SlackTs = Annotated[str, AfterValidator(_slack_ts)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
IdOrObject = Annotated[Any, AfterValidator(_str_or_object)]
Obj = dict[str, Any]


class _Model(BaseModel):
    """Strict (no coercion), extra fields kept and not checked."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


# -- what Bolt reads on every payload ---------------------------------------------------------

class _Actor(_Model):
    """An object in which Bolt looks for ids (``authorizations[0]``, ``event``, ``message``...)."""

    enterprise: IdOrObject = None
    team: IdOrObject = None
    user: IdOrObject = None
    channel: IdOrObject = None


class _EventEnvelope(_Actor):
    item: _Actor | None = None
    assistant_thread: _Actor | None = None
    message: _Actor | None = None
    previous_message: _Actor | None = None
    function: Obj | None = None


class _ViewEnvelope(_Model):
    type: Any = None
    callback_id: Any = None


class Envelope(_Actor):
    """The fields Bolt reads before (and while) choosing a listener, whatever the kind: a wrong
    type there makes Bolt raise instead of answering. Present-but-null is refused where Bolt
    reads ``body.get(key, {})``."""

    authorizations: Annotated[list[_Actor] | None, BeforeValidator(_not_null)] = None
    event: Annotated[_EventEnvelope | None, BeforeValidator(_not_null)] = None
    view: Annotated[_ViewEnvelope | None, BeforeValidator(_not_null)] = None
    actions: Annotated[list[Obj] | None, BeforeValidator(_not_null)] = None
    response_urls: Annotated[list[Obj] | None, BeforeValidator(_not_null)] = None
    message: _Actor | None = None
    previous_message: _Actor | None = None
    response_url: HttpUrl | None = None


# -- /sentimento -------------------------------------------------------------------------------

class SlashCommand(_Model):
    """``/sentimento <texto>`` (form fields: always strings; all of them required)."""

    command: str
    text: str
    team_id: str
    channel_id: str
    user_id: str
    response_url: HttpUrl


# -- Events API --------------------------------------------------------------------------------

class _CallbackEvent(_Model):
    type: str


class EventCallback(_Model):
    """An Events API delivery: the ``event`` and the envelope fields the listeners read."""

    type: Literal["event_callback"]
    team_id: SlackId
    event_id: str | None = None
    event: _CallbackEvent


class MessageEvent(_Model):
    """A ``message`` event (``handlers/counting.py``, ``bot.counting.model.countable``). Subtypes such as
    ``message_changed`` carry no top-level ``text``/``user``: those are optional."""

    type: Literal["message"]
    channel: str
    ts: SlackTs
    text: str | None = None
    user: str | None = None
    thread_ts: str | None = None
    team: str | None = None
    subtype: str | None = None
    channel_type: str | None = None


class HomeOpenedEvent(_Model):
    """``app_home_opened`` (``handlers/home.py``)."""

    type: Literal["app_home_opened"]
    user: SlackId
    tab: str | None = None


# -- interactivity -----------------------------------------------------------------------------

class Ref(_Model):
    """``{"id": "T0123", ...}``: the team, user or channel of an interactivity payload."""

    id: str


class Action(_Model):
    """One element of ``actions`` (a button: ``value`` is what the bot put in it)."""

    action_id: str
    value: str | None = None


class BlockActions(_Model):
    """A button click (``handlers/reports.py`` share, ``handlers/moderation.py`` alert buttons:
    all in messages, so with a ``response_url``). ``team`` is null for some org-wide apps."""

    type: Literal["block_actions"]
    user: Ref
    team: Ref | None = None
    channel: Ref | None = None
    actions: Annotated[list[Action], Field(min_length=1)]
    response_url: HttpUrl  # the listeners answer there: the bot's buttons are all in messages


class ShortcutMessage(_Model):
    """The message a shortcut was used on (``text`` absent for e.g. a file without text)."""

    ts: str
    text: str | None = None
    thread_ts: str | None = None


class MessageAction(_Model):
    """A message shortcut ("Analisar sentimento", "Sinalizar para moderação")."""

    type: Literal["message_action"]
    callback_id: str
    message: ShortcutMessage
    channel: Ref
    user: Ref
    team: Ref
    response_url: HttpUrl | None = None


class UrlVerification(_Model):
    """The Events API URL check (answered by Bolt with the ``challenge``)."""

    type: Literal["url_verification"]
    challenge: str


_KIND_MODELS: dict[str, type[_Model]] = {
    SLASH_COMMAND: SlashCommand, EVENT: EventCallback, BLOCK_ACTIONS: BlockActions,
    MESSAGE_ACTION: MessageAction, URL_VERIFICATION: UrlVerification,
}
_EVENT_MODELS: dict[str, type[_Model]] = {"message": MessageEvent,
                                           "app_home_opened": HomeOpenedEvent}
_TYPE_KINDS = {"event_callback": EVENT, "block_actions": BLOCK_ACTIONS,
               "message_action": MESSAGE_ACTION, "url_verification": URL_VERIFICATION}


def kind_of(body: Any) -> str:
    """The payload kind as Bolt tells them apart: a ``command`` field makes a slash command,
    else the ``type`` field; :data:`OTHER` for anything else."""
    if not isinstance(body, dict):
        return OTHER
    if "command" in body:
        return SLASH_COMMAND
    payload_type = body.get("type")
    return _TYPE_KINDS.get(payload_type, OTHER) if isinstance(payload_type, str) else OTHER


def _path(error: ValidationError, prefix: str = "") -> str:
    """The first failing field's path (names and list indices only, never a value)."""
    loc = error.errors(include_url=False, include_context=False, include_input=False)[0]["loc"]
    return prefix + ".".join(str(part) for part in loc) if loc else prefix.rstrip(".") or "(body)"


def _validate(model: type[_Model], data: Any, kind: str, prefix: str = "") -> Rejection | None:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return Rejection(kind, _path(exc, prefix))
    return None


def check_envelope(body: Any) -> Rejection | None:
    """Only the :class:`Envelope`: what Bolt needs to even build a request from ``body``."""
    if not isinstance(body, dict):
        return Rejection(OTHER, "(body)")
    return _validate(Envelope, body, kind_of(body))


def check(body: Any) -> Rejection | None:
    """``None`` when ``body`` is a payload the bot handles with every field it reads well
    formed; else the :class:`Rejection` (kind ``other`` for a kind without a listener)."""
    rejection = check_envelope(body)
    if rejection is not None:
        return rejection
    kind = kind_of(body)
    if kind == OTHER:
        return Rejection(OTHER, "type")
    rejection = _validate(_KIND_MODELS[kind], body, kind)
    if rejection is None and kind == EVENT:
        event_model = _EVENT_MODELS.get(body["event"].get("type"))
        if event_model is not None:
            rejection = _validate(event_model, body["event"], kind, "event.")
    return rejection
