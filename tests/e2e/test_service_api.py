"""The HTTP API, through FastAPI's test client and a real uvicorn server on an ephemeral port."""

import asyncio
import re
import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.backends import load_backend
from service.backends.transformers_backend import TransformersBackend
from service.settings import ModelSettings, ServiceSettings
from tests.support.service_helpers import (
    NEGATIVE, NEUTRAL, POSITIVE, GatedBackend, metric, running_server,
)

@pytest.fixture(name="tiny", scope="module")
def tiny_backend(tiny_model_dir):
    """The tiny XLM-RoBERTa through the real transformers backend."""
    return TransformersBackend(tiny_model_dir)


@pytest.fixture(name="client")
def lexicon_client(lexicon):
    """A test client of a service answering with the lexicon."""
    with TestClient(create_app(ServiceSettings(), backend=lexicon)) as test_client:
        yield test_client


def test_presentation_in_portuguese(client):
    """Presentation in portuguese."""
    body = client.get("/").json()
    assert "análise de sentimento" in body["mensagem"]
    assert body["backend"] == "lexicon"


def test_sintetize_keeps_the_original_shape(client):
    """Sintetize keeps the original shape."""
    response = client.get(f"/sintetize/{POSITIVE}")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["Classificação", "Confiança"]
    assert body["Classificação"] == "Positivo"
    assert re.fullmatch(r"\d{1,3}\.\d{3}%", body["Confiança"])
    assert response.headers["X-Sentiment-Backend"] == "lexicon"
    assert client.get(f"/sintetize/{NEGATIVE}").json()["Classificação"] == "Negativo"


def test_sintetize_accepts_slashes_and_refuses_blank(client):
    """Sintetize accepts slashes and refuses blank."""
    assert client.get("/sintetize/ótimo/excelente trabalho").status_code == 200
    response = client.get("/sintetize/%20%20")
    assert response.status_code == 422
    assert "vazio" in response.json()["detail"]


def test_classify_answers_in_input_order_and_names_the_backend(client):
    """Classify answers in input order and names the backend."""
    response = client.post("/v1/classify", json={"texts": [NEGATIVE, POSITIVE, NEUTRAL]})
    assert response.status_code == 200
    body = response.json()
    assert (body["backend"], body["model"]) == ("lexicon", "LeIA")
    assert [r["label"] for r in body["results"]] == ["negative", "positive", "neutral"]
    assert [r["label_pt"] for r in body["results"]] == ["Negativo", "Positivo", "Neutro"]
    for result in body["results"]:
        assert set(result["scores"]) == {"negative", "neutral", "positive"}
        assert result["score"] == max(result["scores"].values())


@pytest.mark.parametrize("body, fragment", [
    ({"texts": []}, "de 1 a 64"),
    ({"texts": ["ok"] * 65}, "no máximo 64"),
    ({"texts": ["ok", "   "]}, "posição(ões) 1"),
    ({"texts": ["ok", ""]}, "vazio"),
    ({"texts": ["x" * 40_001]}, "40000 caracteres"),
    ({"texts": "um texto só"}, "lista"),
    ({"texts": ["ok", 3]}, "texts.1: deve ser uma string"),
    ({"texts": [None]}, "string"),
    ({}, "texts: campo obrigatório"),
    ({"texts": ["ok"], "extra": 1}, "extra"),
    (["ok"], "objeto JSON"),
])
def test_bad_bodies_get_422_with_a_clear_message(client, body, fragment):
    """Bad bodies get 422 with a clear message."""
    response = client.post("/v1/classify", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str) and fragment in detail
    assert "x" * 100 not in detail  # texts are not echoed back


def test_a_missing_body_gets_422(client):
    """A POST without a body is told what to send."""
    response = client.post("/v1/classify")
    assert response.status_code == 422
    assert '{"texts"' in response.json()["detail"]


def test_a_model_failure_is_a_json_500_not_a_traceback(tiny_model_dir):
    """When the forward pass fails, every caller gets a JSON error naming the failure."""
    backend = TransformersBackend(tiny_model_dir)
    with TestClient(create_app(ServiceSettings(), backend=backend)) as client:
        backend.device = "no-such-device"  # the next forward pass cannot run
        response = client.post("/v1/classify", json={"texts": [POSITIVE]})
        assert response.status_code == 500
        assert response.json() == {"detail": "falha do modelo (RuntimeError)"}


def test_malformed_json_gets_422(client):
    """Malformed json gets 422."""
    response = client.post("/v1/classify", content=b'{"texts": [',
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "JSON inválido" in response.json()["detail"]


def test_the_limits_themselves_are_accepted(client):
    """The limits themselves are accepted."""
    response = client.post("/v1/classify", json={"texts": [POSITIVE] * 63 + ["é" * 40_000]})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 64


def test_token_is_required_when_configured(lexicon):
    """Token is required when configured."""
    app = create_app(ServiceSettings(token="s3cr3t"), backend=lexicon)
    with TestClient(app) as client:
        for headers in ({}, {"Authorization": "Bearer errado"}, {"Authorization": "s3cr3t"},
                        {"Authorization": "Basic s3cr3t"}):
            response = client.post("/v1/classify", json={"texts": [POSITIVE]}, headers=headers)
            assert response.status_code == 401
            assert "Authorization: Bearer" in response.json()["detail"]
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert client.get(f"/sintetize/{POSITIVE}", headers=headers).status_code == 401
        good = {"Authorization": "Bearer s3cr3t"}
        assert client.post("/v1/classify", json={"texts": [POSITIVE]}, headers=good).status_code == 200
        assert client.get(f"/sintetize/{POSITIVE}", headers=good).status_code == 200
        for open_path in ("/healthz", "/readyz", "/metrics", "/", "/docs"):
            assert client.get(open_path).status_code == 200


def test_health_readiness_and_docs(client):
    """Health readiness and docs."""
    assert client.get("/healthz").json() == {"status": "ok", "ready": True, "backend": "lexicon",
                                             "runtime": "lexicon", "model": "LeIA",
                                             "revision": "lexicon-0.0.1"}
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/classify", "/sintetize/{text}", "/healthz", "/readyz"} <= set(paths)


def test_metrics_count_requests_batches_and_never_contain_text(client):
    """Metrics count requests batches and never contain text."""
    secret = "Segredo absoluto do canal"
    client.post("/v1/classify", json={"texts": [secret, POSITIVE]})
    client.get(f"/sintetize/{secret}")
    client.post("/v1/classify", json={"texts": []})
    text = client.get("/metrics").text
    assert metric(text, "sentimento_http_requests_total",
                  endpoint="/v1/classify", method="POST", status="200") == 1
    assert metric(text, "sentimento_http_requests_total",
                  endpoint="/v1/classify", method="POST", status="422") == 1
    assert metric(text, "sentimento_http_requests_total",
                  endpoint="/sintetize/{text}", method="GET", status="200") == 1
    assert metric(text, "sentimento_http_request_duration_seconds_count", endpoint="/v1/classify") == 2
    assert metric(text, "sentimento_batch_size_sum") == 3
    assert metric(text, "sentimento_texts_classified_total", backend="lexicon") == 3
    assert metric(text, "sentimento_queue_depth") == 0
    assert metric(text, "sentimento_model_ready") == 1
    assert "Segredo" not in text and "Segredo%20" not in text


def test_unknown_paths_are_counted_without_their_path(client):
    """Unknown paths are counted without their path."""
    client.get("/nada/Segredo")
    text = client.get("/metrics").text
    assert metric(text, "sentimento_http_requests_total",
                  endpoint="<unmatched>", method="GET", status="404") == 1
    assert "Segredo" not in text


def test_each_app_has_its_own_registry(lexicon):
    """Each app has its own registry."""
    with TestClient(create_app(ServiceSettings(), backend=lexicon)) as first, \
            TestClient(create_app(ServiceSettings(), backend=lexicon)) as second:
        first.post("/v1/classify", json={"texts": [POSITIVE]})
        assert metric(second.get("/metrics").text, "sentimento_texts_classified_total",
                      backend="lexicon") == 0


def test_readyz_is_503_while_the_model_loads_then_200(tiny_model_dir):
    """Readyz is 503 while the model loads then 200."""
    gate = threading.Event()

    def slow_loader(settings):
        assert gate.wait(30)
        return load_backend(settings)

    settings = ServiceSettings(model=ModelSettings(model=tiny_model_dir, backend="transformers"))
    with TestClient(create_app(settings, loader=slow_loader)) as client:
        assert client.get("/healthz").json()["ready"] is False
        loading = client.get("/readyz")
        assert loading.status_code == 503 and loading.json()["status"] == "loading"
        refused = client.post("/v1/classify", json={"texts": [POSITIVE]})
        assert refused.status_code == 503 and "carregando" in refused.json()["detail"]
        assert "Retry-After" in refused.headers
        gate.set()
        client.app.state.service.loaded.result(30)
        assert client.get("/readyz").status_code == 200
        body = client.post("/v1/classify", json={"texts": [POSITIVE]}).json()
        assert body["backend"] == "transformers" and body["model"] == tiny_model_dir


def test_a_transformer_that_cannot_load_is_reported(tmp_path):
    """A transformer that cannot load is reported."""
    settings = ServiceSettings(model=ModelSettings(model=str(tmp_path / "nada"), backend="transformers"))
    with TestClient(create_app(settings)) as client:
        with pytest.raises(Exception, match="SENTIMENT_MODEL"):
            client.app.state.service.loaded.result(30)
        failed = client.get("/readyz")
        assert failed.status_code == 503 and "SENTIMENT_MODEL" in failed.json()["detail"]


def test_32_concurrent_requests_each_get_their_own_answer(tiny):
    """32 concurrent requests each get their own answer."""
    texts = [f"mensagem {i}: " + " ".join(["bom dia pessoal", "que atraso no deploy",
                                           "adorei o resultado"][: 1 + i % 3]) * (1 + i % 5)
             for i in range(32)]
    settings = ServiceSettings(model=ModelSettings(max_batch_size=16, max_batch_wait_ms=20))
    with running_server(create_app(settings, backend=tiny)) as (url, _server):
        with httpx.Client(base_url=url) as sync:
            alone = [sync.post("/v1/classify", json={"texts": [t]}).json()["results"][0] for t in texts]
            batches_before = metric(sync.get("/metrics").text, "sentimento_batch_size_count")

        async def together():
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                return await asyncio.gather(*(client.post("/v1/classify", json={"texts": [t]})
                                              for t in texts))

        responses = asyncio.run(together())
        with httpx.Client(base_url=url) as sync:
            batches = metric(sync.get("/metrics").text, "sentimento_batch_size_count") - batches_before
    assert all(r.status_code == 200 for r in responses)
    for response, want in zip(responses, alone):
        got = response.json()["results"][0]
        assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)
    assert batches < len(texts)  # requests were coalesced into shared batches


def test_a_full_queue_answers_503_with_retry_after(lexicon):
    """A full queue answers 503 with retry after."""
    gated = GatedBackend(lexicon)
    settings = ServiceSettings(model=ModelSettings(max_queue_size=2))
    with running_server(create_app(settings, backend=gated)) as (url, _server):
        with httpx.Client(base_url=url, timeout=30) as client:
            results = {}

            def post(name, texts):
                results[name] = client.post("/v1/classify", json={"texts": texts})

            first = threading.Thread(target=post, args=("running", [POSITIVE]))
            first.start()
            assert gated.entered.wait(10)  # the worker holds the first batch
            second = threading.Thread(target=post, args=("queued", [NEGATIVE, NEUTRAL]))
            second.start()
            for _ in range(500):
                if metric(client.get("/metrics").text, "sentimento_queue_depth") == 2:
                    break
                threading.Event().wait(0.01)
            full = client.post("/v1/classify", json={"texts": [POSITIVE]})
            assert full.status_code == 503
            assert full.headers["Retry-After"] == "1"
            assert "fila cheia" in full.json()["detail"]
            assert client.get(f"/sintetize/{POSITIVE}").status_code == 503
            gated.gate.set()
            first.join(10)
            second.join(10)
            assert metric(client.get("/metrics").text, "sentimento_queue_full_rejections_total") == 2
    assert [r["label"] for r in results["running"].json()["results"]] == ["positive"]
    assert [r["label"] for r in results["queued"].json()["results"]] == ["negative", "neutral"]


def test_shutdown_finishes_requests_in_flight(lexicon):
    """Shutdown finishes requests in flight."""
    gated = GatedBackend(lexicon)
    with running_server(create_app(ServiceSettings(), backend=gated)) as (url, server):
        result = {}

        def post():
            with httpx.Client(base_url=url, timeout=30) as client:
                result["response"] = client.post("/v1/classify", json={"texts": [NEGATIVE]})

        caller = threading.Thread(target=post)
        caller.start()
        assert gated.entered.wait(10)
        server.should_exit = True  # what SIGTERM does
        threading.Event().wait(0.2)
        gated.gate.set()
        caller.join(20)
    assert result["response"].status_code == 200
    assert result["response"].json()["results"][0]["label"] == "negative"


def test_a_40000_character_text_is_truncated_not_refused(tiny):
    """A 40000 character text is truncated not refused."""
    with TestClient(create_app(ServiceSettings(), backend=tiny)) as client:
        long_text = ("Que serviço horrível, estou muito irritado. " * 1000)[:40_000]
        response = client.post("/v1/classify", json={"texts": [long_text]})
        assert response.status_code == 200
        assert response.json()["backend"] == "transformers"
        assert client.get(f"/sintetize/{long_text[:5000]}").status_code == 200


def test_the_get_route_can_be_turned_off(lexicon):
    """SINTETIZE_ROUTE=off: GET /sintetize answers 404 with a pointer to POST /v1/classify,
    which keeps working."""
    settings = ServiceSettings.from_env({"SINTETIZE_ROUTE": "off"})
    with TestClient(create_app(settings, backend=lexicon)) as client:
        refused = client.get(f"/sintetize/{POSITIVE}")
        assert refused.status_code == 404
        assert "POST /v1/classify" in refused.json()["detail"]
        assert client.post("/v1/classify", json={"texts": [POSITIVE]}).status_code == 200
