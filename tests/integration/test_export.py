"""``python -m bot report``: figures exported from a SQLite file filled through the store API."""
# pylint: disable=redefined-outer-name  # pytest fixtures

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.counting.model import Observation
from bot.store import open_store
from service.labels import LABELS

ROOT = Path(__file__).resolve().parents[2]
T, C = "T0EXPORT", "C0EXPORT"


@pytest.fixture(scope="module")
def filled_db(tmp_path_factory):
    """A SQLite store with 3 days of counts in the last 7 days, and one older day."""
    path = tmp_path_factory.mktemp("export") / "sentimento.db"
    store = open_store({"STORE": "sqlite", "SQLITE_PATH": str(path), "FLUSH_INTERVAL": "60"})

    def add(day: str, label: str, n: int, channel: str = C) -> None:
        store.record([Observation(T, channel, day, label, {l: float(l == label) for l in LABELS})] * n)

    add("2026-11-20", "positive", 3)
    add("2026-11-20", "neutral", 1)
    add("2026-11-18", "negative", 2)
    add("2026-11-15", "positive", 1)
    add("2026-11-10", "negative", 9)  # outside the 7 days
    add("2026-11-20", "negative", 50, channel="C0OTHER")
    store.close()  # written on close
    return path


def run_cli(*args: str, env_extra: dict | None = None, module: str = "bot.reports.export"):
    """Run the export in a subprocess with only the store variables set."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT", "STORE")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_json_export(filled_db):
    """Json export."""
    result = run_cli("--team", T, "--channel", C, "--days", "7", "--until", "2026-11-20",
                     "--format", "json", env_extra={"SQLITE_PATH": str(filled_db)})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["team"] == T and data["channel"] == C
    assert [day["date"] for day in data["days"]] == [f"2026-11-{d}" for d in range(14, 21)]
    assert data["days"][-1] == {"date": "2026-11-20", "positive": 3, "neutral": 1, "negative": 0}
    assert data["days"][0] == {"date": "2026-11-14", "positive": 0, "neutral": 0, "negative": 0}
    assert data["totals"] == {"positive": 4, "neutral": 1, "negative": 2}
    assert data["mood_index"] == 29


def test_csv_export_through_python_m_bot(filled_db):
    """Csv export through python m bot."""
    module = "bot" if (ROOT / "bot" / "__main__.py").exists() else "bot.reports.export"
    args = ("report",) if module == "bot" else ()
    result = run_cli(*args, "--team", T, "--channel", C, "--days", "7", "--until", "2026-11-20",
                     "--format", "csv", env_extra={"SQLITE_PATH": str(filled_db)}, module=module)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["date", "positive", "neutral", "negative", "total"]
    assert rows[1] == ["2026-11-14", "0", "0", "0", "0"]
    assert rows[-2] == ["2026-11-20", "3", "1", "0", "4"]
    assert rows[-1] == ["total", "4", "1", "2", "7"]
    assert len(rows) == 9


def test_bad_arguments_and_missing_database(filled_db, tmp_path):
    """Bad arguments and missing database."""
    result = run_cli("--team", T, "--channel", C, "--format", "xml",
                     env_extra={"SQLITE_PATH": str(filled_db)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = run_cli("--team", T, "--channel", C, "--days", "0",
                     env_extra={"SQLITE_PATH": str(filled_db)})
    assert result.returncode == 2 and "--days" in result.stderr
    missing = tmp_path / "nada.db"
    result = run_cli("--team", T, "--channel", C, env_extra={"SQLITE_PATH": str(missing)})
    assert result.returncode == 2 and "não encontrado" in result.stderr
    assert not missing.exists()
    result = run_cli("--team", T, "--channel", C, env_extra={"STORE": "mongo"})
    assert result.returncode == 2 and "STORE" in result.stderr and "Traceback" not in result.stderr


def test_today_is_the_default_end(tmp_path):
    """Today is the default end."""
    path = tmp_path / "today.db"
    store = open_store({"STORE": "sqlite", "SQLITE_PATH": str(path), "FLUSH_INTERVAL": "0"})
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    store.record([Observation(T, C, today, "positive", {"positive": 1.0})])
    store.close()
    result = run_cli("--team", T, "--channel", C, "--days", "1", env_extra={"SQLITE_PATH": str(path)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["days"] == [
        {"date": today, "positive": 1, "neutral": 0, "negative": 0}]


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12"])
def test_until_defaults_to_today_in_the_timezone_days_are_counted_in(filled_db, zone):
    """Without --until the last day is today in TIMEZONE, not in UTC: UTC+14 and UTC-12 are 26
    hours apart, so at any moment at least one of them has a date other than UTC's."""
    result = run_cli("--team", T, "--channel", C, "--days", "1",
                     env_extra={"SQLITE_PATH": str(filled_db), "TIMEZONE": zone})
    assert result.returncode == 0, result.stderr
    expected = dt.datetime.now(ZoneInfo(zone)).date().isoformat()
    assert json.loads(result.stdout)["end"] == expected


def test_an_unknown_timezone_is_refused_in_portuguese(filled_db):
    """A TIMEZONE that is not an IANA zone: exit status 2 and a message naming it."""
    result = run_cli("--team", T, "--channel", C,
                     env_extra={"SQLITE_PATH": str(filled_db), "TIMEZONE": "Lua/Base"})
    assert result.returncode == 2 and "TIMEZONE" in result.stderr and "fuso" in result.stderr
