"""The image's build-time evaluation (the Dockerfile's `RUN python -m service evaluate`), run outside
Docker with the runtime stage's ENV, as tests/integration/test_deploy.py runs its ENTRYPOINT."""

import json
import shlex
import subprocess
import sys

from tests.integration.test_deploy import (
    dockerfile_instructions, final_stage, host_env, image_env, to_host,
)


def evaluation_run() -> list[str]:
    """The runtime stage's evaluate command, split."""
    runs = [args for keyword, args in final_stage(dockerfile_instructions())
            if keyword == "RUN" and "service evaluate" in args]
    assert len(runs) == 1, runs
    return shlex.split(runs[0])


def test_the_figures_file_is_where_the_service_is_told_to_read_it():
    """--out of the build-time evaluation is SENTIMENT_EVALUATION_FILE of the image."""
    command = evaluation_run()
    assert command[command.index("--out") + 1] == image_env()["SENTIMENT_EVALUATION_FILE"]
    assert command[command.index("--format") + 1] == "json"


def test_the_build_time_evaluation_runs_on_the_baked_model(tiny_model_dir, tmp_path):
    """With the image's ENV (offline, transformers backend) and the tiny model as the baked one,
    the command writes the agreed figures of the whole evaluation set."""
    command = [to_host(arg) for arg in evaluation_run()]
    out = tmp_path / "model-evaluation.json"
    command[command.index("--out") + 1] = str(out)
    assert command[:3] == ["python", "-m", "service"]
    env = host_env(SENTIMENT_MODEL=tiny_model_dir)
    done = subprocess.run([sys.executable, *command[1:]], cwd=env["PYTHONPATH"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["n"] >= 300 and figures["skipped"] == []
    assert (figures["backend"], figures["runtime"]) == ("transformers", "torch")  # ARG default
