"""Workspaces kept apart, and workspaces leaving: the check of every request's team against the
installation that answers it, and the ``app_uninstalled`` / ``tokens_revoked`` events."""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from functools import partial
from typing import Callable

from prometheus_client import Counter
from slack_bolt import App, BoltContext, BoltResponse

from bot.deps import Deps
from bot.failures import count_failure, describe
from bot.workspaces import usecases
from bot.workspaces.rules import ACTION, COMMAND, Installed, foreign_team, request_kind
from bot.workspaces.views import FOREIGN_TEAM_TEXT
from handlers import ack_now

log = logging.getLogger(__name__)


def installed_of(context: BoltContext) -> Installed | None:
    """The installation answering the request (Bolt's authorize result: ``auth.test`` of the
    token in single-workspace mode, the installation store's in OAuth mode)."""
    result = context.authorize_result
    if result is None:
        return None
    return Installed(team_id=result.team_id, enterprise_id=result.enterprise_id,
                     org_wide=bool(context.is_enterprise_install) and not result.team_id)


def check_team(refused: Counter, work: Executor, body: dict, context: BoltContext,
               next: Callable[[], BoltResponse]) -> BoltResponse:  # pylint: disable=redefined-builtin  # Bolt's name
    """Global middleware: a request naming another workspace's team is answered here. A
    command gets the refusal as its (ephemeral) ack; a button or shortcut gets an empty ack
    and the refusal on its ``response_url`` (sent after the ack); an event is acked and
    ignored (a message is not counted). Each refusal is counted by kind."""
    installed = installed_of(context)
    if installed is None or foreign_team(body, installed) is None:
        return next()
    kind = request_kind(body)
    refused.labels(kind).inc()
    log.info("refused a %s naming another workspace than the installation's", kind)
    if kind == COMMAND:
        return BoltResponse(status=200, body={"response_type": "ephemeral",
                                              "text": FOREIGN_TEAM_TEXT})
    if kind == ACTION and context.response_url:
        try:
            work.submit(context.respond, text=FOREIGN_TEAM_TEXT, response_type="ephemeral",
                        replace_original=False)
        except RuntimeError:  # the executor is full: the refusal is only counted
            log.warning("refusal to another workspace's member not sent: executor full")
    return BoltResponse(status=200, body="")


def on_uninstalled(deps: Deps, installations, grace_days: int, context: BoltContext) -> None:
    """After the ack: delete the installation, schedule the data's deletion."""
    try:
        usecases.uninstalled(deps.store, installations, context.enterprise_id,
                             context.team_id or "", deps.clock(), grace_days)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # counted; forget by hand
        count_failure("workspace_uninstall_failed", f"error={describe(exc)}")


def on_tokens_revoked(deps: Deps, installations, grace_days: int, event: dict,
                      context: BoltContext) -> None:
    """After the ack: delete the revoked tokens' installations (all of them: the app left)."""
    tokens = event.get("tokens") if isinstance(event.get("tokens"), dict) else {}
    try:
        usecases.tokens_revoked(deps.store, installations, context.enterprise_id,
                                context.team_id or "", tokens, deps.clock(), grace_days)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # counted; forget by hand
        count_failure("workspace_uninstall_failed", f"error={describe(exc)}")


def register(app: App, deps: Deps, grace_days: int, refused: Counter, work: Executor) -> None:
    """The team check (before every listener) and the uninstall events."""
    app.use(partial(check_team, refused, work))
    installations = app.installation_store
    app.event("app_uninstalled")(
        ack=ack_now, lazy=[partial(on_uninstalled, deps, installations, grace_days)])
    app.event("tokens_revoked")(
        ack=ack_now, lazy=[partial(on_tokens_revoked, deps, installations, grace_days)])
