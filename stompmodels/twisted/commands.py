"""The Twisted protocol's commands: each sends one frame (built by the Engine) and returns a
Deferred of its RECEIPT; see `StompProtocol`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.python.failure import Failure

from stompmodels._client.errors import Closed
from stompmodels._engine import Engine
from stompmodels._frames import ClientFrame, Message, Receipt
from stompmodels._headers import AckMode

from .subscription import MessageCallback, Subscription

if TYPE_CHECKING:
    from .factory import StompClientFactory

logger = logging.getLogger("stompmodels.twisted")


class StompCommands:
    """What a STOMP client asks of the broker. Nothing here raises: a frame the session
    forbids, or a lost connection, fails the Deferred returned."""

    engine: Engine
    client: StompClientFactory

    def _request(self, frame: ClientFrame) -> Deferred[Receipt | None]:
        raise NotImplementedError  # the protocol writes

    def _request_bytes(self, encode: Callable[[], bytes]) -> Deferred[Receipt | None]:
        """Write what `encode` returns (an `Engine.encode_*` call: the frame's checks and
        effects without the frame); for frames without a receipt, when nobody logs them."""
        raise NotImplementedError  # the protocol writes

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
    ) -> Deferred[Receipt | None]:
        """Send a message; with `receipt`, fire with the broker's RECEIPT."""
        if not receipt and not logger.isEnabledFor(logging.DEBUG):
            return maybeDeferred(
                lambda: self._request_bytes(
                    lambda: self.engine.encode_send(
                        destination,
                        body,
                        content_type=content_type,
                        headers=headers,
                        transaction=transaction,
                        omit_content_length=omit_content_length,
                    )
                )
            )
        return maybeDeferred(
            lambda: self._request(
                self.engine.send(
                    destination,
                    body,
                    content_type=content_type,
                    headers=headers,
                    receipt=receipt,
                    transaction=transaction,
                    omit_content_length=omit_content_length,
                )
            )
        )

    def subscribe(
        self,
        destination: str,
        *,
        ack: AckMode = "auto",
        id: str | None = None,
        headers: Mapping[str, str] | None = None,
        receipt: bool = True,
        callback: MessageCallback | None = None,
    ) -> Deferred[Subscription]:
        """Subscribe; messages go to `callback`, else to the subscription's `get()`.

        ACK them (unless `ack` is auto) with `protocol.ack` or `subscription.ack`.
        """

        def start() -> Deferred[Subscription]:
            frame = self.engine.subscribe(
                destination, ack=ack, id=id, headers=headers, receipt=receipt
            )
            subscription = Subscription(self.client, frame, callback, self.client.queue_size)
            confirmed = self._request(frame)
            self.client._subscriptions[subscription.id] = subscription

            def refused(failure: Failure) -> Failure:
                self.client._subscriptions.pop(subscription.id, None)
                return failure

            return confirmed.addCallbacks(lambda _: subscription, refused)

        return maybeDeferred(start)

    def unsubscribe(
        self, subscription: Subscription | str, *, receipt: bool = True
    ) -> Deferred[Receipt | None]:
        """End a subscription (given as itself or by id)."""

        def stop() -> Deferred[Receipt | None]:
            id = subscription if isinstance(subscription, str) else subscription.id
            confirmed = self._request(self.engine.unsubscribe(id, receipt=receipt))
            ended = self.client._subscriptions.pop(id, None)
            if ended is not None:
                ended._end(Closed(f"subscription {id} ended"))
            return confirmed

        return maybeDeferred(stop)

    def ack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> Deferred[Receipt | None]:
        """Acknowledge `message` with the headers of the negotiated version.

        A message received before a reconnect is not acknowledged (fires with None): the broker
        took it back when that connection ended, and delivers it again.
        """
        if self.client._stale(message, "ACK"):
            return succeed(None)
        if not receipt and not logger.isEnabledFor(logging.DEBUG):
            return maybeDeferred(
                lambda: self._request_bytes(
                    lambda: self.engine.encode_ack(message, transaction=transaction)
                )
            )
        return maybeDeferred(
            lambda: self._request(
                self.engine.ack(message, transaction=transaction, receipt=receipt)
            )
        )

    def nack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> Deferred[Receipt | None]:
        """Reject `message` (STOMP 1.1+); like `ack`, not for a message from before a reconnect."""
        if self.client._stale(message, "NACK"):
            return succeed(None)
        return maybeDeferred(
            lambda: self._request(
                self.engine.nack(message, transaction=transaction, receipt=receipt)
            )
        )

    def begin(self, *, receipt: bool = True) -> Deferred[str]:
        """Begin a transaction; fire with its id (pass it as `transaction=` to send/ack/nack).

        A transaction belongs to this connection: it is never replayed after a reconnect.
        """

        def start() -> Deferred[str]:
            frame = self.engine.begin(receipt=receipt)
            return self._request(frame).addCallback(lambda _: frame.transaction)

        return maybeDeferred(start)

    def commit(self, transaction: str, *, receipt: bool = True) -> Deferred[Receipt | None]:
        """Commit `transaction`."""
        return maybeDeferred(
            lambda: self._request(self.engine.commit(transaction, receipt=receipt))
        )

    def abort(self, transaction: str, *, receipt: bool = True) -> Deferred[Receipt | None]:
        """Abort `transaction`."""
        return maybeDeferred(lambda: self._request(self.engine.abort(transaction, receipt=receipt)))
