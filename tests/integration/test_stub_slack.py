"""scripts/stub_slack.py, the Slack stand-in of CI's image smoke test: the bot role starts against it
with dummy secrets (as `docker run -e ROLE=bot` does in .github/workflows/ci.yml)."""

import subprocess
import sys
import time

import httpx
import pytest

from tests.integration.test_deploy import ROOT, Role, free_port, host_env


@pytest.fixture(name="stub")
def stub_slack():
    """The stub on a free loopback port; its base URL."""
    port = free_port()
    with subprocess.Popen([sys.executable, str(ROOT / "scripts" / "stub_slack.py"), "--port",
                           str(port)], stdout=subprocess.PIPE, text=True) as proc:
        assert "listening" in proc.stdout.readline()
        yield f"http://127.0.0.1:{port}"
        proc.terminate()
        proc.wait(10)


def test_the_bot_role_starts_against_the_stub_with_dummy_secrets(stub, tmp_path):
    """The image's entrypoint with ROLE=bot: /healthz answers, the stub saw auth.test, an unsigned
    Slack request is refused."""
    env = host_env(ROLE="bot", PORT=str(free_port()), SLACK_BOT_TOKEN="xoxb-ci-dummy",
                   SLACK_SIGNING_SECRET="ci-dummy-signing-secret", SLACK_API_URL=stub + "/api/",
                   SENTIMENT_BACKEND="lexicon", STORE="sqlite",
                   SQLITE_PATH=str(tmp_path / "bot.db"))
    role = Role(env, tmp_path / "bot.log")
    try:
        role.wait_ready("/healthz", timeout=90)
        deadline = time.monotonic() + 10
        while "auth.test" not in httpx.get(stub + "/calls").json():
            assert time.monotonic() < deadline, role.log()
            time.sleep(0.1)
        assert httpx.post(role.url + "/slack/events", json={}).status_code == 401
    finally:
        role.sigterm(timeout=20)
