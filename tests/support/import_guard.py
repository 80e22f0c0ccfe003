"""Run ``python -m service`` with torch and ``transformers`` made unimportable, and report what it
imported: the ONNX runtimes' promise (no torch, no transformers model classes) checked strictly.

Usage: ``python -m tests.support.import_guard REPORT.json [service arguments...]``. Any attempt to
import a blocked package fails with ``ModuleNotFoundError``, as in the slim image where they are
not installed, and is recorded. At exit (SIGTERM stops the service cleanly) ``REPORT.json`` gets
``{"attempts": [...], "modules": [...]}``: the blocked names something tried to import, and the
top-level modules imported after start-up (what the interpreter loaded before the service is left
out).
"""

from __future__ import annotations

import atexit
import importlib.abc
import json
import runpy
import sys
from pathlib import Path

BLOCKED = ("torch", "transformers")


class Blocker(importlib.abc.MetaPathFinder):
    """Refuses the blocked packages (and their submodules), recording every attempt."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def find_spec(self, fullname, path=None, target=None):  # pylint: disable=unused-argument
        """``ModuleNotFoundError`` for a blocked name; None (ask the next finder) otherwise."""
        if fullname.split(".")[0] not in BLOCKED:
            return None
        self.attempts.append(fullname)
        raise ModuleNotFoundError(f"import of {fullname} blocked by the import guard", name=fullname)


def main() -> None:
    """Install the blocker, run the service, write the report at exit."""
    report = Path(sys.argv[1])
    before = {name.split(".")[0] for name in sys.modules}
    blocker = Blocker()
    sys.meta_path.insert(0, blocker)

    def write() -> None:
        modules = sorted({name.split(".")[0] for name in list(sys.modules)} - before)
        report.write_text(json.dumps({"attempts": blocker.attempts, "modules": modules}),
                          encoding="utf-8")

    atexit.register(write)
    sys.argv = ["service", *sys.argv[2:]]
    runpy.run_module("service", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
