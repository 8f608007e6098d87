"""Typed subscribers: what a handler's signature asks for, and what each outcome sends.

The outcome policy is the same for every driver and every broker:

- the handler returns: ACK; a value it returns goes to the MESSAGE's `reply-to` (if any),
  with the request's `correlation-id`, before the ACK;
- the body cannot become the payload (`PayloadError`): it never will, so it must not come back.
  With a dead-letter destination, the original body and headers go there with
  `x-dead-letter-reason`, then the message is ACKed; without one it is NACKed with
  ``requeue:false`` (RabbitMQ drops or dead-letters it; ActiveMQ dead-letters every NACK); in
  STOMP 1.0, which has no NACK, it is ACKed (dropped);
- the handler raises: NACK (`ClientSession.handler_failed`): RabbitMQ redelivers the message;
  ActiveMQ moves a persistent one to `ActiveMQ.DLQ` (and drops a non-persistent one).

A message from before a reconnect is neither ACKed nor NACKed: the broker took it back.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple, TypeAlias, TypeVar

from stompmodels._client.payloads import PayloadDecoder, PayloadError, one_line
from stompmodels._client.session import ClientSession, Outgoing
from stompmodels._frames import Message, Send
from stompmodels._headers import AckMode
from stompmodels._state import State

W = TypeVar("W")
S = TypeVar("S")
Outcome: TypeAlias = Literal["handled", "invalid", "failed"]

DEAD_LETTER_REASON: Final = "x-dead-letter-reason"
"""The header a dead-lettered message carries: why its payload was refused."""
ORIGINAL_DESTINATION: Final = "x-original-destination"
ORIGINAL_MESSAGE_ID: Final = "x-original-message-id"
# Not copied to a dead-letter copy: the SEND's own headers, and what the broker said of that
# delivery (ActiveMQ's `expires` is absolute: kept, the copy would expire from the dead letters).
_NOT_FORWARDED: Final = Send.wire_fields | {"content-length", "expires", "redelivered"}


@dataclass(frozen=True, slots=True)
class SubscriberSpec:
    """A typed subscriber: its handler, what the handler takes, and its settings."""

    handler: Callable[..., object]
    destination: str
    ack: AckMode
    max_concurrent: int
    dead_letter: str | None
    prefetch: int
    headers: Mapping[str, str]
    decoder: PayloadDecoder[object]
    wants_message: bool

    @property
    def name(self) -> str:
        """The handler's name, for log lines."""
        return getattr(self.handler, "__qualname__", None) or repr(self.handler)

    @classmethod
    def of(
        cls,
        handler: Callable[..., object],
        destination: str,
        *,
        ack: AckMode,
        max_concurrent: int,
        dead_letter: str | None,
        prefetch: int | None,
        headers: Mapping[str, str] | None,
        asynchronous: bool | None,
    ) -> SubscriberSpec:
        """The spec of `handler`; TypeError if its signature cannot be served, ValueError for
        settings that contradict each other. `asynchronous`: whether the driver takes only
        `async def` handlers (True), only plain functions (False), or both (None)."""
        if not destination:
            raise ValueError("a subscriber needs a destination")
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if prefetch is not None and prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        if ack == "client" and max_concurrent > 1:
            raise ValueError(
                "ack='client' acknowledges every earlier message too, so its handlers cannot "
                "run concurrently: use ack='client-individual' or max_concurrent=1"
            )
        name = getattr(handler, "__qualname__", None) or repr(handler)
        if asynchronous is not None and inspect.iscoroutinefunction(handler) is not asynchronous:
            kind = "an async function (async def)" if asynchronous else "a plain function"
            other = "the blocking client" if asynchronous else "the asyncio client"
            raise TypeError(f"subscriber {name} must be {kind} here; {other} takes the other kind")
        payload, wants_message = _parameters(handler, name)
        return cls(
            handler=handler,
            destination=destination,
            ack=ack,
            max_concurrent=max_concurrent,
            dead_letter=dead_letter,
            prefetch=prefetch if prefetch is not None else max_concurrent,
            headers=dict(headers or {}),
            decoder=PayloadDecoder(payload),
            wants_message=wants_message,
        )

    def refused(self, message: Message, error: PayloadError) -> str:
        """The line to log (at ERROR) when `message` cannot be the handler's payload."""
        return (
            f"subscriber {self.name} refused message {message.message_id} from "
            f"{message.destination}: {error}"
        )

    def failed(self, message: Message) -> str:
        """The line to log (at ERROR, with the traceback) when the handler raised."""
        return (
            f"subscriber {self.name} failed on message {message.message_id} from "
            f"{message.destination}"
        )

    def arguments(self, message: Message) -> tuple[object, ...]:
        """What the handler is called with (PayloadError if the body cannot be its payload)."""
        payload = self.decoder.decode(message)
        return (payload, message) if self.wants_message else (payload,)


def _parameters(handler: Callable[..., object], name: str) -> tuple[type[object], bool]:
    """The payload type of `handler` and whether it also takes the Message."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot read the signature of subscriber {name}: {exc}") from None
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    required = [
        p
        for p in signature.parameters.values()
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if not positional or len(required) > 2 or any(p not in positional[:2] for p in required):
        raise TypeError(
            f"subscriber {name} must take the payload, and optionally the Message, as its "
            f"first two positional parameters; it takes {signature}"
        )
    try:
        hints = typing.get_type_hints(handler)
    except NameError as exc:
        raise TypeError(
            f"cannot resolve the annotations of subscriber {name} ({exc}): define the payload "
            "type where the handler's module can see it"
        ) from None
    first = positional[0]
    payload = hints.get(first.name)
    if payload is None:
        raise TypeError(
            f"annotate the first parameter of subscriber {name} ({first.name!r}) with the "
            "payload type (a model, a dataclass, list[Order], str, bytes, ...)"
        )
    wants_message = len(positional) > 1 and positional[1].default is positional[1].empty
    if wants_message and hints.get(positional[1].name) is not Message:
        raise TypeError(
            f"the second parameter of subscriber {name} ({positional[1].name!r}) gets the "
            "frame: annotate it as stompmodels.Message"
        )
    return payload, wants_message


class Settlement(NamedTuple):
    """What a subscriber's outcome sends, in order (await each receipt before the next), a
    line for the log at INFO when something could not be sent, and which outcome it was
    ("handled", "invalid" or "failed": a SEND is a reply after the first, a dead-letter copy
    after the second)."""

    sends: tuple[Outgoing, ...]
    note: str | None
    outcome: Outcome


def settle_handled(
    session: ClientSession[W, S], spec: SubscriberSpec, message: Message, result: object
) -> Settlement:
    """The handler returned `result`: its reply (if it gave one and the message asks), then
    the ACK."""
    sends: list[Outgoing] = []
    reply_to = message.headers.get("reply-to")
    if result is not None and reply_to and session.engine.state is State.CONNECTED:
        sends.append(
            session.publish(reply_to, result, correlation_id=message.headers.get("correlation-id"))
        )
    if spec.ack == "auto":
        return Settlement(tuple(sends), None, "handled")
    why = _cannot_settle(session, message, "ACK")
    if why is None:
        sends.append(session.acknowledge(message))
    return Settlement(tuple(sends), why, "handled")


def settle_invalid(
    session: ClientSession[W, S], spec: SubscriberSpec, message: Message, error: PayloadError
) -> Settlement:
    """The body cannot be the payload: dead-letter it and ACK, or NACK it without requeue."""
    command = "ACK" if spec.dead_letter or session.engine.version == "1.0" else "NACK"
    why = _cannot_settle(session, message, command)
    if why is not None:
        return Settlement((), why, "invalid")
    sends: list[Outgoing] = []
    if spec.dead_letter is not None:
        sends.append(dead_letter(session, spec.dead_letter, message, str(error)))
    if spec.ack == "auto":
        return Settlement(tuple(sends), None, "invalid")
    if command == "ACK":
        sends.append(session.acknowledge(message))
    else:
        sends.append(session.acknowledge(message, nack=True, headers={"requeue": "false"}))
    return Settlement(tuple(sends), None, "invalid")


def settle_failed(
    session: ClientSession[W, S], spec: SubscriberSpec, message: Message
) -> Settlement:
    """The handler raised: NACK where the version and ack mode have it, so the broker can
    redeliver the message now rather than after the connection ends."""
    if spec.ack == "auto":
        return Settlement((), None, "failed")
    why = _cannot_settle(session, message, "NACK")
    if why is not None:
        return Settlement((), why, "failed")
    data = session.handler_failed(message)
    if not data:
        return Settlement(
            (), f"message {message.message_id} left unacknowledged (no NACK here)", "failed"
        )
    return Settlement((Outgoing(data, None, "NACK"),), None, "failed")


def dead_letter(
    session: ClientSession[W, S], destination: str, message: Message, reason: str
) -> Outgoing:
    """The SEND that forwards `message` (body, content-type and custom headers) to
    `destination` with why, asking for a receipt: the original is ACKed only once the copy
    is safe."""
    headers = {k: v for k, v in message.headers.items() if k not in _NOT_FORWARDED}
    headers[DEAD_LETTER_REASON] = one_line(reason)
    headers[ORIGINAL_DESTINATION] = message.destination
    headers[ORIGINAL_MESSAGE_ID] = message.message_id
    return session.send(
        destination, message.body, content_type=message.content_type, headers=headers, receipt=True
    )


def _cannot_settle(session: ClientSession[W, S], message: Message, command: str) -> str | None:
    stale = session.stale(message, command)
    if stale is not None:
        return stale
    if session.engine.state is not State.CONNECTED:
        return (
            f"{command} of message {message.message_id} not sent: the connection is lost, and "
            "the broker delivers it again"
        )
    return None
