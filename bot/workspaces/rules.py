"""Which workspace a Slack request belongs to, and whether the installation that answers it may
act on it. Pure: no Slack client, no store.

The rule: every team id a request names (the envelope's ``team_id``, an interactivity payload's
``team.id`` and ``user.team_id``, an event's author ``team`` / ``user_team``, a view's
``team_id``) must be the installation's team. A Slack Connect member of another company (their
``user.team_id`` is their own company's) is refused; a message another company's member writes
in a shared channel is not counted here (it belongs to their workspace's installation, if any:
each message is counted once, by its author's workspace). For an organisation-wide (Enterprise
Grid) installation, the team may be any workspace of the organisation, but every enterprise id
the request names must be the installation's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

DAY_S = 86_400
COMMAND, ACTION, EVENT, MESSAGE = "command", "action", "event", "message"


@dataclass(frozen=True)
class Installed:
    """The installation answering a request: its team (None for an org-wide install) and its
    organisation (None outside Enterprise Grid)."""

    team_id: str | None
    enterprise_id: str | None = None
    org_wide: bool = False


def _id(value: Any) -> str | None:
    """A non-empty string id, else None."""
    return value if isinstance(value, str) and value else None


def _obj(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = body.get(key)
    return value if isinstance(value, Mapping) else {}


def named_teams(body: Mapping[str, Any]) -> set[str]:
    """Every team id the request names (see the module's rule)."""
    event, team, user, view = (_obj(body, "event"), _obj(body, "team"), _obj(body, "user"),
                               _obj(body, "view"))
    found = {body.get("team_id"), team.get("id"), user.get("team_id"), view.get("team_id"),
             event.get("user_team"), event.get("team")}
    if isinstance(body.get("team"), str):
        found.add(body.get("team"))
    return {value for value in found if _id(value)}


def named_enterprises(body: Mapping[str, Any]) -> set[str]:
    """Every enterprise id the request names."""
    enterprise = body.get("enterprise")
    found = {body.get("enterprise_id"), _obj(body, "team").get("enterprise_id"),
             enterprise.get("id") if isinstance(enterprise, Mapping) else enterprise}
    return {value for value in found if _id(value)}


def foreign_team(body: Mapping[str, Any], installed: Installed) -> str | None:
    """The first team (or enterprise) id of the request that is not the installation's, None
    when the request is the installation's own."""
    if installed.org_wide:
        others = named_enterprises(body) - {installed.enterprise_id}
        return min(others) if others else None
    others = named_teams(body) - {installed.team_id}
    if installed.enterprise_id is not None:
        # Enterprise Grid ids of the installation's own organisation are not another company's.
        others -= {installed.enterprise_id}
    return min(others) if others else None


def request_kind(body: Mapping[str, Any]) -> str:
    """``command``, ``message`` (a channel message event), ``event`` or ``action`` (any other
    interactivity: buttons, shortcuts, views)."""
    if body.get("command") is not None:
        return COMMAND
    if body.get("type") == "event_callback":
        return MESSAGE if _obj(body, "event").get("type") == "message" else EVENT
    return ACTION


def forget_after(now: float, grace_days: int) -> float:
    """When an uninstalled workspace's data is deleted: ``grace_days`` after ``now``."""
    return now + grace_days * DAY_S


def forget_date(due_at: float) -> str:
    """The deletion date in UTC (``YYYY-MM-DD``), for logs and answers."""
    return dt.datetime.fromtimestamp(due_at, tz=dt.timezone.utc).date().isoformat()
