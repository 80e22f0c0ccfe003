"""A stand-in for Slack's Web API, for smoke tests of the bot role (CI's `docker run` of the image).

    python scripts/stub_slack.py [--host 0.0.0.0] [--port 9999]

Answers every ``POST /api/<method>`` with ``{"ok": true}`` (``auth.test`` with made-up bot ids, as
the bot calls it at start-up) and ``GET /calls`` with the list of methods called so far, so a
smoke test can check the bot really talked to it. Standard library only: it runs in the image
itself (``--entrypoint python``) or on the CI runner. Request bodies are never printed.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AUTH_TEST = {"ok": True, "url": "https://sentimento-ci.slack.com/", "team": "CI",
             "user": "sentimento", "team_id": "T0000CI", "user_id": "U0000BOT",
             "bot_id": "B0000BOT", "is_enterprise_install": False}


def make_handler(calls: list[str]):
    """A request handler recording each Web API method name in ``calls``."""

    class Handler(BaseHTTPRequestHandler):
        """One Web API call, or the list of calls."""

        def log_message(self, *_args) -> None:
            return

        def _answer(self, body: object, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # pylint: disable=invalid-name  # http.server's name
            """``GET /calls``: the methods called so far."""
            if self.path == "/calls":
                self._answer(calls)
            else:
                self._answer({"ok": False, "error": "unknown_path"}, 404)

        def do_POST(self) -> None:  # pylint: disable=invalid-name  # http.server's name
            """``POST /api/<method>``: ok (auth.test with the bot's ids)."""
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            method = self.path.split("?")[0].rsplit("/", 1)[-1]
            calls.append(method)
            print(f"stub_slack: {method}", flush=True)
            self._answer(AUTH_TEST if method == "auth.test" else {"ok": True})

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), make_handler([]))
    print(f"stub_slack: listening on http://{args.host}:{args.port}/api/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
