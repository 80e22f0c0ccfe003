"""OAuth mode ("Adicionar ao Slack"): Bolt's own OAuth flow with Portuguese pages, every OAuth
call (``oauth.v2.access``, ``auth.test``, token refreshes) through the bot's Web API client (so
``SLACK_API_URL`` reaches them), and each workspace's client for the work no request carries
(moderation alerts, weekly digests).

``GET {SLACK_INSTALL_PATH}`` (``/slack/install``) answers the install page and sets the state
cookie; ``GET {SLACK_REDIRECT_URI_PATH}`` (``/slack/oauth_redirect``) checks the state (cookie and
store), exchanges the code, saves the installation and answers a success or failure page. The
routes themselves are in :mod:`bot.server`.
"""

from __future__ import annotations

import logging
from typing import Callable

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator

from bot.failures import count_failure, describe
from bot.settings import OAuthConfig
from bot.store.installations import STATE_EXPIRATION_S
from bot.workspaces import views

log = logging.getLogger(__name__)

HTML = {"Content-Type": "text/html; charset=utf-8"}
ROTATE_MINUTES_BEFORE = 120  # a rotating bot token is refreshed this long before it expires

ClientFor = Callable[[str], "WebClient | None"]


class PortugueseOAuthFlow(OAuthFlow):
    """Bolt's OAuth flow whose install page is in Portuguese and explains each scope."""

    def build_install_page_html(self, url: str, request: BoltRequest) -> str:
        return views.install_page(url, self.settings.scopes)


def build_oauth_flow(config: OAuthConfig, client: WebClient, installations: InstallationStore,
                     states: OAuthStateStore,
                     on_installed: Callable[[Installation], None]) -> OAuthFlow:
    """The OAuth flow of ``config``; ``on_installed`` runs after an installation is saved (its
    failure is logged and counted: the install itself succeeded)."""

    def success(args: SuccessArgs) -> BoltResponse:
        installation = args.installation
        try:
            on_installed(installation)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # install is saved
            count_failure("workspace_install_hook_failed", f"error={describe(exc)}")
        log.info("installed in workspace %s (enterprise %s)", installation.team_id,
                 installation.enterprise_id)
        app_url = (f"https://slack.com/app_redirect?app={installation.app_id}"
                   f"&team={installation.team_id}" if installation.app_id
                   and installation.team_id else None)
        return BoltResponse(status=200, headers=dict(HTML),
                            body=views.success_page(installation.team_name, app_url))

    def failure(args: FailureArgs) -> BoltResponse:
        log.warning("installation not completed: %s", args.reason)
        return BoltResponse(status=args.suggested_status_code, headers=dict(HTML),
                            body=views.failure_page(args.reason, config.install_path))

    settings = OAuthSettings(
        client_id=config.client_id, client_secret=config.client_secret,
        scopes=list(config.scopes), install_path=config.install_path,
        redirect_uri_path=config.redirect_uri_path,
        callback_options=CallbackOptions(success=success, failure=failure),
        installation_store=installations, state_store=states,
        state_expiration_seconds=STATE_EXPIRATION_S, logger=log)
    # Bolt's default authorize refreshes rotating tokens through a client of its own (slack.com):
    # this one goes through ``client`` (SLACK_API_URL), like every other call.
    settings.authorize = InstallationStoreAuthorize(
        logger=log, installation_store=installations, client_id=config.client_id,
        client_secret=config.client_secret, client=client,
        token_rotation_expiration_minutes=ROTATE_MINUTES_BEFORE)
    return PortugueseOAuthFlow(client=client, logger=log, settings=settings)


def is_installed(client: WebClient, installations: InstallationStore | None
                 ) -> Callable[[str], bool]:
    """``installed(team_id)``: OAuth mode, the workspace has a bot installation; one token, the
    token still works (``auth.test``) and belongs to that workspace. A failure to tell says
    "installed": nothing is deleted on a doubt (the next sweep asks again)."""

    def installed(team_id: str) -> bool:
        try:
            if installations is not None:
                return installations.find_bot(enterprise_id=None, team_id=team_id) is not None
            return client.auth_test().get("team_id") == team_id
        except SlackApiError as exc:
            if exc.response.get("error") in ("invalid_auth", "account_inactive",
                                             "token_revoked", "not_authed"):
                return False  # the token of the workspace that left
            count_failure("workspace_client_failed", f"error={describe(exc)}")
            return True
        except Exception as exc:  # pylint: disable=broad-exception-caught  # kept on a doubt
            count_failure("workspace_client_failed", f"error={describe(exc)}")
            return True

    return installed


def bot_clients(installations: InstallationStore, base: WebClient,
                config: OAuthConfig) -> ClientFor:
    """``client_for(team_id)``: a client with the workspace's bot token (refreshed first when it
    rotates and is about to expire), None when the workspace has no installation or it cannot
    be read (logged and counted)."""
    rotator = TokenRotator(client_id=config.client_id, client_secret=config.client_secret,
                           client=base)

    def client_for(team_id: str) -> WebClient | None:
        try:
            bot = installations.find_bot(enterprise_id=None, team_id=team_id)
            if bot is not None and bot.bot_refresh_token:
                refreshed = rotator.perform_bot_token_rotation(
                    bot=bot, minutes_before_expiration=ROTATE_MINUTES_BEFORE)
                if refreshed is not None:
                    installations.save_bot(refreshed)
                    bot = refreshed
        except Exception as exc:  # pylint: disable=broad-exception-caught  # no client: skipped
            count_failure("workspace_client_failed", f"error={describe(exc)}")
            return None
        if bot is None:
            log.info("workspace %s has no installation: background work skipped", team_id)
            return None
        return WebClient(token=bot.bot_token, base_url=base.base_url,
                         retry_handlers=list(base.retry_handlers))

    return client_for
