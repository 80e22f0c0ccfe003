"""The bot's HTTP endpoints against hostile requests: what an attacker on the internet, or a
malformed delivery, gets back. Never a 5xx, never an exception in the logs, and the bot keeps
answering Slack correctly afterwards.

The real Bolt app (``build_app``) behind the real ASGI app (``create_asgi_app``), driven in
process with Starlette's TestClient, or served by uvicorn for what only a socket shows (a body
that is still being sent). Requests are signed like Slack signs them, over the raw bytes.

The fuzz tests run half of ``FUZZ_EXAMPLES`` examples each (100 by default; more for a deeper run, e.g.
``FUZZ_EXAMPLES=2000``). One thing they avoid on purpose: a signed ``response_url`` cut inside
its host or port. The listener then answers to a host that does not exist, and when its error
message cannot be posted there either, the exception leaves the lazy listener (logged by Bolt)
after the 200 ack: Slack's own ``response_url`` is always reachable, so only a handler change
would matter (see ``handlers/command.py``'s fallback ``respond``).
"""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlencode

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.support.slack_harness import (
    SIGNING_SECRET, FakeSlack, block_actions_body, bot_env, event_callback, message_action_body,
    message_event, set_field, slash_command_body,
)
from tests.support.fuzz import fuzz_settings

LIMIT = 64 * 1024  # the body limit of the in-process bot (the default is 1 MiB)
DIGEST_SECRET = "segredo-do-resumo-0123456789"
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
SENTINEL = "zebra-segredo-7731"  # in texts sent to the bot: must never reach a log line
FUZZ = fuzz_settings(0.5)  # 100 examples in CI; FUZZ_EXAMPLES scales it


def slack_headers(body: bytes, content_type: str | None = FORM, secret: str = SIGNING_SECRET,
                  timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature over the raw bytes of ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest.hexdigest()}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


class LogRecorder(logging.Handler):
    """Every log record of the process while the bot runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def problems(self) -> list[str]:
        """Records that betray an exception no code of ours handled (Bolt's error log, our
        ``@app.error`` handler, a traceback) or a logged message text. A listener's own
        ``log.error`` of an error it answered (an unreachable ``response_url``) is fine."""
        found = []
        for record in self.records:
            text = record.getMessage()
            bolt_error = record.name.startswith("slack_bolt") and record.levelno >= logging.ERROR
            if bolt_error or record.exc_info or any(
                    needle in text for needle in ("unhandled error", "Traceback", SENTINEL)):
                found.append(f"{record.name} {record.levelname}: {text[:200]}")
        return found


@dataclass
class HostileBot:
    """The real bot in process, with what the tests look at."""

    client: TestClient
    slack: FakeSlack
    rejections: Any  # the server's (before Bolt) rejection counts
    payload_rejections: Any  # the Bolt middleware's
    logs: LogRecorder

    def post(self, body: bytes | str, content_type: str | None = FORM, signed: bool = True,
             headers: dict[str, str] | None = None, path: str = "/slack/events"):
        """POST ``body`` (signed unless told otherwise)."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        sent = slack_headers(raw, content_type) if signed else (
            {"Content-Type": content_type} if content_type else {})
        sent.update(headers or {})
        return self.client.post(path, content=raw, headers=sent)

    def help_is_answered(self) -> bool:
        """``/sentimento ajuda`` still gets its help in the ack."""
        ack = self.post(slash_command_body("ajuda", self.slack.response_url("ajuda")))
        return ack.status_code == 200 and "Como usar" in ack.text

    def assert_healthy(self) -> None:
        """Alive (healthz), still answering Slack, and nothing unhandled or leaked in the logs
        (after the lazy listeners of the requests so far had time to finish)."""
        time.sleep(0.3)
        assert self.client.get("/healthz").json() == {"status": "ok"}
        assert self.help_is_answered()
        time.sleep(0.2)
        problems = self.logs.problems()
        assert not problems, problems


def bot_in_process(slack: FakeSlack, classifier, store, rejections, payload_rejections):
    """The real Bolt app and ASGI app, as ``python -m bot`` builds them, with a ``LIMIT``-byte
    body limit and ``POST /tasks/digest``."""
    # pylint: disable=import-outside-toplevel
    from bot.app import build_app, build_routes
    from bot.counting.counter import MessageCounter
    from bot.server import create_asgi_app
    from bot.settings import BotSettings

    bot_settings = BotSettings.from_env(bot_env(slack, DIGEST_SECRET=DIGEST_SECRET))
    counter = MessageCounter(classifier, store, batch_size=8, wait_ms=20)
    app = build_app(bot_settings, classifier, store, counter, rejections=payload_rejections)
    asgi = create_asgi_app(app, SIGNING_SECRET, build_routes(bot_settings, app, store),
                           max_body_bytes=LIMIT, rejections=rejections)
    return asgi, counter


@pytest.fixture(scope="module")
def hostile(lexicon_classifier):
    """The real bot (Bolt app, SQLite store, lexicon) in a TestClient, with its rejection
    counts and every log record."""
    # pylint: disable=import-outside-toplevel
    from bot.store import StoreSettings, open_store
    from bot.validation import Rejections

    slack = FakeSlack()
    recorder = LogRecorder()
    logging.getLogger().addHandler(recorder)
    store_dir = tempfile.mkdtemp(prefix="sentimento-hostile-")
    store = open_store(settings=StoreSettings(backend="sqlite", flush_interval=0,
                                              sqlite_path=f"{store_dir}/bot.db"))
    rejections, payload_rejections = Rejections(), Rejections()
    asgi, counter = bot_in_process(slack, lexicon_classifier, store, rejections, payload_rejections)
    with TestClient(asgi, raise_server_exceptions=False) as client:
        yield HostileBot(client, slack, rejections, payload_rejections, recorder)
    time.sleep(0.3)  # lazy listeners still running
    counter.close(timeout=30)
    store.close()
    slack.close()
    logging.getLogger().removeHandler(recorder)
    shutil.rmtree(store_dir, ignore_errors=True)


# -- payloads to break ------------------------------------------------------------------------

def form_payload(payload: Any) -> str:
    """An interactivity body: ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload)})


def interactivity(body: str) -> dict:
    """The JSON payload of an interactivity form body."""
    return json.loads(parse_qs(body)["payload"][0])


def templates(slack: FakeSlack) -> dict[str, dict]:
    """One valid payload of every kind the bot handles, as JSON objects (answers after the ack
    go to ``slack``)."""
    url = slack.response_url("fuzz")
    share = json.dumps({"team": "T0001", "channel": "C0GERAL", "period": "7d"})
    return {
        "command": dict(parse_qsl(slash_command_body(f"adorei {SENTINEL}", url))),
        "message": json.loads(event_callback(message_event(f"Que dia ótimo {SENTINEL}",
                                                           ts="1732600000.000200"))),
        "home": json.loads(event_callback({"type": "app_home_opened", "user": "U0USER1",
                                           "tab": "home", "event_ts": "1732600000.000300"})),
        "share": interactivity(block_actions_body("report_share", share, url)),
        "resolve": interactivity(block_actions_body("moderacao_ciente", "A1", url)),
        "analyse": interactivity(message_action_body(f"Que dia ótimo {SENTINEL}", url)),
        "flag": interactivity(message_action_body(f"Que horror {SENTINEL}", url,
                                                  callback_id="sinalizar_moderacao",
                                                  thread_ts="1732599000.000100")),
    }


EVENT_KINDS = ("message", "home")


def encode(kind: str, payload: Any) -> tuple[bytes, str]:
    """The body and content type Slack would use for a ``kind`` payload: a form for a command
    (JSON when a field is not a string: Bolt reads both), JSON for events, ``payload=<json>``
    for interactivity."""
    if kind == "command":
        if isinstance(payload, dict) and all(isinstance(v, str) for v in payload.values()):
            return urlencode(payload).encode(), FORM
        return json.dumps(payload).encode(), JSON_TYPE
    if kind in EVENT_KINDS:
        return json.dumps(payload).encode(), JSON_TYPE
    return form_payload(payload).encode(), FORM


def changed(slack: FakeSlack, kind: str, **fields) -> tuple[bytes, str]:
    """Template ``kind`` with ``fields`` (``a__b`` for ``a.b``) set, encoded."""
    payload = templates(slack)[kind]
    for path, value in fields.items():
        assert set_field(payload, path.replace("__", "."), value), path
    return encode(kind, payload)


# The fields each listener reads (handlers/*.py), and some that Bolt reads itself.
FIELDS = {
    "command": ["command", "text", "team_id", "channel_id", "user_id", "response_url"],
    "message": ["event", "event.type", "event.text", "event.ts", "event.channel", "event.user",
                "event.thread_ts", "event.team", "event.subtype", "event.channel_type",
                "event.bot_id", "team_id", "event_id", "authorizations", "authorizations.0",
                "authorizations.0.team", "authorizations.0.user", "is_ext_shared_channel",
                "enterprise"],
    "home": ["event", "event.user", "event.tab", "team_id", "authorizations"],
    "share": ["type", "team", "team.id", "user", "user.id", "channel", "channel.id", "actions",
              "actions.0", "actions.0.action_id", "actions.0.value", "response_url", "view"],
    "resolve": ["team.id", "user.id", "channel", "channel.id", "actions", "actions.0.value"],
    "analyse": ["callback_id", "message", "message.text", "message.ts", "channel",
                "channel.id", "user", "user.id", "team", "team.id", "response_url"],
    "flag": ["message", "message.ts", "message.thread_ts", "channel.id", "team", "team.id",
             "user.id"],
}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=6)
CONTENT_TYPES = st.sampled_from([FORM, JSON_TYPE, "application/json; charset=utf-8",
                                 "text/plain", "multipart/form-data; boundary=x", "",
                                 "application/x-www-form-urlencoded; charset=latin-1", None])


# -- the measured 500s, one regression test each ---------------------------------------------

def unsigned(timestamp: str | bytes | None, signature: str | bytes | None) -> dict:
    """Headers with these (malformed) signature values, sent as their UTF-8 bytes."""
    headers: dict[str, Any] = {"Content-Type": FORM}
    for name, value in (("X-Slack-Request-Timestamp", timestamp), ("X-Slack-Signature", signature)):
        if value is not None:
            headers[name] = value.encode("utf-8") if isinstance(value, str) else value
    return headers


NOW = str(int(time.time()))
HEX = "v0=" + "a" * 64
UNSIGNED = [  # (case, body, headers): all 401, before anything is parsed
    ("timestamp abc", b"text=oi", unsigned("abc", HEX)),
    ("timestamp 1e3", b"text=oi", unsigned("1e3", HEX)),
    ("timestamp of 400 digits", b"text=oi", unsigned("9" * 400, HEX)),
    ("timestamp with a sign", b"text=oi", unsigned("+" + NOW, HEX)),
    ("timestamp with spaces", b"text=oi", unsigned(f" {NOW} ", HEX)),
    ("timestamp in Arabic-Indic digits", b"text=oi", unsigned("١٧٠٠٠٠٠٠٠٠".encode(), HEX)),
    ("timestamp empty", b"text=oi", unsigned("", HEX)),
    ("timestamp missing", b"text=oi", unsigned(None, HEX)),
    ("signature non-ASCII", b"text=oi", unsigned(NOW, "v0=" + "é" * 64)),
    ("signature bytes not UTF-8", b"text=oi", unsigned(NOW, b"v0=\xff\xfe" + b"a" * 62)),
    ("signature short", b"text=oi", unsigned(NOW, "v0=abc")),
    ("signature in upper case", b"text=oi", unsigned(NOW, "v0=" + "A" * 64)),
    ("signature missing", b"text=oi", unsigned(NOW, None)),
    ("body not UTF-8", b"text=\xff\xfe\xfd", unsigned(NOW, HEX)),
    ("body not UTF-8, no content type", b"\x80" * 100,
     {"X-Slack-Request-Timestamp": NOW, "X-Slack-Signature": HEX}),
]


@pytest.mark.parametrize("case,body,headers", UNSIGNED, ids=[case for case, _, _ in UNSIGNED])
def test_malformed_signature_headers_get_401(hostile, case, body, headers):
    """Each measured 500 on an unsigned request (and its kin) is a 401 now."""
    del case
    response = hostile.client.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid request"}


# (case, template, fields to change, status): signed by Slack's secret, but malformed
SIGNED = [
    ("event not an object", "message", {"event": "texto"}, 200),
    ("event a list", "message", {"event": [1, 2]}, 200),
    ("event null", "message", {"event": None}, 200),
    ("event type not a string", "message", {"event__type": ["message"]}, 200),
    ("message text a number", "message", {"event__text": 5}, 200),
    ("message ts a number", "message", {"event__ts": 1732600000.0002}, 200),
    ("message ts not a timestamp", "message", {"event__ts": "ontem"}, 200),
    ("message channel an object", "message", {"event__channel": {"id": 5}}, 200),
    ("message user an object", "message", {"event__user": {"id": "U1"}}, 200),
    ("message subtype a list", "message", {"event__subtype": ["x"]}, 200),
    ("message thread_ts a list", "message", {"event__thread_ts": [1]}, 200),
    ("event team_id a number", "message", {"team_id": 5}, 200),
    ("authorizations a string", "message", {"authorizations": "x"}, 200),
    ("authorizations of numbers", "message", {"authorizations": [1]}, 200),
    ("shared channel, event a string", "message", {"is_ext_shared_channel": True,
                                                    "event": "x"}, 200),
    ("home user missing", "home", {"event__user": ...}, 200),
    ("home user a number", "home", {"event__user": 5}, 200),
    ("home team_id an object", "home", {"team_id": {"id": "T1"}}, 200),
    ("command text a number", "command", {"text": 5}, 400),
    ("command team_id missing", "command", {"team_id": ...}, 400),
    ("command channel_id a list", "command", {"channel_id": ["C1"]}, 400),
    ("command response_url not a URL", "command", {"response_url": "aqui"}, 400),
    ("actions not a list", "share", {"actions": {"action_id": "report_share"}}, 400),
    ("actions empty", "share", {"actions": []}, 400),
    ("action not an object", "share", {"actions": ["report_share"]}, 400),
    ("action_id a number", "share", {"actions__0__action_id": 5}, 400),
    ("value an object", "share", {"actions__0__value": {"team": "T0001"}}, 400),
    ("value a list", "resolve", {"actions__0__value": ["A1"]}, 400),
    ("team not an object", "share", {"team": 5}, 400),
    ("team id a number", "share", {"team__id": 5}, 400),
    ("user a string", "share", {"user": "U0USER1"}, 400),
    ("user not an object", "resolve", {"user": [1]}, 400),
    ("channel a number", "resolve", {"channel": 5}, 400),
    ("shortcut message a string", "analyse", {"message": "texto"}, 400),
    ("shortcut text a number", "analyse", {"message__text": 5}, 400),
    ("shortcut ts an object", "flag", {"message__ts": {}}, 400),
    ("shortcut channel a string", "flag", {"channel": "C0GERAL"}, 400),
    ("shortcut channel id a number", "flag", {"channel__id": 7}, 400),
    ("shortcut team a list", "flag", {"team": []}, 400),
    ("shortcut callback_id a number", "analyse", {"callback_id": 5}, 400),
    ("view null", "share", {"type": "view_submission", "view": None}, 400),
]


@pytest.mark.parametrize("case,kind,fields,status", SIGNED, ids=[case for case, *_ in SIGNED])
def test_malformed_signed_payloads_get_4xx_or_an_ignored_200(hostile, case, kind, fields, status):
    """Each measured 500 on a signed, malformed payload: 400, or for an event a 200 that does
    nothing (Slack would retry anything else); no listener ran, so nothing reached Slack."""
    del case
    before = len(hostile.slack.calls)
    body, content_type = changed(hostile.slack, kind, **fields)
    response = hostile.post(body, content_type)
    assert response.status_code == status
    time.sleep(0.05)
    assert len(hostile.slack.calls) == before


BODIES = [  # (case, body, content type): signed, but no JSON object inside
    ("JSON array", b"[1, 2]", JSON_TYPE),
    ("JSON number", b"42", JSON_TYPE),
    ("JSON string", b'"texto"', JSON_TYPE),
    ("JSON null", b"null", JSON_TYPE),
    ("truncated JSON", b'{"type": "event_callback", "event": {', JSON_TYPE),
    ("JSON nested 30,000 deep", b"[" * 30_000 + b"]" * 30_000, JSON_TYPE),
    ("payload not JSON", b"payload=nada", FORM),
    ("payload truncated", b"payload=%7B%22type%22", FORM),
    ("payload a JSON list", b"payload=%5B1%5D", FORM),
    ("payload a JSON number", b"payload=42", FORM),
    ("a form that says JSON", b"command=/sentimento&text=oi", JSON_TYPE),
    ("not UTF-8", b"payload=\xff", FORM),
]


@pytest.mark.parametrize("case,body,content_type", BODIES, ids=[case for case, _, _ in BODIES])
def test_signed_bodies_bolt_cannot_parse_get_400(hostile, case, body, content_type):
    """Bolt would raise while parsing these (a 500): 400 now, before Bolt sees them."""
    del case
    assert hostile.post(body, content_type).status_code == 400


def test_a_button_value_that_is_not_json_gets_the_portuguese_answer(hostile):
    """A well-typed share button whose value is not JSON reaches the listener, which answers."""
    body, content_type = changed(hostile.slack, "share", actions__0__value="nada")
    assert hostile.post(body, content_type).status_code == 200
    [answer] = hostile.slack.wait_for("response", "fuzz")
    assert answer.params["response_type"] == "ephemeral"


def test_rejections_are_logged_by_field_and_counted(hostile):
    """One warning naming the kind and the field path, never the text; counted by kind."""
    count = hostile.payload_rejections.counts().get("message_action", 0)
    body, content_type = changed(hostile.slack, "analyse", message__text=5)
    hostile.logs.records.clear()
    assert hostile.post(body, content_type).status_code == 400
    lines = [r.getMessage() for r in hostile.logs.records if r.name == "bot.validation"]
    assert lines == ["rejected a malformed Slack message_action payload: field message.text is "
                     "missing, of the wrong type or badly formatted"]
    assert hostile.payload_rejections.counts()["message_action"] == count + 1
    before = hostile.rejections.total()
    hostile.post(b"text=oi", signed=False)
    assert hostile.rejections.counts()["signature"] >= 1
    assert hostile.rejections.total() == before + 1


def test_bolt_internal_headers_are_not_taken_from_the_internet(hostile):
    """``X-Slack-Bolt-Lazy-Only`` (not covered by the signature) cannot make Bolt skip the ack."""
    body = slash_command_body("ajuda", hostile.slack.response_url("lazy"))
    response = hostile.post(body, headers={"X-Slack-Bolt-Lazy-Only": "1",
                                           "X-Slack-Bolt-Lazy-Function-Name": "run_command"})
    assert response.status_code == 200 and "Como usar" in response.text


# -- the body size limit -----------------------------------------------------------------------

def padded_command(size: int, slack: FakeSlack) -> bytes:
    """A valid ``/sentimento ajuda`` form body of exactly ``size`` bytes (a padding field)."""
    body = slash_command_body("ajuda", slack.response_url("pad")) + "&pad="
    return (body + "x" * (size - len(body))).encode()


def test_a_body_exactly_at_the_limit_passes_and_one_byte_more_gets_413(hostile):
    """LIMIT bytes: read, verified and answered; LIMIT + 1: 413, signed or not."""
    at_limit = padded_command(LIMIT, hostile.slack)
    assert len(at_limit) == LIMIT
    response = hostile.post(at_limit)
    assert response.status_code == 200 and "Como usar" in response.text
    assert hostile.post(b"x" * LIMIT, signed=False).status_code == 401
    over = padded_command(LIMIT + 1, hostile.slack)
    assert hostile.post(over).status_code == 413
    assert hostile.post(b"x" * (LIMIT + 1), signed=False).status_code == 413


def test_content_length_lies(hostile):
    """Claiming more than the limit: 413 whatever follows; claiming less than is sent: the
    bytes are counted; a Content-Length that is not a number, or two that differ: 400."""
    small = padded_command(1000, hostile.slack)
    assert hostile.post(small, headers={"Content-Length": str(LIMIT + 1)}).status_code == 413
    assert hostile.post(small, headers={"Content-Length": str(10 ** 30)}).status_code == 400
    assert hostile.post(b"x" * (LIMIT + 10), signed=False,
                        headers={"Content-Length": "10"}).status_code == 413
    for value in ("-1", "1e3", "0x10", " 10", "١٠"):
        headers = {"Content-Length": value.encode("utf-8")}
        assert hostile.post(small, headers=headers).status_code == 400, value


def test_a_chunked_body_over_the_limit_gets_413(hostile):
    """No Content-Length (chunked): counted while read, 413 past the limit."""
    chunks = [b"x" * 4096] * (LIMIT // 4096 + 1)
    response = hostile.client.post("/slack/events", content=iter(chunks),
                                   headers={"Content-Type": FORM})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"


def test_digest_endpoint_has_the_limit_too(hostile):
    """``POST /tasks/digest`` with a body over the limit: 413, even with the right secret."""
    response = hostile.client.post("/tasks/digest", content=b"x" * (LIMIT + 1),
                                   headers={"X-Digest-Secret": DIGEST_SECRET})
    assert response.status_code == 413
    assert hostile.client.post("/tasks/digest", content=b"{}",
                               headers={"X-Digest-Secret": "errado"}).status_code == 403


def raw_request(port: int, head: bytes, body: bytes, timeout: float = 5.0) -> bytes:
    """Send ``head`` and ``body`` on a fresh socket, leave the request unfinished, and return
    the first bytes of the answer (the status line)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        return sock.recv(1024)


def test_a_running_bot_answers_413_before_the_body_is_sent(bot_factory, lexicon_classifier,
                                                          fake_slack):
    """Over a real socket (uvicorn), with ``MAX_BODY_BYTES`` from the environment: a claimed
    64 MB body is answered 413 before any of it is sent; a chunked one as soon as it passes the
    limit, while the client is still sending."""
    bot = bot_factory(lexicon_classifier, env=bot_env(fake_slack, MAX_BODY_BYTES="16384"))
    port = bot.server.port
    head = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode()
            + b"\r\nContent-Length: 67108864\r\n\r\n")
    assert raw_request(port, head, b"").startswith(b"HTTP/1.1 413")
    chunked = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Type: " + FORM.encode() + b"\r\n\r\n")
    chunk = b"x" * 16385
    assert raw_request(port, chunked, b"%x\r\n" % len(chunk) + chunk + b"\r\n").startswith(
        b"HTTP/1.1 413")
    assert bot.sender.command("ajuda", fake_slack.response_url("h")).status_code == 200
    assert bot.sender.client.get(bot.server.url + "/healthz").status_code == 200


def test_max_body_bytes_out_of_range_is_a_settings_error(fake_slack):
    """``MAX_BODY_BYTES`` below 16 KiB (real Slack payloads would be refused) or above 64 MiB,
    or not a number, is reported at start-up."""
    # pylint: disable=import-outside-toplevel
    from bot.settings import DEFAULT_MAX_BODY_BYTES, BotSettings
    from service.settings import SettingsError

    assert BotSettings.from_env(bot_env(fake_slack)).max_body_bytes == DEFAULT_MAX_BODY_BYTES == 2 ** 20
    for value in ("1000", str(65 * 2 ** 20), "1 MiB"):
        with pytest.raises(SettingsError, match="MAX_BODY_BYTES"):
            BotSettings.from_env(bot_env(fake_slack, MAX_BODY_BYTES=value))


# -- fuzz ----------------------------------------------------------------------------------------

@pytest.fixture()
def fuzz_bot(hostile):
    """The module's bot, checked healthy after the test (and its log cleared before)."""
    hostile.logs.records.clear()
    yield hostile
    hostile.assert_healthy()


def test_fuzz_unsigned_and_badly_signed_requests(fuzz_bot):
    """Random bodies and random signature headers, or a signature with another secret or an
    old timestamp: 401 (413 past the limit, 400 for a bad Content-Length), never 5xx."""

    @FUZZ
    @given(body=st.binary(max_size=2048), content_type=CONTENT_TYPES,
           timestamp=st.none() | st.text(max_size=30) | st.just(NOW),
           signature=st.none() | st.text(max_size=80) | st.just(HEX)
           | st.from_regex(r"v0=[0-9a-f]{64}", fullmatch=True),
           mode=st.sampled_from(["random", "other secret", "old"]))
    def run(body, content_type, timestamp, signature, mode):
        if mode == "random":
            headers = {key: value for key, value in {
                "Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": signature}.items() if value is not None}
            headers = {key: value.encode("utf-8") for key, value in headers.items()}
        elif mode == "other secret":
            headers = slack_headers(body, content_type, secret="outro-segredo")
        else:
            headers = slack_headers(body, content_type, timestamp=int(time.time()) - 301)
        response = fuzz_bot.client.post("/slack/events", content=body, headers=headers)
        assert response.status_code == 401

    run()  # pylint: disable=no-value-for-parameter  # @given supplies the arguments


def test_fuzz_signed_garbage(fuzz_bot):
    """Correctly signed random bytes, text or JSON, in any content type: never 5xx."""

    @FUZZ
    @given(body=st.binary(max_size=1024)
           | st.text(max_size=300).map(str.encode)
           | JSON_VALUES.map(lambda value: json.dumps(value).encode())
           | JSON_VALUES.map(lambda value: form_payload(value).encode()),
           content_type=CONTENT_TYPES)
    def run(body, content_type):
        assert fuzz_bot.post(body, content_type).status_code < 500

    run()  # pylint: disable=no-value-for-parameter  # @given supplies the arguments


def test_fuzz_wrong_values_in_every_field_the_listeners_read(fuzz_bot):
    """A valid payload of each kind with one or two fields the listeners (or Bolt) read set to
    any JSON value, or removed: never 5xx, events never 400, and nothing unhandled logged."""

    @FUZZ
    @given(data=st.data())
    def run(data):
        kind = data.draw(st.sampled_from(sorted(FIELDS)))
        payload = templates(fuzz_bot.slack)[kind]
        for path in data.draw(st.lists(st.sampled_from(FIELDS[kind]), min_size=1, max_size=2)):
            set_field(payload, path, data.draw(JSON_VALUES | st.just(...)))
        body, content_type = encode(kind, payload)
        response = fuzz_bot.post(body, content_type)
        assert response.status_code < 500
        if kind in EVENT_KINDS and payload.get("type") == "event_callback":
            assert response.status_code in (200, 404)  # 404: an event type nobody listens to

    run()  # pylint: disable=no-value-for-parameter  # @given supplies the arguments


def test_fuzz_truncated_and_oversized_bodies(fuzz_bot):
    """A valid payload cut anywhere, or padded past the limit, signed: never 5xx, and 413
    exactly when over the limit."""

    @FUZZ
    @given(data=st.data())
    def run(data):
        kind = data.draw(st.sampled_from(sorted(FIELDS)))
        body, content_type = encode(kind, templates(fuzz_bot.slack)[kind])
        if data.draw(st.booleans()):
            cut = data.draw(st.integers(0, len(body)))
            # Not inside the response_url's host and port: the listener would answer to a
            # host that does not exist (handled, but logged as an error; see the module doc).
            host = quote(fuzz_bot.slack.response_url(""), safe="")[:-len("response%2F")].encode()
            start = body.find(host)
            assume(start < 0 or not start < cut < start + len(host))
            body = body[:cut]
        else:
            body += b"&" + b"x" * data.draw(st.integers(LIMIT - len(body) - 64, LIMIT))
        status = fuzz_bot.post(body, content_type).status_code
        assert status < 500
        assert (status == 413) == (len(body) > LIMIT)

    run()  # pylint: disable=no-value-for-parameter  # @given supplies the arguments


def test_fuzz_digest_endpoint(fuzz_bot):
    """``POST /tasks/digest`` with any secret header and body: 401/403/413, never 5xx."""

    @FUZZ
    @given(secret=st.none() | st.binary(max_size=60), body=st.binary(max_size=512))
    def run(secret, body):
        headers = {} if secret is None else {"X-Digest-Secret": secret}
        response = fuzz_bot.client.post("/tasks/digest", content=body, headers=headers)
        assert response.status_code in (400, 401, 403)

    run()  # pylint: disable=no-value-for-parameter  # @given supplies the arguments
    run_ok = fuzz_bot.client.post("/tasks/digest", headers={"X-Digest-Secret": DIGEST_SECRET})
    assert run_ok.status_code == 200 and "week" in run_ok.json()
