"""House rule 1: the sans-IO core imports no I/O, clock, thread or logging module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "stompmodels"
FORBIDDEN = {
    *("socket", "ssl", "asyncio", "threading", "time", "logging", "select", "selectors"),
    *("twisted", "websockets"),
}
# Private modules of the transports and the CLI (which own sockets, threads and TLS) are not
# part of the core: _transport.py, _blocking_*.py, _aio_*.py, _cli_*.py, _twisted_*.py.
ADAPTERS = ("_transport", "_blocking", "_aio", "_cli", "_twisted")
CORE_MODULES = sorted(path for path in CORE.glob("_*.py") if not path.stem.startswith(ADAPTERS))


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every module a file imports."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_modules_are_found() -> None:
    assert {path.name for path in CORE_MODULES} >= {"_codec.py", "_reader.py", "_engine.py"}


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda path: path.name)
def test_core_module_imports_no_io(path: Path) -> None:
    assert imported_roots(path) & FORBIDDEN == set()


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "_sample.py"
    sample.write_text("import time\nfrom asyncio import sleep\n")
    assert imported_roots(sample) & FORBIDDEN == {"time", "asyncio"}
