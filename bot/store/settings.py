"""Settings of the tally store, read from environment variables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from bot.store.base import DEFAULT_ALERT_RETENTION_DAYS, DEFAULT_TALLY_RETENTION_DAYS, RetentionDays
from service.settings import EnvReader

STORE_BACKENDS = ("firestore", "sqlite")


@dataclass(frozen=True)
class StoreSettings:
    """Which store to open and how it buffers (``STORE``, ``SQLITE_PATH``, ``FLUSH_INTERVAL``...)."""

    backend: str = "sqlite"
    project: str | None = None
    emulator_host: str | None = None
    database: str = "(default)"
    sqlite_path: str = "./sentimento.db"
    flush_interval: float = 2.0
    claim_ttl_s: int = 86_400
    channel_cache_s: float = 10.0
    timeout_s: float = 10.0
    alert_retention_days: int = DEFAULT_ALERT_RETENTION_DAYS
    tally_retention_days: int = DEFAULT_TALLY_RETENTION_DAYS

    @property
    def retention(self) -> RetentionDays:
        """The configured retentions (``TALLY_RETENTION_DAYS``, ``ALERT_RETENTION_DAYS``)."""
        return RetentionDays(tallies=self.tally_retention_days, alerts=self.alert_retention_days)

    @classmethod
    def read(cls, env: EnvReader) -> "StoreSettings":
        """Read the store variables into ``env`` (problems are collected, see :meth:`EnvReader.check`).

        ``STORE`` defaults to ``firestore`` when ``GOOGLE_CLOUD_PROJECT`` or
        ``FIRESTORE_EMULATOR_HOST`` is set, else to the embedded ``sqlite``.
        """
        project = env.text("GOOGLE_CLOUD_PROJECT")
        emulator_host = env.text("FIRESTORE_EMULATOR_HOST")
        default_backend = "firestore" if (project or emulator_host) else "sqlite"
        return cls(
            backend=env.choice("STORE", default_backend, STORE_BACKENDS),
            project=project,
            emulator_host=emulator_host,
            database=env.text("FIRESTORE_DATABASE", "(default)"),
            sqlite_path=env.text("SQLITE_PATH", "./sentimento.db"),
            flush_interval=env.number("FLUSH_INTERVAL", 2.0, 0.0, 300.0),
            claim_ttl_s=env.integer("EVENT_CLAIM_TTL", 86_400, 60, 30 * 86_400),
            channel_cache_s=env.number("CHANNEL_CACHE_SECONDS", 10.0, 0.0, 3600.0),
            timeout_s=env.number("FIRESTORE_TIMEOUT", 10.0, 0.5, 600.0),
            # Alerts: 1 day to 10 years. Tallies: at least 62 days, what a 30-day report and
            # the 30 days before it (its trend) read.
            alert_retention_days=env.integer("ALERT_RETENTION_DAYS",
                                             DEFAULT_ALERT_RETENTION_DAYS, 1, 3650),
            tally_retention_days=env.integer("TALLY_RETENTION_DAYS",
                                             DEFAULT_TALLY_RETENTION_DAYS, 62, 3650),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "StoreSettings":
        """Read every store variable; raise :class:`service.settings.SettingsError` listing all problems."""
        env = EnvReader(environ)
        settings = cls.read(env)
        env.check()
        return settings
