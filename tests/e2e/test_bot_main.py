"""``python -m bot`` as a real process: serves HTTP, answers Slack, stops cleanly on SIGTERM, and
logs neither tokens nor message text (even at LOG_LEVEL=debug)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.moderation.rules import Alert
from bot.store.sqlite import SqliteStore
from tests.support.slack_harness import (
    BOT_TOKEN, SIGNING_SECRET, SlackSender, blocks_text, message_event, wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET_TEXT = "Texto confidencial zebra-42: adorei o projeto, equipe maravilhosa!"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_python_m_bot_serves_slack_and_stops_on_sigterm(fake_slack, tmp_path):
    """The bot process answers a signed command, counts a message, and exits 0 on SIGTERM; on
    SQLite it deletes expired records at start-up (an alert older than ALERT_RETENTION_DAYS)."""
    old = SqliteStore(tmp_path / "bot.db")
    old.add_alert(Alert(alert_id="a0old", team_id="T0001", channel_id="C0GERAL",
                        message_ts="1700000000.000100", negatives=3, span_s=60.0,
                        created_at=time.time() - 91 * 86_400))
    old.close()
    port = _free_port()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": fake_slack.api_url, "PORT": str(port), "SENTIMENT_BACKEND": "lexicon",
           "MESSAGE_BATCH_WAIT_MS": "10", "LOG_LEVEL": "debug", "STORE": "sqlite",
           "SQLITE_PATH": str(tmp_path / "bot.db")}
    log_path = tmp_path / "bot.log"
    with open(log_path, "w", encoding="utf-8") as log_file:
        process = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped below
            [sys.executable, "-m", "bot"], env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    sender = SlackSender(url)
    try:
        wait_until(lambda: _healthy(url) or process.poll() is not None, timeout=60, what="the bot")
        assert process.poll() is None, log_path.read_text(encoding="utf-8")
        assert sender.command(SECRET_TEXT, fake_slack.response_url("cmd")).status_code == 200
        [call] = fake_slack.wait_for("response", "cmd")
        assert ":smiley: Positivo" in blocks_text(call.params)
        assert sender.event(message_event(SECRET_TEXT)).status_code == 200
        assert sender.command(SECRET_TEXT, fake_slack.response_url("bad"), secret="wrong").status_code == 401
    finally:
        sender.close()
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    log = log_path.read_text(encoding="utf-8")
    assert code == 0, log
    assert "Traceback" not in log
    assert BOT_TOKEN not in log and SIGNING_SECRET not in log
    assert "zebra-42" not in log and "confidencial" not in log
    assert "invalid Slack signature" in log
    assert "retention: deleted tallies=0, threads=0, alerts=1" in log
    kept = SqliteStore(tmp_path / "bot.db")
    assert kept.get_alert("T0001", "a0old") is None
    kept.close()
    assert fake_slack.recorded("api", "auth.test")
    assert not fake_slack.recorded("response", "bad")
