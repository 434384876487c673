"""Dependencies point one way (README, Layout): ``core`` imports nothing of ours; ``orders`` and
``faq`` only ``core``; ``handoff`` those; ``actions`` and ``bot`` any of them, and no other
runtime package imports them; the Rasa server's components only the standard-library modules of
``core``; the offline tools (``tools``) any of ours, and no runtime package imports them; and no
two modules import each other, however indirectly."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"actions", "bot", "core", "faq", "handoff", "orders", "rasa_ext", "tools", "tests"}
MAY_IMPORT = {
    "core": set(),
    "orders": {"core"},
    "faq": {"core"},
    "handoff": {"core", "orders", "faq"},
    "actions": {"core", "orders", "faq", "handoff"},
    "bot": {"core", "orders", "faq", "handoff"},
    "rasa_ext": {"core"},
    "tools": {"core", "orders", "faq", "handoff", "actions", "bot", "rasa_ext"},
}
# What the Rasa server (its own environment) may load of core.
RASA_MAY_READ = {"core.pasted", "core.followup", "core.language", "core.facts"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    """The modules of ours that a file imports (``from a import b``: ``a.b`` when that is a
    module, else ``a``)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [
                f"{node.module}.{alias.name}"
                if (ROOT / node.module.replace(".", "/") / f"{alias.name}.py").exists()
                else node.module
                for alias in node.names
            ]
        else:
            continue
        yield from (name for name in names if name.split(".")[0] in OURS)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for package in MAY_IMPORT:
        for path in (ROOT / package).rglob("*.py"):
            graph[_module_name(path)] = set(_imports(path))
    return graph


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_the_ones_below_it(package: str) -> None:
    upward = {
        f"{module} -> {target}"
        for module, targets in _graph().items()
        if module.split(".")[0] == package
        for target in targets
        if target.split(".")[0] not in MAY_IMPORT[package] | {package}
    }
    assert not upward


def test_no_runtime_package_imports_the_offline_tools() -> None:
    into_tools = {
        f"{module} -> {target}"
        for module, targets in _graph().items()
        if module.split(".")[0] != "tools"
        for target in targets
        if target.split(".")[0] == "tools"
    }
    assert not into_tools


def test_the_rasa_components_read_only_the_standard_library_part_of_core() -> None:
    read = {t for m, ts in _graph().items() if m.startswith("rasa_ext") for t in ts}
    assert {t for t in read if t.startswith("core")} <= RASA_MAY_READ


def test_no_modules_import_each_other() -> None:
    graph = _graph()
    cycles = []

    def visit(module: str, path: list[str], done: set[str]) -> None:
        for target in sorted(graph.get(module, ())):
            if target in path:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in done and target in graph:
                visit(target, [*path, target], done)
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module], done)
    assert not cycles
