"""Test harness for the Slack bot: a fake Slack, real HTTP servers on port 0, signed requests.

Slack's servers cannot be reached from tests, so :class:`FakeSlack` stands in for them: a real
HTTP server that answers the Web API (``/api/<method>``) and receives ``response_url`` posts
(``/response/<name>``), recording every call. The bot itself runs for real: the Bolt app built
by ``bot.app.build_app`` behind ``bot.server.create_asgi_app``, served by uvicorn on port 0,
and driven with requests signed like Slack signs them (slack_sdk's ``SignatureVerifier``).
Payloads follow the shapes in Slack's documentation.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode

import httpx
import uvicorn
from slack_sdk.signature import SignatureVerifier

from bot.store import StoreSettings, open_store

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1234-5678-testtokenvalue"
TEAM_ID = "T0001"
BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
APP_ID = "A0001"


@dataclass
class Call:
    """One request the bot made to the fake Slack."""

    kind: str  # "api" or "response"
    name: str  # Web API method (chat.postEphemeral) or response_url name
    params: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    # how the fake answered: "ok", "error:<code>", "status:<http status>", "ratelimited"
    # (FakeSlack.rate_limit) or "unreachable"
    outcome: str = "ok"
    limited: bool = False  # answered 429 by FakeSlack.rate_limit (not delivered)


def start_http_server(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A real threaded HTTP server on 127.0.0.1, port 0, serving in a daemon thread.
    Stop it with ``shutdown()`` and ``server_close()``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def server_url(server: ThreadingHTTPServer) -> str:
    """The base URL (ending with ``/``) of a server from :func:`start_http_server`."""
    return f"http://127.0.0.1:{server.server_address[1]}/"


@dataclass
class RateLimit:
    """:meth:`FakeSlack.rate_limit`'s switch: until ``until`` (monotonic), calls of ``kinds``
    are answered 429 with ``Retry-After: retry_after``; ``answered`` counts them."""

    until: float = 0.0
    kinds: tuple[str, ...] = ()
    retry_after: str = "1"
    answered: int = 0


@dataclass
class Script:
    """What :class:`FakeSlack` was told to answer next, per method or ``response_url`` name:
    HTTP failures, Slack errors, and Web API calls answered with a redirect to a closed port."""

    failures: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    unreachable: dict[str, int] = field(default_factory=dict)


@dataclass
class Workspaces:
    """:class:`FakeSlack`'s many workspaces: ``auth.test`` per bot token (else the one workspace
    TEAM_ID), ``oauth.v2.access`` per code (see :meth:`FakeSlack.install`), the users of other
    workspaces (``users.info``'s ``team_id``) and the channels shared with another company
    (``conversations.info``'s ``is_ext_shared``)."""

    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    oauth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_teams: dict[str, str] = field(default_factory=dict)
    ext_shared: set[str] = field(default_factory=set)
    refreshes: dict[str, dict[str, Any]] = field(default_factory=dict)  # refresh token -> answer


class FakeSlack:
    """A local stand-in for slack.com (Web API and ``response_url``) that records calls."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._cond = threading.Condition()
        self._script = Script()
        self._limit = RateLimit()
        # users.conversations: the channels each user is a member of (answered page_size a page)
        self.memberships: dict[str, list[str]] = {}
        self.page_size = 2
        # users.info: the workspace's admins and owners; usergroups.users.list: group -> members
        self.admins: set[str] = set()
        self.usergroups: dict[str, list[str]] = {}
        self.workspaces = Workspaces()
        self._file_ids = itertools.count(1)
        harness = self

        class Handler(BaseHTTPRequestHandler):
            """Answers one request from the bot."""

            def log_message(self, *_args) -> None:  # keep test output quiet
                return

            def do_POST(self) -> None:  # pylint: disable=invalid-name  # http.server's naming
                """Record the call and answer like Slack."""
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length) if length else b""
                if self.path.startswith("/upload/"):  # a file's bytes (files_upload_v2, step 2)
                    status, headers, payload = harness.handle_upload(self.path, dict(self.headers), raw)
                else:
                    status, headers, payload = harness.handle(self.path, dict(self.headers),
                                                              raw.decode("utf-8"))
                data = payload.encode("utf-8")
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = start_http_server(Handler)
        self.port = self._server.server_address[1]

    @property
    def api_url(self) -> str:
        """Value for ``SLACK_API_URL``."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str) -> str:
        """A ``response_url`` whose posts are recorded under ``name``."""
        return f"http://127.0.0.1:{self.port}/response/{name}"

    def fail_next(self, method: str, status: int, headers: dict[str, str] | None = None,
                  times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``status`` (e.g. 429 + Retry-After)."""
        with self._cond:
            self._script.failures.setdefault(method, []).extend([(status, headers or {})] * times)

    def rate_limit(self, seconds: float, retry_after: int = 1,
                   kinds: tuple[str, ...] = ("api", "response")) -> None:
        """For the next ``seconds``, answer every call of ``kinds`` (``api``: the Web API,
        ``response``: ``response_url`` posts) with HTTP 429 and ``Retry-After: retry_after``,
        as Slack does when an app exceeds its rate limits. Each such call is recorded."""
        with self._cond:
            self._limit.until = time.monotonic() + seconds
            self._limit.kinds = tuple(kinds)
            self._limit.retry_after = str(retry_after)

    @property
    def limited(self) -> int:
        """Calls answered 429 by :meth:`rate_limit` so far."""
        with self._cond:
            return self._limit.answered

    def _rate_limited(self, kind: str) -> bool:
        """True when :meth:`rate_limit` is on for ``kind`` (call with the lock held)."""
        if kind in self._limit.kinds and time.monotonic() < self._limit.until:
            self._limit.answered += 1
            return True
        return False

    def error_next(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 200 ``{"ok": false, "error":
        error}``, as Slack does for ``missing_scope``, ``not_in_channel``..."""
        with self._cond:
            self._script.errors.setdefault(method, []).extend([error] * times)

    def unreachable_next(self, method: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail to connect: the answer redirects
        (302) to a closed port, so urllib raises ``URLError`` (connection refused), as when
        Slack cannot be reached. slack_sdk's ``ConnectionErrorRetryHandler`` retries it: the bot's
        client makes 3 attempts (``max_retry_count=2``)."""
        with self._cond:
            self._script.unreachable[method] = self._script.unreachable.get(method, 0) + times

    def handle_upload(self, path: str, headers: dict[str, str],
                      raw: bytes) -> tuple[int, dict[str, str], str]:
        """Receive a file's bytes at an upload URL from ``files.getUploadURLExternal``; recorded
        as kind ``upload``, named by the file id, with the bytes in ``params["body"]``."""
        file_id = path.strip("/").partition("/")[2]
        with self._cond:
            self.calls.append(Call("upload", file_id, {"body": raw}, headers))
            self._cond.notify_all()
        return 200, {"Content-Type": "text/plain"}, f"OK - {len(raw)}"

    def _next_answer(self, kind: str, name: str) -> tuple[str, tuple | None, str | None]:
        """(outcome, scripted HTTP failure, scripted Slack error) of the next call of ``name``
        (call with the lock held): a redirect to a closed port, the rate limit, or the script."""
        if kind == "api" and self._script.unreachable.get(name, 0) > 0:
            self._script.unreachable[name] -= 1
            return "unreachable", None, None
        if self._rate_limited(kind):
            return "ratelimited", None, None
        failures = self._script.failures.get(name)
        failure = failures.pop(0) if failures else None
        errors = self._script.errors.get(name) if kind == "api" else None
        error = errors.pop(0) if errors else None
        outcome = (f"error:{error}" if error is not None
                   else f"status:{failure[0]}" if failure is not None else "ok")
        return outcome, failure, error

    def handle(self, path: str, headers: dict[str, str], raw: str) -> tuple[int, dict[str, str], str]:
        """Record one request and build Slack's answer."""
        if headers.get("Content-Type", "").startswith("application/json"):
            params = json.loads(raw) if raw else {}
        else:
            params = {key: values[0] for key, values in parse_qs(raw).items()}
        kind, _, name = path.strip("/").partition("/")
        kind = "api" if kind == "api" else "response"
        with self._cond:
            outcome, failure, error = self._next_answer(kind, name)
            self.calls.append(Call(kind, name, params, headers, outcome=outcome,
                                   limited=outcome == "ratelimited"))
            self._cond.notify_all()
        if outcome == "unreachable":
            return 302, {"Location": closed_port_url(), "Content-Type": "text/plain"}, ""
        if outcome == "ratelimited":
            return 429, {"Content-Type": "application/json",
                         "Retry-After": self._limit.retry_after}, \
                json.dumps({"ok": False, "error": "ratelimited"})
        if error is not None:
            return 200, {"Content-Type": "application/json"}, json.dumps({"ok": False, "error": error})
        if failure is not None:
            status, extra = failure
            return status, {"Content-Type": "application/json", **extra}, json.dumps(
                {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"})
        if kind == "response":
            return 200, {"Content-Type": "text/plain"}, "ok"
        return 200, {"Content-Type": "application/json"}, json.dumps(
            self._answer(name, params, headers))

    def install(self, code: str, team_id: str, token: str, *, team_name: str = "Empresa",
                enterprise_id: str | None = None, user_id: str = "U0INSTALL",
                refresh_token: str | None = None, expires_in: int | None = None) -> None:
        """Make ``code`` an OAuth code that ``oauth.v2.access`` exchanges for an installation
        of ``team_id`` with bot token ``token`` (whose ``auth.test`` then names that team)."""
        answer: dict[str, Any] = {
            "ok": True, "app_id": APP_ID, "authed_user": {"id": user_id},
            "scope": "commands,chat:write", "token_type": "bot", "access_token": token,
            "bot_user_id": f"UBOT{team_id}", "team": {"id": team_id, "name": team_name},
            "enterprise": {"id": enterprise_id, "name": "Org"} if enterprise_id else None,
            "is_enterprise_install": False}
        if refresh_token is not None:
            answer.update(refresh_token=refresh_token, expires_in=expires_in or 43200)
        self.workspaces.oauth_codes[code] = answer
        self.workspaces.tokens[token] = {"team_id": team_id, "team": team_name,
                                         "enterprise_id": enterprise_id,
                                         "user_id": f"UBOT{team_id}", "bot_id": f"B{team_id}"}

    def rotate(self, refresh_token: str, team_id: str, token: str, next_refresh: str,
               expires_in: int = 43200) -> None:
        """Make ``oauth.v2.access`` with ``grant_type=refresh_token`` and ``refresh_token``
        answer a new bot token ``token`` of ``team_id`` (Slack's token rotation)."""
        self.workspaces.refreshes[refresh_token] = {
            "ok": True, "app_id": APP_ID, "token_type": "bot", "access_token": token,
            "refresh_token": next_refresh, "expires_in": expires_in, "scope": "commands,chat:write",
            "bot_user_id": f"UBOT{team_id}", "team": {"id": team_id}, "enterprise": None}
        self.workspaces.tokens[token] = {"team_id": team_id, "team": "Empresa",
                                         "enterprise_id": None, "user_id": f"UBOT{team_id}",
                                         "bot_id": f"B{team_id}"}

    def _auth_test(self, params: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        """``auth.test`` of the token sent (the one workspace TEAM_ID for unknown tokens)."""
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        token = params.get("token") or auth.removeprefix("Bearer ")
        known = self.workspaces.tokens.get(token)
        if known is None:
            return {"ok": True, "url": "https://teste.slack.com/", "team": "Teste",
                    "user": "sentimento", "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID, "is_enterprise_install": False}
        return {"ok": True, "url": "https://outra.slack.com/", "user": "sentimento",
                "is_enterprise_install": False, **known}

    def _workspaces_api(self, method: str, params: dict[str, Any],
                        headers: dict[str, str]) -> dict[str, Any] | None:
        """``auth.test``, ``oauth.v2.access`` and ``conversations.info``; None for others."""
        if method == "auth.test":
            return self._auth_test(params, headers)
        if method == "oauth.v2.access" and params.get("grant_type") == "refresh_token":
            answer = self.workspaces.refreshes.pop(str(params.get("refresh_token")), None)
            return answer if answer is not None else {"ok": False, "error": "invalid_refresh_token"}
        if method == "oauth.v2.access":
            answer = self.workspaces.oauth_codes.pop(str(params.get("code")), None)
            return answer if answer is not None else {"ok": False, "error": "invalid_code"}
        if method == "conversations.info":
            channel = str(params.get("channel"))
            shared = channel in self.workspaces.ext_shared
            return {"ok": True, "channel": {"id": channel, "is_channel": True,
                                            "is_ext_shared": shared}}
        return None

    def _answer(self, method: str, params: dict[str, Any],
                headers: dict[str, str] | None = None) -> dict[str, Any]:
        workspaces = self._workspaces_api(method, params, headers or {})
        if workspaces is not None:
            return workspaces
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{time.time():.6f}"}
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"), "ts": f"{time.time():.6f}",
                    "message": {"text": params.get("text", "")}}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V0001", **(params.get("view") or {})}}
        return (self._reports_api(method, params) or self._moderation_api(method, params)
                or {"ok": True})

    def _moderation_api(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """``chat.getPermalink``, ``chat.update``, ``users.info`` (admins from :attr:`admins`)
        and ``usergroups.users.list`` (from :attr:`usergroups`); None for other methods."""
        if method == "chat.getPermalink":
            channel, ts = params.get("channel"), str(params.get("message_ts"))
            return {"ok": True, "channel": channel,
                    "permalink": f"https://teste.slack.com/archives/{channel}/p{ts.replace('.', '')}"}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"),
                    "text": params.get("text", "")}
        if method == "users.info":
            user = str(params.get("user"))
            return {"ok": True, "user": {"id": user, "team_id": self.workspaces.user_teams.get(user, TEAM_ID),
                                         "is_admin": user in self.admins,
                                         "is_owner": False, "is_primary_owner": False}}
        if method == "usergroups.users.list":
            group = str(params.get("usergroup"))
            if group not in self.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": self.usergroups[group]}
        return None

    def _reports_api(self, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """``users.conversations`` (App Home) and ``files_upload_v2``'s steps 1 and 3 (an upload
        URL here, then the completion); None for other methods."""
        if method == "users.conversations":
            return self._conversations(params)
        if not method.startswith("files."):
            return None
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._file_ids):08d}"
            return {"ok": True, "file_id": file_id,
                    "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}"}
        files = params.get("files")
        files = json.loads(files) if isinstance(files, str) else files or []
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}

    def _conversations(self, params: dict[str, Any]) -> dict[str, Any]:
        """``users.conversations`` for ``params["user"]``, ``page_size`` channels a page."""
        channels = self.memberships.get(str(params.get("user")), [])
        start = int(params.get("cursor") or 0)
        page = channels[start:start + self.page_size]
        more = start + self.page_size < len(channels)
        return {"ok": True, "channels": [{"id": channel, "is_channel": True} for channel in page],
                "response_metadata": {"next_cursor": str(start + self.page_size) if more else ""}}

    def recorded(self, kind: str | None = None, name: str | None = None) -> list[Call]:
        """Calls so far, optionally of one kind and name."""
        with self._cond:
            return [call for call in self.calls
                    if (kind is None or call.kind == kind) and (name is None or call.name == name)]

    def wait_for(self, kind: str, name: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until ``count`` calls of (kind, name) arrived; fail the test after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls if c.kind == kind and c.name == name]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} {kind} {name} call(s), got {len(found)}: "
                                         f"{[(c.kind, c.name) for c in self.calls]}")
                self._cond.wait(remaining)

    def close(self) -> None:
        """Stop the server."""
        self._server.shutdown()
        self._server.server_close()


class ServerThread:
    """An ASGI app served by a real uvicorn on 127.0.0.1, port 0, in a background thread."""

    def __init__(self, app) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def close(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(10)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


# --------------------------------------------------------------------------- model service stand-in

NEUTRAL_RESULT = {"label": "neutral", "label_pt": "Neutro", "score": 0.6,
                  "scores": {"negative": 0.2, "neutral": 0.6, "positive": 0.2}}


def closed_port_url() -> str:
    """A URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


class ScriptedService:
    """A real HTTP server answering ``POST /v1/classify`` from a script of (status, headers, body|None)
    (None: a valid neutral answer), then valid answers; records the size of each request. With a
    ``gate`` (a ``threading.Event``) every answer waits until it is set; ``answered`` is set once
    an answer has been sent."""

    def __init__(self, script=(), delay: float = 0.0, gate: threading.Event | None = None):
        self.script = list(script)
        self.sizes: list[int] = []
        self.gate = gate
        self.answered = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            """Plays the script."""

            def log_message(self, *_args):
                return

            def do_POST(self):  # pylint: disable=invalid-name  # http.server's naming
                """One scripted answer."""
                texts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["texts"]
                outer.sizes.append(len(texts))
                status, headers, body = outer.script.pop(0) if outer.script else (200, {}, None)
                if body is None:
                    body = json.dumps({"model": "m", "backend": "transformers",
                                       "results": [NEUTRAL_RESULT] * len(texts)})
                time.sleep(delay)
                if outer.gate is not None:
                    outer.gate.wait(10)
                data = body.encode()
                try:
                    self.send_response(status)
                    for key, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    outer.answered.set()
                except OSError:  # the client gave up (timeout tests)
                    pass

        self.server = start_http_server(Handler)
        self.url = server_url(self.server)

    def close(self):
        """Open the gate (if any) and stop serving."""
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()



# --------------------------------------------------------------------------- signed requests

def signed_headers(body: str, content_type: str, secret: str = SIGNING_SECRET,
                   timestamp: int | None = None, retry_num: int | None = None) -> dict[str, str]:
    """The headers Slack sends: ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` (v0)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
               "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)}
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


_ids = itertools.count(1)


def slash_command_body(text: str, response_url: str, user_id: str = "U0USER1",
                       channel_id: str = "C0GERAL", team_id: str = TEAM_ID) -> str:
    """A slash command's form body, as in Slack's documentation."""
    n = next(_ids)
    return urlencode({
        "token": "gIkuvaNzQIHg97ATvDxqgjtO", "team_id": team_id, "team_domain": "teste",
        "enterprise_id": "", "enterprise_name": "", "channel_id": channel_id, "channel_name": "geral",
        "user_id": user_id, "user_name": "maria", "command": "/sentimento", "text": text,
        "api_app_id": APP_ID, "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": f"13345224609.738474920.{n}",
    })


def message_event(text: str, user: str = "U0USER1", channel: str = "C0GERAL",
                  channel_type: str = "channel", ts: str | None = None, team: str = TEAM_ID,
                  **extra) -> dict[str, Any]:
    """A ``message`` event as delivered for ``message.channels`` / ``message.groups``
    (``team``: the author's workspace)."""
    event = {"type": "message", "channel": channel, "user": user, "text": text,
             "ts": ts or f"{time.time():.6f}", "event_ts": ts or f"{time.time():.6f}",
             "channel_type": channel_type, "team": team}
    event.update(extra)
    return {key: value for key, value in event.items() if value is not None}


def event_callback(event: dict[str, Any], event_id: str | None = None,
                   team_id: str = TEAM_ID, ext_shared: bool = False) -> str:
    """An Events API ``event_callback`` envelope (JSON body), delivered for the installation of
    ``team_id``."""
    return json.dumps({
        "token": "XXYYZZ", "team_id": team_id, "api_app_id": APP_ID, "event": event,
        "type": "event_callback", "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()), "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ",
        "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": BOT_USER_ID,
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": ext_shared,
    })


def message_action_body(text: str, response_url: str, user_id: str = "U0USER1",
                        channel_id: str = "C0GERAL", callback_id: str = "analisar_sentimento",
                        message_ts: str = "1732600000.000200",
                        thread_ts: str | None = None) -> str:
    """A message shortcut's interactivity payload (``payload=<json>`` form body); a reply in
    a thread carries its root's ``thread_ts``."""
    n = next(_ids)
    message = {"type": "message", "user": "U0OUTRO", "ts": message_ts, "text": text,
               "team": TEAM_ID}
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
    payload = {
        "type": "message_action", "token": "Nj2rfC2hU8mAfgaJLemZgO7H", "action_ts": f"{time.time():.6f}",
        "team": {"id": TEAM_ID, "domain": "teste"},
        "user": {"id": user_id, "username": "maria", "team_id": TEAM_ID, "name": "maria"},
        "channel": {"id": channel_id, "name": "geral"}, "is_enterprise_install": False,
        "enterprise": None, "callback_id": callback_id, "trigger_id": f"13345224609.8534564800.{n}",
        "response_url": response_url, "message_ts": message_ts, "message": message,
    }
    return urlencode({"payload": json.dumps(payload)})


def block_actions_body(action_id: str, value: str, response_url: str, user_id: str = "U0USER1",
                       channel_id: str = "C0GERAL", team_id: str = TEAM_ID,
                       user_team_id: str | None = None) -> str:
    """A ``block_actions`` interactivity payload: a button clicked on an ephemeral message in
    the workspace ``team_id`` by a member of ``user_team_id`` (default: the same)."""
    n = next(_ids)
    payload = {
        "type": "block_actions", "token": "Nj2rfC2hU8mAfgaJLemZgO7H", "api_app_id": APP_ID,
        "user": {"id": user_id, "username": "maria", "name": "maria",
                 "team_id": user_team_id or team_id},
        "team": {"id": team_id, "domain": "teste"}, "is_enterprise_install": False,
        "enterprise": None, "trigger_id": f"13345224609.8534564800.{n}",
        "container": {"type": "message", "message_ts": "1732600000.000300",
                      "channel_id": channel_id, "is_ephemeral": True},
        "channel": {"id": channel_id, "name": "geral"}, "response_url": response_url,
        "state": {"values": {}},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                     "text": {"type": "plain_text", "text": "Compartilhar no canal", "emoji": True},
                     "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)})


class SlackSender:
    """Sends signed requests to the bot's ``POST /slack/events``."""

    FORM = "application/x-www-form-urlencoded"
    JSON = "application/json"

    def __init__(self, base_url: str, secret: str = SIGNING_SECRET):
        self.url = base_url + "/slack/events"
        self.secret = secret
        self.client = httpx.Client(timeout=10)

    def post(self, body: str, content_type: str, **sign) -> httpx.Response:
        """POST ``body`` signed with the signing secret (``sign``: timestamp, retry_num, secret)."""
        secret = sign.pop("secret", self.secret)
        return self.client.post(self.url, content=body.encode("utf-8"),
                                headers=signed_headers(body, content_type, secret=secret, **sign))

    def command(self, text: str, response_url: str, channel_id: str = "C0GERAL",
                user_id: str = "U0USER1", team_id: str = TEAM_ID, **sign) -> httpx.Response:
        """``/sentimento <text>`` typed by ``user_id`` (of ``team_id``) in ``channel_id``."""
        return self.post(slash_command_body(text, response_url, user_id=user_id,
                                            channel_id=channel_id, team_id=team_id),
                         self.FORM, **sign)

    def action(self, action_id: str, value: str, response_url: str, channel_id: str = "C0GERAL",
               user_id: str = "U0USER1", team_id: str = TEAM_ID,
               user_team_id: str | None = None, **sign) -> httpx.Response:
        """A click on a button of an ephemeral message in ``channel_id``."""
        return self.post(block_actions_body(action_id, value, response_url, user_id=user_id,
                                            channel_id=channel_id, team_id=team_id,
                                            user_team_id=user_team_id), self.FORM, **sign)

    def home_opened(self, user_id: str = "U0USER1", team_id: str = TEAM_ID,
                    **sign) -> httpx.Response:
        """``user_id`` opens the app's Home tab."""
        return self.event({"type": "app_home_opened", "user": user_id, "channel": "D0HOME",
                           "tab": "home", "event_ts": f"{time.time():.6f}"},
                          team_id=team_id, **sign)

    def event(self, event: dict[str, Any], event_id: str | None = None, team_id: str = TEAM_ID,
              ext_shared: bool = False, **sign) -> httpx.Response:
        """One Events API delivery, for the installation of ``team_id``."""
        return self.post(event_callback(event, event_id, team_id, ext_shared), self.JSON, **sign)

    def shortcut(self, text: str, response_url: str, **sign) -> httpx.Response:
        """The "Analisar sentimento" message shortcut on a message with ``text``."""
        return self.post(message_action_body(text, response_url), self.FORM, **sign)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def blocks_text(message: dict[str, Any]) -> str:
    """Everything a user reads in a message or view: its text and the text of its blocks."""
    parts = [str(message.get("text", ""))]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    parts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks", []))
    return "\n".join(parts)


# --------------------------------------------------------------------------- the bot, running

@dataclass
class RunningBot:
    """A bot built by ``build_app`` and served over HTTP, with what it was built from."""

    settings: Any
    classifier: Any
    store: Any
    counter: Any
    app: Any
    server: ServerThread
    sender: SlackSender
    store_dir: str | None = None  # set when the harness made the store: closed and removed

    def close(self) -> None:
        """Stop the server, then flush the message counter (and close a store made for it)."""
        self.sender.close()
        self.server.close()
        self.counter.close(timeout=30)
        if self.store_dir is not None:
            self.store.close()
            shutil.rmtree(self.store_dir, ignore_errors=True)

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every channel message this bot accepted is handled (counted, skipped or
        dropped) and moderation has watched every counted one: after this, what has not
        happened will not happen."""
        wait_until(lambda: self.counter.depth() == 0
                   and self.counter.listened == self.counter.counted,
                   timeout=timeout, what="every accepted message handled")

    def counted(self, channel_id: str | None = None, day: str | None = None) -> dict[str, int]:
        """Messages counted per label, read back through the store's own queries: one channel
        (or the whole workspace), one day (or every day of the test payloads' years)."""
        return counted(self.store, TEAM_ID, channel_id, day)


def counted(store, team_id: str, channel_id: str | None = None,
            day: str | None = None) -> dict[str, int]:
    """Messages counted per label in ``store`` for a channel or a workspace, on ``day`` or over
    2024-2026 (the dates test payloads use)."""
    start, end = ((dt.date.fromisoformat(day),) * 2 if day
                  else (dt.date(2024, 1, 1), dt.date(2026, 12, 31)))
    if channel_id is None:
        tallies = [activity.tally for activity in store.top_channels(team_id, start, end, 1000)]
    else:
        tallies = list(store.daily_counts(team_id, channel_id, start, end).values())
    return {label: sum(t.counts[label] for t in tallies)
            for label in ("negative", "neutral", "positive")}


def bot_env(slack: FakeSlack, **overrides: str) -> dict[str, str]:
    """The environment of a bot talking to ``slack``, with fast message batching."""
    return {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url, "MESSAGE_BATCH_WAIT_MS": "20", **overrides}


def start_bot(slack: FakeSlack, classifier, store=None, env: dict[str, str] | None = None,
              extra_routes=(), **build_kwargs) -> RunningBot:
    """Build the real app from settings read from ``env`` and serve it on port 0
    (``build_kwargs`` go to ``build_app``; ``create_asgi_app`` gets the app's own routes, such
    as ``POST /tasks/digest`` when ``DIGEST_SECRET`` is set, and ``extra_routes``)."""
    # pylint: disable=import-outside-toplevel  # the harness module stays importable on its own
    from bot import app as bot_app
    from bot.server import create_asgi_app
    from bot.settings import BotSettings

    settings = BotSettings.from_env(env if env is not None else bot_env(slack))
    store_dir = None
    if store is None:  # a real SQLite store of its own, removed when the bot closes
        store_dir = tempfile.mkdtemp(prefix="sentimento-bot-")
        store = open_store(settings=StoreSettings(backend="sqlite", flush_interval=0,
                                                  sqlite_path=f"{store_dir}/bot.db"))
    counter = bot_app.build_counter(settings, classifier, store)
    app = bot_app.build_app(settings, classifier, store, counter, **build_kwargs)
    server = ServerThread(create_asgi_app(app, settings.slack_signing_secret,
                                          [*bot_app.build_routes(settings, app, store), *extra_routes],
                                          max_body_bytes=settings.max_body_bytes,
                                          metrics=counter.metrics))
    return RunningBot(settings, classifier, store, counter, app, server, SlackSender(server.url),
                      store_dir)


def set_field(payload: Any, path: str, value: Any) -> bool:
    """Set the field at dotted ``path`` of a payload (``a.0.b``; ``...`` removes it), for tests
    that break one field at a time; False when a parent is missing or of the wrong type."""
    *parents, last = path.split(".")
    node = payload
    try:
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key = int(last) if isinstance(node, list) else last
        if value is ...:
            del node[key]
        else:
            node[key] = value
    except (KeyError, IndexError, TypeError, ValueError):
        return False
    return True
