"""Structured logging shared by both roles (model service and Slack bot).

``LOG_FORMAT=json`` (the container image's default) writes one JSON object per line
with the fields Cloud Logging reads from a container's stdout: ``severity`` (so the
log viewer colours and filters by level), ``message``, ``logger``, ``time`` and
``logging.googleapis.com/sourceLocation``. ``LOG_FORMAT=text`` (the default outside
containers) writes classic one-line text for a terminal.

Privacy: the application never logs message text (only counts, scores, Slack ids and
timings). As a second line of defence every record goes through
:class:`RedactingFilter`, which masks anything shaped like a Slack token
(``xoxb-``, ``xoxp-``, ``xapp-``...), a ``Bearer`` credential, or the text of the
legacy ``GET /sintetize/{text}`` URL in access logs. Third-party loggers that dump
request bodies at DEBUG (``slack_sdk``, ``slack_bolt``, ``httpcore``...) are kept at
INFO or above even when ``LOG_LEVEL=DEBUG`` (``slack_bolt``: WARNING, as it logs the body of a
request with a bad signature at INFO).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any

from service.settings import EnvReader

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

# Libraries that log request/response bodies (which may hold message text), with the lowest level
# they may log at whatever LOG_LEVEL says. slack_bolt logs the body of a request whose signature
# fails at INFO ("Invalid request signature detected (... body: ...)"), hence WARNING.
QUIET_LOGGERS = {"slack_bolt": logging.WARNING, "slack_sdk": logging.INFO,
                 "httpcore": logging.INFO, "httpx": logging.INFO, "urllib3": logging.INFO,
                 "google": logging.INFO, "grpc": logging.INFO, "asyncio": logging.INFO,
                 "multipart": logging.INFO, "filelock": logging.INFO,
                 "huggingface_hub": logging.INFO,
                 # its HTTP retries ("Retrying in 1s [Retry 1/5]") repeat for every file: the
                 # service probes the hub once instead (service.backends.hub)
                 "huggingface_hub.utils._http": logging.ERROR}

REDACTED = "[REDACTED]"
_SECRET_PATTERNS = (
    # Slack tokens: bot (xoxb-), user (xoxp-), app-level (xapp-), legacy/refresh (xoxa-, xoxr-,
    # xoxs-, xoxe-, xoxe.xoxp-) and configuration tokens.
    (re.compile(r"\b(?:xox[abeoprs](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]+"), REDACTED),
    # HTTP bearer credentials, in headers or in exception messages that quote them.
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    # GET /sintetize/{text} carries message text in the URL (uvicorn's access log).
    (re.compile(r"(/sintetize/)[^\s\"'?]+"), r"\1" + REDACTED),
)

# Python levels to Cloud Logging's LogSeverity names (custom levels round down).
_SEVERITIES = ((logging.CRITICAL, "CRITICAL"), (logging.ERROR, "ERROR"),
               (logging.WARNING, "WARNING"), (logging.INFO, "INFO"), (logging.DEBUG, "DEBUG"))

# Attributes every LogRecord has; anything else came from ``extra=`` and is logged as a field.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


# The model the service runs, added to every log record once known (see set_model_identity).
_MODEL_IDENTITY: dict[str, str] = {}


def set_model_identity(model: str | None, revision: str | None = None) -> None:
    """Name the model (and its revision) in every log line from now on; ``None`` stops it.

    The model service calls it at start (the configured model, revision ``pending``) and again
    once the backend is loaded (the model that answers and its revision)."""
    _MODEL_IDENTITY.clear()
    if model is not None:
        _MODEL_IDENTITY.update(model=model, model_revision=revision or "pending")


class ModelIdentityFilter(logging.Filter):
    """Adds ``model`` and ``model_revision`` to every record while a model identity is set."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _MODEL_IDENTITY.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class TextFormatter(logging.Formatter):
    """:data:`TEXT_FORMAT`, plus ``[model=... revision=...]`` on a record that names a model."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        model = getattr(record, "model", None)
        if isinstance(model, str) and hasattr(record, "model_revision"):
            line = f"{line} [model={model} revision={record.model_revision}]"
        return line


def redact(text: str) -> str:
    """Mask Slack tokens, bearer credentials and ``/sintetize/`` texts in ``text``."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def severity(levelno: int) -> str:
    """The Cloud Logging severity for a Python log level."""
    for threshold, name in _SEVERITIES:
        if levelno >= threshold:
            return name
    return "DEFAULT"


class RedactingFilter(logging.Filter):
    """Rewrites each record so that its message, arguments and traceback carry no secrets."""

    _exc_formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad %-format: keep the template, drop the args
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exc_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, in the shape Cloud Logging parses as a structured entry."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:  # in ``message`` so that Error Reporting picks the stack trace up
            message = f"{message}\n{record.exc_text}"
        if record.stack_info:
            message = f"{message}\n{self.formatStack(record.stack_info)}"
        entry: dict[str, Any] = {
            "severity": severity(record.levelno),
            "message": message,
            "logger": record.name,
            "time": datetime.fromtimestamp(record.created, timezone.utc)
                            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "logging.googleapis.com/sourceLocation": {
                "file": record.pathname, "line": record.lineno, "function": record.funcName},
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and key not in entry:
                entry[key] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True)
class LogSettings:
    """``LOG_LEVEL`` and ``LOG_FORMAT``, for inclusion in a role's settings object."""

    level: str = "info"
    fmt: str = "text"

    @classmethod
    def read(cls, env: EnvReader) -> "LogSettings":
        """Read ``LOG_LEVEL`` (default info) and ``LOG_FORMAT`` (default text)."""
        return cls(level=env.choice("LOG_LEVEL", "info", LOG_LEVELS),
                   fmt=env.choice("LOG_FORMAT", "text", LOG_FORMATS))


def configure_logging(level: str | int | None = None, fmt: str | None = None,
                      stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) as ``fmt`` (json|text) at ``level``.

    ``None`` reads ``LOG_LEVEL`` / ``LOG_FORMAT`` from the environment (raising
    :class:`service.settings.SettingsError` if malformed). Calling it again replaces
    the handler it installed before and leaves other handlers (pytest's) alone; it also clears
    the model identity of :func:`set_model_identity`.
    Returns the installed handler.
    """
    if level is None or fmt is None:
        env = EnvReader()
        defaults = LogSettings.read(env)
        env.check()
        level = defaults.level if level is None else level
        fmt = defaults.fmt if fmt is None else fmt
    if fmt not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {'|'.join(LOG_FORMATS)}, not {fmt!r}")
    levelno = level if isinstance(level, int) else logging.getLevelName(level.upper())
    if not isinstance(levelno, int):
        raise ValueError(f"LOG_LEVEL must be one of {'|'.join(LOG_LEVELS)}, not {level!r}")

    set_model_identity(None)  # a fresh configuration names no model until the service sets one
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter())
    handler.addFilter(ModelIdentityFilter())
    handler.set_name("sentimento")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "sentimento"]:
        root.removeHandler(old)
        old.close()  # a StreamHandler's close() leaves the stream itself open
    root.addHandler(handler)
    root.setLevel(levelno)
    for name, floor in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(levelno, floor))
    # uvicorn installs its own handlers (and levels, from its log_level) unless started with
    # log_config=None; route its records here, at the level chosen above.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv_logger = logging.getLogger(name)
        uv_logger.handlers.clear()
        uv_logger.propagate = True
        if name not in QUIET_LOGGERS:
            uv_logger.setLevel(logging.NOTSET)
    logging.captureWarnings(True)
    return handler
