"""The packages this change added keep their dependencies one way: ``core`` imports nothing
of ours, the Rasa server's components only ``core``, and no server imports the offline tools."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"actions", "bot", "core", "faq", "handoff", "orders", "rasa_ext", "tools", "tests"}
RUNTIME = ("actions", "bot", "core", "faq", "handoff", "orders", "rasa_ext")


def _imported(package: str) -> set[str]:
    """Our top-level packages that the modules of ``package`` import."""
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found |= {name.split(".")[0] for name in names} & OURS
    return found - {package}


def test_core_imports_nothing_of_ours() -> None:
    assert _imported("core") == set()


def test_the_rasa_components_import_only_core() -> None:
    assert _imported("rasa_ext") <= {"core"}


@pytest.mark.parametrize("package", RUNTIME)
def test_no_server_imports_the_offline_tools(package: str) -> None:
    assert "tools" not in _imported(package)
