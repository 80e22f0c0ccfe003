"""Where "Adicionar ao Slack" keeps each workspace's installation (its bot token) and the OAuth
``state`` of installs in progress: the same backend as the rest of the store (``STORE``).

- ``firestore``: :mod:`bot.store.installations_firestore` (written here: slack_sdk has none).
- ``sqlite``: slack_sdk's own ``SQLite3InstallationStore`` and ``SQLite3OAuthStateStore``, in the
  ``SQLITE_PATH`` file (tables ``slack_installations``, ``slack_bots``, ``oauth_states``), with
  one fix (:class:`SqliteInstallationStore`).

With ``SLACK_STATE_SECRET`` the state is a signed token instead (slack_sdk's
``StatelessOAuthStateStore``): nothing stored, but a state can be replayed until it expires
(the browser cookie still guards against CSRF).
"""

from __future__ import annotations

import time

from typing import Optional

from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from bot.store.base import Clock, with_bot
from bot.store.settings import StoreSettings

STATE_EXPIRATION_S = 600  # an install page's "Adicionar ao Slack" link is valid 10 minutes


_INSTALLATION_COLUMNS = (
    "app_id", "enterprise_id", "enterprise_name", "enterprise_url", "team_id", "team_name",
    "bot_token", "bot_id", "bot_user_id", "bot_scopes", "bot_refresh_token",
    "bot_token_expires_at", "user_id", "user_token", "user_scopes", "user_refresh_token",
    "user_token_expires_at", "incoming_webhook_url", "incoming_webhook_channel",
    "incoming_webhook_channel_id", "incoming_webhook_configuration_url", "is_enterprise_install",
    "token_type", "installed_at")
_BOT_COLUMNS = ("app_id", "enterprise_id", "enterprise_name", "team_id", "team_name",
                "bot_token", "bot_id", "bot_user_id", "bot_scopes", "bot_refresh_token",
                "bot_token_expires_at", "is_enterprise_install", "installed_at")


class SqliteInstallationStore(SQLite3InstallationStore):
    """slack_sdk's SQLite store (its tables, its ``save`` and ``delete_*``), with two fixes
    to its finds:

    - the latest row wins even within one second: slack_sdk orders by ``installed_at``, a
      timestamp with 1 s resolution, so a reinstall or a token refresh in the same second as
      the row before could lose to it; here ties go to the row written last (``id``);
    - ``find_installation`` answers the latest bot's token (as slack_sdk's SQLAlchemy store
      does), so a bot token rotated with ``save_bot`` is the one used.
    """

    def _latest(self, table: str, columns: tuple[str, ...], enterprise_id: Optional[str],
                team_id: str, user_id: Optional[str] = None) -> Optional[dict]:
        where = "client_id = ? AND enterprise_id = ? AND team_id = ?"
        args = [self.client_id, enterprise_id or "", team_id]
        if user_id is not None:
            where += " AND user_id = ?"
            args.append(user_id)
        with self.connect() as conn:
            row = conn.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE {where} "
                               "ORDER BY installed_at DESC, id DESC LIMIT 1", args).fetchone()
        if row is None:
            return None
        fields = dict(zip(columns, row))
        fields["enterprise_id"] = fields["enterprise_id"] or None
        fields["team_id"] = fields["team_id"] or None
        fields["is_enterprise_install"] = bool(fields["is_enterprise_install"])
        return fields

    def find_bot(self, *, enterprise_id: Optional[str], team_id: Optional[str],
                 is_enterprise_install: Optional[bool] = False) -> Optional[Bot]:
        """The latest bot of the workspace (or the organisation, for an org-wide install)."""
        team = "" if is_enterprise_install or team_id is None else team_id
        fields = self._latest("slack_bots", _BOT_COLUMNS, enterprise_id, team)
        return Bot(**fields) if fields is not None else None

    def find_installation(self, *, enterprise_id: Optional[str], team_id: Optional[str],
                          user_id: Optional[str] = None,
                          is_enterprise_install: Optional[bool] = False) -> Optional[Installation]:
        """The latest installation (of ``user_id``, if given), with the latest bot's token."""
        team = "" if is_enterprise_install or team_id is None else team_id
        fields = self._latest("slack_installations", _INSTALLATION_COLUMNS, enterprise_id, team,
                              user_id)
        if fields is None:
            return None
        installation = Installation(**fields)
        bot = self.find_bot(enterprise_id=enterprise_id, team_id=team_id,
                            is_enterprise_install=is_enterprise_install)
        return with_bot(installation, bot)


def open_installation_store(settings: StoreSettings, client_id: str) -> InstallationStore:
    """The installation store of ``settings.backend`` for the app ``client_id``."""
    # pylint: disable=import-outside-toplevel  # only the chosen backend's libraries load
    if settings.backend == "firestore":
        from bot.store.firestore import make_client
        from bot.store.installations_firestore import FirestoreInstallationStore

        return FirestoreInstallationStore(
            make_client(settings.project, settings.emulator_host, settings.database), client_id,
            timeout_s=settings.timeout_s)
    return SqliteInstallationStore(database=settings.sqlite_path, client_id=client_id)


def open_state_store(settings: StoreSettings, state_secret: str | None = None, *,
                     expiration_s: int = STATE_EXPIRATION_S,
                     clock: Clock = time.time) -> OAuthStateStore:
    """The OAuth state store: signed tokens with ``state_secret``, else the store's backend."""
    # pylint: disable=import-outside-toplevel  # only the chosen backend's libraries load
    if state_secret:
        from slack_sdk.oauth.state_store.stateless import StatelessOAuthStateStore

        return StatelessOAuthStateStore(expiration_seconds=expiration_s,
                                        signing_secret=state_secret)
    if settings.backend == "firestore":
        from bot.store.firestore import make_client
        from bot.store.installations_firestore import FirestoreOAuthStateStore

        return FirestoreOAuthStateStore(
            make_client(settings.project, settings.emulator_host, settings.database),
            expiration_s, timeout_s=settings.timeout_s, clock=clock)
    from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore

    return SQLite3OAuthStateStore(database=settings.sqlite_path, expiration_seconds=expiration_s)
