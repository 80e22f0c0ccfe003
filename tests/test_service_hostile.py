"""The model service against hostile input: slow texts, texts the model rejects, huge bodies.

Everything runs on real code: the real batcher, a real uvicorn server, the LeIA lexicon or the
tiny XLM-RoBERTa; the only stand-in is a model runtime that fails on one marker text.
"""

import asyncio
import statistics
import threading
import time

import httpx

from service.app import MAX_CHARS, MAX_TEXTS, create_app
from service.settings import ServiceSettings
from tests.service_helpers import GatedBackend, running_server

# The slowest texts to clean (html entities, emoji shortcodes, unclosed markup), at the API's limits.
WORST_UNITS = ["&#9;", ":a", "&amp", "<@U1|", "<!", "&#9;x:b"]
WORST_TEXTS = [(unit * MAX_CHARS)[:MAX_CHARS] for unit in WORST_UNITS]
HEALTH_BUDGET_S = 0.100


def worst_body() -> dict:
    """A /v1/classify body at the limits: 64 texts of 40,000 characters, slow to clean."""
    return {"texts": [WORST_TEXTS[i % len(WORST_TEXTS)] for i in range(MAX_TEXTS)]}


def probe_health(url: str, until: threading.Event, every_s: float = 0.010,
                 limit: int = 800) -> list[float]:
    """Send GET /healthz every ``every_s`` seconds (without waiting for the previous answer) until
    ``until`` is set; return each probe's latency in seconds.

    Probes go out on a fixed cadence so that a blocked event loop shows in most of them (each
    waits for the block to end) rather than in the one probe that happened to be waiting.
    """

    async def probe_all() -> list[float]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            await client.get("/healthz")  # connection set-up is not the server's latency

            async def one() -> float:
                started = time.perf_counter()
                assert (await client.get("/healthz")).status_code == 200
                return time.perf_counter() - started

            probes = []
            while not until.is_set() and len(probes) < limit:
                probes.append(asyncio.create_task(one()))
                await asyncio.sleep(every_s)
            return list(await asyncio.gather(*probes))

    return asyncio.run(probe_all())


def test_health_answers_within_100_ms_while_64_worst_case_texts_are_cleaned(lexicon):
    """Clean-up is CPU work: it must not run on the event loop that also answers /healthz.

    The model (the lexicon behind a gate) only starts once every text is cleaned, so the probes
    sent between the request and the batch reaching the model all overlap the clean-up.
    """
    gated = GatedBackend(lexicon)
    with running_server(create_app(ServiceSettings(), backend=gated)) as (url, _server):
        answer = {}

        def post():
            with httpx.Client(base_url=url, timeout=120) as client:
                answer["response"] = client.post("/v1/classify", json=worst_body())

        caller = threading.Thread(target=post)
        caller.start()
        latencies = probe_health(url, until=gated.entered)
        gated.gate.set()
        caller.join(120)
    assert answer["response"].status_code == 200
    assert len(answer["response"].json()["results"]) == MAX_TEXTS
    assert len(latencies) >= 3, "the texts were cleaned before /healthz could be probed"
    median = statistics.median(latencies)
    assert median < HEALTH_BUDGET_S, (
        f"/healthz took {median * 1000:.0f} ms (median of {len(latencies)} probes, worst "
        f"{max(latencies) * 1000:.0f} ms) while 64 texts of 40,000 characters were cleaned: "
        "the clean-up is blocking the event loop")
