"""A blocking STOMP client for threads and plain sockets: the same features as `stompmodels.aio`.

```python
from stompmodels.blocking.client import Client

with Client("stomp://guest:guest@127.0.0.1:61613/") as client:
    subscription = client.subscribe("/queue/a", ack="client-individual")
    client.send("/queue/a", "hello", receipt=True)
    message = subscription.get(timeout=5)
    subscription.ack(message)
```

Every call that waits is bounded by the client's `timeout` (or the one given), and fails at once
with ConnectionLost (BrokerError, HeartbeatTimeout) when the connection ends. The one wait
without a deadline is iterating a subscription (`for message in subscription`), which ends when
the subscription or the connection does. A reader thread reads the socket; handlers registered
with `client.on` run on a dispatcher thread, so a slow handler never delays the reading of
heart-beats. `blocking.threads` describes the threads, `blocking.connection` the locks.
"""

from __future__ import annotations

import contextlib
import logging
import ssl as ssl_module
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Self

from pydantic import SecretStr

from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import (
    BrokerError,
    ConnectionEvent,
    ConnectionLost,
    HeartbeatTimeout,
)
from stompmodels._client.transport import subscribe_headers
from stompmodels._client.url import BrokerURL, brokers_for, require_tcp
from stompmodels._errors import LocalProtocolError
from stompmodels._frames import Connected, Message, Subscribe
from stompmodels._headers import AckMode, HeartBeat
from stompmodels._limits import Limits
from stompmodels._registry import F, Handler, Router
from stompmodels._spec import VERSIONS, Version

from .connection import Inbox
from .reconnect import Reconnecting
from .subscription import Subscription
from .sync import Channel, fresh

logger = logging.getLogger("stompmodels.blocking")


class Client(Reconnecting):
    """A blocking STOMP client.

    ``with Client("stomp://guest:guest@127.0.0.1:61613/") as client:`` connects, and disconnects
    gracefully on exit (DISCONNECT, then its receipt, waited for at most `timeout` seconds).
    Every wait is bounded by `timeout` seconds. A client connects once. Give several URLs (a
    list or ``failover:(url,url)``) to fail over, and `reconnect` to come back after a lost
    connection (on a background thread): subscriptions are renewed, with the same ids, ack modes
    and headers; transactions in flight are not replayed. `credentials` is called with each
    broker's URL before every connect, and returns the URL to use (fresh credentials, say);
    `on_state` is told "connected", "lost", "reconnected" and "closed".
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
        require_tcp(urls, "the blocking client")
        super().__init__(
            urls,
            ssl=ssl,
            heart_beat=HeartBeat(*heart_beat),
            versions=versions,
            timeout=timeout,
            limits=limits,
            queue_size=queue_size,
            reconnect=Backoff() if reconnect is True else reconnect or None,
            credentials=credentials,
        )
        self._on_state = on_state

    def __repr__(self) -> str:
        return f"Client({str(self.url)!r}, state={self.engine.state.value!r})"

    # -- life cycle ------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def connect(self) -> Connected:
        """Open the connection and the session; return the broker's CONNECTED frame.

        Raises ConnectionLost if the broker cannot be reached or does not answer in time, and
        BrokerError if it refuses the session (bad credentials, unknown vhost, no common version).
        Several brokers are tried in turn, each once.
        """
        connected = self._open()
        self._notify("connected")
        return connected

    def close(self, timeout: float | None = None) -> None:
        """Disconnect gracefully and stop the threads, within `timeout` seconds (plus a little).

        Handlers at work are given the time to finish; then DISCONNECT is sent and its receipt
        awaited. Safe to call more than once, and after a failure.
        """
        closed_before = self._halt.is_set()
        self._close(timeout)
        if not closed_before:
            self._notify("closed")

    @property
    def failure(self) -> ConnectionLost | None:
        """Why the connection ended, once it has (None while it is up)."""
        return self._failure

    # -- what users do ---------------------------------------------------------------------

    def on(
        self,
        kind: type[F],
        *,
        where: Callable[[F], bool] | None = None,
        destination: str | None = None,
        subscription: str | None = None,
    ) -> Callable[[Handler[F]], Handler[F]]:
        """Register a handler, as `Engine.on`; it runs on the dispatcher thread.

        A Message it takes is not queued on its subscription. The frame it returns (an ACK,
        say, from ``client.engine.ack(message)``) is sent; an exception it raises is logged.
        Handlers must not be registered on `client.engine` itself: those would run on the reader.
        """
        with self._engine_lock:
            return self._router.on(
                kind, where=where, destination=destination, subscription=subscription
            )

    def include(self, router: Router) -> None:
        """Consult `router`'s handlers after the ones registered so far."""
        with self._engine_lock:
            self._router.include(router)

    def send(
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
        """Send a message; with `receipt`, wait until the broker confirms it.

        RabbitMQ sends the RECEIPT of a SEND inside a transaction only after the COMMIT, so
        waiting for it inside the transaction times out there.
        """
        if not receipt and not logger.isEnabledFor(logging.DEBUG):
            self._transmit_bytes(
                lambda: self.engine.encode_send(
                    destination,
                    body,
                    content_type=content_type,
                    headers=headers,
                    transaction=transaction,
                    omit_content_length=omit_content_length,
                )
            )
            return
        _, waiter = self._transmit(
            lambda: self.engine.send(
                destination,
                body,
                content_type=content_type,
                headers=headers,
                receipt=receipt,
                transaction=transaction,
                omit_content_length=omit_content_length,
            )
        )
        self._confirm(waiter)

    def subscribe(
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

        Messages that a handler registered with `on` takes do not reach the subscription.
        `prefetch` bounds the messages the broker sends ahead of acknowledgements (RabbitMQ's
        `prefetch-count`, ActiveMQ's `activemq.prefetchSize`); it defaults to `queue_size` when
        messages are acknowledged.
        """
        headers = subscribe_headers(headers, ack, prefetch, self._queue_size)
        channel: Channel[Message] = Channel(self._queue_size)

        def prepare(frame: Subscribe) -> None:  # the inbox must exist before a MESSAGE can come
            assert frame.id is not None  # the builder always gives one
            with self._lock:
                if self._failure is not None:
                    raise fresh(self._failure)
                self._inboxes[frame.id] = Inbox(destination, channel, frame)

        frame, waiter = self._transmit(
            lambda: self.engine.subscribe(
                destination, ack=ack, id=id, headers=headers, receipt=receipt
            ),
            prepare,
        )
        assert frame.id is not None
        subscription = Subscription(self, frame.id, destination, ack, channel)
        self._confirm(waiter)
        return subscription

    def ack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> None:
        """Acknowledge `message` with the headers of the negotiated version.

        A message received before a reconnect is not acknowledged: the broker took it back
        when that connection ended, and delivers it again.
        """
        if self._stale_ack(message, "ACK"):
            return
        if not receipt and not logger.isEnabledFor(logging.DEBUG):
            self._transmit_bytes(lambda: self.engine.encode_ack(message, transaction=transaction))
            return
        _, waiter = self._transmit(
            lambda: self.engine.ack(message, transaction=transaction, receipt=receipt)
        )
        self._confirm(waiter)

    def nack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> None:
        """Reject `message` (STOMP 1.1+); like `ack`, not for a message from before a reconnect."""
        if self._stale_ack(message, "NACK"):
            return
        _, waiter = self._transmit(
            lambda: self.engine.nack(message, transaction=transaction, receipt=receipt)
        )
        self._confirm(waiter)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[str]:
        """``with client.transaction() as tx:`` commits on success, aborts on an exception.

        Pass `transaction=tx` to `send`, `ack` and `nack` inside it. BEGIN and COMMIT wait for
        their receipts. A transaction is never replayed on a new connection: if the connection
        was lost, COMMIT raises ConnectionLost.
        """
        engine = self.engine
        begin, waiter = self._transmit(lambda: engine.begin(receipt=True))
        self._confirm(waiter)
        try:
            yield begin.transaction
        except BaseException:
            if self.engine is engine:
                self._abort_transaction(begin.transaction)
            raise
        if self.engine is not engine:
            raise ConnectionLost("the connection was lost during the transaction; not committed")
        _, waiter = self._transmit(lambda: self.engine.commit(begin.transaction, receipt=True))
        self._confirm(waiter)

    # -- internals -------------------------------------------------------------------------

    def _abort_transaction(self, transaction: str) -> None:
        if self._failure is not None or transaction not in self.engine.transactions:
            return
        try:
            _, waiter = self._transmit(lambda: self.engine.abort(transaction, receipt=True))
            self._confirm(waiter)
        except (ConnectionLost, TimeoutError, LocalProtocolError) as exc:
            logger.warning("ABORT of %s failed: %s", transaction, exc)

    def _unsubscribe(self, subscription: Subscription, *, receipt: bool) -> None:
        try:  # even if it fails (a lost connection), it is not renewed on a new connection
            _, waiter = self._transmit(
                lambda: self.engine.unsubscribe(subscription.id, receipt=receipt)
            )
            self._confirm(waiter)  # messages sent before the broker took it are still queued
        finally:
            with self._lock:
                self._inboxes.pop(subscription.id, None)
            subscription._channel.close()


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
