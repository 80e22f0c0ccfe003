"""``python -m bot``: run the Slack bot (HTTP mode, or Socket Mode when ``SLACK_APP_TOKEN`` is set).

``python -m bot report ...`` is dispatched to ``bot.reports.export.main(argv)`` (the export command of
the reports feature).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import signal
import sys
from typing import Sequence

from bot.store import StoreSettings, open_store
from service.logs import configure_logging
from service.settings import SettingsError

log = logging.getLogger("bot")

USAGE = """uso: python -m bot            roda o bot (configuração nas variáveis de ambiente)
       python -m bot report ...  exporta os números de um canal (json|csv)
       python -m bot forget --team T  apaga agora todos os dados (e a instalação) de um workspace"""

# Subcommands of ``python -m bot``: name -> module with ``main(argv) -> int``.
SUBCOMMANDS = {"report": "bot.reports.export", "forget": "bot.workspaces.cli"}


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def _read_settings():
    """Bot and store settings, with every problem of both in one :class:`SettingsError`."""
    # pylint: disable=import-outside-toplevel  # keep `python -m bot --help` light
    from bot.settings import BotSettings

    problems: list[str] = []
    settings = store_settings = None
    try:
        settings = BotSettings.from_env()
    except SettingsError as exc:
        problems.extend(exc.problems)
    try:
        store_settings = StoreSettings.from_env()
    except SettingsError as exc:
        problems.extend(exc.problems)
    if problems:
        raise SettingsError(problems)
    return settings, store_settings


def _exit_cleanly(signum: int, _frame) -> None:
    log.info("received %s: flushing and stopping", signal.Signals(signum).name)
    sys.exit(0)


GRACE_S = 2.0  # uvicorn's wait for requests in flight after SIGTERM
FLUSH_RESERVE_S = 1.0  # of SHUTDOWN_DEADLINE, kept for the store's last write


def serve(app, settings, counter, routes=()) -> None:
    """Serve ``app`` until stopped: Socket Mode with an app-level token, else HTTP (uvicorn)
    with ``routes`` besides ``/slack/events`` (``POST /tasks/digest``), ``/healthz`` and
    ``/metrics`` (``counter.metrics``)."""
    # pylint: disable=import-outside-toplevel  # only the chosen mode's libraries load
    if settings.socket_mode:
        if routes:
            log.warning("Socket Mode serves no HTTP: POST /tasks/digest and /metrics are not "
                        "available")
        from slack_bolt.adapter.socket_mode import SocketModeHandler
        log.info("Socket Mode: connecting to Slack with the app-level token")
        SocketModeHandler(app, settings.slack_app_token).start()
        return
    import uvicorn

    from bot.server import create_asgi_app

    class DrainingServer(uvicorn.Server):
        """On SIGTERM/SIGINT, refuse new channel messages at once (503: Slack redelivers them
        to another instance), then let uvicorn stop accepting and finish what is in flight."""

        def handle_exit(self, sig, frame) -> None:
            counter.stop_accepting()
            super().handle_exit(sig, frame)

    log.info("HTTP mode: POST /slack/events, GET /healthz and GET /metrics on %s:%d",
             settings.host, settings.port)
    # uvicorn handles SIGTERM/SIGINT itself (stops accepting, finishes in-flight requests), then
    # re-raises the signal to the handler installed by ``run``, which unwinds to its ``finally``.
    if routes:
        log.info("also serving %s", ", ".join(getattr(route, "path", "?") for route in routes))
    config = uvicorn.Config(create_asgi_app(app, settings.slack_signing_secret, routes,
                                            max_body_bytes=settings.max_body_bytes,
                                            metrics=counter.metrics),
                            host=settings.host, port=settings.port, log_config=None,
                            timeout_graceful_shutdown=min(GRACE_S, settings.shutdown_deadline_s / 4))
    DrainingServer(config).run()


def _shut_down(counter, store, classifier, deadline_s: float) -> None:
    """Count the messages waiting (until ``deadline_s`` less a reserve for the last write),
    flush the store, release the model. What could not be written is logged with its number."""
    counter.close(timeout=max(0.5, deadline_s - GRACE_S - FLUSH_RESERVE_S))
    try:
        store.close()
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the process is ending
        log.error("%d counted messages could not be written before exit: %s",
                  store.pending_count(), exc.__class__.__name__)
    log.info("stopped: %d messages counted, %d dropped, %d refused (Slack redelivers them)",
             counter.counted, counter.dropped, counter.refused)
    classifier.close()


def _retention_timer(store_settings, store) -> contextlib.AbstractContextManager:
    """SQLite and the Firestore emulator have no TTL: purge in the process, at start and once a
    day, while the context lasts (:class:`bot.store.retention.RetentionTimer`); nothing on
    Firestore (its TTL policies and ``POST /tasks/retention`` do it)."""
    if store_settings.backend != "sqlite" and not store_settings.emulator_host:
        return contextlib.nullcontext()
    from bot.store.retention import RetentionTimer  # pylint: disable=import-outside-toplevel

    return RetentionTimer(store)


def _oauth_stores(settings, store_settings) -> dict:
    """``build_app``'s OAuth arguments: in OAuth mode the installation and state stores on the
    store's backend; else none."""
    if settings.oauth is None:
        return {}
    # pylint: disable=import-outside-toplevel  # only OAuth mode loads them
    from bot.store.installations import open_installation_store, open_state_store

    return {"installations": open_installation_store(store_settings, settings.oauth.client_id),
            "oauth_states": open_state_store(store_settings, settings.oauth.state_secret)}


def run(argv: Sequence[str] = ()) -> int:
    """Start the bot; returns the exit status (2 for bad configuration)."""
    del argv  # no options yet: everything comes from the environment
    # pylint: disable=import-outside-toplevel  # heavy imports only once the settings are valid
    try:
        settings, store_settings = _read_settings()
    except SettingsError as exc:
        return _fail(f"{exc}\nVeja manifest.yaml e a tabela de variáveis no README.")
    configure_logging(settings.logs.level, settings.logs.fmt)
    log.info("starting with %r", settings)  # secrets are masked by BotSettings.__repr__

    from slack_bolt.error import BoltError

    from bot.app import build_app, build_counter, build_routes
    from bot.classify.clients import build_classifier
    from service.backends import BackendLoadError

    try:
        classifier = build_classifier(settings)
    except BackendLoadError as exc:
        return _fail(f"Não foi possível carregar o modelo: {exc}")
    store = open_store(settings=store_settings)
    counter = build_counter(settings, classifier, store)
    try:
        with _retention_timer(store_settings, store):
            try:
                app = build_app(settings, classifier, store, counter,
                                **_oauth_stores(settings, store_settings))
            except BoltError as exc:
                return _fail(f"O Slack recusou SLACK_BOT_TOKEN ({exc}). Copie o Bot User OAuth "
                             "Token em https://api.slack.com/apps → seu app → OAuth & Permissions.")
            except OSError as exc:
                return _fail(f"Não foi possível falar com o Slack em {settings.slack_api_url} "
                             f"({exc.__class__.__name__}).")
            # SIGTERM (a container stopping) and Ctrl-C unwind to ``finally``, which flushes counts.
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, _exit_cleanly)
            serve(app, settings, counter, build_routes(settings, app, store))
    finally:
        _shut_down(counter, store, classifier, settings.shutdown_deadline_s)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``python -m bot [subcommand] ...``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if args and args[0] in SUBCOMMANDS:
        return int(importlib.import_module(SUBCOMMANDS[args[0]]).main(args[1:]))
    if args:
        return _fail(f"argumento desconhecido {args[0]!r}\n{USAGE}")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
