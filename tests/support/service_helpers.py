"""Helpers for the model service tests: a gate in front of a real backend, a real uvicorn server."""

from __future__ import annotations

import socket
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
