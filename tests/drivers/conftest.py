"""The `driver` fixture: every scenario of this folder runs once per driver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import DRIVERS, Driver


def make_driver(name: str, monkeypatch: pytest.MonkeyPatch) -> Driver:
    """The adapter of driver `name` (imported here, so a driver that fails to import fails only
    its own tests)."""
    if name == "aio":
        from .aio_adapter import AioDriver

        return AioDriver(monkeypatch)
    if name == "blocking":
        from .blocking_adapter import BlockingDriver

        return BlockingDriver()
    if name == "twisted":
        from .twisted_adapter import TwistedDriver

        return TwistedDriver()
    raise ValueError(f"no driver {name!r}")


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Driver]:
    name: str = request.param
    made = make_driver(name, monkeypatch)
    yield made
    made.close()
