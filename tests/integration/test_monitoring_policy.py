"""The drift alert policy (deploy/monitoring/model-drift-policy.yaml) is a valid Cloud Monitoring
policy whose PromQL reads only metrics, labels and buckets the model service really exports."""

import re
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import ServiceSettings
from tests.support.service_helpers import NEGATIVE, NEUTRAL, POSITIVE

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "deploy" / "monitoring" / "model-drift-policy.yaml"
METRIC = re.compile(r"\b(sentimento_[a-z_]+)\b")


@pytest.fixture(name="policy", scope="module")
def alert_policy():
    """The policy file, parsed."""
    return yaml.safe_load(POLICY.read_text(encoding="utf-8"))


@pytest.fixture(name="scrape", scope="module")
def real_scrape(lexicon):
    """/metrics of a real service after it classified one text of each label."""
    with TestClient(create_app(ServiceSettings(), backend=lexicon)) as client:
        client.post("/v1/classify", json={"texts": [POSITIVE, NEGATIVE, NEUTRAL]})
        return client.get("/metrics").text


def test_the_policy_has_the_shape_gcloud_expects(policy):
    """displayName, documentation, combiner and PromQL conditions with minute-multiple durations."""
    assert policy["displayName"] and policy["documentation"]["content"].strip()
    assert policy["combiner"] == "OR"
    assert len(policy["conditions"]) == 2
    for condition in policy["conditions"]:
        promql = condition["conditionPrometheusQueryLanguage"]
        assert condition["displayName"] and promql["query"].strip()
        for key in ("duration", "evaluationInterval"):
            seconds = re.fullmatch(r"(\d+)s", promql[key])
            assert seconds and int(seconds.group(1)) % 60 == 0, (key, promql[key])
        assert promql["query"].count("(") == promql["query"].count(")")


def test_every_metric_in_the_queries_is_exported(policy, scrape):
    """Each sentimento_* name in the PromQL appears in a real scrape of the service."""
    exported = {line.split("{")[0].split(" ")[0] for line in scrape.splitlines()
                if line and not line.startswith("#")}
    for condition in policy["conditions"]:
        query = condition["conditionPrometheusQueryLanguage"]["query"]
        names = set(METRIC.findall(query))
        assert names, query
        assert names <= exported, names - exported


def test_the_labels_and_bucket_the_queries_use_exist(policy, scrape):
    """`by (label)` groups by a label the counter has; le="0.5" is a bucket of the histogram."""
    queries = " ".join(c["conditionPrometheusQueryLanguage"]["query"] for c in policy["conditions"])
    assert re.search(r'sentimento_predictions_total\{label="positive"', scrape)
    for bucket in re.findall(r'sentimento_prediction_confidence_bucket\{le="([^"]+)"\}', queries):
        assert re.search(rf'sentimento_prediction_confidence_bucket\{{[^}}]*le="{re.escape(bucket)}"',
                         scrape), bucket


def test_the_apply_script_uses_the_policy_file():
    """scripts/apply_alerts.sh creates or updates the policy from this very file."""
    script = (ROOT / "scripts" / "apply_alerts.sh").read_text(encoding="utf-8")
    assert "--policy-from-file" in script and str(POLICY.relative_to(ROOT)) in script
    assert "policies update" in script and "policies create" in script
