"""The model service against hostile input: slow texts, texts the model rejects, huge bodies.

Everything runs on real code: the real batcher, a real uvicorn server, the LeIA lexicon or the
tiny XLM-RoBERTa; the only stand-in is a model runtime that fails on one marker text.
"""

import asyncio
import json
import statistics
import threading
import time
import urllib.parse

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from service.app import MAX_CHARS, MAX_TEXTS, create_app
from service.backends.transformers_backend import TransformersBackend
from service.batching import Batcher, TextRejectedError
from service.settings import DEFAULT_MAX_BODY_BYTES, ModelSettings, ServiceSettings, SettingsError
from tests.support.service_helpers import (NEGATIVE, NEUTRAL, POSITIVE, GatedBackend, HealthProber, metric,
                                   RejectingBackend, running_server)
from tests.support.fuzz import fuzz_settings

# The slowest texts to clean (html entities, emoji shortcodes, unclosed markup), at the API's limits.
WORST_UNITS = ["&#9;", ":a", "&amp", "<@U1|", "<!", "&#9;x:b"]
WORST_TEXTS = [(unit * MAX_CHARS)[:MAX_CHARS] for unit in WORST_UNITS]
HEALTH_BUDGET_S = 0.100


def worst_body() -> dict:
    """A /v1/classify body at the limits: 64 texts of 40,000 characters, slow to clean."""
    return {"texts": [WORST_TEXTS[i % len(WORST_TEXTS)] for i in range(MAX_TEXTS)]}


def health_while_cleaning(backend) -> list[float]:
    """/healthz latencies (seconds) probed from another process while the service cleans a
    worst-case request. The model (``backend`` behind a gate) only starts once every text is
    cleaned, so the probes sent before the batch reaches it all overlap the clean-up."""
    gated = GatedBackend(backend)
    with running_server(create_app(ServiceSettings(), backend=gated)) as (url, _server):
        answer = {}

        def post():
            with httpx.Client(base_url=url, timeout=120) as client:
                answer["response"] = client.post("/v1/classify", json=worst_body())

        prober = HealthProber(url)
        caller = threading.Thread(target=post)
        caller.start()
        wait_for(lambda: gated.entered.is_set() or not caller.is_alive(), 120)
        probes = prober.stop()
        gated.gate.set()
        caller.join(120)
    assert answer["response"].status_code == 200
    assert len(answer["response"].json()["results"]) == MAX_TEXTS
    assert all(status == 200 for _latency, status in probes)
    assert len(probes) >= 3, "the texts were cleaned before /healthz could be probed"
    return [latency for latency, _status in probes]


def test_health_answers_within_100_ms_while_64_worst_case_texts_are_cleaned(lexicon):
    """Clean-up is CPU work: it must not run on the event loop that also answers /healthz.

    The median of the probes must stay under 100 ms in one of two tries: on the loop, the
    clean-up gives medians of 200-700 ms every time; off it, ~10 ms, but a 2-core machine
    loaded by other processes can slow one try past the bound.
    """
    tries = []
    for _ in range(2):
        latencies = health_while_cleaning(lexicon)
        tries.append(f"median {statistics.median(latencies) * 1000:.0f} ms of {len(latencies)} "
                     f"probes, worst {max(latencies) * 1000:.0f} ms")
        if statistics.median(latencies) < HEALTH_BUDGET_S:
            return
    raise AssertionError(f"/healthz was slower than {HEALTH_BUDGET_S * 1000:.0f} ms while 64 texts "
                         f"of 40,000 characters were cleaned ({'; '.join(tries)}): the clean-up is "
                         "blocking the event loop")


# --- One bad text fails alone ---------------------------------------------------------------------

BAD = "Segredo do canal 💣"  # the marker the model runtime refuses; private text


def wait_for(condition, seconds: float = 10.0) -> None:
    """Poll ``condition`` until it holds (or fail after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.005)


def post_in_thread(url: str, texts: list[str], responses: dict, name: str) -> threading.Thread:
    """POST ``texts`` to /v1/classify from a new thread; the response lands in ``responses[name]``."""

    def post():
        with httpx.Client(base_url=url, timeout=30) as client:
            responses[name] = client.post("/v1/classify", json={"texts": texts})

    thread = threading.Thread(target=post)
    thread.start()
    return thread


def test_only_the_caller_of_a_rejected_text_fails_when_batched_with_others(lexicon, caplog):
    """Callers whose texts share a batch with a text the model refuses still get their answers."""
    gated = GatedBackend(RejectingBackend(lexicon))
    batcher = Batcher(gated, max_batch_size=16, max_batch_wait_ms=0)
    outcomes = {}

    def call(name, texts):
        try:
            outcomes[name] = [r.label for r in batcher.classify(texts, 30)]
        except TextRejectedError as exc:
            outcomes[name] = exc

    calls = {"negative": [NEGATIVE], "bad": [BAD], "mixed": [POSITIVE, BAD, NEUTRAL, BAD],
             "neutral": [NEUTRAL]}
    try:
        first = batcher.submit([POSITIVE])
        assert gated.entered.wait(10)  # the worker is busy: the next callers queue up together
        threads = [threading.Thread(target=call, args=item) for item in calls.items()]
        for thread in threads:
            thread.start()
        wait_for(lambda: batcher.queue_depth == 7)
        gated.gate.set()
        for thread in threads:
            thread.join(30)
        assert first[0].result(10).label == "positive"
    finally:
        batcher.close()
    assert gated.batches[:2] == [1, 7]  # the four callers shared one batch
    assert outcomes["negative"] == ["negative"]
    assert outcomes["neutral"] == ["neutral"]
    assert isinstance(outcomes["bad"], TextRejectedError) and outcomes["bad"].positions == (0,)
    assert isinstance(outcomes["mixed"], TextRejectedError) and outcomes["mixed"].positions == (1, 3)
    assert "Segredo" not in str(outcomes["mixed"]) and "Segredo" not in caplog.text


def test_a_rejected_text_alone_on_an_idle_service_is_still_its_own_fault(lexicon):
    """With no other text to compare with, the model is checked on a known-good text."""
    batcher = Batcher(RejectingBackend(lexicon))
    try:
        with pytest.raises(TextRejectedError) as rejected:
            batcher.classify([BAD], 10)
        assert rejected.value.positions == (0,)
        assert [r.label for r in batcher.classify([POSITIVE], 10)] == ["positive"]
    finally:
        batcher.close()


def test_a_model_that_fails_on_everything_is_not_blamed_on_the_texts(lexicon):
    """When even the known-good text fails, every caller gets the model's own error (a 500)."""
    batcher = Batcher(RejectingBackend(lexicon, marker=""))  # every text holds ""
    try:
        futures = batcher.submit([POSITIVE, NEGATIVE])
        for future in futures:
            with pytest.raises(ValueError) as failed:
                future.result(10)
            assert not isinstance(failed.value, TextRejectedError)
    finally:
        batcher.close()


def test_lone_surrogates_reach_the_tokenizer_as_replacement_characters(tiny_model_dir):
    """A lone surrogate (valid in JSON and Python, not in UTF-8) no longer breaks the tokenizer."""
    batcher = Batcher(TransformersBackend(tiny_model_dir))
    try:
        results = batcher.classify(["\ud800", "bom \udfff dia", "```\ud800```", "\ud83d\ude00 ótimo"], 30)
    finally:
        batcher.close()
    assert len(results) == 4


def test_http_a_rejected_text_is_a_422_naming_its_position_others_are_answered(lexicon, caplog):
    """Through HTTP: the request holding the refused text gets 422 naming its position (not the
    text); concurrent requests batched with it get 200; the failure is counted."""
    gated = GatedBackend(RejectingBackend(lexicon))
    settings = ServiceSettings(model=ModelSettings(max_batch_wait_ms=0))
    responses: dict[str, httpx.Response] = {}
    with running_server(create_app(settings, backend=gated)) as (url, _server):
        first = post_in_thread(url, [POSITIVE], responses, "first")
        assert gated.entered.wait(10)
        threads = [post_in_thread(url, texts, responses, name) for name, texts in
                   {"negative": [NEGATIVE], "mixed": [POSITIVE, BAD, NEUTRAL],
                    "neutral": [NEUTRAL]}.items()]
        with httpx.Client(base_url=url, timeout=30) as client:
            wait_for(lambda: metric(client.get("/metrics").text, "sentimento_queue_depth") == 5)
            gated.gate.set()
            for thread in [first, *threads]:
                thread.join(30)
            alone = client.get(f"/sintetize/{BAD}")
            exposition = client.get("/metrics").text
    assert gated.batches[:2] == [1, 5]
    assert responses["negative"].status_code == 200
    assert responses["negative"].json()["results"][0]["label"] == "negative"
    assert responses["neutral"].json()["results"][0]["label"] == "neutral"
    rejected = responses["mixed"]
    assert rejected.status_code == 422
    assert rejected.json()["detail"].startswith("texts.1: o modelo não conseguiu analisar este texto")
    assert alone.status_code == 422 and "não conseguiu analisar" in alone.json()["detail"]
    assert metric(exposition, "sentimento_text_failures_total", reason="rejected") == 2
    for text in (rejected.text, alone.text, exposition, caplog.text):
        assert "Segredo" not in text


# --- Body size limit ------------------------------------------------------------------------------

SMALL_LIMIT = 2048


def padded_body(size: int) -> bytes:
    """A valid /v1/classify JSON body of exactly ``size`` bytes (padded with whitespace)."""
    body = json.dumps({"texts": [POSITIVE]}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413(lexicon):
    """The edge of MAX_BODY_BYTES, declared with Content-Length."""
    settings = ServiceSettings(max_body_bytes=SMALL_LIMIT)
    with TestClient(create_app(settings, backend=lexicon)) as client:
        at_limit = client.post("/v1/classify", content=padded_body(SMALL_LIMIT),
                               headers={"content-type": "application/json"})
        over = client.post("/v1/classify", content=padded_body(SMALL_LIMIT + 1),
                           headers={"content-type": "application/json"})
        exposition = client.get("/metrics").text
    assert at_limit.status_code == 200
    assert at_limit.json()["results"][0]["label"] == "positive"
    assert over.status_code == 413
    assert over.json() == {"detail": f"corpo da requisição grande demais: o limite é de "
                                     f"{SMALL_LIMIT} bytes"}
    assert metric(exposition, "sentimento_body_rejections_total", reason="too_large") == 1
    assert metric(exposition, "sentimento_http_requests_total",
                  endpoint="<unmatched>", method="POST", status="413") == 1


def test_a_chunked_body_is_counted_while_it_streams(lexicon):
    """Without Content-Length, a body past the limit is cut short with 413; one within it is served."""

    def chunks(body: bytes, size: int = 512):
        for start in range(0, len(body), size):
            yield body[start:start + size]

    settings = ServiceSettings(max_body_bytes=SMALL_LIMIT)
    with running_server(create_app(settings, backend=lexicon)) as (url, _server):
        with httpx.Client(base_url=url, timeout=30) as client:
            within = client.post("/v1/classify", content=chunks(padded_body(SMALL_LIMIT)),
                                 headers={"content-type": "application/json"})
        with httpx.Client(base_url=url, timeout=30) as client:
            over = client.post("/v1/classify", content=chunks(padded_body(SMALL_LIMIT + 1)),
                               headers={"content-type": "application/json"})
        with httpx.Client(base_url=url, timeout=30) as client:
            huge = client.post("/v1/classify", content=chunks(padded_body(10 * 2**20), 65536),
                               headers={"content-type": "application/json"})
            assert client.get("/healthz").status_code == 200
    assert within.request.headers.get("transfer-encoding") == "chunked"
    assert within.status_code == 200
    assert over.status_code == 413 and "grande demais" in over.json()["detail"]
    assert huge.status_code == 413


async def asgi_post(app, headers: list[tuple[bytes, bytes]], chunks: list[bytes]):
    """Drive ``app`` as an ASGI server would; return (status, body, chunks the app read)."""
    pulled = []
    sent = []

    async def receive():
        if len(pulled) < len(chunks):
            pulled.append(chunks[len(pulled)])
            return {"type": "http.request", "body": pulled[-1],
                    "more_body": len(pulled) < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/classify", "raw_path": b"/v1/classify",
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body), len(pulled)


def test_the_limit_is_checked_before_the_body_is_read_and_never_read_past(lexicon):
    """A declared oversize body is refused unread; a streamed one is read only up to the limit."""
    app = create_app(ServiceSettings(max_body_bytes=SMALL_LIMIT), backend=lexicon)
    json_type = (b"content-type", b"application/json")
    chunks = [b" " * 256] * 64  # 16 KiB in all
    status, body, pulled = asyncio.run(asgi_post(
        app, [json_type, (b"content-length", b"16384")], chunks))
    assert (status, pulled) == (413, 0)
    assert "grande demais" in body["detail"]
    status, _body, pulled = asyncio.run(asgi_post(app, [json_type], chunks))
    assert status == 413
    assert pulled == SMALL_LIMIT // 256 + 1  # the chunk that crossed the limit, and no more
    for bad in (b"abc", b"-1", b"1e3", b""):
        status, body, pulled = asyncio.run(asgi_post(
            app, [json_type, (b"content-length", bad)], [b"{}"]))
        assert (status, pulled) == (400, 0) and "Content-Length" in body["detail"]


@pytest.mark.parametrize("body, status, fragment", [
    (b"\xff\xfe\x00garbage", 422, "corpo: JSON inválido"),
    (b"\xc3", 400, "envie JSON em UTF-8"),
    (b'{"texts": ["\xe9"]}', 400, "UTF-8"),  # Latin-1, not UTF-8
    (b'{"texts": ["\\ud800"]}', 422, "surrogate"),
    (b'{"texts": [', 422, "JSON inválido"),
    (b"\x00" * 100, 422, "JSON inválido"),
])
def test_bodies_that_are_not_json_in_utf8_get_a_4xx_in_portuguese(client_with, body, status,
                                                                  fragment):
    """Garbage bytes are the client's fault: 400/422 with a Portuguese detail, never 500."""
    response = client_with.post("/v1/classify", content=body,
                                headers={"content-type": "application/json"})
    assert response.status_code == status
    assert fragment in response.json()["detail"]


@pytest.fixture(name="client_with")
def lexicon_client(lexicon):
    """A test client of a service answering with the lexicon."""
    with TestClient(create_app(ServiceSettings(), backend=lexicon)) as test_client:
        yield test_client


def test_the_default_limit_admits_the_largest_valid_request(lexicon):
    """64 texts of 40,000 emoji, JSON-escaped as surrogate pairs (json.dumps' default): 30.7 MB,
    a valid request, so not a 413."""
    body = json.dumps({"texts": ["😀" * MAX_CHARS] * MAX_TEXTS}).encode()
    assert len(body) > 30_000_000
    assert ServiceSettings().max_body_bytes == DEFAULT_MAX_BODY_BYTES >= len(body)
    with TestClient(create_app(ServiceSettings(), backend=lexicon)) as client:
        response = client.post("/v1/classify", content=body,
                               headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == MAX_TEXTS


def test_max_body_bytes_is_read_from_the_environment():
    """MAX_BODY_BYTES sets the limit; nonsense is reported with the other settings errors."""
    assert ServiceSettings.from_env({"MAX_BODY_BYTES": "100000"}).max_body_bytes == 100_000
    assert ServiceSettings.from_env({}).max_body_bytes == DEFAULT_MAX_BODY_BYTES == 30_785_536
    with pytest.raises(SettingsError, match="MAX_BODY_BYTES"):
        ServiceSettings.from_env({"MAX_BODY_BYTES": "dez"})


# --- HTTP fuzzing ---------------------------------------------------------------------------------

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
PATHS = ["/", "/v1/classify", "/v1/classify/", "/sintetize/", "/healthz", "/readyz", "/metrics",
         "/docs", "/openapi.json", "/v1", "//v1/classify", "/sintetize/%ED%A0%80",
         "/sintetize/%FF%FE", "/sintetize/%00", "/sintetize/..%2F..%2Fetc", "/%", "/sintetize/a%"]
CONTENT_TYPES = ["application/json", "application/json; charset=latin-1", "text/plain",
                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                 "multipart/form-data", "application/vnd.api+json", "garbage/;;;", ""]

json_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                | st.text(max_size=30) | st.sampled_from([10**400, -(10**400), 2**63, 1e308]))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=5), max_leaves=20)


def encode(value) -> bytes:
    """JSON with every non-ASCII character escaped (lone surrogates too, as ``\\ud800``)."""
    return json.dumps(value, ensure_ascii=True).encode()


valid_ish = st.one_of(
    st.lists(st.text(max_size=60), min_size=0, max_size=70).map(lambda t: {"texts": t}),
    st.lists(json_values, max_size=4).map(lambda t: {"texts": t}),
    st.dictionaries(st.sampled_from(["texts", "text", "extra", ""]), json_values, max_size=3),
    json_values,
).map(encode)
bodies = st.one_of(
    st.binary(max_size=300),
    valid_ish,
    st.tuples(valid_ish, st.integers(0, 200)).map(lambda p: p[0][:p[1]]),  # truncated JSON
    st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n),  # deep nesting
    st.integers(1, 5000).map(lambda n: b'{"texts": [' + b"1" * n + b"]}"),  # huge numbers
    st.sampled_from([b'{"texts": ["\\ud800"]}', b'{"texts": ["\\udfff\\ud800"]}',
                     b'{"texts": ["ok"]}\xff', b'\xef\xbb\xbf{"texts": ["ok"]}',
                     b'{"texts": ["ok"], "texts": ["ok"]}', b'{"texts": [NaN]}']),
)
requests = st.fixed_dictionaries({
    "method": st.sampled_from(METHODS),
    "path": st.sampled_from(PATHS) | st.text(max_size=40).map(
        lambda t: "/sintetize/" + urllib.parse.quote(t.encode("utf-8", "surrogatepass"), safe="")),
    "content_type": st.sampled_from(CONTENT_TYPES),
    "authorization": st.sampled_from([None, "", "Bearer", "Bearer x", "Basic ???", "Bearer " + "a" * 500]),
    "body": bodies,
})


@pytest.fixture(name="fuzzed_client", scope="module", params=["lexicon", "tiny transformer"])
def fuzzed_service(request, tiny_model_dir):
    """A service on the lexicon or on the tiny transformer, reporting errors as 500s (not raising)."""
    # pylint: disable=import-outside-toplevel  # a session fixture, reached without pytest's injection
    from service.backends.lexicon import LexiconBackend

    backend = LexiconBackend() if request.param == "lexicon" else TransformersBackend(tiny_model_dir)
    with TestClient(create_app(ServiceSettings(), backend=backend),
                    raise_server_exceptions=False) as test_client:
        yield test_client


@fuzz_settings(share=0.5)
@given(requests)
def test_no_request_gets_a_5xx_and_the_service_stays_healthy(fuzzed_client, req):
    """Random methods, paths, headers and bodies: every answer is deliberate (< 500)."""
    headers = {"content-type": req["content_type"]} if req["content_type"] else {}
    if req["authorization"] is not None:
        headers["authorization"] = req["authorization"]
    response = fuzzed_client.request(req["method"], req["path"], content=req["body"], headers=headers)
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400 and req["method"] != "HEAD":
        assert isinstance(response.json()["detail"], (str, list))
    assert fuzzed_client.get("/healthz").status_code == 200
