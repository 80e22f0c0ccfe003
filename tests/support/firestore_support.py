"""Fixtures and scanners for tests that use the stores (registered in tests/conftest.py).

- ``firestore_emulator``: ``host:port`` of a real Firestore emulator: ``FIRESTORE_EMULATOR_HOST``
  when it answers (``.ci/run`` starts one), else a JVM started here on a free port and
  stopped at the end of the session.
- ``firestore_env``: the environment of a store on that emulator, in a project wiped before
  the test (``STORE``, ``FIRESTORE_EMULATOR_HOST``, ``GOOGLE_CLOUD_PROJECT``).
- ``sqlite_env``: the environment of a store on a fresh SQLite file.
- ``store_env``: parametrized over both, for tests that must hold on either store.
- ``open_stores``: opens stores (several instances on the same data, like app replicas) and
  closes them after the test.
- ``dump_firestore`` / ``dump_sqlite`` / ``find_strings``: read back everything stored, to prove
  that no message text is there.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterable

import pytest

EMULATOR_JAR = os.environ.get(
    "FIRESTORE_EMULATOR_JAR",
    "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar")
# One project per test session, so that concurrent sessions on one emulator do not collide.
TEST_PROJECT = f"sentimento-test-{os.getpid()}"


def emulator_answers(host: str, timeout: float = 1.0) -> bool:
    """True when a Firestore emulator answers on ``host`` (``127.0.0.1:8087``)."""
    try:
        with urllib.request.urlopen(f"http://{host}/", timeout=timeout) as response:
            return b"Ok" in response.read()
    except (OSError, urllib.error.URLError):
        return False


def free_port() -> int:
    """An ephemeral TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wipe_firestore(host: str, project: str) -> None:
    """Delete every document of ``project`` on the emulator."""
    request = urllib.request.Request(
        f"http://{host}/emulator/v1/projects/{project}/databases/(default)/documents",
        method="DELETE")
    with urllib.request.urlopen(request, timeout=30):
        pass


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory):
    """``host:port`` of a running Firestore emulator (started here when none answers)."""
    host = os.environ.get("FIRESTORE_EMULATOR_HOST", "").strip()
    if host and emulator_answers(host):
        yield host
        return
    java = shutil.which("java")
    if java is None or not Path(EMULATOR_JAR).is_file():
        missing = f"Firestore emulator unavailable (java or {EMULATOR_JAR} missing)"
        if os.environ.get("CI"):  # CI installs both: a skip there would hide untested code
            pytest.fail(missing)
        pytest.skip(missing)
    port = free_port()
    host = f"127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("firestore-emulator") / "emulator.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(  # pylint: disable=consider-using-with  # lives for the session
            [java, "-cp", EMULATOR_JAR, "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
             "start", "--host=127.0.0.1", f"--port={port}"],
            stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not emulator_answers(host, timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Firestore emulator did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield host
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def firestore_env(firestore_emulator):  # pylint: disable=redefined-outer-name  # a fixture
    """Environment variables for a Firestore store on the emulator, in a freshly wiped project."""
    wipe_firestore(firestore_emulator, TEST_PROJECT)
    return {"STORE": "firestore", "FIRESTORE_EMULATOR_HOST": firestore_emulator,
            "GOOGLE_CLOUD_PROJECT": TEST_PROJECT}


@pytest.fixture
def open_stores():
    """``open(environ, **kwargs)`` opens a store like ``bot.store.open_store``; all closed after the test."""
    from bot.store import open_store  # pylint: disable=import-outside-toplevel

    opened = []

    def open_(environ, **kwargs):
        store = open_store(environ, **kwargs)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def sqlite_env(tmp_path):
    """Environment variables for a SQLite store on a new file."""
    return {"STORE": "sqlite", "SQLITE_PATH": str(tmp_path / "sentimento.db")}


@pytest.fixture(params=["sqlite", "firestore"])
def store_env(request):
    """The environment of a fresh store of each kind, for Slack-level tests: written at once,
    channel switches not cached (so one instance sees another's change at once)."""
    return {**request.getfixturevalue(f"{request.param}_env"), "FLUSH_INTERVAL": "0",
            "CHANNEL_CACHE_SECONDS": "0"}


def dump_firestore(host: str, project: str = TEST_PROJECT) -> list[tuple[str, dict[str, Any]]]:
    """Every document of the project, as ``(path, fields)``, walking every subcollection."""
    from bot.store.firestore import make_client  # pylint: disable=import-outside-toplevel

    client = make_client(project, host)
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(collections) -> None:
        for collection in collections:
            for ref in collection.list_documents():
                snap = ref.get()
                found.append((ref.path, snap.to_dict() if snap.exists else {}))
                walk(ref.collections())

    try:
        walk(client.collections())
    finally:
        client.close()
    return found


def dump_sqlite(path: str | Path) -> list[tuple[str, tuple]]:
    """Every row of every table, as ``(table, row)``."""
    with sqlite3.connect(str(path)) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [(table, row) for table in tables
                for row in conn.execute(f'SELECT * FROM "{table}"')]


def sqlite_file_bytes(path: str | Path) -> bytes:
    """The raw bytes of a SQLite database and its journal files (WAL, shared memory)."""
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            data += candidate.read_bytes()
    return data


def dump_store(environ: dict[str, str]) -> tuple[list[Any], str]:
    """Everything a store of ``environ`` (see ``firestore_env`` / ``sqlite_env``) holds: its
    documents or rows, and for SQLite the raw file bytes as lower-case text ("" for Firestore)."""
    if environ["STORE"] == "firestore":
        return list(dump_firestore(environ["FIRESTORE_EMULATOR_HOST"])), ""
    raw = sqlite_file_bytes(environ["SQLITE_PATH"]).decode("utf-8", "replace").lower()
    return list(dump_sqlite(environ["SQLITE_PATH"])), raw


def find_strings(dump: Iterable[Any], needles: Iterable[str]) -> list[str]:
    """The needles that occur anywhere in a dump (keys, values, paths), case-insensitively."""
    text = json.dumps(list(dump), default=str, ensure_ascii=False).lower()
    return [needle for needle in needles if needle.lower() in text]
