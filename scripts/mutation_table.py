"""The mutation score per module, from mutmut's results in ``mutants/`` (see scripts/mutation.sh).

``python scripts/mutation_table.py [module...]`` prints one row per module (paths such as
``bot/reports/model.py`` or dotted names; default: every module of ``[tool.mutmut] only_mutate``)
and then the surviving mutants, to read with ``mutmut show NAME``. ``--modules`` prints the
modules' paths, one a line, and nothing else; ``--survivors`` the surviving mutants' names.

Score: mutants killed or timed out, over the mutants tested. A mutant that no selected test
reaches counts as survived.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KILLED = {1, 3}  # a test failed; pytest's internal error (mutmut counts it as a kill)
SURVIVED = {0, 5, 33}  # every selected test passed; no test reaches the mutated function
TIMEOUT = {36, 24, -24, 152, 255}  # past the CPU limit mutmut sets from the tests' durations
SKIPPED = {34}


def configured_modules() -> list[str]:
    """The files mutmut mutates (``[tool.mutmut] only_mutate`` in pyproject.toml)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["mutmut"]["only_mutate"])


def module_path(name: str) -> str:
    """``bot.reports.model`` or ``bot/reports/model.py`` -> ``bot/reports/model.py``."""
    if name.endswith(".py"):
        return name
    return name.replace(".", "/") + ".py"


def results(path: str) -> dict[str, int | None]:
    """Mutant name -> mutmut's exit code (None: not tested yet); empty when never run."""
    meta = ROOT / "mutants" / (path + ".meta")
    if not meta.exists():
        return {}
    return json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]


def row(path: str) -> tuple[dict[str, int | float | str], list[str]]:
    """One table row and the names of the module's surviving mutants."""
    codes = results(path)
    killed = sum(code in KILLED for code in codes.values())
    timeout = sum(code in TIMEOUT for code in codes.values())
    skipped = sum(code in SKIPPED for code in codes.values())
    survivors = sorted(name for name, code in codes.items()
                       if code is not None and code not in KILLED | TIMEOUT | SKIPPED)
    tested = sum(code is not None for code in codes.values()) - skipped
    score = f"{100 * (killed + timeout) / tested:.1f}%" if tested else "-"
    if tested + skipped < len(codes):
        score += f" ({len(codes) - tested - skipped} not run yet)"
    return ({"module": path, "mutants": len(codes), "killed": killed,
             "survived": len(survivors), "timeout": timeout, "score": score}, survivors)


def main(argv: list[str]) -> int:
    """Print the modules (``--modules``), the survivors (``--survivors``) or the table."""
    option = argv[0] if argv and argv[0] in ("--modules", "--survivors") else None
    names = argv[1:] if option else argv
    paths = [module_path(name) for name in names] or configured_modules()
    if option == "--modules":
        print("\n".join(paths))
        return 0
    if option == "--survivors":
        print("\n".join(name for path in paths for name in row(path)[1]))
        return 0
    rows = [row(path) for path in paths]
    columns = ("module", "mutants", "killed", "survived", "timeout", "score")
    widths = {c: max(len(c), *(len(str(r[c])) for r, _ in rows)) for c in columns}
    print("| " + " | ".join(c.ljust(widths[c]) for c in columns) + " |")
    print("|" + "|".join("-" * (widths[c] + 2) for c in columns) + "|")
    for table_row, _ in rows:
        print("| " + " | ".join(str(table_row[c]).ljust(widths[c]) for c in columns) + " |")
    for table_row, survivors in rows:
        if survivors:
            print(f"\nsurvivors in {table_row['module']} (mutmut show NAME):")
            print("\n".join(f"  {name}" for name in survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
