"""Prometheus metrics of the model service, in a registry owned by each app (never the global one).

Labels carry only route templates (``/sintetize/{text}``), methods, status codes
and backend names: never a path as sent, never message text.
"""

from __future__ import annotations

import time
from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Requests take from ~1 ms (health checks) to seconds (64 long texts on a CPU).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
# The top probability of three labels is at least 1/3; the alert policy's "low confidence" is <= 0.5.
CONFIDENCE_BUCKETS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
MODEL_LABELS = ("model", "revision", "runtime")
UNMATCHED = "<unmatched>"


class ModelMetrics:
    """What the model answers (the drift alert's input) and which model answers."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.predictions = Counter(
            "sentimento_predictions", "Texts classified, by predicted label and by the model "
            "(id, revision, runtime) that answered.",
            ["label", *MODEL_LABELS], registry=registry)
        self.confidence = Histogram(
            "sentimento_prediction_confidence", "Probability of the predicted (top) label, by model.",
            list(MODEL_LABELS), buckets=CONFIDENCE_BUCKETS, registry=registry)
        self.info = Gauge(
            "sentimento_model_info", "1 for the model that answers: its id, revision, backend and "
            "runtime.", ["model", "revision", "backend", "runtime"], registry=registry)

    def observe(self, model: tuple[str, str, str], labels_and_scores) -> None:
        """Count each prediction by label and record its top probability; ``model`` is
        ``(model id, revision, runtime)``, ``labels_and_scores`` pairs of (label, probability)."""
        confidence = self.confidence.labels(*model)
        for label, score in labels_and_scores:
            self.predictions.labels(label, *model).inc()
            confidence.observe(score)


class ServiceMetrics:  # pylint: disable=too-many-instance-attributes  # one attribute per metric
    """The service's counters, histograms and gauges, registered in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "sentimento_http_requests", "HTTP requests by route template, method and status.",
            ["endpoint", "method", "status"], registry=self.registry)
        self.latency = Histogram(
            "sentimento_http_request_duration_seconds", "HTTP request latency by route template.",
            ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram(
            "sentimento_batch_size", "Texts per model batch (forward pass).",
            buckets=BATCH_SIZE_BUCKETS, registry=self.registry)
        self.batch_duration = Histogram(
            "sentimento_batch_duration_seconds", "Duration of one model batch (tokenizer + forward).",
            buckets=LATENCY_BUCKETS, registry=self.registry)
        self.texts = Counter(
            "sentimento_texts_classified", "Texts classified, by backend.",
            ["backend"], registry=self.registry)
        self.queue_depth = Gauge(
            "sentimento_queue_depth", "Texts waiting for the model (not yet in a batch).",
            registry=self.registry)
        self.queue_full = Counter(
            "sentimento_queue_full_rejections", "Requests answered 503 because the queue was full.",
            registry=self.registry)
        self.text_failures = Counter(
            "sentimento_text_failures",
            "Texts that got no classification: 'rejected' (the model failed on that text alone, "
            "answered 422) or 'model_error' (the model failed, answered 500).",
            ["reason"], registry=self.registry)
        self.body_rejections = Counter(
            "sentimento_body_rejections",
            "Requests refused before their body was read in full: 'too_large' (413) or "
            "'bad_length' (400, malformed Content-Length).",
            ["reason"], registry=self.registry)
        self.runtime = Gauge(
            "sentimento_model_runtime", "1 for the backend and runtime (torch, onnx, onnx-int8, "
            "lexicon) that answers.", ["backend", "runtime"], registry=self.registry)
        self.model = ModelMetrics(self.registry)
        self.ready = Gauge(
            "sentimento_model_ready", "1 once the model is loaded and the service takes work.",
            registry=self.registry)

    def observe_batch(self, size: int, seconds: float) -> None:
        """Batcher observer: one model batch of ``size`` texts took ``seconds``."""
        self.batch_size.observe(size)
        self.batch_duration.observe(seconds)

    def track_queue(self, depth: Callable[[], int]) -> None:
        """Read the queue depth from ``depth`` at every scrape."""
        self.queue_depth.set_function(depth)

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)


class MetricsMiddleware:  # pylint: disable=too-few-public-methods  # an ASGI callable
    """Pure ASGI middleware counting requests and timing them by route template.

    Pure ASGI (not ``BaseHTTPMiddleware``) to keep the per-request overhead small.
    """

    def __init__(self, app, metrics: ServiceMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path_format", None) or UNMATCHED
            self.metrics.requests.labels(endpoint, scope.get("method", ""), str(status[0])).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
