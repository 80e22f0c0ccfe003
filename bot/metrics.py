"""Prometheus metrics of the bot, in a registry owned by each bot (never the global one).

What an operator needs to see that nothing acked is lost: Slack requests received and their
ack latency per kind, channel messages acked, refused (Slack redelivers them), counted,
skipped and dropped (with the reason), the backlog's depth, size and oldest age, model and
store errors, and user-facing work refused. Labels are small fixed sets (kinds, reasons):
never a Slack id, never text.
"""

from __future__ import annotations

from typing import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from prometheus_client.metrics_core import CounterMetricFamily

from bot.failures import FailureCounter

CONTENT_TYPE = CONTENT_TYPE_LATEST
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
# The kinds of Slack request the ack latency is kept for (see :func:`request_kind`).
REQUEST_KINDS = ("command", "message", "event", "block_actions", "shortcut", "other")


def request_kind(body: Mapping[str, object]) -> str:
    """The kind of a parsed Slack request body, one of :data:`REQUEST_KINDS`."""
    if body.get("command"):
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        return "message" if isinstance(event, Mapping) and event.get("type") == "message" else "event"
    if kind == "block_actions":
        return "block_actions"
    if kind in ("message_action", "shortcut"):
        return "shortcut"
    return "other"


class _CallbackCounters(Collector):
    """Exports counts kept elsewhere (e.g. :class:`bot.validation.Rejections`) as one counter."""

    def __init__(self, name: str, documentation: str, label: str,
                 counts: Callable[[], Mapping[str, int]]):
        self._name, self._doc, self._label, self._counts = name, documentation, label, counts

    def collect(self):
        family = CounterMetricFamily(self._name, self._doc, labels=[self._label])
        for value, count in sorted(self._counts().items()):
            family.add_metric([value], count)
        yield family


class BotMetrics:  # pylint: disable=too-many-instance-attributes  # one flat set of metrics
    """The bot's counters, histograms and gauges, registered in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter("sentimento_bot_slack_requests", "Signed Slack requests dispatched, "
                                "by kind.", ["kind"], registry=registry)
        self.ack_seconds = Histogram("sentimento_bot_ack_seconds", "Time to answer Slack (the ack), "
                                     "by kind.", ["kind"], buckets=ACK_BUCKETS, registry=registry)
        self.acked = Counter("sentimento_bot_messages_acked", "Channel messages answered 200 and "
                             "taken into the backlog (a promise to count each once).",
                             registry=registry)
        self.refused = Counter("sentimento_bot_messages_refused", "Channel messages answered "
                               "non-200 so that Slack redelivers them, by reason.", ["reason"],
                               registry=registry)
        self.counted = Counter("sentimento_bot_messages_counted", "Channel messages classified "
                               "and recorded in the store.", registry=registry)
        self.skipped = Counter("sentimento_bot_messages_skipped", "Acked channel messages not "
                               "counted on purpose (paused channel, redelivery), by reason.",
                               ["reason"], registry=registry)
        self.dropped = Counter("sentimento_bot_messages_dropped", "Acked channel messages that "
                               "could not be counted, by reason.", ["reason"], registry=registry)
        self.backlog_messages = Gauge("sentimento_bot_backlog_messages", "Channel messages "
                                      "waiting in memory for the model or the store.",
                                      registry=registry)
        self.backlog_bytes = Gauge("sentimento_bot_backlog_bytes", "UTF-8 bytes of the texts "
                                   "waiting in the backlog.", registry=registry)
        self.backlog_age = Gauge("sentimento_bot_backlog_oldest_age_seconds", "Age of the oldest "
                                 "message waiting in the backlog.", registry=registry)
        self.model_errors = Counter("sentimento_bot_model_errors", "Classification calls that "
                                    "failed, by kind (unavailable, rejected_text, error).",
                                    ["kind"], registry=registry)
        self.store_errors = Counter("sentimento_bot_store_errors", "Store calls that failed, by "
                                    "operation.", ["operation"], registry=registry)
        self.user_tasks_refused = Counter("sentimento_bot_user_tasks_refused", "User-facing work "
                                          "(commands, shortcuts, buttons, App Home) refused "
                                          "because its executor was full.", registry=registry)
        self.listener_errors = Counter("sentimento_bot_listener_errors", "Failures after a Slack "
                                       "ack (a listener, moderation, the digest), by where.",
                                       ["where"], registry=registry)
        self.foreign_team = Counter("sentimento_bot_foreign_team_requests", "Requests naming "
                                    "another workspace than the installation answering them "
                                    "(a Slack Connect member of another company, a shared "
                                    "channel's message of theirs), refused or not counted, by "
                                    "kind (command, action, event, message).", ["kind"],
                                    registry=registry)

    def export_failures(self, failures: FailureCounter) -> None:
        """Export the failures handled after an ack (digest, moderation: see :mod:`bot.failures`)."""
        self.export_counts("sentimento_bot_handled_failures", "Failures handled after a Slack ack "
                           "(digest channels, moderation), by event.", "event", failures.snapshot)

    def track_backlog(self, depth: Callable[[], int], size: Callable[[], int],
                      oldest_age: Callable[[], float]) -> None:
        """Read the backlog's depth, bytes and oldest age at every scrape."""
        self.backlog_messages.set_function(depth)
        self.backlog_bytes.set_function(size)
        self.backlog_age.set_function(oldest_age)

    def export_counts(self, name: str, documentation: str, label: str,
                      counts: Callable[[], Mapping[str, int]]) -> None:
        """Export counts kept by another object (read at every scrape) as counter ``name``."""
        self.registry.register(_CallbackCounters(name, documentation, label, counts))

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)
