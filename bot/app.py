"""The composition root: ``build_app(settings, classifier, store)`` wires every feature's
listeners (the only importer of :mod:`handlers`), and ``build_routes`` the extra HTTP routes.

No globals and nothing heavy at import: the model, the store and the Slack client are made by
the caller (``python -m bot``, or a test) and handed in.
"""

from __future__ import annotations

import logging
import time
from typing import Sequence
from zoneinfo import ZoneInfo

from slack_bolt import App
from slack_bolt.oauth import OAuthFlow
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store import InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore
from starlette.routing import BaseRoute

from bot.classify.port import Classifier
from bot.command import Subcommand
from bot.counting.counter import MessageCounter
from bot.counting.limits import BacklogLimits
from bot.deps import Deps, today_in
from bot.executors import BoundedExecutor
from bot.home.usecases import HomeSections, combine
from bot.home.views import Retention
from bot.metrics import BotMetrics
from bot.moderation.alerts import thread_watcher
from bot.settings import BotSettings
from bot.store.base import Store
from bot.validation import PayloadGuard, Rejections
from bot.workspaces.oauth import ClientFor, bot_clients, build_oauth_flow
from bot.workspaces.usecases import reinstalled
from bot.workspaces.views import NOT_INSTALLED_TEXT
from handlers import classify, command, counting, feedback, home, moderation, reports, workspaces

log = logging.getLogger(__name__)


class BoltLogFilter(logging.Filter):
    """Bolt's request verification logs the whole body of a rejected request (message text, for a
    slash command): keep the fact, drop the body. Also drops Bolt's misleading "`token` will be
    unused" warning (it sees SLACK_BOT_TOKEN in the environment; the client we pass carries it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if "will be unused" in message:
            return False
        if "body:" in message:
            record.msg, record.args = "Invalid request signature detected (body not logged)", None
        return True


def quiet_bolt_logging() -> logging.Logger:
    """The base logger for Bolt: ``slack_bolt``, whose level ``service.logs.configure_logging``
    keeps at INFO or above (Bolt's DEBUG output dumps requests). Idempotent."""
    for name in ("slack_bolt", "slack_bolt.RequestVerification"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, BoltLogFilter) for f in logger.filters):
            logger.addFilter(BoltLogFilter())
    return logging.getLogger("slack_bolt")


def build_web_client(settings: BotSettings) -> WebClient:
    """Web API client at ``SLACK_API_URL`` that retries rate-limited calls (429, honouring
    ``Retry-After``) and connection errors (slack_sdk's built-in retry handlers)."""
    return WebClient(
        token=settings.slack_bot_token or None,  # OAuth mode: each request's installation's
        base_url=settings.slack_api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3),
                        ConnectionErrorRetryHandler(max_retry_count=2)],
    )


def build_app(  # pylint: disable=too-many-arguments  # the composition root: all explicit
        settings: BotSettings, classifier: Classifier, store: Store,
        counter: MessageCounter | None = None, *,
        subcommands: Sequence[Subcommand] = (),
        home_sections: HomeSections | None = None,
        process_before_response: bool = True,
        rejections: Rejections | None = None,
        installations: InstallationStore | None = None,
        oauth_states: OAuthStateStore | None = None) -> App:
    """Build the Bolt app with every listener registered.

    ``counter`` batches channel messages for ``classifier`` and hands them to ``store``; pass one
    to control its life cycle (``close()`` flushes it), or one is made here. Registered: the
    command and its help, the "Analisar sentimento" shortcut, channel messages, the App Home;
    the channel reports (``relatorio``, ``pausar``, ``retomar``, ``resumo``, the share button,
    the App Home's channel moods); and moderation (``moderacao``, ``limiar``, ``regra``, thread
    alerts and their buttons, the "Sinalizar para moderação" shortcut, the admin's App Home
    section); and feedback (the "Concordo" / "Discordo" buttons of answers, ``modelo``).
    ``subcommands`` and ``home_sections`` are extension points for later features.
    Malformed payloads are refused before any listener (:mod:`bot.validation`), counted in
    ``rejections``.
    Calls ``auth.test`` once (Bolt's token verification) to learn the bot's own ids.
    OAuth mode (``settings.oauth``): Bolt's OAuth flow with ``installations`` and
    ``oauth_states`` (see :mod:`bot.workspaces.oauth`), each request answered with its
    workspace's installation. In both modes a request naming another workspace is refused
    (:mod:`handlers.workspaces`) and an uninstalled workspace's data is scheduled for deletion.
    """
    timezone = ZoneInfo(settings.timezone)
    deps = Deps(classifier=classifier, store=store, today=today_in(timezone))
    subcommands = [*reports.subcommands(deps), *subcommands, *moderation.subcommands(deps),
                   *feedback.subcommands(deps)]
    if home_sections is None:
        home_sections = reports.home_section(deps)
    home_sections = combine(home_sections, moderation.home_section(deps))
    if counter is None:
        counter = build_counter(settings, classifier, store)
    user_work = BoundedExecutor(settings.user_workers, settings.user_queue, "slack-user",
                                on_refused=counter.metrics.user_tasks_refused.inc)
    client = build_web_client(settings)
    app = App(
        client=client,
        oauth_flow=oauth_flow_of(settings, client, store, installations, oauth_states),
        user_facing_authorize_error_message=NOT_INSTALLED_TEXT,
        signing_secret=settings.slack_signing_secret or "",
        # Socket Mode requests come over the app-token WebSocket and are not signed.
        request_verification_enabled=bool(settings.slack_signing_secret) or not settings.socket_mode,
        # Acks run in the request's own thread, never queued behind background work; the work
        # after an ack (lazy listeners: commands, shortcuts, buttons, App Home) runs on
        # ``user_work``, bounded; channel messages never reach it (see handlers.counting).
        process_before_response=process_before_response,
        listener_executor=user_work,
        # Right after Bolt's signature check, before any of Bolt's code that reads the payload.
        before_authorize=PayloadGuard(rejections),
        name="sentimento",
        logger=quiet_bolt_logging(),
    )
    command.register(app, classifier, subcommands, busy=lambda: user_work.saturated)
    classify.register(app, classifier)
    counting.register(app, counter, timezone)
    home.register(app, home_sections, extra_help=[sub.help for sub in subcommands],
                  retention=Retention(tally_days=store.retention.tallies,
                                      alert_days=store.retention.alerts,
                                      event_claim_s=store.claim_ttl_s,
                                      workspace_grace_days=settings.workspace_grace_days))
    reports.register(app, deps)
    moderation.register(app, deps)
    feedback.register(app, deps)
    workspaces.register(app, deps, settings.workspace_grace_days, counter.metrics.foreign_team,
                        user_work)
    counter.add_listener(thread_watcher(store, app.client, client_for=team_clients(settings, app)))
    app.error(log_error)
    return app


def oauth_flow_of(settings: BotSettings, client: WebClient, store: Store,
                  installations: InstallationStore | None,
                  states: OAuthStateStore | None) -> OAuthFlow | None:
    """OAuth mode's flow (a reinstall cancels the workspace's scheduled deletion); None with
    one token."""
    if settings.oauth is None:
        return None
    if installations is None or states is None:
        raise ValueError("OAuth mode needs an installation store and a state store")
    return build_oauth_flow(settings.oauth, client, installations, states,
                            on_installed=lambda i: reinstalled(store, i.team_id))


def build_counter(settings: BotSettings, classifier: Classifier, store: Store,
                  metrics: BotMetrics | None = None) -> MessageCounter:
    """The channel-message counter with the limits of ``settings`` (``MESSAGE_BACKLOG_*``,
    ``MESSAGE_BATCH_*``, ``MODERATION_WORKERS``)."""
    return MessageCounter(classifier, store, batch_size=settings.message_batch_size,
                          wait_ms=settings.message_batch_wait_ms,
                          limits=BacklogLimits(settings.backlog_max_messages,
                                               settings.backlog_max_bytes,
                                               settings.backlog_max_age_s),
                          metrics=metrics, listener_workers=settings.listener_workers)


def log_error(error: Exception) -> None:
    """Bolt's last resort for an exception in a listener: the class only (a message could quote
    Slack content); Slack users never see this."""
    log.error("unhandled error in a Slack listener: %s", error.__class__.__name__)


def team_clients(settings: BotSettings, app: App) -> ClientFor | None:
    """OAuth mode: each workspace's client for work no request carries; None with one token
    (``app.client`` serves its only workspace)."""
    if settings.oauth is None or app.installation_store is None:
        return None
    return bot_clients(app.installation_store, app.client, settings.oauth)


def build_routes(settings: BotSettings, app: App, store: Store) -> list[BaseRoute]:
    """HTTP routes besides ``/slack/events`` (for :func:`bot.server.create_asgi_app`):
    ``POST /tasks/digest`` and ``POST /tasks/retention`` when ``DIGEST_SECRET`` is set."""
    if not settings.digest_secret:
        return []
    # pylint: disable=import-outside-toplevel  # only loaded when the endpoint is on
    from bot.reports.digest import digest_job, digest_job_per_team
    from bot.server import digest_route, retention_route
    from bot.store.retention import purge
    from bot.workspaces.oauth import is_installed
    from bot.workspaces.usecases import forget_due

    today = today_in(ZoneInfo(settings.timezone))
    client_for = team_clients(settings, app)
    job = (digest_job(store, app.client, today) if client_for is None
           else digest_job_per_team(store, client_for, today))
    installed = is_installed(app.client, app.installation_store)

    def forget():
        return forget_due(store, time.time(), installed)

    return [digest_route(settings.digest_secret, job),
            retention_route(settings.digest_secret, lambda: purge(store), forget)]
