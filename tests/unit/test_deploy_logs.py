"""Structured logs (service/logs.py): the JSON shape Cloud Logging reads, severities, redaction."""

from __future__ import annotations

import io
import json
import logging

import pytest

from service.logs import QUIET_LOGGERS, configure_logging, redact, severity
from service.settings import SettingsError

SLACK_TOKENS = ("xoxb-1234-5678-abcdefghijkl", "xoxp-1111-2222-3333-abcdef", "xapp-1-A0001-1234-abcdef",
                "xoxe.xoxp-1-Mi0yLTE", "xoxa-2-abc")


@pytest.fixture(name="capture")
def fixture_capture():
    """Configure logging into a buffer; yields a function returning the lines written so far."""
    installed = []

    def setup(level="info", fmt="json"):
        stream = io.StringIO()
        installed.append(configure_logging(level, fmt, stream=stream))
        return lambda: [line for line in stream.getvalue().splitlines() if line]

    yield setup
    root = logging.getLogger()
    for handler in installed:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    logging.captureWarnings(False)


def test_json_lines_have_the_fields_cloud_logging_reads(capture):
    """severity, message, logger, time (UTC, Z), source location and extra fields."""
    lines = capture()
    logging.getLogger("bot.pipeline").info("classified %d messages in %.1f ms", 16, 12.5,
                                           extra={"batch": 16})
    entry = json.loads(lines()[-1])
    assert entry["severity"] == "INFO"
    assert entry["message"] == "classified 16 messages in 12.5 ms"
    assert entry["logger"] == "bot.pipeline"
    assert entry["time"].endswith("Z") and "T" in entry["time"]
    assert entry["logging.googleapis.com/sourceLocation"]["function"] == (
        "test_json_lines_have_the_fields_cloud_logging_reads")
    assert entry["batch"] == 16


@pytest.mark.parametrize("level, expected", [
    (logging.DEBUG, "DEBUG"), (logging.INFO, "INFO"), (logging.WARNING, "WARNING"),
    (logging.ERROR, "ERROR"), (logging.CRITICAL, "CRITICAL"), (25, "INFO"), (5, "DEFAULT")])
def test_python_levels_map_to_cloud_logging_severities(level, expected):
    """Python levels, custom ones included, map to LogSeverity names."""
    assert severity(level) == expected


def test_each_level_is_written_with_its_severity(capture):
    """Records at each level carry the matching severity."""
    lines = capture(level="debug")
    log = logging.getLogger("service.app")
    log.debug("d")
    log.warning("w")
    log.error("e")
    assert [json.loads(line)["severity"] for line in lines()[-3:]] == ["DEBUG", "WARNING", "ERROR"]


def test_exceptions_go_into_the_message_for_error_reporting(capture):
    """A traceback is appended to message, where Error Reporting finds it."""
    lines = capture()
    try:
        raise RuntimeError("model service down")
    except RuntimeError:
        logging.getLogger("bot").exception("classification failed")
    entry = json.loads(lines()[-1])
    assert entry["severity"] == "ERROR"
    assert entry["message"].startswith("classification failed\nTraceback (most recent call last):")
    assert "RuntimeError: model service down" in entry["message"]


@pytest.mark.parametrize("token", SLACK_TOKENS)
def test_slack_tokens_are_redacted(capture, token):
    """Every kind of Slack token is masked."""
    lines = capture()
    logging.getLogger("bot").warning("token rejected: %s", token)
    assert token not in lines()[-1]
    assert "[REDACTED]" in json.loads(lines()[-1])["message"]


def test_bearer_tokens_are_redacted_in_messages_extras_and_tracebacks(capture):
    """Bearer credentials are masked wherever they appear in a record."""
    lines = capture()
    try:
        raise ValueError("bad header Authorization: Bearer s3cr3t.t0ken-value")
    except ValueError:
        logging.getLogger("bot").exception("call failed with Bearer abc.def", extra={
            "header": "Bearer zzz999"})
    line = lines()[-1]
    for secret in ("s3cr3t.t0ken-value", "abc.def", "zzz999"):
        assert secret not in line
    entry = json.loads(line)
    assert entry["message"].startswith("call failed with Bearer [REDACTED]\nTraceback")
    assert entry["message"].endswith("ValueError: bad header Authorization: Bearer [REDACTED]")
    assert entry["header"] == "Bearer [REDACTED]"


def test_text_format_is_redacted_too(capture):
    """Redaction applies to the text format as well."""
    lines = capture(fmt="text")
    logging.getLogger("bot").error("xoxb-1-2-3 failed")
    assert lines()[-1].endswith("ERROR bot: [REDACTED] failed")


def test_sintetize_urls_do_not_leak_message_text(capture):
    """The text in a GET /sintetize/{text} access-log line is masked."""
    lines = capture()
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET",
                                             "/sintetize/estou%20muito%20irritado", "1.1", 200)
    assert "irritado" not in lines()[-1]
    assert "/sintetize/[REDACTED]" in lines()[-1]


def test_libraries_that_dump_request_bodies_stay_quiet_at_debug(capture):
    """LOG_LEVEL=debug does not let slack_sdk/slack_bolt write request bodies."""
    lines = capture(level="debug")
    logging.getLogger("slack_sdk.web.base_client").debug("Sending a request - body: texto secreto")
    logging.getLogger("slack_bolt.RequestVerification").info(
        "Invalid request signature detected (signature: , timestamp: 0, body: texto secreto)")
    logging.getLogger("bot").debug("our own debug line")
    assert [json.loads(line)["logger"] for line in lines()] == ["bot"]


def test_configuring_again_replaces_the_handler(capture):
    """A second configure_logging replaces the first handler instead of doubling lines."""
    first = capture()
    second = capture()
    logging.getLogger("bot").warning("once")
    assert not first() and len(second()) == 1


def test_settings_come_from_the_environment(monkeypatch):
    """A malformed LOG_FORMAT is a settings error naming the variable."""
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        configure_logging()


def test_redact_leaves_ordinary_text_alone():
    """Counts, ids and scores pass through unchanged."""
    text = "classified 3 messages for channel C0GERAL (team T0001): positive 0.91"
    assert redact(text) == text
