"""What the Twisted transport needs of a reactor and a transport, as structural types.

Twisted declares these as zope interfaces, whose methods mypy cannot call without a plugin;
these Protocols name the few methods used, so the real reactor, `task.Clock` and
`testing.MemoryReactorClock` all fit them as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from twisted.internet.interfaces import IConnector
from twisted.internet.protocol import ClientFactory


class DelayedCall(Protocol):
    """A call scheduled with `callLater`."""

    def cancel(self) -> None: ...

    def active(self) -> bool: ...


class Clock(Protocol):
    """The reactor's clock (`IReactorTime`): the time, and calls later."""

    def seconds(self) -> float: ...

    def callLater(
        self, delay: float, callable: Callable[..., object], *args: object, **kw: object
    ) -> DelayedCall: ...


class Reactor(Clock, Protocol):
    """A reactor that can open TCP connections (`IReactorTCP` and `IReactorTime`)."""

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: ClientFactory,
        timeout: float = 30.0,
        bindAddress: tuple[str, int] | None = None,
    ) -> IConnector: ...


class Connector(Protocol):
    """A connection attempt (`IConnector`), which `close` may cut short."""

    def stopConnecting(self) -> None: ...


class Transport(Protocol):
    """The parts of a TCP (or TLS) transport the protocol uses."""

    def write(self, data: bytes) -> None: ...

    def loseConnection(self) -> None: ...

    def abortConnection(self) -> None: ...

    def pauseProducing(self) -> None: ...

    def resumeProducing(self) -> None: ...
