"""Slack listeners only: one module per feature, each with ``register(app, deps)``.

Every listener is a top-level function that receives its dependencies (bound with
``functools.partial`` at registration), translates the Slack payload to a use case of
:mod:`bot` and sends the answer; nothing else lives here. Only :mod:`bot.app` imports this
package.
"""

from __future__ import annotations

from slack_bolt import Ack


def ack_now(ack: Ack) -> None:
    """Acknowledge at once with an empty 200: the work runs after, in a lazy listener."""
    ack()
