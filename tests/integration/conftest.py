"""Every test here is marked `brokers`; fixtures hand out brokers that are known to be up.

A broker that is down is started with its script from ``shared/brokers``; if it stays down, its
tests are skipped with the reason, or fail when the environment says ``CI=true``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ._brokers import ACTIVEMQ, BROKERS, RABBITMQ, Broker, ensure

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.brokers)


class BrokerGate:
    """Checks (and starts) each broker once per session, and remembers what went wrong."""

    def __init__(self) -> None:
        self._problems: dict[Broker, str | None] = {}

    def require(self, broker: Broker) -> Broker:
        if broker not in self._problems:
            self._problems[broker] = ensure(broker)
        problem = self._problems[broker]
        if problem is not None:
            reason = f"{broker.name} is not available on {broker.host}:{broker.port}: {problem}"
            if os.environ.get("CI", "").strip().lower() == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        return broker


@pytest.fixture(scope="session")
def brokers() -> BrokerGate:
    """The session's gate: `brokers.require(broker)` returns it once it answers."""
    return BrokerGate()


@pytest.fixture(params=sorted(BROKERS, reverse=True))
def broker(request: pytest.FixtureRequest, brokers: BrokerGate) -> Broker:
    """Each broker in turn (rabbitmq, activemq)."""
    name: str = request.param
    return brokers.require(BROKERS[name])


@pytest.fixture
def rabbitmq(brokers: BrokerGate) -> Broker:
    return brokers.require(RABBITMQ)


@pytest.fixture
def activemq(brokers: BrokerGate) -> Broker:
    return brokers.require(ACTIVEMQ)
