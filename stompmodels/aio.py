"""An asyncio STOMP client: a thin loop around the sans-IO Engine.

The client owns the socket, the timers (heart-beats, timeouts) and logging; the Engine decides
everything the protocol says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Final, Self

from pydantic import SecretStr

from ._engine import Engine, Reaction
from ._errors import LocalProtocolError
from ._frames import ClientFrame, Connected, Error, Message, Receipt
from ._headers import AckMode, HeartBeat
from ._heartbeat import EOL, peer_deadline
from ._reader import Limits
from ._registry import F, Handler
from ._spec import VERSIONS, Version
from ._state import State
from ._transport import (
    BrokerError,
    ConnectionLost,
    HeartbeatTimeout,
    connect_frame,
    describe_error,
    ssl_context_for,
)
from ._url import BrokerURL, parse_url

logger = logging.getLogger("stompmodels.aio")

_READ_SIZE: Final = 64 * 1024


class Subscription:
    """Messages of one subscription, as an async iterator; ends when unsubscribed or closed."""

    def __init__(self, client: Client, id: str, destination: str, ack: AckMode, size: int) -> None:
        self.client = client
        self.id = id
        self.destination = destination
        self.ack_mode: AckMode = ack
        # A bounded queue: when the consumer lags, the reader waits, and TCP pushes back.
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue(size)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        message = await self._queue.get()
        if message is None:
            self._queue.put_nowait(None)  # every later call ends too
            self.client._raise_if_failed()
            raise StopAsyncIteration
        return message

    async def get(self, timeout: float | None = None) -> Message:
        """The next message, waiting at most `timeout` seconds (the client's default if None)."""
        async with asyncio.timeout(self.client.timeout if timeout is None else timeout):
            return await anext(self)

    async def ack(self, message: Message, *, transaction: str | None = None) -> None:
        """Acknowledge `message`."""
        await self.client.ack(message, transaction=transaction)

    async def nack(self, message: Message, *, transaction: str | None = None) -> None:
        """Reject `message` (the broker may redeliver it)."""
        await self.client.nack(message, transaction=transaction)

    async def unsubscribe(self, *, receipt: bool = True) -> None:
        """End the subscription; with `receipt`, wait until the broker confirms."""
        await self.client._unsubscribe(self, receipt=receipt)

    def _close(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)


class Client:
    """An asyncio STOMP client.

    ``async with Client("stomp://guest:guest@127.0.0.1:61613/") as client:`` connects, and
    disconnects gracefully on exit. Every wait is bounded by `timeout` seconds.
    """

    def __init__(
        self,
        url: str | BrokerURL | None = None,
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
    ) -> None:
        if isinstance(url, str):
            url = parse_url(url)
        if url is None:
            secret = SecretStr(passcode) if isinstance(passcode, str) else passcode
            url = BrokerURL(host, port, login, secret, vhost, tls=bool(ssl))
        self.url = url
        self.timeout = timeout
        self.engine = Engine(limits=limits, auto_ack=False)
        self._ssl = ssl_context_for(url, ssl)
        self._heart_beat = HeartBeat(*heart_beat)
        self._versions = versions
        self._queue_size = queue_size
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._connected: asyncio.Future[Connected] | None = None
        self._receipts: dict[str, asyncio.Future[None]] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._failure: ConnectionLost | None = None
        self._last_sent = 0.0
        self._last_received = 0.0
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

    async def connect(self) -> Connected:
        """Open the connection and the session; return the broker's CONNECTED frame."""
        loop = asyncio.get_running_loop()
        url = self.url
        try:
            async with asyncio.timeout(self.timeout):
                self._reader, self._writer = await asyncio.open_connection(
                    url.host,
                    url.port,
                    ssl=self._ssl,
                    server_hostname=url.host if self._ssl else None,
                )
        except (OSError, TimeoutError) as exc:
            raise ConnectionLost(f"cannot reach {url}: {describe_error(exc)}") from None
        self._connected = loop.create_future()
        self._last_received = self._last_sent = loop.time()
        owner = asyncio.current_task()
        self._name = owner.get_name() if owner is not None else "stompmodels"
        self._tasks.append(asyncio.create_task(self._read_loop(), name=f"{self._name}:reader"))
        self._write(connect_frame(self.engine, url, self._heart_beat, self._versions))
        try:
            async with asyncio.timeout(self.timeout):
                connected = await self._connected
        except TimeoutError:
            await self._abort(ConnectionLost(f"no CONNECTED from {url} within {self.timeout} s"))
            raise self._failed() from None
        except ConnectionLost:
            await self._abort(None)
            raise
        logger.info(
            "connected to %s: STOMP %s, session %s", url, self.engine.version, self.engine.session
        )
        if any(self.engine.heart_beat):
            beats = self._heartbeat_loop()
            self._tasks.append(asyncio.create_task(beats, name=f"{self._name}:heart-beat"))
        return connected

    async def close(self, timeout: float | None = None) -> None:
        """Disconnect gracefully (DISCONNECT, then wait for its receipt, bounded) and close."""
        if self.engine.state is State.CONNECTED and self._failure is None:
            frame = self.engine.disconnect()
            waiter = self._expect_receipt(frame.receipt)
            self._write(frame)
            try:
                async with asyncio.timeout(self.timeout if timeout is None else timeout):
                    await waiter
            except (TimeoutError, ConnectionLost):
                logger.warning("no receipt for DISCONNECT from %s; closing anyway", self.url)
        await self._abort(None)

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
        return self.engine.on(kind, where=where, destination=destination, subscription=subscription)

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
    ) -> Subscription:
        """Subscribe; iterate the result for messages (ACK them unless `ack` is auto)."""
        frame = self.engine.subscribe(destination, ack=ack, id=id, headers=headers, receipt=receipt)
        assert frame.id is not None  # the builder always gives one
        subscription = Subscription(self, frame.id, destination, ack, self._queue_size)
        self._subscriptions[frame.id] = subscription
        await self._send_and_confirm(frame, frame.receipt)
        return subscription

    async def ack(self, message: Message, *, transaction: str | None = None) -> None:
        """Acknowledge `message` with the headers of the negotiated version."""
        self._write(self.engine.ack(message, transaction=transaction))

    async def nack(self, message: Message, *, transaction: str | None = None) -> None:
        """Reject `message` (STOMP 1.1+)."""
        self._write(self.engine.nack(message, transaction=transaction))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[str]:
        """``async with client.transaction() as tx:`` commits on success, aborts on error.

        Pass `transaction=tx` to `send`, `ack` and `nack` inside it.
        """
        begin = self.engine.begin(receipt=True)
        await self._send_and_confirm(begin, begin.receipt)
        try:
            yield begin.transaction
        except BaseException:
            if (
                self.engine.state is State.CONNECTED
                and begin.transaction in self.engine.transactions
            ):
                self._write(self.engine.abort(begin.transaction))
            raise
        commit = self.engine.commit(begin.transaction, receipt=True)
        await self._send_and_confirm(commit, commit.receipt)

    # -- internals -------------------------------------------------------------------------

    async def _unsubscribe(self, subscription: Subscription, *, receipt: bool) -> None:
        frame = self.engine.unsubscribe(subscription.id, receipt=receipt)
        await self._send_and_confirm(frame, frame.receipt)
        self._subscriptions.pop(subscription.id, None)
        subscription._close()

    async def _send_and_confirm(self, frame: ClientFrame, receipt: str | None) -> None:
        waiter = self._expect_receipt(receipt) if receipt else None
        self._write(frame)
        if waiter is not None:
            try:
                async with asyncio.timeout(self.timeout):
                    await waiter
            except TimeoutError:
                raise TimeoutError(
                    f"no RECEIPT for {frame.command} within {self.timeout} s"
                ) from None

    def _expect_receipt(self, receipt: str | None) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if receipt is not None:
            self._receipts[receipt] = waiter
        return waiter

    def _write(self, frame: ClientFrame) -> None:
        if self._failure is not None:
            raise self._failure
        if self._writer is None:
            raise LocalProtocolError("the client is not connected")
        data = self.engine.encode(frame)
        logger.debug("sent %r", frame)  # models hide the passcode
        self._writer.write(data)
        self._last_sent = asyncio.get_running_loop().time()

    def _write_bytes(self, data: bytes) -> None:
        if data and self._writer is not None and self._failure is None:
            self._writer.write(data)
            self._last_sent = asyncio.get_running_loop().time()

    async def _read_loop(self) -> None:
        assert self._reader is not None
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    raise ConnectionLost(f"{self.url} closed the connection")
                self._last_received = loop.time()  # any byte counts as life
                for reaction in self.engine.receive(data):
                    await self._dispatch(reaction)
        except asyncio.CancelledError:
            raise
        except ConnectionLost as exc:
            self._fail(exc)
        except (OSError, ValueError) as exc:  # ValueError: ProtocolError and handler mistakes
            self._fail(ConnectionLost(f"connection to {self.url} failed: {describe_error(exc)}"))

    async def _dispatch(self, reaction: Reaction) -> None:
        frame = reaction.frame
        logger.debug("received %r", frame)
        self._write_bytes(reaction.reply)
        if isinstance(frame, Connected):
            if self._connected is not None and not self._connected.done():
                self._connected.set_result(frame)
        elif isinstance(frame, Receipt):
            for receipt in reaction.receipts:
                waiter = self._receipts.pop(receipt, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
        elif isinstance(frame, Error):
            raise BrokerError(frame)
        elif isinstance(frame, Message) and not reaction.handled:
            subscription = self._subscriptions.get(frame.subscription or "")
            if subscription is None:
                logger.warning("MESSAGE for unknown subscription %r dropped", frame.subscription)
            else:
                await subscription._queue.put(frame)  # waits when full: back-pressure

    async def _heartbeat_loop(self) -> None:
        loop = asyncio.get_running_loop()
        send_ms, receive_ms = self.engine.heart_beat
        tick = min(ms for ms in (send_ms, receive_ms) if ms) / 1000 / 2
        while self._failure is None:
            await asyncio.sleep(tick)
            now = loop.time()
            if send_ms and now - self._last_sent >= send_ms / 1000 - tick:
                self._write_bytes(EOL)
            deadline = peer_deadline(self._last_received, receive_ms)
            if deadline is not None and now > deadline:
                self._fail(
                    HeartbeatTimeout(
                        f"{self.url} sent nothing for {now - self._last_received:.1f} s "
                        f"(heart-beat every {receive_ms} ms expected)"
                    )
                )
                await self._abort(None)

    def _fail(self, error: ConnectionLost) -> None:
        """Record the first failure and wake every waiter with it."""
        if self._failure is not None:
            return
        self._failure = error
        if self.engine.state is not State.CLOSED:
            self.engine.connection_lost()
        logger.log(logging.DEBUG if isinstance(error, _Closed) else logging.WARNING, "%s", error)
        waiters = [*self._receipts.values()]
        if self._connected is not None:
            waiters.append(self._connected)  # type: ignore[arg-type]  # any future will do
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(error)
                waiter.exception()  # mark as retrieved: nobody may be waiting
        self._receipts.clear()
        for subscription in self._subscriptions.values():
            subscription._close()
        if self._writer is not None:
            self._writer.close()

    def _failed(self) -> ConnectionLost:
        assert self._failure is not None
        return self._failure

    def _raise_if_failed(self) -> None:
        if self._failure is not None and not isinstance(self._failure, _Closed):
            raise self._failure

    async def _abort(self, error: ConnectionLost | None) -> None:
        """Stop the tasks and close the socket (after a failure, or at the end)."""
        if error is not None:
            self._fail(error)
        elif self._failure is None:
            self._fail(_Closed(f"connection to {self.url} closed"))
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for task in self._tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._writer is not None:
            with contextlib.suppress(OSError):
                await asyncio.wait_for(self._writer.wait_closed(), 1.0)


class _Closed(ConnectionLost):
    """The connection was closed on purpose: iterators end quietly."""


__all__ = [
    "BrokerError",
    "Client",
    "ConnectionLost",
    "HeartbeatTimeout",
    "Subscription",
]
