"""`make demo`: the round trip runs on the embedded broker with nothing but Python."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def run_demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run examples/demo.py with `args`; its output."""
    environment = {k: v for k, v in os.environ.items() if k != "STOMP_URL"} | (env or {})
    return subprocess.run(
        [sys.executable, str(DEMO), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )


@pytest.mark.slow
def test_demo_runs_on_the_embedded_broker_by_default() -> None:
    done = run_demo()
    assert done.returncode == 0, done.stderr
    assert "through the embedded broker at stomp://127.0.0.1:" in done.stdout
    assert "server='stompmodels/" in done.stdout  # CONNECTED came from the embedded broker
    assert done.stdout.count("receiver got #") == 3
    assert "done: every message sent was received" in done.stdout


@pytest.mark.slow
def test_demo_reports_an_unreachable_broker_in_one_line() -> None:
    done = run_demo(env={"STOMP_URL": "stomp://127.0.0.1:1/"})
    assert done.returncode == 1
    assert done.stderr.startswith("demo: ")
    assert len(done.stderr.strip().splitlines()) == 1
