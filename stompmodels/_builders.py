"""Builders of client frames that fit a session: ids, receipts and ACK headers filled in."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pydantic import SecretStr

from ._errors import LocalProtocolError
from ._frames import (
    Abort,
    Ack,
    Begin,
    Commit,
    Connect,
    Disconnect,
    Message,
    Nack,
    Send,
    Stomp,
    Subscribe,
    Unsubscribe,
)
from ._headers import NO_HEART_BEAT, AckMode, HeartBeat
from ._heartbeat import EOL
from ._plan import Plan
from ._spec import VERSIONS, Version


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription the engine sent: its id (None for a 1.0 SUBSCRIBE without one)."""

    id: str | None
    destination: str
    ack: AckMode


_SEND: Final[Plan[Send]] = Send.plan
_ACK: Final[Plan[Ack]] = Ack.plan
_NACK: Final[Plan[Nack]] = Nack.plan
_MESSAGE_IDS: Final = frozenset({"id", "message_id", "subscription"})
_SEND_WIRE_NAMES: Final = Send.wire_fields


def _valid_as_is(fields: dict[str, str | None]) -> bool:
    """Whether validating these ACK/NACK fields would change nothing, so the frame can be
    built without it: the ids taken from the (validated) MESSAGE are all set, and transaction
    and receipt are str or None. Each version's set of ids is a build form of ACK and NACK."""
    for name, value in fields.items():
        if type(value) is not str and (value is not None or name in _MESSAGE_IDS):
            return False
    return True


def send_body(body: bytes | str, content_type: str | None) -> tuple[bytes, str | None]:
    """The bytes of a SEND body and its content type: a str goes as UTF-8 text."""
    if isinstance(body, str):
        return body.encode(), "text/plain;charset=utf-8" if content_type is None else content_type
    return body, content_type


def plain_send(
    destination: str, data: bytes, optional: tuple[str | None, ...], custom: Mapping[str, str]
) -> bool:
    """Whether validating these SEND fields would change nothing and refuse nothing: exact str
    and bytes types (`optional`: content type, transaction, receipt), and custom headers
    that BodyFrame's rules accept."""
    if type(destination) is not str or type(data) is not bytes:
        return False
    for value in optional:
        if value is not None and type(value) is not str:
            return False
    if custom:
        for name, value in custom.items():
            if type(name) is not str or type(value) is not str:
                return False
        if "" in custom or not _SEND_WIRE_NAMES.isdisjoint(custom):
            return False
    return True


class FrameBuilders:
    """The Engine's builder methods: pure, they only read the session (`encode` changes it)."""

    _subscriptions: dict[str, Subscription]
    _transactions: set[str]
    _receipts: dict[str, str]
    _version: Version | None
    _wire_version: Version
    _ids: itertools.count[int]

    def connect(
        self,
        *,
        login: str | None = None,
        passcode: str | SecretStr | None = None,
        host: str = "/",
        versions: tuple[Version, ...] = VERSIONS,
        heart_beat: HeartBeat | tuple[int, int] = NO_HEART_BEAT,
        stomp_command: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Connect | Stomp:
        """A CONNECT (or, with `stomp_command`, a STOMP frame) offering `versions`.

        `host` is the virtual host: RabbitMQ maps it to a vhost, so the default is ``/``.
        """
        kind = Stomp if stomp_command else Connect
        return kind(
            accept_version=versions,
            host=host,
            login=login,
            passcode=passcode,
            heart_beat=heart_beat,
            headers=dict(headers or {}),
        )

    def subscribe(
        self,
        destination: str,
        *,
        ack: AckMode = "auto",
        id: str | None = None,
        receipt: str | bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Subscribe:
        """A SUBSCRIBE with a fresh unique id unless one is given."""
        return Subscribe(
            destination=destination,
            id=id if id is not None else self._fresh("sub", self._subscriptions),
            ack=ack,
            receipt=self._receipt(receipt),
            headers=dict(headers or {}),
        )

    def unsubscribe(self, id: str | Subscribe, *, receipt: str | bool = False) -> Unsubscribe:
        """An UNSUBSCRIBE of a subscription, given by id or by the SUBSCRIBE frame that made it.

        A 1.0 subscription made without an id is ended by its destination.
        """
        if isinstance(id, Subscribe):
            id = id.id or id.destination
        known = self._subscriptions.get(id)
        if known is not None and known.id is None:
            return Unsubscribe(
                id=None, destination=known.destination, receipt=self._receipt(receipt)
            )
        return Unsubscribe(id=id, receipt=self._receipt(receipt))

    def send(
        self,
        destination: str,
        body: bytes | str = b"",
        *,
        content_type: str | None = None,
        transaction: str | None = None,
        receipt: str | bool = False,
        headers: Mapping[str, str] | None = None,
        omit_content_length: bool = False,
    ) -> Send:
        """A SEND; a str body goes as UTF-8. `omit_content_length` lets ActiveMQ see text."""
        data, content_type = send_body(body, content_type)
        receipt_id = self._receipt(receipt)
        custom = dict(headers or {})
        if not omit_content_length and plain_send(
            destination, data, (content_type, transaction, receipt_id), custom
        ):
            fields = {
                "destination": destination,
                "body": data,
                "content_type": content_type,
                "transaction": transaction,
                "receipt": receipt_id,
                "headers": custom,
            }
            # BodyFrame's validator: content-length follows the body unless given.
            return _SEND.valid(fields, content_length=len(data) if data else None)
        return Send(
            destination=destination,
            body=data,
            content_type=content_type,
            transaction=transaction,
            receipt=receipt_id,
            headers=custom,
            **({"content_length": None} if omit_content_length else {}),
        )

    def ack(
        self, message: Message, *, transaction: str | None = None, receipt: str | bool = False
    ) -> Ack:
        """The ACK of `message`, with the headers the negotiated version wants."""
        if transaction is None and receipt is False:
            ident = self._ack_id(message)
            if ident is not None:
                return _ACK.valid({"transaction": None, "receipt": None, "id": ident})
        fields = self._ack_fields(message, "ACK", transaction, receipt)
        return _ACK.valid(fields) if _valid_as_is(fields) else Ack(**fields)

    def nack(
        self, message: Message, *, transaction: str | None = None, receipt: str | bool = False
    ) -> Nack:
        """The NACK of `message` (STOMP 1.1 and later)."""
        if (self._version or self._wire_version) == "1.0":
            raise LocalProtocolError("NACK does not exist in STOMP 1.0")
        fields = self._ack_fields(message, "NACK", transaction, receipt)
        return _NACK.valid(fields) if _valid_as_is(fields) else Nack(**fields)

    def begin(self, transaction: str | None = None, *, receipt: str | bool = False) -> Begin:
        """A BEGIN of a new transaction; its generated id is `frame.transaction`."""
        name = transaction if transaction is not None else self._fresh("tx", self._transactions)
        return Begin(transaction=name, receipt=self._receipt(receipt))

    def commit(self, transaction: str, *, receipt: str | bool = False) -> Commit:
        """A COMMIT of `transaction`."""
        return Commit(transaction=transaction, receipt=self._receipt(receipt))

    def abort(self, transaction: str, *, receipt: str | bool = False) -> Abort:
        """An ABORT of `transaction`."""
        return Abort(transaction=transaction, receipt=self._receipt(receipt))

    def disconnect(self, *, receipt: str | bool = True) -> Disconnect:
        """A DISCONNECT, with a receipt by default so the close is graceful."""
        return Disconnect(receipt=self._receipt(receipt))

    def heartbeat(self) -> bytes:
        """The bytes of one heart-beat (an EOL)."""
        return EOL

    def _ack_fields(
        self, message: Message, command: str, transaction: str | None, receipt: str | bool
    ) -> dict[str, str | None]:
        if self._ack_mode(message) == "auto":
            raise LocalProtocolError(
                f"{command} of a message from subscription {message.subscription!r}, whose ack "
                "mode is auto"
            )
        fields: dict[str, str | None] = {
            "transaction": transaction,
            "receipt": self._receipt(receipt),
        }
        version = self._version or self._wire_version
        if version == "1.2":
            if message.ack is None:
                raise LocalProtocolError(
                    f"{command} needs the MESSAGE's ack header, which is absent"
                )
            fields["id"] = message.ack
        else:
            fields["message_id"] = message.message_id
            if version == "1.1":
                fields["subscription"] = message.subscription
        return fields

    def _ack_id(self, message: Message) -> str | None:
        """The `id` of the ACK of `message` when that is all it takes (STOMP 1.2, an `ack`
        header, a subscription not known as auto); None leaves it to `_ack_fields`."""
        values = message.__dict__
        ident = values["ack"]
        subscription = values["subscription"]
        if ident is None or subscription is None or (self._version or self._wire_version) != "1.2":
            return None
        known = self._subscriptions.get(subscription)
        return None if known is not None and known.ack == "auto" else ident

    def _ack_mode(self, message: Message) -> AckMode | None:
        """The ack mode of the subscription `message` came from; None if unknown."""
        if message.subscription is not None:
            known = self._subscriptions.get(message.subscription)
            return None if known is None else known.ack
        # A 1.0 MESSAGE may name no subscription: go by destination when that is unambiguous.
        modes = {
            s.ack for s in self._subscriptions.values() if s.destination == message.destination
        }
        return modes.pop() if len(modes) == 1 else None

    def _receipt(self, receipt: str | bool) -> str | None:
        if receipt is True:
            return self._fresh("receipt", self._receipts)
        return receipt or None

    def _fresh(self, prefix: str, taken: Mapping[str, object] | set[str]) -> str:
        while (candidate := f"{prefix}-{next(self._ids)}") in taken:
            pass
        return candidate
