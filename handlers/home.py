"""App Home tab: published when a user opens it (``app_home_opened``)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from slack_bolt import Ack, App

from bot import messages

HomeSections = Callable[[str, str, Any], Sequence[dict]]
"""Extra blocks for one viewer: ``sections(team_id, user_id, client)`` (the Web API client, to
see e.g. which channels the viewer is in; used by the reports' channel moods)."""


def combine(*parts: HomeSections | None) -> HomeSections | None:
    """One :data:`HomeSections` showing the blocks of each of ``parts`` in order (None: none)."""
    given = [part for part in parts if part is not None]
    if not given:
        return None
    return lambda team_id, user_id, client: [block for part in given
                                             for block in part(team_id, user_id, client)]


def register(app: App, sections: HomeSections | None = None,
             extra_help: Sequence[messages.SubcommandHelp] = ()) -> None:
    """Publish the Home view after acking the event."""

    def ack_event(ack: Ack) -> None:
        ack()

    def publish_home(body: dict, event: dict, client) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = event["user"]
        extra = list(sections(body.get("team_id", ""), user_id, client)) if sections else []
        client.views_publish(user_id=user_id,
                             view=messages.home_view(extra_blocks=extra, extra_help=extra_help))

    app.event("app_home_opened")(ack=ack_event, lazy=[publish_home])
