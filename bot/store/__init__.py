"""The store: counts per channel and day, channel switches, claims and moderation; never message text.

``open_store()`` picks the implementation from ``STORE`` (see :class:`StoreSettings`).
"""

from __future__ import annotations

import time
from typing import Mapping

from bot.store.base import (
    BufferedStore, ChannelSwitches, Claims, FeedbackStore, ModerationStore, Retention, Store,
    StoreClosedError, TallyStore, WorkspaceData,
)
from bot.store.settings import StoreSettings

__all__ = ["BufferedStore", "ChannelSwitches", "Claims", "FeedbackStore", "ModerationStore",
           "Retention", "Store", "StoreClosedError", "StoreSettings", "TallyStore",
           "WorkspaceData", "open_store"]


def open_store(environ: Mapping[str, str] | None = None, *,
               settings: StoreSettings | None = None, clock=time.time) -> BufferedStore:
    """Open the configured store: ``settings`` if given, else read from ``environ`` (os.environ).

    Raises :class:`service.settings.SettingsError` for bad variables. The caller must
    ``close()`` it on shutdown (SIGTERM) so that buffered counts are written.
    """
    if settings is None:
        settings = StoreSettings.from_env(environ)
    # pylint: disable=import-outside-toplevel  # only the chosen backend's libraries load
    if settings.backend == "firestore":
        from bot.store.firestore import FirestoreStore, make_client

        client = make_client(settings.project, settings.emulator_host, settings.database)
        return FirestoreStore(client, flush_interval=settings.flush_interval,
                              claim_ttl_s=settings.claim_ttl_s,
                              channel_cache_s=settings.channel_cache_s,
                              timeout_s=settings.timeout_s, clock=clock,
                              retention=settings.retention)
    from bot.store.sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path, flush_interval=settings.flush_interval,
                       claim_ttl_s=settings.claim_ttl_s, clock=clock,
                       retention=settings.retention)
