"""House rule 1: the sans-IO core imports no I/O, clock, thread or logging module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "stompmodels"
FORBIDDEN = {
    *("socket", "ssl", "asyncio", "threading", "time", "logging", "select", "selectors"),
    *("twisted", "websockets"),
}
# The core is the flat top level (`stompmodels/_*.py`), the client session (`_client/`) and the
# embedded broker's core (`broker/`, less its servers). The
# drivers' sub-packages (aio/, blocking/, twisted/, cli/) own sockets, threads, TLS and logging.
# The TLS set-up the asyncio and blocking clients share builds an `ssl` context, and the
# OpenTelemetry instruments read a clock for durations: not core.
DRIVER_HELPERS = {"tls.py", "telemetry.py"}
BROKER_SERVERS = {"server.py", "websocket.py", "running.py"}
CORE_MODULES = sorted(
    [
        *PACKAGE.glob("_*.py"),
        *(p for p in PACKAGE.glob("_client/*.py") if p.name not in DRIVER_HELPERS),
        *(p for p in PACKAGE.glob("broker/*.py") if p.name not in BROKER_SERVERS),
    ]
)


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
    found = {path.name for path in CORE_MODULES}
    assert found >= {"_codec.py", "_reader.py", "_engine.py", "session.py", "deliveries.py"}
    assert found >= {"core.py", "connection.py", "destinations.py", "wire.py"}
    assert "tls.py" not in found


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda path: path.name)
def test_core_module_imports_no_io(path: Path) -> None:
    assert imported_roots(path) & FORBIDDEN == set()


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "_sample.py"
    sample.write_text("import time\nfrom asyncio import sleep\n")
    assert imported_roots(sample) & FORBIDDEN == {"time", "asyncio"}
