"""Docker HEALTHCHECK: exit 0 when the role answers ``GET /healthz`` on ``$PORT`` with 200.

Both roles serve ``/healthz``; python:3.11-slim has no curl, hence this script.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    """Probe ``http://127.0.0.1:$PORT/healthz``; print why on failure."""
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8080')}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
