"""App Home tab: published when a user opens it (``app_home_opened``)."""

from __future__ import annotations

from functools import partial
from typing import Sequence

from slack_bolt import App
from slack_sdk import WebClient

from bot.command import SubcommandHelp
from bot.home.usecases import HomeSections, publish_home
from bot.home.views import Retention
from handlers import ack_now


def publish(sections: HomeSections | None, extra_help: Sequence[SubcommandHelp],
            retention: Retention, body: dict, event: dict, client: WebClient) -> None:
    """After the ack: publish the viewer's Home tab (not the Messages or About tabs)."""
    if event.get("tab", "home") != "home":
        return
    publish_home(client, sections, body.get("team_id", ""), event["user"], extra_help, retention)


def register(app: App, sections: HomeSections | None = None,
             extra_help: Sequence[SubcommandHelp] = (),
             retention: Retention = Retention()) -> None:
    """Publish the Home view after acking the event."""
    app.event("app_home_opened")(ack=ack_now, lazy=[partial(publish, sections, list(extra_help),
                                                            retention)])
