"""A workspace leaving and coming back: its installation goes at once, its data after a grace
period (``WORKSPACE_GRACE_DAYS``), or now (``python -m bot forget``); the sweep of deletions
that came due (``POST /tasks/retention``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

from bot.failures import count_failure, describe
from bot.store.base import WorkspaceData
from bot.workspaces.rules import forget_after, forget_date

log = logging.getLogger(__name__)


class Installations(Protocol):
    """What is used of slack_sdk's ``InstallationStore``."""

    def delete_all(self, *, enterprise_id: Optional[str], team_id: Optional[str]) -> None:
        """Forget the workspace's bot and installations."""

    def delete_bot(self, *, enterprise_id: Optional[str], team_id: Optional[str]) -> None:
        """Forget the workspace's bot."""

    def delete_installation(self, *, enterprise_id: Optional[str], team_id: Optional[str],
                            user_id: Optional[str] = None) -> None:
        """Forget the workspace's installations (or one user's)."""


def uninstalled(store: WorkspaceData, installations: Installations | None,
                enterprise_id: str | None, team_id: str, now: float, grace_days: int) -> float:
    """``app_uninstalled``: the installation is deleted now (OAuth mode), the workspace's data
    at the returned time."""
    if installations is not None:
        installations.delete_all(enterprise_id=enterprise_id, team_id=team_id)
    due = forget_after(now, grace_days)
    store.schedule_forget(team_id, due)
    log.info("workspace %s uninstalled: installation deleted, data deleted on %s", team_id,
             forget_date(due))
    return due


def tokens_revoked(store: WorkspaceData, installations: Installations | None,
                   enterprise_id: str | None, team_id: str, tokens: dict[str, Any], now: float,
                   grace_days: int) -> float | None:
    """``tokens_revoked``: revoked user tokens' installations are deleted; a revoked bot token
    is the app leaving (as :func:`uninstalled`). The deletion time, None when only users'
    tokens went."""
    users = [user for user in tokens.get("oauth") or [] if isinstance(user, str)]
    if installations is not None:
        for user in users:
            installations.delete_installation(enterprise_id=enterprise_id, team_id=team_id,
                                              user_id=user)
    if not tokens.get("bot"):
        return None
    return uninstalled(store, installations, enterprise_id, team_id, now, grace_days)


def reinstalled(store: WorkspaceData, team_id: str | None) -> bool:
    """An install completed: a deletion scheduled for the workspace is cancelled (it came back
    within the grace period and keeps its data). True when one was."""
    if not team_id:
        return False
    kept = store.cancel_forget(team_id)
    if kept:
        log.info("workspace %s reinstalled within the grace period: its data is kept", team_id)
    return kept


def forget_now(store: WorkspaceData, installations: Installations | None,
               team_id: str, enterprise_id: str | None = None) -> dict[str, int]:
    """Delete the workspace's data and installation now; the records deleted by kind."""
    deleted = store.forget_team(team_id)
    if installations is not None:
        installations.delete_all(enterprise_id=enterprise_id, team_id=team_id)
    log.info("workspace %s forgotten: %d records deleted", team_id, sum(deleted.values()))
    return deleted


@dataclass
class RetentionRun:
    """What one sweep did: the workspaces forgotten (with their counts), those found installed
    again (their deletion cancelled, data kept) and those that failed (retried by the next
    sweep: their deletion stays scheduled)."""

    forgotten: dict[str, dict[str, int]] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer of the task route."""
        return {"workspaces_forgotten": self.forgotten, "workspaces_kept": self.kept,
                "workspaces_failed": self.failed}


def forget_due(store: WorkspaceData, now: float,
               installed: Callable[[str], bool] = lambda _team: False) -> RetentionRun:
    """Delete the data of every workspace whose grace period ended by ``now``, unless
    ``installed(team_id)`` says it is installed again (a reinstall whose cancellation was
    lost, a new SLACK_BOT_TOKEN for it): then the deletion is cancelled. One workspace's
    failure never stops the others; it is logged, counted and retried by the next sweep."""
    run = RetentionRun()
    for team_id in store.forgets_due(now):
        try:
            if installed(team_id):
                store.cancel_forget(team_id)
                run.kept.append(team_id)
                continue
            run.forgotten[team_id] = store.forget_team(team_id)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # next workspace
            count_failure("workspace_forget_failed", f"error={describe(exc)}")
            run.failed.append(team_id)
            continue
        log.info("workspace %s forgotten after its grace period", team_id)
    return run
