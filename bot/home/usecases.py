"""Putting the App Home together: the sections each feature adds for one viewer, and publishing
the view (``views.publish``)."""

from __future__ import annotations

from typing import Callable, Sequence

from slack_sdk import WebClient

from bot.command import SubcommandHelp
from bot.home.views import Retention, home_view

HomeSections = Callable[[str, str, WebClient], Sequence[dict]]
"""Extra blocks for one viewer: ``sections(team_id, user_id, client)`` (the Web API client, to
see e.g. which channels the viewer is in; used by the reports' channel moods)."""


def combine(*parts: HomeSections | None) -> HomeSections | None:
    """One :data:`HomeSections` showing the blocks of each of ``parts`` in order (None: none)."""
    given = [part for part in parts if part is not None]
    if not given:
        return None
    return lambda team_id, user_id, client: [block for part in given
                                             for block in part(team_id, user_id, client)]


def publish_home(client: WebClient, sections: HomeSections | None, team_id: str, user_id: str,
                 extra_help: Sequence[SubcommandHelp] = (),
                 retention: Retention = Retention()) -> None:
    """Publish ``user_id``'s Home tab with every feature's sections for that viewer (and the
    store's ``retention`` in "O que guardo")."""
    extra = list(sections(team_id, user_id, client)) if sections else []
    client.views_publish(user_id=user_id, view=home_view(extra_blocks=extra, extra_help=extra_help,
                                                         retention=retention))
