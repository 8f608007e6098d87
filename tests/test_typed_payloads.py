"""Typed payloads, the pure layer: what a value becomes on the wire (`encode_payload`) and what
a MESSAGE's body becomes for a handler (`PayloadDecoder`, `decoder_for`), by content-type."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

from stompmodels import Message, parse_frame
from stompmodels._client.payloads import (
    JSON,
    TEXT,
    PayloadDecoder,
    PayloadError,
    decoder_for,
    encode_payload,
    is_json,
    media_type,
)

ORDER_JSON = b'{"id":1,"amount":9.5}'


class Order(BaseModel):
    id: int
    amount: float


@dataclasses.dataclass
class Point:
    x: int
    y: int


class OrderDict(TypedDict):
    id: int
    note: str


class Opaque:
    """A plain class: pydantic can neither serialise an instance nor build a schema for it."""

    def __init__(self, secret: object) -> None:
        self.secret = secret


def message(body: bytes, content_type: str | None = None) -> Message:
    return Message(
        destination="/queue/orders",
        message_id="m-1",
        subscription="s-1",
        body=body,
        content_type=content_type,
        headers={"x-trace": "t-1"},
    )


# -- encode_payload ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", [b"\x00\xffraw", bytearray(b"\x00\xffraw"), memoryview(b"\x00\xffraw")]
)
def test_bytes_like_payloads_go_as_they_are_without_a_content_type(
    raw: bytes | bytearray | memoryview,
) -> None:
    body, content_type = encode_payload(raw)
    assert type(body) is bytes
    assert body == b"\x00\xffraw"
    assert content_type is None
    assert encode_payload(raw, "image/png") == (b"\x00\xffraw", "image/png")


def test_str_goes_as_utf8_text() -> None:
    assert encode_payload("crème €") == ("crème €".encode(), "text/plain;charset=utf-8")
    assert TEXT == "text/plain;charset=utf-8"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (Order(id=1, amount=9.5), ORDER_JSON),
        (Point(x=1, y=2), b'{"x":1,"y":2}'),
        ({"a": [1, True, None, "é"]}, '{"a":[1,true,null,"é"]}'.encode()),
        ([Order(id=2, amount=0.5)], b'[{"id":2,"amount":0.5}]'),
        (42, b"42"),
    ],
    ids=["model", "dataclass", "dict", "list-of-models", "int"],
)
def test_everything_else_goes_as_json(payload: object, expected: bytes) -> None:
    assert encode_payload(payload) == (expected, JSON)
    assert JSON == "application/json"


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        ("<p>hi</p>", "text/html;charset=utf-8"),
        (Order(id=1, amount=9.5), "application/vnd.orders+json"),
        ({"k": 1}, "text/plain"),
    ],
)
def test_a_content_type_given_wins(payload: object, content_type: str) -> None:
    body, chosen = encode_payload(payload, content_type)
    assert chosen == content_type
    assert body == (payload.encode() if isinstance(payload, str) else encode_payload(payload)[0])


@pytest.mark.parametrize(
    ("payload", "named"),
    [(Opaque(1), "Opaque"), ({"inner": Opaque(2)}, "dict"), (object(), "object")],
)
def test_what_cannot_be_json_is_a_type_error_naming_the_type(payload: object, named: str) -> None:
    with pytest.raises(TypeError, match=f"cannot send a {named} as JSON") as caught:
        encode_payload(payload)
    assert caught.value.__cause__ is None  # `from None`: the message says it all
    assert "Opaque" in str(caught.value) or named == "object"


# -- media types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "media", "json_"),
    [
        (None, "", False),
        ("", "", False),
        ("application/json", "application/json", True),
        ("Application/JSON; charset=UTF-8", "application/json", True),
        ("application/vnd.x+json", "application/vnd.x+json", True),
        ("application/problem+JSON;v=1", "application/problem+json", True),
        ("application/jsonp", "application/jsonp", False),
        ("application/json-patch", "application/json-patch", False),
        (" text/plain ;charset=latin-1", "text/plain", False),
        ("application/octet-stream", "application/octet-stream", False),
    ],
)
def test_media_type_and_is_json(content_type: str | None, media: str, json_: bool) -> None:
    assert media_type(content_type) == media
    assert is_json(content_type) is json_


# -- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        None,
        "application/vnd.x+json",
        "APPLICATION/JSON;charset=utf-8",
    ],
)
def test_json_bodies_become_the_model(content_type: str | None) -> None:
    decoded = PayloadDecoder(Order).decode(message(ORDER_JSON, content_type))
    assert decoded == Order(id=1, amount=9.5)
    assert type(decoded) is Order


def test_json_in_another_charset_is_read_as_text_first() -> None:
    body = '{"id": 7, "amount": 1.25}'.encode("utf-16")
    decoded = PayloadDecoder(Order).decode(message(body, "application/json;charset=utf-16"))
    assert decoded == Order(id=7, amount=1.25)
    # Without the charset the same bytes are not JSON (JSON's own default is UTF-8).
    with pytest.raises(PayloadError, match="not a valid Order"):
        PayloadDecoder(Order).decode(message(body, "application/json"))


def test_text_becomes_str_in_its_charset() -> None:
    body = "café".encode("latin-1")
    assert PayloadDecoder(str).decode(message(body, "text/plain;charset=latin-1")) == "café"
    assert PayloadDecoder(str).decode(message("€".encode(), "text/plain")) == "€"  # UTF-8
    # str takes the body's text whatever the content-type: JSON stays unparsed.
    assert PayloadDecoder(str).decode(message(b'"x"', "application/json")) == '"x"'


@pytest.mark.parametrize("content_type", [None, "application/json", "application/octet-stream"])
def test_bytes_take_the_body_as_it_is(content_type: str | None) -> None:
    raw = b"\xff\x00{not json"
    assert PayloadDecoder(bytes).decode(message(raw, content_type)) == raw


def test_a_list_of_models() -> None:
    body = b'[{"id":1,"amount":1},{"id":2,"amount":2.5}]'
    decoded = PayloadDecoder(list[Order]).decode(message(body, JSON))
    assert decoded == [Order(id=1, amount=1.0), Order(id=2, amount=2.5)]
    with pytest.raises(PayloadError, match=r"1\.id: ") as caught:
        PayloadDecoder(list[Order]).decode(message(b'[{"id":1,"amount":1},{"id":"x","amount":1}]'))
    assert str(caught.value).startswith("not a valid list")


def test_a_dataclass_and_a_typed_dict() -> None:
    point = PayloadDecoder(Point).decode(message(b'{"x":3,"y":4}', JSON))
    assert point == Point(x=3, y=4)
    assert type(point) is Point
    typed = PayloadDecoder(OrderDict).decode(message(b'{"id":"5","note":"n"}'))
    assert typed == {"id": 5, "note": "n"}  # lax mode: "5" becomes 5
    with pytest.raises(PayloadError, match="not a valid OrderDict: note: Field required"):
        PayloadDecoder(OrderDict).decode(message(b'{"id":5}'))


def test_a_structured_type_validates_text_as_a_python_value() -> None:
    assert PayloadDecoder(int).decode(message(b"42", "text/plain")) == 42
    with pytest.raises(PayloadError, match="not a valid int"):
        PayloadDecoder(int).decode(message(b"forty-two", "text/plain"))
    # A model is not made from text: text/plain JSON is a string to it, not a dict.
    with pytest.raises(PayloadError, match="not a valid Order"):
        PayloadDecoder(Order).decode(message(ORDER_JSON, "text/plain"))


def test_invalid_json_is_a_payload_error_on_one_line_naming_the_type() -> None:
    with pytest.raises(PayloadError) as caught:
        PayloadDecoder(Order).decode(message(b'{"id": 1,\n\n "amount": ', JSON))
    text = str(caught.value)
    assert text.startswith("not a valid Order: ")
    assert "Invalid JSON" in text
    assert "\n" not in text
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value.__cause__, ValidationError)  # request() re-raises this


def test_a_validation_failure_names_the_field() -> None:
    with pytest.raises(PayloadError) as caught:
        PayloadDecoder(Order).decode(message(b'{"id":1,"amount":"lots"}', JSON))
    text = str(caught.value)
    assert text.startswith("not a valid Order: amount: ")
    assert "id:" not in text  # only the field that failed
    assert "\n" not in text


def test_a_content_type_that_is_neither_json_nor_text_is_refused_naming_it() -> None:
    with pytest.raises(PayloadError) as caught:
        PayloadDecoder(Order).decode(message(ORDER_JSON, "application/octet-stream"))
    assert str(caught.value) == (
        "a body of content-type application/octet-stream cannot be read as Order"
    )


@pytest.mark.parametrize(
    ("kind", "body", "content_type"),
    [
        (str, b"\xff\xfe\xfd", "text/plain"),
        (str, b"abc", "text/plain;charset=no-such-charset"),
        (Order, b"\xff\xfe\xfd", "text/plain;charset=utf-8"),
        (Order, ORDER_JSON, "application/json;charset=no-such-charset"),
    ],
)
def test_a_body_that_is_not_text_in_its_charset_is_a_payload_error(
    kind: type[object], body: bytes, content_type: str
) -> None:
    with pytest.raises(PayloadError, match="the body is not text in its charset"):
        PayloadDecoder(kind).decode(message(body, content_type))


def test_a_type_pydantic_cannot_validate_is_a_type_error_at_once() -> None:
    with pytest.raises(TypeError, match="pydantic cannot validate Opaque") as caught:
        PayloadDecoder(Opaque)
    assert not isinstance(caught.value, PayloadError)
    with pytest.raises(TypeError, match="Opaque"):
        decoder_for(Opaque)


def test_decoders_are_made_once_per_type() -> None:
    decoder = decoder_for(Order)
    assert decoder is decoder_for(Order)
    assert decoder.kind is Order
    assert decoder.name == "Order"
    assert decoder_for(list[Order]) is decoder_for(list[Order])  # equal aliases: one decoder
    points: PayloadDecoder[object] = decoder_for(list[Point])
    assert points is not decoder_for(list[Order])
    assert points.name.startswith("list")  # today "list": an alias is named by its origin
    assert decoder_for(bytes).decode(message(b"\x01")) == b"\x01"


def test_an_unhashable_type_gets_a_fresh_decoder_each_time() -> None:
    unhashable: type[int] = Annotated[int, ["metadata in a list"]]  # type: ignore[assignment]
    first, second = decoder_for(unhashable), decoder_for(unhashable)
    assert first is not second
    assert first.decode(message(b"3")) == 3


# -- property: what is encoded decodes to itself -----------------------------------------------

JSON_VALUES = st.recursive(
    st.integers() | st.text() | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.dictionaries(st.text(), JSON_VALUES, max_size=5) | st.lists(JSON_VALUES))
def test_json_values_survive_a_message_round_trip(value: object) -> None:
    body, content_type = encode_payload(value)
    assert json.loads(body) == value  # what went out is standard JSON
    sent = message(body, content_type)
    received = parse_frame(sent.to_wire("1.2"), "1.2")
    assert isinstance(received, Message)
    decoded = decoder_for(object).decode(received)
    assert decoded == value
    assert repr(decoded) == repr(value)  # True stays True, not 1; key order is kept
