"""Slack installations and OAuth states on Firestore: slack_sdk's ``InstallationStore`` and
``OAuthStateStore`` interfaces (slack_sdk ships file, SQLite, SQLAlchemy and S3 stores, none for
Firestore).

Layout (one document per key; no composite index needed):

- ``slack_bots/{client}:{enterprise}:{team}``: the latest bot installation of a workspace (or,
  for an org-wide install, of the organisation: ``team`` is empty). Saving again (a reinstall, a
  rotated token) replaces it: the latest installation wins.
- ``slack_installations/{client}:{enterprise}:{team}``: the latest installation of the workspace,
  whoever installed it; ``slack_installations/{client}:{enterprise}:{team}:{user}``: the latest
  installation by that user (their user token, if any). Each has ``team_key`` for deletion.
- ``oauth_states/{state}``: an issued OAuth ``state`` with ``expires_at`` (give the field a TTL
  policy); consumed once, in a transaction.

The semantics follow slack_sdk's SQLite store (``find_*`` with ``enterprise_id=None`` finds only
non-Grid installs; ``is_enterprise_install=True`` ignores ``team_id``; ``find_installation``
without a user carries the latest bot token, so a rotated bot token is seen).
Tokens are stored as slack_sdk's stores store them: restrict the database with IAM.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from typing import Any, Optional

from google.api_core import exceptions as gexc
from google.cloud import firestore
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from bot.store.base import Clock, with_bot
from bot.store.firestore import TTL_FIELD, doc_id

log = logging.getLogger(__name__)

BOTS, INSTALLATIONS, STATES = "slack_bots", "slack_installations", "oauth_states"


def team_key(client_id: str, enterprise_id: Optional[str], team_id: Optional[str],
             is_enterprise_install: Optional[bool] = False) -> str:
    """``{client}:{enterprise}:{team}``; an org-wide install has no team."""
    team = "" if is_enterprise_install or team_id is None else team_id
    return f"{client_id}:{enterprise_id or ''}:{team}"


class FirestoreInstallationStore(InstallationStore):
    """slack_sdk's ``InstallationStore`` on Firestore (see the module's layout)."""

    def __init__(self, client: firestore.Client, client_id: str, *, timeout_s: float = 10.0):
        self.client = client
        self.client_id = client_id
        self.timeout_s = timeout_s

    @property
    def logger(self) -> logging.Logger:
        return log

    def _bot_ref(self, key: str) -> firestore.DocumentReference:
        return self.client.collection(BOTS).document(doc_id(key))

    def _installation_ref(self, key: str, user_id: Optional[str] = None
                          ) -> firestore.DocumentReference:
        return self.client.collection(INSTALLATIONS).document(
            doc_id(key if user_id is None else f"{key}:{user_id}"))

    def save(self, installation: Installation) -> None:
        """Keep the installation as the workspace's latest (and its installer's latest), and
        its bot as the workspace's latest bot."""
        key = team_key(self.client_id, installation.enterprise_id, installation.team_id,
                       installation.is_enterprise_install)
        data = {**installation.to_dict_for_copying(), "team_key": key}
        batch = self.client.batch()
        batch.set(self._installation_ref(key), data)
        if installation.user_id:
            batch.set(self._installation_ref(key, installation.user_id), data)
        batch.commit(timeout=self.timeout_s)
        self.save_bot(installation.to_bot())

    def save_bot(self, bot: Bot) -> None:
        """Keep the bot as the workspace's latest (a rotated token replaces the old one)."""
        if bot.bot_token is None:
            return
        key = team_key(self.client_id, bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        self._bot_ref(key).set({**bot.to_dict_for_copying(), "team_key": key},
                               timeout=self.timeout_s)

    def find_bot(self, *, enterprise_id: Optional[str], team_id: Optional[str],
                 is_enterprise_install: Optional[bool] = False) -> Optional[Bot]:
        """The workspace's (or org's) latest bot, None when not installed."""
        key = team_key(self.client_id, enterprise_id, team_id, is_enterprise_install)
        snap = self._bot_ref(key).get(timeout=self.timeout_s)
        return Bot(**_fields(snap.to_dict())) if snap.exists else None

    def find_installation(self, *, enterprise_id: Optional[str], team_id: Optional[str],
                          user_id: Optional[str] = None,
                          is_enterprise_install: Optional[bool] = False) -> Optional[Installation]:
        """The latest installation of the workspace (or by ``user_id``), None when absent,
        with the latest bot's token (a rotated one)."""
        key = team_key(self.client_id, enterprise_id, team_id, is_enterprise_install)
        snap = self._installation_ref(key, user_id).get(timeout=self.timeout_s)
        if not snap.exists:
            return None
        installation = Installation(**_fields(snap.to_dict()))
        return with_bot(installation, self.find_bot(
            enterprise_id=enterprise_id, team_id=team_id,
            is_enterprise_install=is_enterprise_install))

    def delete_bot(self, *, enterprise_id: Optional[str], team_id: Optional[str]) -> None:
        """Forget the workspace's bot."""
        self._bot_ref(team_key(self.client_id, enterprise_id, team_id)).delete(
            timeout=self.timeout_s)

    def delete_installation(self, *, enterprise_id: Optional[str], team_id: Optional[str],
                            user_id: Optional[str] = None) -> None:
        """Forget the workspace's installations (all of them, or ``user_id``'s: then also the
        workspace's latest one when it was theirs)."""
        key = team_key(self.client_id, enterprise_id, team_id)
        if user_id is not None:
            self._installation_ref(key, user_id).delete(timeout=self.timeout_s)
            latest = self._installation_ref(key).get(timeout=self.timeout_s)
            if latest.exists and (latest.to_dict() or {}).get("user_id") == user_id:
                self._installation_ref(key).delete(option=self.client.write_option(
                    last_update_time=latest.update_time), timeout=self.timeout_s)
            return
        query = self.client.collection(INSTALLATIONS).where(
            filter=firestore.FieldFilter("team_key", "==", key))
        for snap in query.stream(timeout=self.timeout_s):
            snap.reference.delete(timeout=self.timeout_s)

    def delete_all(self, *, enterprise_id: Optional[str], team_id: Optional[str]) -> None:
        """Forget the workspace's bot and installations."""
        self.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        self.delete_installation(enterprise_id=enterprise_id, team_id=team_id)


def _fields(data: dict[str, Any] | None) -> dict[str, Any]:
    """Stored fields -> the model's keyword arguments (``team_key`` is ours)."""
    fields = dict(data or {})
    fields.pop("team_key", None)
    return fields


class FirestoreOAuthStateStore(OAuthStateStore):
    """slack_sdk's ``OAuthStateStore`` on Firestore: each ``state`` is valid once, for
    ``expiration_seconds``."""

    def __init__(self, client: firestore.Client, expiration_seconds: int, *,
                 timeout_s: float = 10.0, clock: Clock = time.time):
        self.client = client
        self.expiration_seconds = expiration_seconds
        self.timeout_s = timeout_s
        self.clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args, **kwargs) -> str:
        """A new random state, valid for ``expiration_seconds``."""
        state = secrets.token_urlsafe(32)
        expires = dt.datetime.fromtimestamp(self.clock() + self.expiration_seconds,
                                            tz=dt.timezone.utc)
        self.client.collection(STATES).document(state).create({TTL_FIELD: expires},
                                                              timeout=self.timeout_s)
        return state

    def consume(self, state: str) -> bool:
        """True once for a state issued here and not expired; it is deleted either way."""
        if not isinstance(state, str) or doc_id(state) != state:
            return False
        ref = self.client.collection(STATES).document(state)
        snap = ref.get(timeout=self.timeout_s)
        if not snap.exists:
            return False
        try:  # only the reader of this very version deletes it: consumed once
            ref.delete(option=self.client.write_option(last_update_time=snap.update_time),
                       timeout=self.timeout_s)
        except (gexc.FailedPrecondition, gexc.NotFound):
            return False
        expires = (snap.to_dict() or {}).get(TTL_FIELD)
        return expires is not None and expires.timestamp() > self.clock()
