"""Helpers for the model service tests: a gate in front of a real backend, a real uvicorn server."""

from __future__ import annotations

import re

import json
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator, Sequence

import httpx
import uvicorn

from service.labels import Classification

# Sentences the LeIA lexicon labels for real (the examples, and a neutral one).
POSITIVE = "Vocês são ótimos, parabéns pelo trabalho!"
NEGATIVE = "Que serviço horrível, estou muito irritado"
NEUTRAL = "A reunião é às quinze horas"


class GatedBackend:
    """A real backend whose batches wait until the gate opens: a stand-in for a slow model.

    Every batch is still classified by the wrapped backend; only its start is held,
    so tests can fill the queue deterministically.
    """

    def __init__(self, inner, open_gate: bool = False):
        self.inner = inner
        self.name = inner.name
        self.runtime = inner.runtime
        self.revision = inner.revision
        self.model = inner.model
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[int] = []
        self.texts: list[str] = []
        if open_gate:
            self.gate.set()

    def predict(self, texts: Sequence[str]) -> list[Classification]:
        """Signal that a batch started, wait for the gate, then classify for real."""
        self.batches.append(len(texts))
        self.texts.extend(texts)
        self.entered.set()
        if not self.gate.wait(30):
            raise TimeoutError("gate never opened")
        return self.inner.predict(texts)


@contextmanager
def running_server(app) -> Iterator[tuple[str, uvicorn.Server]]:
    """Serve ``app`` with a real uvicorn server on an ephemeral port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=10))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


class RejectingBackend:
    """A stand-in for a model runtime (torch) that raises on any batch holding ``marker``, as a
    tokenizer refuses an input it cannot encode; other batches go to the wrapped real backend."""

    def __init__(self, inner, marker: str = "💣"):
        self.inner = inner
        self.name = inner.name
        self.runtime = inner.runtime
        self.revision = inner.revision
        self.model = inner.model
        self.marker = marker

    def predict(self, texts: Sequence[str]) -> list[Classification]:
        """Raise ``ValueError`` if any text holds the marker, else classify for real."""
        if any(self.marker in text for text in texts):
            raise ValueError("input refused by the tokenizer")
        return self.inner.predict(texts)


_PROBE_SCRIPT = r"""
import asyncio, json, sys, time

host, port, every_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])


async def probe():
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    await reader.read()
    writer.close()
    return [time.perf_counter() - started, status]


async def main():
    stop = asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    probes = []
    print("ready", flush=True)
    while not stop.done() and len(probes) < 2000:
        probes.append(asyncio.create_task(probe()))
        await asyncio.sleep(every_s)
    print(json.dumps(await asyncio.gather(*probes)), flush=True)


asyncio.run(main())
"""


class HealthProber:
    """GET /healthz every ``every_s`` seconds from another process (so that the probes do not
    compete with the server for this process's GIL), without waiting for earlier answers: a
    blocked event loop shows in every probe sent while it is blocked."""

    def __init__(self, url: str, every_s: float = 0.010):
        host, port = url.removeprefix("http://").split(":")
        self._process = subprocess.Popen(  # pylint: disable=consider-using-with  # see stop()
            [sys.executable, "-c", _PROBE_SCRIPT, host, port, str(every_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout.readline().strip() == "ready"

    def stop(self) -> list[tuple[float, int]]:
        """Stop probing; each probe's (latency in seconds, status)."""
        output, _ = self._process.communicate("stop\n", timeout=60)
        return [tuple(probe) for probe in json.loads(output)]


def metric(text: str, name: str, **labels) -> float:
    """The value of one sample in a Prometheus exposition (0 if absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = rf"^{re.escape(name)}(?:\{{{re.escape(wanted)}\}})? (\S+)$" if wanted else \
        rf"^{re.escape(name)} (\S+)$"
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def wait_ready(url: str, alive, timeout: float = 120.0, describe=lambda: "") -> None:
    """Poll ``GET url/readyz`` until 200; fail when ``alive()`` turns false or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not _answers_ready(url):
        assert alive(), f"the service exited before it was ready:\n{describe()}"
        assert time.monotonic() < deadline, f"the service never became ready:\n{describe()}"
        time.sleep(0.1)


def _answers_ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False
