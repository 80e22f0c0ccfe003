"""The micro-batcher: coalescing, ordering, the bounded queue and shutdown, with real backends."""

import asyncio
import threading
import time

import pytest

from service.backends.transformers_backend import TransformersBackend
from service.batching import (
    IDLE_RELEASE_S, Batcher, BatcherClosedError, QueueFullError, TextRejectedError,
)
from tests.support.service_helpers import (
    NEGATIVE, NEUTRAL, POSITIVE, GatedBackend, RejectingBackend,
)


@pytest.fixture(name="gated")
def gated_backend(lexicon):
    """The lexicon behind a closed gate."""
    return GatedBackend(lexicon)


def make_batcher(backend, **kwargs):
    """A batcher that records the size of every batch it runs."""
    sizes = []
    batcher = Batcher(backend, observer=lambda size, _seconds: sizes.append(size), **kwargs)
    return batcher, sizes


def test_results_come_back_in_input_order(lexicon):
    """Results come back in input order."""
    batcher, _ = make_batcher(lexicon)
    try:
        labels = [r.label for r in batcher.classify([NEGATIVE, POSITIVE, NEUTRAL, POSITIVE], 10)]
    finally:
        batcher.close()
    assert labels == ["negative", "positive", "neutral", "positive"]


def test_slack_markup_is_cleaned_before_the_model(gated):
    """Slack markup is cleaned before the model."""
    gated.gate.set()
    batcher, _ = make_batcher(gated)
    try:
        batcher.classify(["<@U123> :smile:   ótimo ```code```"], 10)
    finally:
        batcher.close()
    assert gated.texts == ["@user 😄 ótimo"]


def test_texts_queued_while_the_model_is_busy_share_one_batch(gated):
    """Texts queued while the model is busy share one batch."""
    batcher, sizes = make_batcher(gated, max_batch_size=16, max_batch_wait_ms=0)
    try:
        first = batcher.submit([POSITIVE])
        assert gated.entered.wait(5)
        later = [batcher.submit([text]) for text in (NEGATIVE, NEUTRAL, POSITIVE)]
        assert batcher.queue_depth == 3
        gated.gate.set()
        labels = [f.result(10).label for f in first + [fs[0] for fs in later]]
    finally:
        batcher.close()
    assert sizes == [1, 3]
    assert labels == ["positive", "negative", "neutral", "positive"]
    assert batcher.queue_depth == 0


def test_batches_never_exceed_max_batch_size(gated):
    """Batches never exceed max batch size."""
    batcher, sizes = make_batcher(gated, max_batch_size=2, max_batch_wait_ms=0)
    try:
        batcher.submit([NEUTRAL])
        assert gated.entered.wait(5)
        futures = batcher.submit([POSITIVE, NEGATIVE, NEUTRAL, POSITIVE, NEGATIVE])
        gated.gate.set()
        labels = [f.result(10).label for f in futures]
    finally:
        batcher.close()
    assert sizes == [1, 2, 2, 1]
    assert labels == ["positive", "negative", "neutral", "positive", "negative"]


def test_concurrent_callers_each_get_their_own_results(tiny_model_dir):
    """Concurrent callers each get their own results."""
    backend = TransformersBackend(tiny_model_dir)
    texts = [f"mensagem {i} " + "bom dia pessoal " * (i % 7) for i in range(24)]
    alone = [backend.predict([text])[0] for text in texts]
    batcher, sizes = make_batcher(backend, max_batch_size=8, max_batch_wait_ms=20)
    results = [None] * len(texts)

    def call(i):
        results[i] = batcher.classify([texts[i]], 30)[0]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(texts))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        batcher.close()
    assert max(sizes) <= 8 and sum(sizes) == len(texts)
    for got, want in zip(results, alone):
        assert got.scores == pytest.approx(want.scores, abs=1e-5)


def test_full_queue_refuses_at_once_and_all_or_nothing(gated):
    """Full queue refuses at once and all or nothing."""
    batcher, _ = make_batcher(gated, max_queue_size=3)
    try:
        running = batcher.submit([POSITIVE])
        assert gated.entered.wait(5)
        queued = batcher.submit([NEGATIVE, NEUTRAL])
        with pytest.raises(QueueFullError, match="fila cheia"):
            batcher.submit([POSITIVE, POSITIVE])  # only one slot left: nothing is queued
        assert batcher.queue_depth == 2
        last = batcher.submit([NEUTRAL])  # the last slot is still free
        gated.gate.set()
        labels = [f.result(10).label for f in running + queued + last]
    finally:
        batcher.close()
    assert labels == ["positive", "negative", "neutral", "neutral"]


def test_a_lone_request_on_an_idle_service_skips_the_batching_window(lexicon):
    """A lone request on an idle service skips the batching window."""
    batcher, sizes = make_batcher(lexicon, max_batch_wait_ms=5000)
    try:
        started = time.monotonic()
        batcher.classify([POSITIVE], 10)
        elapsed = time.monotonic() - started
    finally:
        batcher.close()
    assert sizes == [1]
    assert elapsed < 2.5  # far below the 5 s window it would have waited


def test_close_finishes_queued_work_then_refuses_new_work(gated):
    """Close finishes queued work then refuses new work."""
    batcher, _ = make_batcher(gated)
    futures = batcher.submit([POSITIVE])
    assert gated.entered.wait(5)
    futures += batcher.submit([NEGATIVE, NEUTRAL])
    closer = threading.Thread(target=batcher.close)
    closer.start()
    time.sleep(0.05)
    with pytest.raises(BatcherClosedError):
        batcher.submit([POSITIVE])
    gated.gate.set()
    closer.join(10)
    assert not closer.is_alive()
    assert [f.result(0).label for f in futures] == ["positive", "negative", "neutral"]


def test_model_errors_reach_every_caller_of_the_batch(tiny_model_dir):
    """Model errors reach every caller of the batch."""
    backend = TransformersBackend(tiny_model_dir)
    batcher, _ = make_batcher(backend)
    try:
        batcher.submit([POSITIVE])[0].result(10)
        backend.device = "no-such-device"  # the next forward pass cannot run
        futures = batcher.submit([POSITIVE, NEGATIVE])
        for future in futures:
            with pytest.raises(RuntimeError):
                future.result(10)
    finally:
        batcher.close()


class ReleasingBackend:
    """The lexicon, with the ``release_memory`` hook of the ONNX runtimes, counting its calls."""

    def __init__(self, backend):
        self.backend = backend
        self.name, self.runtime, self.model = backend.name, backend.runtime, backend.model
        self.releases: list[float] = []
        self.released = threading.Event()

    def predict(self, texts):
        """The lexicon's answers."""
        return self.backend.predict(texts)

    def release_memory(self):
        """Record when the batcher asked."""
        self.releases.append(time.monotonic())
        self.released.set()


def test_an_idle_service_hands_memory_back_once_per_idle_period_never_between_batches(lexicon):
    """A backend that can release memory is asked once the queue has been empty for
    IDLE_RELEASE_S, once per idle period; requests arriving closer together never trigger it."""
    backend = ReleasingBackend(lexicon)
    batcher, _ = make_batcher(backend)
    try:
        finished = time.monotonic()
        while time.monotonic() - finished < IDLE_RELEASE_S / 2:  # back to back: never idle long
            batcher.classify([POSITIVE], 10)
        last = time.monotonic()
        assert not backend.releases
        assert backend.released.wait(IDLE_RELEASE_S * 5)
        assert backend.releases[0] - last >= IDLE_RELEASE_S * 0.9
        time.sleep(IDLE_RELEASE_S * 1.5)
        assert len(backend.releases) == 1  # still idle: not asked again
        backend.released.clear()
        assert batcher.classify([NEGATIVE], 10)[0].label == "negative"
        assert backend.released.wait(IDLE_RELEASE_S * 5)
        assert len(backend.releases) == 2
    finally:
        batcher.close()


def test_a_text_the_model_cannot_read_fails_alone_naming_its_position_not_its_text(lexicon):
    """Three callers share a batch; the model refuses one text of the second caller: the others
    get their answers, and that caller's error names the text's position and the model's error
    class, in Portuguese, never the text itself."""
    gated = GatedBackend(RejectingBackend(lexicon, marker="💣"))
    batcher = Batcher(gated, max_batch_size=16, max_batch_wait_ms=0)
    try:
        first = batcher.submit([POSITIVE])
        assert gated.entered.wait(10)  # the worker is busy: the next callers queue up together
        good = batcher.submit([NEGATIVE])
        mixed = batcher.submit([NEUTRAL, "Segredo 💣", POSITIVE])
        gated.gate.set()
        assert first[0].result(10).label == "positive"
        assert good[0].result(10).label == "negative"
        assert [mixed[0].result(10).label, mixed[2].result(10).label] == ["neutral", "positive"]
        with pytest.raises(TextRejectedError) as rejected:
            mixed[1].result(10)
    finally:
        batcher.close()
    assert gated.batches[:2] == [1, 4]
    error = rejected.value
    assert (error.cause, error.positions) == ("ValueError", ())
    assert str(error) == "o modelo não conseguiu analisar o texto (ValueError)"
    assert isinstance(error.__cause__, ValueError)
    named = TextRejectedError("ValueError", [1, 3])
    assert named.positions == (1, 3)
    assert str(named) == "o modelo não conseguiu analisar o texto nas posições 1, 3 (ValueError)"


def test_the_http_transport_learns_every_rejected_position_of_a_request(lexicon):
    """``classify_async`` (what the HTTP endpoint awaits) on a request with two texts the model
    cannot read: one error naming both positions (0-based), not just the first failure."""
    batcher = Batcher(RejectingBackend(lexicon, marker="💣"))
    try:
        with pytest.raises(TextRejectedError) as rejected:
            asyncio.run(batcher.classify_async([POSITIVE, "💣", NEUTRAL, "💣 de novo"]))
        answered = asyncio.run(batcher.classify_async([NEGATIVE, POSITIVE]))
    finally:
        batcher.close()
    assert rejected.value.positions == (1, 3)
    assert [r.label for r in answered] == ["negative", "positive"]


def test_a_cancelled_request_does_not_cost_the_rest_of_its_batch(gated):
    """A caller that gives up (its future cancelled, as when an HTTP client disconnects) while
    its text waits: the texts queued after it in the same batch are still answered."""
    batcher = Batcher(gated, max_batch_size=16, max_batch_wait_ms=0)
    try:
        first = batcher.submit([POSITIVE])
        assert gated.entered.wait(10)  # the worker is busy: the next texts queue up together
        gone, *kept = batcher.submit([NEUTRAL, NEGATIVE, POSITIVE])
        assert gone.cancel()
        gated.gate.set()
        assert first[0].result(10).label == "positive"
        assert [future.result(10).label for future in kept] == ["negative", "positive"]
    finally:
        batcher.close()
    assert gated.batches[:2] == [1, 2]


def test_every_batch_reports_its_size_and_duration_to_the_metrics(lexicon):
    """The observer (the service's batch histograms) hears each batch's size and how long the
    model took, in seconds."""
    seen = []
    batcher = Batcher(lexicon, observer=lambda size, seconds: seen.append((size, seconds)))
    try:
        batcher.classify([POSITIVE, NEGATIVE], 10)
    finally:
        batcher.close()
    assert len(seen) == 1
    size, seconds = seen[0]
    assert size == 2 and isinstance(seconds, float) and seconds >= 0
