"""Settings of ``python -m bot``: one typed object read from the environment.

Every problem (missing secret, malformed number, unknown time zone...) is
collected and reported at once with where to get the value. Secrets never
appear in ``repr`` or logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Mapping
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.counting.limits import BATCH_SIZE, BATCH_WAIT_MS, DEFAULT_LIMITS, LISTENER_WORKERS
from service.logs import LogSettings
from service.settings import EnvReader, ModelSettings

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
FALLBACKS = ("none", "lexicon")
_APPS = "https://api.slack.com/apps"
HINTS = {
    "SLACK_BOT_TOKEN": (
        f"o Bot User OAuth Token (xoxb-...): crie o app em {_APPS} a partir de manifest.yaml, "
        "instale-o no espaço de trabalho e copie o token em OAuth & Permissions"),
    "SLACK_SIGNING_SECRET": (
        f"o Signing Secret do app: {_APPS} → seu app → Basic Information → App Credentials"),
    "SLACK_APP_TOKEN": (
        f"um App-Level Token (xapp-...) com o escopo connections:write: {_APPS} → seu app → "
        "Basic Information → App-Level Tokens (só para o Socket Mode)"),
}
SECRET_FIELDS = frozenset({"slack_bot_token", "slack_signing_secret", "slack_app_token",
                           "model_service_token", "digest_secret", "slack_client_secret",
                           "slack_state_secret"})
# The bot scopes of manifest.yaml, asked for by "Adicionar ao Slack" (SLACK_SCOPES overrides them).
DEFAULT_SCOPES = ("commands", "chat:write", "channels:history", "groups:history", "channels:read",
                  "groups:read", "users:read", "usergroups:read", "files:write")
_SCOPE = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")
_PATH = re.compile(r"/[A-Za-z0-9_./-]{1,200}")
MIN_STATE_SECRET = 32
MIN_DIGEST_SECRET = 16
# MAX_BODY_BYTES: the largest HTTP request body the bot reads (413 above it, checked before the
# body is read in full, on every route). Slack's payloads are small: a message is at most
# 40,000 characters; Slack's JSON writes a non-ASCII character as one or two \uXXXX escapes
# (6-12 bytes) and form encoding (slash commands, interactivity) turns each backslash into %5C,
# so a maximal text costs at most 640 KB even if every character is an emoji, and an ordinary
# long Portuguese message a few tens of KB. 1 MiB therefore holds every payload the bot acts on
# (slash command, message event, button, shortcut), while an attacker's unsigned body costs at
# most 1 MiB per connection before it is refused. Only a maximal message made of emoji, quoted
# twice (text plus rich-text blocks: 1.28 MB form-encoded in a shortcut; an edit's old and new
# versions) exceeds it: that shortcut fails visibly, that edit event is refused (and never
# counted anyway). Raise MAX_BODY_BYTES if such messages matter.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MIN_MAX_BODY_BYTES = 16 * 1024  # below this, real Slack payloads would be refused
MAX_MAX_BODY_BYTES = 64 * 1024 * 1024


def _url(env: EnvReader, name: str, default: str | None) -> str | None:
    """An http(s) URL, normalised to end with ``/``."""
    raw = env.text(name)
    if raw is None:
        return default
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        env.problems.append(f"{name}={raw!r} não é uma URL http(s), ex.: https://exemplo.com/")
        return default
    return raw if raw.endswith("/") else raw + "/"


def _token(env: EnvReader, name: str, prefix: str, required: bool) -> str | None:
    """A Slack token that must start with ``prefix``; the value is never echoed back."""
    value = env.require(name, HINTS[name]) if required else env.text(name)
    if value and not value.startswith(prefix):
        env.problems.append(f"{name} deve começar com {prefix!r} (valor não mostrado): {HINTS[name]}")
    return value or None


def _timezone(env: EnvReader, name: str, default: str) -> str:
    value = env.text(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        env.problems.append(f"{name}={value!r} não é um fuso horário IANA, ex.: America/Sao_Paulo")
        return default
    return value


def _digest_secret(env: EnvReader) -> str | None:
    """``DIGEST_SECRET``: the shared secret of ``POST /tasks/digest`` (unset: no such endpoint)."""
    value = env.text("DIGEST_SECRET")
    if value is not None and len(value) < MIN_DIGEST_SECRET:
        env.problems.append(
            f"DIGEST_SECRET deve ter ao menos {MIN_DIGEST_SECRET} caracteres (valor não mostrado); "
            "gere um com: python -c \"import secrets; print(secrets.token_urlsafe(32))\"")
    return value


def _scopes(env: EnvReader) -> tuple[str, ...]:
    """``SLACK_SCOPES``: comma-separated bot scopes (default: the manifest's)."""
    raw = env.text("SLACK_SCOPES")
    if raw is None:
        return DEFAULT_SCOPES
    scopes = tuple(part.strip() for part in raw.split(",") if part.strip())
    bad = [scope for scope in scopes if not _SCOPE.fullmatch(scope)]
    if not scopes or bad:
        env.problems.append(f"SLACK_SCOPES={raw!r}: escopos separados por vírgula, "
                            "ex.: commands,chat:write")
        return DEFAULT_SCOPES
    return scopes


def _path(env: EnvReader, name: str, default: str) -> str:
    """A URL path of the bot (``/slack/install``)."""
    value = env.text(name, default) or default
    if not _PATH.fullmatch(value) or value == "/slack/events":
        env.problems.append(f"{name}={value!r} deve ser um caminho como {default!r} "
                            "(diferente de /slack/events)")
        return default
    return value


def _state_secret(env: EnvReader) -> str | None:
    """``SLACK_STATE_SECRET``: signs the OAuth ``state`` (no store needed; see the README)."""
    value = env.text("SLACK_STATE_SECRET")
    if value is not None and len(value) < MIN_STATE_SECRET:
        env.problems.append(
            f"SLACK_STATE_SECRET deve ter ao menos {MIN_STATE_SECRET} caracteres (valor não "
            "mostrado); gere um com: python -c \"import secrets; print(secrets.token_urlsafe(32))\"")
    return value


@dataclass(frozen=True)
class OAuthConfig:
    """"Adicionar ao Slack" (OAuth v2, many workspaces): on when ``SLACK_CLIENT_ID`` and
    ``SLACK_CLIENT_SECRET`` are set."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    install_path: str = "/slack/install"
    redirect_uri_path: str = "/slack/oauth_redirect"
    state_secret: str | None = None

    def __repr__(self) -> str:
        return (f"OAuthConfig(client_id={self.client_id!r}, client_secret='***', "
                f"scopes={self.scopes!r}, install_path={self.install_path!r}, "
                f"redirect_uri_path={self.redirect_uri_path!r}, "
                f"state_secret={'***' if self.state_secret else None})")

    @classmethod
    def read(cls, env: EnvReader) -> "OAuthConfig | None":
        """The OAuth settings, or None when neither id nor secret is set (single workspace)."""
        client_id, client_secret = env.text("SLACK_CLIENT_ID"), env.text("SLACK_CLIENT_SECRET")
        if client_id is None and client_secret is None:
            return None
        if client_id is None or client_secret is None:
            missing = "SLACK_CLIENT_ID" if client_id is None else "SLACK_CLIENT_SECRET"
            env.problems.append(f"{missing} não definido: o modo OAuth precisa de SLACK_CLIENT_ID "
                                f"e SLACK_CLIENT_SECRET ({_APPS} → seu app → Basic Information)")
            return None
        return cls(client_id=client_id, client_secret=client_secret, scopes=_scopes(env),
                   install_path=_path(env, "SLACK_INSTALL_PATH", "/slack/install"),
                   redirect_uri_path=_path(env, "SLACK_REDIRECT_URI_PATH",
                                           "/slack/oauth_redirect"),
                   state_secret=_state_secret(env))


@dataclass(frozen=True, repr=False)
class BotSettings:  # pylint: disable=too-many-instance-attributes  # one flat, documented settings object
    """Everything ``python -m bot`` reads from the environment."""

    slack_bot_token: str
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    model_service_url: str | None = None
    model_service_token: str | None = None
    model_service_audience: str | None = None
    model_service_timeout: float = 10.0
    model_service_retries: int = 3
    model_service_backoff: float = 0.5
    fallback: str = "none"
    host: str = "127.0.0.1"
    port: int = 3000
    timezone: str = "America/Sao_Paulo"
    message_batch_size: int = BATCH_SIZE
    message_batch_wait_ms: float = BATCH_WAIT_MS
    digest_secret: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    backlog_max_messages: int = DEFAULT_LIMITS.max_messages
    backlog_max_bytes: int = DEFAULT_LIMITS.max_bytes
    backlog_max_age_s: float = DEFAULT_LIMITS.max_age_s
    user_workers: int = 8
    user_queue: int = 64
    listener_workers: int = LISTENER_WORKERS
    shutdown_deadline_s: float = 8.0
    logs: LogSettings = LogSettings()
    model: ModelSettings = ModelSettings()
    oauth: OAuthConfig | None = None  # "Adicionar ao Slack" (many workspaces); None: one token
    workspace_grace_days: int = 30  # an uninstalled workspace's data is deleted after this

    @property
    def multi_workspace(self) -> bool:
        """OAuth mode: installations per workspace instead of one ``SLACK_BOT_TOKEN``."""
        return self.oauth is not None

    @property
    def socket_mode(self) -> bool:
        """Socket Mode (a WebSocket to Slack, no public URL) when an app-level token is set."""
        return self.slack_app_token is not None

    @property
    def embedded_model(self) -> bool:
        """True when the model runs in-process (no ``MODEL_SERVICE_URL``)."""
        return self.model_service_url is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "BotSettings":
        """Read every variable; raise :class:`service.settings.SettingsError` listing all problems."""
        env = EnvReader(environ)
        app_token = _token(env, "SLACK_APP_TOKEN", "xapp-", required=False)
        oauth = OAuthConfig.read(env)
        if oauth is not None and app_token is not None:
            env.problems.append("SLACK_CLIENT_ID (modo OAuth) não funciona com SLACK_APP_TOKEN "
                                "(Socket Mode): o \"Adicionar ao Slack\" precisa de uma URL pública")
        settings = cls(
            # OAuth mode: each workspace's token comes from its installation.
            slack_bot_token=_token(env, "SLACK_BOT_TOKEN", "xoxb-", required=oauth is None) or "",
            # Socket Mode requests arrive over an authenticated WebSocket, unsigned.
            slack_signing_secret=(env.text("SLACK_SIGNING_SECRET") if app_token else
                                  env.require("SLACK_SIGNING_SECRET", HINTS["SLACK_SIGNING_SECRET"])),
            slack_app_token=app_token,
            slack_api_url=_url(env, "SLACK_API_URL", DEFAULT_SLACK_API_URL),
            model_service_url=_url(env, "MODEL_SERVICE_URL", None),
            model_service_token=env.text("MODEL_SERVICE_TOKEN"),
            model_service_audience=env.text("MODEL_SERVICE_AUDIENCE"),
            model_service_timeout=env.number("MODEL_SERVICE_TIMEOUT", 10.0, 0.1, 600.0),
            model_service_retries=env.integer("MODEL_SERVICE_RETRIES", 3, 0, 10),
            model_service_backoff=env.number("MODEL_SERVICE_BACKOFF", 0.5, 0.0, 60.0),
            fallback=env.choice("SENTIMENT_FALLBACK", "none", FALLBACKS),
            host=env.text("HOST", "127.0.0.1"),
            port=env.integer("PORT", 3000, 1, 65535),
            timezone=_timezone(env, "TIMEZONE", "America/Sao_Paulo"),
            message_batch_size=env.integer("MESSAGE_BATCH_SIZE", BATCH_SIZE, 1, 64),
            message_batch_wait_ms=env.number("MESSAGE_BATCH_WAIT_MS", BATCH_WAIT_MS, 0.0, 60_000.0),
            digest_secret=_digest_secret(env),
            max_body_bytes=env.integer("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES,
                                       MIN_MAX_BODY_BYTES, MAX_MAX_BODY_BYTES),
            backlog_max_messages=env.integer("MESSAGE_BACKLOG_MAX", DEFAULT_LIMITS.max_messages,
                                             1, 1_000_000),
            backlog_max_bytes=env.integer("MESSAGE_BACKLOG_MAX_BYTES", DEFAULT_LIMITS.max_bytes,
                                          64 * 1024, 1024 * 1024 * 1024),
            backlog_max_age_s=env.number("MESSAGE_BACKLOG_MAX_AGE", DEFAULT_LIMITS.max_age_s,
                                          1.0, 86_400.0),
            user_workers=env.integer("USER_WORKERS", 8, 1, 256),
            user_queue=env.integer("USER_QUEUE", 64, 0, 10_000),
            listener_workers=env.integer("MODERATION_WORKERS", LISTENER_WORKERS, 1, 64),
            shutdown_deadline_s=env.number("SHUTDOWN_DEADLINE", 8.0, 0.5, 3600.0),
            logs=LogSettings.read(env),
            model=ModelSettings.read(env),
            oauth=oauth,
            workspace_grace_days=env.integer("WORKSPACE_GRACE_DAYS", 30, 0, 3650),
        )
        env.check()
        return settings

    def __repr__(self) -> str:
        parts = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in SECRET_FIELDS and value is not None:
                value = "***"
            parts.append(f"{item.name}={value!r}")
        return f"BotSettings({', '.join(parts)})"

    __str__ = __repr__
