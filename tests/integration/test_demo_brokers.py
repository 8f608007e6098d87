"""`make demo URL=...`: the same round trip through a real broker."""

from __future__ import annotations

from tests.test_demo import run_demo

from ._brokers import Broker


def test_demo_runs_through_the_broker_named(broker: Broker) -> None:
    done = run_demo(broker.url)
    assert done.returncode == 0, done.stderr
    assert f"round trip through {broker.url}" in done.stdout
    assert f"server='{broker.product}/" in done.stdout
    assert "done: every message sent was received" in done.stdout
