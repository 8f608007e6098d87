"""Every test here is marked `brokers`; fixtures hand out brokers that are known to be up.

A broker that is down is started with its script from ``shared/brokers``; if it stays down, its
tests are skipped with the reason, or fail when the environment says ``CI=true``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._brokers import ACTIVEMQ, BROKERS, RABBITMQ, Broker, BrokerGate

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.brokers)


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
