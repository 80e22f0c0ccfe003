"""Typed settings read from environment variables, with one clear error for all problems."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Mapping, TypeVar

from service.limits import json_body_limit

T = TypeVar("T")

DEFAULT_MODEL = "cardiffnlp/twitter-xlm-roberta-base-sentiment"
BACKENDS = ("auto", "transformers", "lexicon")
RUNTIMES = ("torch", "onnx-int8", "onnx")

MAX_TEXTS = 64
"""Texts per ``POST /v1/classify`` request."""
MAX_CHARS = 40_000
"""Characters (code points) per text; Slack's own limit for a message."""
DEFAULT_MAX_BODY_BYTES = json_body_limit(MAX_TEXTS, MAX_CHARS)
"""30,785,536: the largest body of a valid request, however its JSON is escaped
(see :mod:`service.limits`); ``MAX_BODY_BYTES`` may lower it."""


class SettingsError(ValueError):
    """One or more environment variables are missing or malformed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Configuração inválida:\n" + "\n".join(f"  - {p}" for p in problems))


class EnvReader:
    """Reads typed values from an environment mapping, collecting every problem before failing."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self.environ = os.environ if environ is None else environ
        self.problems: list[str] = []

    def text(self, name: str, default: str | None = None) -> str | None:
        """A string value; empty counts as unset."""
        value = self.environ.get(name, "").strip()
        return value if value else default

    def require(self, name: str, hint: str) -> str:
        """A string that must be set; ``hint`` says where to get it."""
        value = self.text(name)
        if value is None:
            self.problems.append(f"{name} não definido: {hint}")
            return ""
        return value

    def _parse(self, name: str, default: T, parse: Callable[[str], T], kind: str,
               check: Callable[[T], bool] = lambda _v: True) -> T:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = parse(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} não é {kind}")
            return default
        if not check(value):
            self.problems.append(f"{name}={raw!r} fora do intervalo permitido ({kind})")
            return default
        return value

    def integer(self, name: str, default: int, low: int = 0, high: int = 2**31) -> int:
        """An integer in ``[low, high]``."""
        return self._parse(name, default, int, f"um inteiro entre {low} e {high}",
                           lambda v: low <= v <= high)

    def number(self, name: str, default: float, low: float = 0.0, high: float = 1e9) -> float:
        """A float in ``[low, high]``."""
        return self._parse(name, default, float, f"um número entre {low} e {high}",
                           lambda v: low <= v <= high)

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        """One of ``choices`` (case-insensitive)."""
        return self._parse(name, default, lambda s: s.lower(), "um de " + "|".join(choices),
                           lambda v: v in choices)

    def check(self) -> None:
        """Raise :class:`SettingsError` listing every problem found so far."""
        if self.problems:
            raise SettingsError(self.problems)


@dataclass(frozen=True)
class ModelSettings:
    """How the sentiment model is loaded and batched (shared by the service and the bot)."""

    model: str = DEFAULT_MODEL
    backend: str = "auto"
    runtime: str = "torch"
    max_batch_size: int = 16
    max_batch_wait_ms: float = 5.0
    max_queue_size: int = 256
    evaluation_file: str | None = None  # SENTIMENT_EVALUATION_FILE: figures shown by GET /v1/model

    @classmethod
    def read(cls, env: EnvReader) -> "ModelSettings":
        """Read ``SENTIMENT_MODEL``, ``SENTIMENT_BACKEND``, ``SENTIMENT_RUNTIME`` and the batching
        variables."""
        return cls(
            model=env.text("SENTIMENT_MODEL", DEFAULT_MODEL),
            backend=env.choice("SENTIMENT_BACKEND", "auto", BACKENDS),
            runtime=env.choice("SENTIMENT_RUNTIME", "torch", RUNTIMES),
            max_batch_size=env.integer("MAX_BATCH_SIZE", 16, 1, 256),
            max_batch_wait_ms=env.number("MAX_BATCH_WAIT_MS", 5.0, 0.0, 1000.0),
            max_queue_size=env.integer("MAX_QUEUE_SIZE", 256, 1, 100_000),
            evaluation_file=env.text("SENTIMENT_EVALUATION_FILE"),
        )


@dataclass(frozen=True)
class ServiceSettings:
    """Settings of ``python -m service``."""

    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = None
    model: ModelSettings = ModelSettings()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    sintetize_route: bool = True  # GET /sintetize/{text}: the text travels in the URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ServiceSettings":
        """Read every variable; raise :class:`SettingsError` listing all problems."""
        env = EnvReader(environ)
        settings = cls(
            host=env.text("HOST", "127.0.0.1"),
            port=env.integer("PORT", 8080, 1, 65535),
            token=env.text("MODEL_SERVICE_TOKEN"),
            model=ModelSettings.read(env),
            max_body_bytes=env.integer("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024, 2**31),
            sintetize_route=env.choice("SINTETIZE_ROUTE", "on", ("on", "off")) == "on",
        )
        env.check()
        return settings
