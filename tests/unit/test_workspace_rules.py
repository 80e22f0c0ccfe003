"""Which workspace a request belongs to (bot.workspaces.rules), on Slack's payload shapes."""

from __future__ import annotations

from bot.workspaces.rules import Installed, foreign_team, forget_after, forget_date, request_kind

A = Installed("T0AAAA")


def test_a_request_of_the_installations_own_team_passes():
    """Commands, buttons, events of the installation's team name no other team."""
    assert foreign_team({"team_id": "T0AAAA", "command": "/sentimento"}, A) is None
    assert foreign_team({"type": "block_actions", "team": {"id": "T0AAAA"},
                         "user": {"id": "U1", "team_id": "T0AAAA"}}, A) is None
    assert foreign_team({"type": "event_callback", "team_id": "T0AAAA",
                         "event": {"type": "app_home_opened", "user": "U1"}}, A) is None


def test_another_team_anywhere_in_the_request_is_foreign():
    """A Slack Connect member (``user.team_id``), a message's author (``event.team`` or
    ``user_team``), a view of another team, an envelope for another team."""
    assert foreign_team({"team": {"id": "T0AAAA"}, "user": {"team_id": "T0XXXX"}}, A) == "T0XXXX"
    assert foreign_team({"team_id": "T0AAAA", "event": {"type": "message", "team": "T0AAAA",
                                                         "user_team": "T0XXXX"}}, A) == "T0XXXX"
    assert foreign_team({"view": {"team_id": "T0XXXX"}}, A) == "T0XXXX"
    assert foreign_team({"team_id": "T0XXXX", "command": "/sentimento"}, A) == "T0XXXX"


def test_enterprise_grid_ids():
    """A workspace install in a Grid org accepts its own org's id; an org-wide install accepts
    any workspace of its org and refuses another org."""
    grid = Installed("T0AAAA", "E0ORG")
    assert foreign_team({"team_id": "T0AAAA", "event": {"type": "message",
                                                         "user_team": "E0ORG"}}, grid) is None
    org_wide = Installed(None, "E0ORG", org_wide=True)
    assert foreign_team({"team_id": "T0ANY", "enterprise_id": "E0ORG"}, org_wide) is None
    assert foreign_team({"team_id": "T0ANY", "enterprise": {"id": "E0OTHER"}},
                        org_wide) == "E0OTHER"


def test_request_kinds_and_the_deletion_date():
    """The metric's kinds; the deletion date is the grace period after the uninstall (UTC)."""
    assert request_kind({"command": "/sentimento"}) == "command"
    assert request_kind({"type": "event_callback", "event": {"type": "message"}}) == "message"
    assert request_kind({"type": "event_callback", "event": {"type": "app_home_opened"}}) == "event"
    assert request_kind({"type": "block_actions"}) == "action"
    due = forget_after(1_764_460_800.0, 30)  # 2025-11-30 00:00 UTC
    assert forget_date(due) == "2025-12-30" and forget_after(10.0, 0) == 10.0
