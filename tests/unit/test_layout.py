"""The layout's rules, checked on the source: pure modules stay pure, only the composition root
imports the listeners, and no two modules import each other (directly or in a loop)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "service")
# A module named like this anywhere under bot/ is pure: no Slack SDK, no I/O client, no store.
PURE_NAMES = ("model.py", "rules.py", "views.py", "port.py")
PURE_SHARED = ("bot/blocks.py", "bot/ids.py", "bot/command.py", "bot/limits.py")
FORBIDDEN_IN_PURE = ("slack_sdk", "slack_bolt", "google.cloud", "google.api_core", "httpx",
                     "bot.store", "bot.slack", "starlette", "fastapi")


def module_name(path: Path) -> str:
    """``bot/reports/model.py`` -> ``bot.reports.model``; a package's ``__init__`` -> the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def project_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (``from bot.reports import views`` counts as
    importing ``bot.reports.views``)."""
    files = {module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}
    return {name: {target for target in imports_of(path) if target in files and target != name}
            for name, path in files.items()}


def pure_modules() -> list[Path]:
    """The modules that must stay pure."""
    found = [path for path in (ROOT / "bot").rglob("*.py") if path.name in PURE_NAMES]
    return sorted(found + [ROOT / shared for shared in PURE_SHARED])


def test_the_rules_cover_every_feature():
    """Each feature keeps its pure model and its Block Kit views under the same names."""
    names = {module_name(path) for path in pure_modules()}
    for feature in ("classify", "reports", "moderation", "home", "counting", "feedback"):
        assert any(name.startswith(f"bot.{feature}.") for name in names), feature


@pytest.mark.parametrize("path", pure_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_modules_import_no_slack_client_store_or_http(path):
    """Pure modules (and everything they import from the project) never reach Slack, the store
    or the network: they can be tested, and reused, without any of them."""
    graph = project_graph()
    seen, todo = set(), [module_name(path)]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(graph.get(current, ()))
    for module in seen:
        source = ROOT / (module.replace(".", "/") + ".py")
        if not source.exists():
            source = ROOT / module.replace(".", "/") / "__init__.py"
        bad = sorted(name for name in imports_of(source)
                     if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_PURE))
        assert not bad, f"{module} (reached from {module_name(path)}) imports {bad}"


def test_only_the_composition_root_imports_the_listeners():
    """``handlers`` is imported by ``bot.app`` alone (and by handlers themselves)."""
    graph = project_graph()
    importers = sorted(name for name, targets in graph.items()
                       if not name.startswith("handlers")
                       and any(t == "handlers" or t.startswith("handlers.") for t in targets))
    assert importers == ["bot.app"]


def test_no_import_cycles():
    """The module import graph has no cycle (a cycle would make import order matter)."""
    graph = project_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target] if target in path else [name, target]
                raise AssertionError(" -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_the_service_never_imports_the_bot():
    """The model service is deployed alone: it imports nothing of the bot or its listeners."""
    graph = project_graph()
    leaks = sorted((name, target) for name, targets in graph.items() if name.startswith("service")
                   for target in targets if not target.startswith("service"))
    assert not leaks
