"""The workflows wire the model's checks in: CI builds and smoke-tests the image and runs evaluate;
the deploy evaluates inside the built image and gates before anything is deployed."""

import re
from pathlib import Path

import pytest
import yaml

from service.gate import DEFAULT_MAX_F1_DROP, DEFAULT_MIN_MACRO_F1

ROOT = Path(__file__).resolve().parents[2]


def workflow(name: str) -> dict:
    """A workflow file, parsed."""
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def step_index(steps: list[dict], needle: str) -> int:
    """The index of the first step whose name or run contains ``needle``."""
    for index, step in enumerate(steps):
        if needle in step.get("name", "") or needle in step.get("run", ""):
            return index
    raise AssertionError(f"no step with {needle!r}")


@pytest.fixture(name="deploy_steps", scope="module")
def deploy_workflow_steps():
    """The steps of the deploy job."""
    return workflow("deploy.yml")["jobs"]["deploy"]["steps"]


def test_the_gate_runs_inside_the_built_image_before_any_deploy(deploy_steps):
    """Evaluate, baseline and gate come after the push and before the first `gcloud run deploy`."""
    build = step_index(deploy_steps, "Build and push")
    evaluate = step_index(deploy_steps, "service evaluate --data /app/eval/workplace-pt.jsonl")
    gate = step_index(deploy_steps, "service gate")
    deploy = step_index(deploy_steps, "gcloud run deploy")
    assert build < evaluate < gate < deploy
    assert '"$IMAGE" service gate' in deploy_steps[gate]["run"]
    assert "--baseline /gate/baseline.json" in deploy_steps[gate]["run"]


def test_the_gate_variables_default_to_the_documented_values(deploy_steps):
    """MODEL_MIN_MACRO_F1 / MODEL_MAX_F1_DROP fall back to service.gate's defaults."""
    env = deploy_steps[step_index(deploy_steps, "service gate")]["env"]
    assert re.search(rf"vars\.MODEL_MIN_MACRO_F1 \|\| '{DEFAULT_MIN_MACRO_F1}'", env["MODEL_MIN_MACRO_F1"])
    assert re.search(rf"vars\.MODEL_MAX_F1_DROP \|\| '{DEFAULT_MAX_F1_DROP}'", env["MODEL_MAX_F1_DROP"])


def test_the_baseline_is_the_serving_image_on_the_same_set(deploy_steps):
    """The serving image is evaluated on this commit's set, its baked figures as the fallback."""
    run = deploy_steps[step_index(deploy_steps, "baseline")]["run"]
    assert "gcloud run services describe" in run and '"$serving" service evaluate' in run
    assert "/app/model-evaluation.json" in run


def test_the_new_figures_are_kept_after_the_deploy(deploy_steps):
    """The last step keeps the gate's figures as the run's artifact."""
    assert deploy_steps[-1]["uses"].startswith("actions/upload-artifact@")


def test_ci_builds_every_final_target_and_smoke_tests_both_roles():
    """Every final stage of the Dockerfile is built on pull requests and run by smoke_image.sh."""
    ci = workflow("ci.yml")
    assert "pull_request" in ci.get("on", ci.get(True))  # YAML 1.1 reads the key `on` as True
    job = ci["jobs"]["image"]
    stages = re.findall(r"^FROM \S+ AS (\S+)", (ROOT / "Dockerfile").read_text(encoding="utf-8"),
                        re.MULTILINE)
    assert "runtime" in stages and set(job["strategy"]["matrix"]["target"]) <= set(stages)
    steps = job["steps"]
    build = steps[step_index(steps, "Build the")]
    assert build["uses"].startswith("docker/build-push-action@") and build["with"]["load"] is True
    assert "scripts/smoke_image.sh" in steps[step_index(steps, "Smoke test")]["run"]
    script = (ROOT / "scripts" / "smoke_image.sh").read_text(encoding="utf-8")
    for needle in ("/readyz", "/healthz", "/v1/classify", "ROLE=bot", "stub_slack.py", "auth.test",
                   "SENTIMENT_EVALUATION_FILE"):
        assert needle in script, needle


def test_ci_runs_evaluate_on_the_tiny_model():
    """The test job runs the real evaluate command on the tiny model over the whole set."""
    steps = workflow("ci.yml")["jobs"]["test"]["steps"]
    step = steps[step_index(steps, "service evaluate")]
    assert step["env"]["SENTIMENT_BACKEND"] == "transformers"
    assert "build_model" in step["run"] and "eval/workplace-pt.jsonl" in step["run"]
