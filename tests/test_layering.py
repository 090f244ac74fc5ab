"""The house runs one way (DESIGN.md "Layout"): every import goes down the floors below, no
two modules import each other (directly or in a circle), no import hides in a function, and
no module grows past ~500 lines. Read from the code's own imports, so a new import that
runs uphill fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("federation", "connectors", "transforms", "schema")
#: bottom to top: a module may import its own floor and the floors below it
FLOORS = (
    "federation/model",
    "connectors",
    "transforms",
    "federation/config",
    "federation/pipeline",
    "federation/workflow",
    "federation/writes",
    "federation/access",
    "schema",
    "federation/demo",
    "federation/serving",
)
MAX_LINES = 500


def _floor(module: str) -> str:
    parts = module.split(".")
    return f"federation/{parts[1]}" if parts[0] == "federation" and len(parts) > 1 else parts[0]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(REPO.glob("*/**/*.py")):
        rel = path.relative_to(REPO)
        if rel.parts[0] in PACKAGES:
            out[".".join(rel.with_suffix("").parts).removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module of ours, line, inside a function?)"""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested = {
        id(sub)
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        for sub in ast.walk(fn)
    }
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            if name.split(".")[0] in PACKAGES and name in MODULES:
                out.append((name, node.lineno, id(node) in nested))
    return out


def test_the_floors_cover_every_package() -> None:
    assert {_floor(m) for m in MODULES} - {"federation"} <= set(FLOORS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_down_the_floors(module: str) -> None:
    here = FLOORS.index(_floor(module)) if _floor(module) in FLOORS else len(FLOORS)
    uphill = [
        f"line {line}: {target} ({_floor(target)})"
        for target, line, _ in _imports(MODULES[module])
        if _floor(target) in FLOORS and FLOORS.index(_floor(target)) > here
    ]
    assert uphill == [], f"{module} ({_floor(module)}) imports a higher floor"


def test_no_import_hides_in_a_function() -> None:
    hidden = [f"{m} line {line}" for m, p in MODULES.items() for _, line, inner in _imports(p) if inner]
    assert hidden == []


def test_no_modules_import_each_other() -> None:
    graph = {m: {t for t, _, _ in _imports(p) if t != m} for m, p in MODULES.items()}
    circles = []
    for start in graph:
        stack, seen = [start], set()
        while stack:
            for nxt in graph.get(stack.pop(), ()):
                if nxt == start:
                    circles.append(start)
                    stack = []
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
    assert circles == []


def test_no_module_past_the_size_limit() -> None:
    large = {
        m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert large == {}
