"""Request body size limit as pure ASGI middleware (reusable by any ASGI app: the service, the bot).

A request whose ``Content-Length`` exceeds the limit is answered 413 before a byte of its body
is read. A body without ``Content-Length`` (chunked) is counted while it streams: once it passes
the limit, reading stops, the client gets 413 and the application sees a disconnected client.
Nothing beyond the limit is ever buffered.

The model service's limit (``MAX_BODY_BYTES``, see :mod:`service.settings`) defaults to
:func:`json_body_limit` of its API limits: the largest body a *valid* request can have, so that no
valid request is ever refused. JSON may escape any character as ``\\uXXXX`` (6 bytes) and a
character outside the BMP (an emoji) as a surrogate pair ``\\ud83d\\ude00`` (12 bytes), which is
what ``json.dumps`` does by default; raw UTF-8 needs at most 4. So each character may cost 12
bytes: 64 texts x 40,000 characters x 12 = 30,720,000 bytes, plus 64 KiB for quotes, commas and
whitespace: 30,785,536 bytes (about 29.4 MiB).
"""

from __future__ import annotations

import json
from typing import Callable

MAX_BYTES_PER_JSON_CHAR = 12
"""A character outside the BMP written as an escaped surrogate pair: ``\\ud83d\\ude00``."""
JSON_ENVELOPE_BYTES = 64 * 1024
"""Room for the object around the strings: keys, quotes, commas and whitespace."""

Rejection = Callable[[str], None]
"""Told why a request was refused: ``too_large`` or ``bad_length``."""


def json_body_limit(max_items: int, max_chars: int) -> int:
    """The largest JSON body holding ``max_items`` strings of at most ``max_chars`` characters."""
    return max_items * max_chars * MAX_BYTES_PER_JSON_CHAR + JSON_ENVELOPE_BYTES


class BodySizeLimitMiddleware:  # pylint: disable=too-few-public-methods  # an ASGI callable
    """Answer 413 to HTTP requests whose body exceeds ``max_bytes``, without reading past it.

    ``too_large`` and ``bad_length`` are the (Portuguese) details of the JSON answers;
    ``on_reject`` is told each refusal (for a metric).
    """

    def __init__(self, app, max_bytes: int, on_reject: Rejection | None = None,
                 too_large: str | None = None,
                 bad_length: str = "cabeçalho Content-Length inválido"):
        self.app = app
        self.max_bytes = max_bytes
        self.on_reject = on_reject
        self.too_large = too_large or (f"corpo da requisição grande demais: o limite é de "
                                       f"{max_bytes} bytes")
        self.bad_length = bad_length

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = [value for name, value in scope.get("headers", ()) if name.lower() == b"content-length"]
        if lengths:
            if len(set(lengths)) > 1 or not lengths[0].isdigit():
                await self._refuse(send, 400, "bad_length", self.bad_length)
                return
            if int(lengths[0]) > self.max_bytes:
                await self._refuse(send, 413, "too_large", self.too_large)
                return
        await self._stream(scope, receive, send)

    async def _stream(self, scope, receive, send) -> None:
        """Run the app, counting body bytes as they arrive."""
        received = 0
        refused = False
        answered = False

        async def counted_receive():
            nonlocal received, refused, answered
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not answered:
                        answered = True
                        await self._refuse(send, 413, "too_large", self.too_large)
                    return {"type": "http.disconnect"}  # the app stops reading: the client "left"
            return message

        async def guarded_send(message):
            nonlocal answered
            if refused:
                return  # our 413 went out: the app's own answer is dropped
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:  # pylint: disable=broad-exception-caught  # see below
            if not refused:
                raise
            # The app failed on the body we cut short; the client already has its 413.

    async def _refuse(self, send, status: int, reason: str, detail: str) -> None:
        if self.on_reject is not None:
            self.on_reject(reason)
        body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
