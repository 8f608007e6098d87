"""Test your STOMP code against a real broker in memory: the `stomp_broker` pytest fixture.

Installed as a pytest plugin (the ``pytest11`` entry point), so any test may ask for
``stomp_broker``: an embedded broker running on a free loopback port in a thread of its own,
which any client can reach (asyncio, blocking, Twisted, other libraries), with what it holds
to look at and faults to inject::

    def test_orders(stomp_broker):
        publish_order(stomp_broker.url)
        assert [m.body for m in stomp_broker.held("/queue/orders")] == [b"..."]

Options go on a marker: ``@pytest.mark.stomp_broker(users={"app": "secret"},
heart_beat=(100, 100))``. Outside pytest, `running_broker()` gives the same object.

pytest loads this module in every run of a project that has stompmodels installed, so the
broker itself is imported only when a test asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from stompmodels.broker.running import RunningBroker, running_broker

__all__ = ["RunningBroker", "running_broker", "stomp_broker"]


def __getattr__(name: str) -> Any:
    if name in ("RunningBroker", "running_broker"):
        from stompmodels.broker import running

        return getattr(running, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "stomp_broker(users=None, heart_beat=(1000, 1000), websocket=None, dead_letter=None): "
        "options of the stomp_broker fixture",
    )


@pytest.fixture
def stomp_broker(request: pytest.FixtureRequest) -> Iterator[RunningBroker]:
    """An embedded STOMP broker for this test, on a free loopback port (see the module)."""
    from stompmodels.broker.running import running_broker

    marker = request.node.get_closest_marker("stomp_broker")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    with running_broker(**options) as running:
        yield running
