"""The sanitizer's modules read top-down: no module imports one that imports it back, at the top
of the file or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sanitizer"


def imported_modules(path: Path) -> set[str]:
    """The sanitizer modules ``path`` imports anywhere in it (``__init__`` for the package)."""
    names = {p.stem for p in PACKAGE.glob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            inside = node.level == 1 or (node.level == 0 and node.module == "sanitizer")
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 0 and (node.module or "").startswith("sanitizer."):
                found.add(node.module.split(".")[1])
            elif inside:
                # `from . import x` / `from sanitizer import x`: module x, or the package's own names.
                for alias in node.names:
                    found.add(alias.name if alias.name in names else "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sanitizer."):
                    found.add(alias.name.split(".")[1])
    return found & names


def import_graph() -> dict[str, set[str]]:
    return {path.stem: imported_modules(path) for path in sorted(PACKAGE.glob("*.py"))}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk (each reported once per closing edge)."""
    found, state = [], {}

    def walk(module: str, path: list[str]) -> None:
        state[module] = "open"
        for other in sorted(graph.get(module, ())):
            if state.get(other) == "open":
                found.append(path[path.index(other) :] + [other])
            elif other not in state:
                walk(other, [*path, other])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    return found


def test_no_import_cycle_remains_in_the_sanitizer():
    graph = import_graph()
    assert "starter" in graph["__init__"] and "model" in graph["starter"], "the graph is read"
    assert "starter" not in graph["model"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"model": {"starter"}, "starter": {"glyphs", "model"}, "glyphs": set()}) == [
        ["model", "starter", "model"]
    ]
