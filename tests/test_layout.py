"""The tree reads as the architecture (DESIGN section 2): checked, not hoped for.

Every import in ``src/`` counts here: module level, inside functions and under
``TYPE_CHECKING``, because a circle hidden in a function is still a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "outcome_pricing"
APP = Path(__file__).resolve().parents[1] / "app"
MAX_LINES = 520  # "about 500": a module past it holds two concepts

# Each layer may import itself and the layers listed before it, never one after it.
LAYERS = (
    ("errors", "kit"),
    ("warehouse",),
    ("ingest", "rules"),
    ("pricing", "proof"),
    ("analysis", "scale"),
    ("reports",),
    ("access", "demo"),
    ("cli", "__init__"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def imported(name: str, path: Path) -> set[str]:
    """The outcome_pricing modules one module imports (anywhere in its body)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    known = {m for m, _ in modules()}
    return {m for m in found if m in known and m != name}


GRAPH = {name: imported(name, path) for name, path in modules()}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_module_is_over_about_500_lines() -> None:
    long = {str(p.relative_to(SRC.parents[1])): n for p in [*SRC.rglob("*.py"), *APP.rglob("*.py")]
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_layer_is_a_known_folder() -> None:
    assert {layer(m) for m in GRAPH} <= set(RANK)


def test_no_import_circle_anywhere_in_src() -> None:
    state: dict[str, int] = {}  # 1 = on the path, 2 = done
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            # a package's __init__ importing its own submodules is how a package exports
            if node == nxt.rpartition(".")[0] and Path(SRC.parent, *node.split("."), "__init__.py").exists():
                continue
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt):], nxt] if nxt in path else [*path, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_a_lower_layer_never_imports_a_higher_one() -> None:
    upward = sorted(f"{m} -> {n}" for m, deps in GRAPH.items() for n in deps
                    if m != "outcome_pricing" and RANK[layer(n)] > RANK[layer(m)])
    assert upward == []


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_nothing_under_src_imports_streamlit(name: str) -> None:
    path = dict(modules())[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "streamlit" not in names


def _reachable(start: str) -> set[str]:
    """The outcome_pricing modules `start` imports, directly or through each other."""
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(GRAPH[module])
    return seen


def test_a_definition_is_a_pure_value_with_no_database_behind_it() -> None:
    """rules/definition.py (and what it imports of ours) never imports duckdb, pandas or numpy."""
    paths = dict(modules())
    heavy = {"duckdb", "pandas", "numpy"}
    found = {}
    for module in _reachable("outcome_pricing.rules.definition"):
        tree = ast.parse(paths[module].read_text(encoding="utf-8"))
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        if names & heavy:
            found[module] = sorted(names & heavy)
    assert found == {}
