"""Handlers mypy must reject. Excluded from the normal mypy run; tests/test_typing.py runs
mypy on this file alone and checks that each line whose comment is a mark (E, a colon, an
error code, then words) gets exactly that error, its message containing the words, and that
no other line gets one."""

from __future__ import annotations

from stompmodels import Connected, Engine, Error, Message, Receipt, Router, Send

engine = Engine()
router = Router()


@engine.on(Receipt)  # E: arg-type "Callable[[Message], None]" "Callable[[Receipt],"
def receipt_handler_taking_a_message(message: Message) -> None:
    return None


@engine.on(Error)  # E: arg-type "Callable[[Receipt], None]" "Callable[[Error],"
def error_handler_taking_a_receipt(receipt: Receipt) -> None:
    return None


@router.on(Message)  # E: arg-type "Callable[[Connected], None]" "Callable[[Message],"
def message_handler_on_a_router_taking_connected(connected: Connected) -> None:
    return None


@router.on(Message)  # E: arg-type "Callable[[Message], Connected]"
def replying_with_a_server_frame(message: Message) -> Connected:
    raise NotImplementedError


@router.on(Message)  # E: arg-type "Callable[[Message], str]"
def replying_with_text(message: Message) -> str:
    return "ACK"


@router.on(Message)  # E: arg-type "Callable[[Message, int], None]"
def taking_two_arguments(message: Message, extra: int) -> None:
    return None


def is_small(receipt: Receipt) -> bool:
    return len(receipt.receipt_id) < 3


@engine.on(Message, where=is_small)  # E: arg-type "where" "Callable[[Receipt], bool]"
def narrowed_by_a_receipt_predicate(message: Message) -> None:
    return None


@engine.on(Message, where=lambda m: m.receipt_id == "x")  # E: attr-defined "Message" "receipt_id"
def narrowed_by_a_wrong_attribute(message: Message) -> None:
    return None


engine.on(Send)  # E: type-var "Send"
