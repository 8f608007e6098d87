"""An asyncio STOMP client: a thin loop around the sans-IO Engine.

The client owns sockets, timers (heart-beats, timeouts, reconnect backoff) and logging; the
Engine decides everything the protocol says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Self

from pydantic import SecretStr

from stompmodels._client.backoff import Backoff
from stompmodels._client.deliveries import Deliveries
from stompmodels._client.errors import (
    BrokerError,
    Closed,
    ConnectionEvent,
    ConnectionLost,
    HeartbeatTimeout,
)
from stompmodels._client.transport import subscribe_headers
from stompmodels._client.url import BrokerURL, brokers_for
from stompmodels._frames import Connected, Message
from stompmodels._headers import AckMode, HeartBeat
from stompmodels._limits import Limits
from stompmodels._registry import F, Handler, Router
from stompmodels._spec import VERSIONS, Version
from stompmodels._state import State

from .connection import Subscription, _Connection
from .core import _ClientCore, logger

logging.getLogger("stompmodels").addHandler(logging.NullHandler())  # the application decides


class Client(_ClientCore):
    """An asyncio STOMP client.

    ``async with Client("stomp://guest:guest@127.0.0.1:61613/") as client:`` connects, and
    disconnects gracefully on exit. Every wait is bounded by `timeout` seconds. Give several
    URLs (a list or ``failover:(url,url)``) to fail over, and `reconnect` to come back after a
    lost connection: subscriptions are renewed; transactions in flight are not replayed.
    """

    def __init__(
        self,
        url: str | list[str] | BrokerURL | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 61613,
        login: str | None = None,
        passcode: str | SecretStr | None = None,
        vhost: str = "/",
        ssl: ssl_module.SSLContext | bool | None = None,
        heart_beat: HeartBeat | tuple[int, int] = (10000, 10000),
        versions: tuple[Version, ...] = VERSIONS,
        timeout: float = 10.0,
        limits: Limits | None = None,
        queue_size: int = 1000,
        reconnect: Backoff | bool = False,
        credentials: Callable[[BrokerURL], BrokerURL] | None = None,
        on_state: Callable[[ConnectionEvent, BrokerURL], None] | None = None,
    ) -> None:
        urls = brokers_for(
            url, host=host, port=port, login=login, passcode=passcode, vhost=vhost, tls=bool(ssl)
        )
        self.urls = urls
        self.timeout = timeout
        self._ssl = ssl
        self._heart_beat = HeartBeat(*heart_beat)
        self._versions = versions
        self._limits = limits
        self._queue_size = queue_size
        self._backoff = Backoff() if reconnect is True else reconnect or None
        self._credentials = credentials
        self._on_state = on_state
        self._router = Router()
        self._subscriptions: dict[str, Subscription] = {}
        self._connection: _Connection | None = None
        self._next_url = 0
        self._closing = False
        self._final: ConnectionLost | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._stale = Deliveries()
        self._name = "stompmodels"

    # -- life cycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
        if error is None and self.failure is not None:
            raise self.failure  # e.g. an ERROR after a send without receipt: never lost silently

    @property
    def failure(self) -> ConnectionLost | None:
        """Why the client stopped, if it failed (None while it runs or after a clean close)."""
        return None if isinstance(self._final, Closed) else self._final

    async def connect(self) -> Connected:
        """Connect to the first broker that answers (each tried once); return its CONNECTED."""
        owner = asyncio.current_task()
        self._name = owner.get_name() if owner is not None else "stompmodels"
        self._closing, self._final = False, None
        error: ConnectionLost | None = None
        for _ in self.urls:
            try:
                connected = await self._open(self.urls[self._next_url])
            except ConnectionLost as exc:
                error = exc
                self._next_url = (self._next_url + 1) % len(self.urls)
                continue
            self._notify("connected")
            return connected
        assert error is not None
        raise error

    async def close(self, timeout: float | None = None) -> None:
        """Disconnect gracefully (DISCONNECT, then wait for its receipt, bounded) and close."""
        self._closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            await asyncio.wait([self._reconnecting], timeout=1.0)  # our own cancel propagates
        connection = self._connection
        if connection is not None:
            if connection.failure is None and connection.engine.state is State.CONNECTED:
                frame = connection.engine.disconnect()
                waiter = self._expect_receipt(connection, frame.receipt)
                self._write(frame)
                try:
                    async with asyncio.timeout(self.timeout if timeout is None else timeout):
                        await waiter
                except Closed as closed:
                    logger.debug("%s", closed)
                except (TimeoutError, ConnectionLost):
                    logger.warning("no receipt for DISCONNECT from %s; closing anyway", self.url)
            await self._shut(connection, Closed(f"connection to {connection.url} closed"))
        self._end(Closed("the client is closed"))
        self._notify("closed")

    # -- what users do ---------------------------------------------------------------------

    def on(
        self,
        kind: type[F],
        *,
        where: Callable[[F], bool] | None = None,
        destination: str | None = None,
        subscription: str | None = None,
    ) -> Callable[[Handler[F]], Handler[F]]:
        """Register a handler, as `Engine.on`; a Message it takes is not queued."""
        return self._router.on(
            kind, where=where, destination=destination, subscription=subscription
        )

    async def send(
        self,
        destination: str,
        body: bytes | str = b"",
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        receipt: bool = False,
        transaction: str | None = None,
        omit_content_length: bool = False,
    ) -> None:
        """Send a message; with `receipt`, wait until the broker confirms it."""
        if not receipt and not logger.isEnabledFor(logging.DEBUG):
            # Nobody logs the frame: the Engine writes its bytes without building it.
            connection = self._current()
            data = connection.engine.encode_send(
                destination,
                body,
                content_type=content_type,
                headers=headers,
                transaction=transaction,
                omit_content_length=omit_content_length,
            )
            if connection.send(data):
                await self._sent_batch(connection)
            return
        frame = self.engine.send(
            destination,
            body,
            content_type=content_type,
            headers=headers,
            receipt=receipt,
            transaction=transaction,
            omit_content_length=omit_content_length,
        )
        await self._send_and_confirm(frame, frame.receipt)

    async def subscribe(
        self,
        destination: str,
        *,
        ack: AckMode = "auto",
        id: str | None = None,
        headers: Mapping[str, str] | None = None,
        receipt: bool = True,
        prefetch: int | None = None,
    ) -> Subscription:
        """Subscribe; iterate the result for messages (ACK them unless `ack` is auto).

        `prefetch` bounds the messages the broker sends ahead of acknowledgements (RabbitMQ's
        `prefetch-count`, ActiveMQ's `activemq.prefetchSize`); it defaults to `queue_size` when
        messages are acknowledged.
        """
        headers = subscribe_headers(headers, ack, prefetch, self._queue_size)
        frame = self.engine.subscribe(destination, ack=ack, id=id, headers=headers, receipt=receipt)
        subscription = Subscription(self, frame, self._queue_size)
        self._subscriptions[subscription.id] = subscription
        try:
            await self._send_and_confirm(frame, frame.receipt)
        except BaseException:
            self._subscriptions.pop(subscription.id, None)
            raise
        return subscription

    async def ack(self, message: Message, *, transaction: str | None = None) -> None:
        """Acknowledge `message` with the headers of the negotiated version.

        A message received before a reconnect is not acknowledged: the broker took it back
        when that connection ended, and delivers it again.
        """
        if self._stale.refuses(message, "ACK", logger):
            return
        if logger.isEnabledFor(logging.DEBUG):
            await self._send_and_confirm(self.engine.ack(message, transaction=transaction), None)
            return
        # Nobody logs the frame: the Engine writes its bytes without building it.
        connection = self._current()
        data = connection.engine.encode_ack(message, transaction=transaction)
        if connection.send(data):
            await self._sent_batch(connection)

    async def nack(self, message: Message, *, transaction: str | None = None) -> None:
        """Reject `message` (STOMP 1.1+); like `ack`, not for a message from before a reconnect."""
        if not self._stale.refuses(message, "NACK", logger):
            await self._send_and_confirm(self.engine.nack(message, transaction=transaction), None)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[str]:
        """``async with client.transaction() as tx:`` commits on success, aborts on error.

        Pass `transaction=tx` to `send`, `ack` and `nack` inside it. A transaction is never
        replayed on a new connection: if the connection was lost, COMMIT raises ConnectionLost.
        """
        engine = self.engine
        begin = engine.begin(receipt=True)
        await self._send_and_confirm(begin, begin.receipt)
        try:
            yield begin.transaction
        except BaseException:
            if self._connection is not None and self._connection.engine is engine:
                with contextlib.suppress(ConnectionLost, ValueError):
                    self._write(engine.abort(begin.transaction))
            raise
        if self._connection is None or self._connection.engine is not engine:
            raise ConnectionLost("the connection was lost during the transaction; not committed")
        commit = engine.commit(begin.transaction, receipt=True)
        await self._send_and_confirm(commit, commit.receipt)


__all__ = [
    "Backoff",
    "BrokerError",
    "BrokerURL",
    "Client",
    "ConnectionEvent",
    "ConnectionLost",
    "HeartbeatTimeout",
    "Subscription",
]
