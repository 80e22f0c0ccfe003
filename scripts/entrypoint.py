"""Container entrypoint: choose the role, resolve secret references, exec the role.

    entrypoint.py                 -> python -m $ROLE  (ROLE=service by default)
    entrypoint.py bot [ARGS...]   -> python -m bot ARGS...   (the first argument names the role)
    entrypoint.py service classify "texto"
    entrypoint.py COMMAND...      -> COMMAND...  (anything else runs as given, e.g. bash)

Environment variables whose value is an ``sm://`` reference are replaced with the
secret's value from Secret Manager first (see ``service/gcp.py``; App Engine flexible
needs this, Cloud Run injects secrets itself). The role replaces this process
(``os.execvp``), so it is PID 1 in the container and receives SIGTERM directly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROLES = ("service", "bot")


def command(argv: list[str], environ: dict[str, str]) -> list[str]:
    """The command line to exec for these arguments and environment."""
    if argv and argv[0] in ROLES:
        return [sys.executable, "-m", argv[0], *argv[1:]]
    if argv:
        return argv
    role = environ.get("ROLE", "service").strip().lower() or "service"
    if role not in ROLES:
        raise SystemExit(f"entrypoint: ROLE must be one of {'|'.join(ROLES)}, not {role!r}")
    return [sys.executable, "-m", role]


def main(argv: list[str]) -> None:
    """Resolve ``sm://`` references into the environment, then exec the chosen command."""
    cmd = command(argv, dict(os.environ))
    if any(value.strip().startswith("sm://") for value in os.environ.values()):
        # The repository root (/app in the image) holds the ``service`` package.
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        # pylint: disable-next=import-outside-toplevel  # only when there is something to resolve
        from service.gcp import GcpError, resolve_secret_refs
        try:
            os.environ.update(resolve_secret_refs(os.environ))
        except GcpError as exc:
            raise SystemExit(f"entrypoint: {exc}") from None
    sys.stdout.flush()
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
