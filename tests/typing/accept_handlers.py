"""Handlers mypy must accept: each parameter matches the model it is registered for.

Checked by tests/test_typing.py (and by the normal mypy run): the same shapes as in
reject_handlers.py, typed right, so the rejection there is not vacuous.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_type

from stompmodels import (
    Ack,
    ClientFrame,
    Connected,
    Engine,
    Error,
    Handler,
    Message,
    Nack,
    Receipt,
    Router,
    Subscribe,
)

engine = Engine()
router = Router()


@engine.on(Message)
def on_message(message: Message) -> None:
    return None


@engine.on(Receipt)
def on_receipt(receipt: Receipt) -> None:
    print(receipt.receipt_id)


@engine.on(Error)
def on_error(error: Error) -> None:
    print(error.message)


@engine.on(Connected)
def on_connected(connected: Connected) -> Subscribe:
    return engine.subscribe("/queue/" + (connected.session or "default"))


@router.on(Message, destination="/queue/orders")
def ack_orders(message: Message) -> Ack:
    return engine.ack(message)


@router.on(Message, subscription="sub-1", where=lambda message: message.text.startswith("x"))
def nack_x(message: Message) -> Nack | None:
    return engine.nack(message) if message.body else None


def is_urgent(message: Message) -> bool:
    return message.headers.get("priority") == "9"


@router.on(Message, where=is_urgent)
def urgent(message: Message) -> ClientFrame | None:
    return None


# A handler may accept more than the model it is registered for (parameters are contravariant).
def anything(frame: Message | Receipt) -> None:
    return None


router.on(Message)(anything)
router.on(Receipt)(anything)


engine.include(router)

# The decorator hands back a handler of the registered model.
assert_type(on_message, Handler[Message])
assert_type(on_receipt, Callable[[Receipt], ClientFrame | None])
