"""The package's layers import downwards only and its imports form no circle (ARCHITECTURE.md section 2, decision 8,
and section 4): each module can be understood and tested from the modules it builds on. Imports for type annotations
only (under `if TYPE_CHECKING:`) do not count; imports inside functions do."""

from __future__ import annotations

import ast
from pathlib import Path

import simulator

PACKAGE = Path(simulator.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules `path` imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", getattr(block.test, "attr", None)) == "TYPE_CHECKING"
                   for stmt in block.body for node in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "simulator":
            for alias in node.names:   # `from simulator import model` imports the module simulator.model.migration
                found.add(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "simulator"}
    return found - {module_name(path)}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of `graph`: its strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_finder_sees_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_imports_form_no_circle():
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(f) for f in files}
    graph = {module_name(f): imports(f, modules) & modules for f in files}
    assert cycles(graph) == []


# The layers, lowest first. The base modules (errors, version, params, config, rng) are below every layer; the
# package's `__init__` is the facade over all of them and belongs to none.
LAYERS = ("base", "world", "model", "policy", "experiments", "present")


def layer(module: str) -> str | None:
    parts = module.split(".")
    if module == "simulator":
        return None
    return parts[1] if parts[1] in LAYERS else "base"


def test_the_layers_import_downwards_only():
    """world -> model -> policy -> experiments -> present: no module imports from a layer above its own."""
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(f) for f in files}
    assert {layer(m) for m in modules} - {None} == set(LAYERS)   # every layer is a folder with modules
    upward = []
    for f in files:
        own = layer(module_name(f))
        if own is None:
            continue
        for target in imports(f, modules) & modules:
            if layer(target) is not None and LAYERS.index(layer(target)) > LAYERS.index(own):
                upward.append(f"{module_name(f)} ({own}) imports {target} ({layer(target)})")
    assert upward == []


def test_the_layer_check_sees_an_upward_import():
    assert layer("simulator.model.migration") == "model" and layer("simulator.params") == "base"
    assert layer("simulator.world") == "world" and layer("simulator.world.tables") == "world"
    assert LAYERS.index(layer("simulator.present.report")) > LAYERS.index(layer("simulator.model.outputs"))
