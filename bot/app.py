"""The Bolt app factory: ``build_app(settings, classifier, store)``.

No globals and nothing heavy at import: the model, the store and the Slack client are made by
the caller (``python -m bot``, or a test) and handed in.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.pipeline import MessageCounter
from bot.ports import Classifier
from bot.settings import BotSettings
from bot.store import Store
from bot.validation import PayloadGuard, Rejections
from handlers import commands, events, home, moderation, reports, shortcuts

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
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3),
                        ConnectionErrorRetryHandler(max_retry_count=2)],
    )


def build_app(settings: BotSettings, classifier: Classifier, store: Store,
              counter: MessageCounter | None = None, *,
              subcommands: Sequence[commands.Subcommand] = (),
              home_sections: home.HomeSections | None = None,
              process_before_response: bool = False,
              rejections: Rejections | None = None) -> App:
    """Build the Bolt app with every listener registered.

    ``counter`` batches channel messages for ``classifier`` and hands them to ``store``; pass one
    to control its life cycle (``close()`` flushes it), or one is made here. Registered: the
    command and its help, the "Analisar sentimento" shortcut, channel messages, the App Home;
    the channel reports (``relatorio``, ``pausar``, ``retomar``, ``resumo``, the share button,
    the App Home's channel moods); and moderation (``moderacao``, ``limiar``, ``regra``, thread
    alerts and their buttons, the "Sinalizar para moderação" shortcut, the admin's App Home
    section). ``subcommands`` and ``home_sections`` are extension points for later features.
    Malformed payloads are refused before any listener (:mod:`bot.validation`), counted in
    ``rejections``.
    Calls ``auth.test`` once (Bolt's token verification) to learn the bot's own ids.
    """
    timezone = ZoneInfo(settings.timezone)
    today = reports.today_in(timezone)
    subcommands = [*reports.subcommands(store, today), *subcommands, *moderation.subcommands(store)]
    if home_sections is None:
        home_sections = reports.home_sections(store, today)
    home_sections = home.combine(home_sections, moderation.home_sections(store))
    if counter is None:
        counter = MessageCounter(classifier, store, batch_size=settings.message_batch_size,
                                 wait_ms=settings.message_batch_wait_ms)
    app = App(
        client=build_web_client(settings),
        signing_secret=settings.slack_signing_secret or "",
        # Socket Mode requests come over the app-token WebSocket and are not signed.
        request_verification_enabled=bool(settings.slack_signing_secret) or not settings.socket_mode,
        process_before_response=process_before_response,
        # Right after Bolt's signature check, before any of Bolt's code that reads the payload.
        before_authorize=PayloadGuard(rejections),
        name="sentimento",
        logger=quiet_bolt_logging(),
    )
    commands.register(app, classifier, subcommands)
    shortcuts.register(app, classifier)
    events.register(app, store, counter, timezone)
    home.register(app, home_sections, extra_help=[sub.help for sub in subcommands])
    reports.register(app, store, today)
    moderation.register(app, store)
    counter.add_listener(moderation.thread_watcher(store, app.client))

    @app.error
    def log_error(error: Exception) -> None:
        # The class only: a message could quote Slack content; Slack users never see this.
        log.error("unhandled error in a Slack listener: %s", error.__class__.__name__)

    return app


def build_routes(settings: BotSettings, app: App, store: Store) -> list[Any]:
    """HTTP routes besides ``/slack/events`` (for :func:`bot.server.create_asgi_app`):
    ``POST /tasks/digest`` when ``DIGEST_SECRET`` is set and the store keeps reports."""
    if not settings.digest_secret:
        return []
    # pylint: disable=import-outside-toplevel  # only loaded when the endpoint is on
    from bot.digest import digest_job, digest_route

    job = digest_job(store, app.client, reports.today_in(ZoneInfo(settings.timezone)))
    return [digest_route(settings.digest_secret, job)]
