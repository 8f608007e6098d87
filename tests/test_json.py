"""JSON form of the frames (issue #12, items 6-8): exact round trips, python-mode values, schemas.

JSON gives a body as standard base64, accept-version as a list of versions, heart-beat as a
[send_ms, receive_ms] pair and a passcode masked (pydantic's `SecretStr` default): a frame
without a passcode validates back from its JSON equal to itself; one with a passcode comes back
with the mask as its passcode, never the secret.
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any, Final

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, TypeAdapter

from stompmodels import (
    Abort,
    Ack,
    Begin,
    Commit,
    Connect,
    Connected,
    Disconnect,
    Error,
    Frame,
    HeartBeat,
    Message,
    Nack,
    Receipt,
    Send,
    Stomp,
    Subscribe,
    Unsubscribe,
    Version,
)
from tests.strategies import MODELS, frame_of, model_version_pairs, pair_id

FRAME: Final = TypeAdapter(Frame)
PAIRS = model_version_pairs()
PAIR_IDS = [pair_id(p) for p in PAIRS]
MASK: Final = "**********"
SECRET: Final = "hunter2-not-in-json"
JSON_ROUND_TRIP = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

SAMPLES: Final[list[Any]] = [
    Connect(
        accept_version="1.1,1.2",
        host="/",
        login="guest",
        passcode=SECRET,
        heart_beat="10000,5000",
        headers={"x-a": "1"},
    ),
    Connect(accept_version=None, host=None),
    Stomp(accept_version=["1.2"], host="vhost", heart_beat=(0, 0)),
    Send(destination="/queue/a", body=b"\xff\x00bin", content_type="application/octet-stream"),
    Send(destination="/queue/a", body="héllo", transaction="t", content_length=None),
    Subscribe(destination="/queue/a", id="0", ack="client-individual", receipt="r"),
    Unsubscribe(id="0"),
    Ack(id="m-1"),
    Ack(message_id="m-1", subscription="0", transaction="t"),
    Nack(message_id="m-1", subscription="0"),
    Begin(transaction="t"),
    Commit(transaction="t", receipt="r"),
    Abort(transaction="t"),
    Disconnect(receipt="bye"),
    Connected(version="1.2", session="s", server="x/1", heart_beat=HeartBeat(2**63, 1)),
    Message(destination="/q", message_id="1", subscription="s", body=b"\xff\x00"),
    Message(destination="/q", message_id="1", subscription="s", headers={"body": "custom"}),
    Receipt(receipt_id="r-1"),
    Error(message="bad", body=b"details\n", receipt_id="r"),
]


def _without_passcode(frame: Any) -> Any:
    if getattr(frame, "passcode", None) is None:
        return frame
    return frame.model_copy(update={"passcode": None})


def _assert_json_round_trip(frame: Any) -> None:
    cls = type(frame)
    text = frame.model_dump_json()
    assert cls.model_validate_json(text) == frame
    assert cls.model_validate_json(frame.model_dump_json(by_alias=True)) == frame
    # model_dump(mode="json") is the same form as model_dump_json.
    assert json.loads(text) == frame.model_dump(mode="json")
    assert cls.model_validate_json(json.dumps(frame.model_dump(mode="json"))) == frame
    assert FRAME.validate_json(FRAME.dump_json(frame)) == frame
    assert FRAME.validate_json(text) == frame


# -- item 6: JSON round trips, base64 bodies, masked passcodes ------------------------------------


def test_binary_body_dumps_as_base64_and_validates_back() -> None:
    frame = Message(destination="/q", message_id="1", subscription="s", body=b"\xff\x00")
    text = frame.model_dump_json()
    assert json.loads(text)["body"] == "/wA="  # standard base64 (RFC 4648 section 4)
    assert frame.model_dump(mode="json")["body"] == "/wA="
    assert frame.model_dump()["body"] == b"\xff\x00"  # python mode keeps the bytes
    assert Message.model_validate_json(text) == frame
    assert FRAME.validate_json(FRAME.dump_json(frame)) == frame
    assert FRAME.dump_python(frame, mode="json")["body"] == "/wA="


def test_json_body_is_base64_for_every_body_model_and_text_only_in_python_mode() -> None:
    for cls, fields in (
        (Send, {"destination": "/q"}),
        (Message, {"destination": "/q", "message_id": "1", "subscription": "s"}),
        (Error, {}),
    ):
        data = json.dumps({**fields, "body": base64.b64encode(b"hi\x00").decode()})
        assert cls.model_validate_json(data).body == b"hi\x00"
        # The URL-safe alphabet is read too.
        assert cls.model_validate_json(json.dumps({**fields, "body": "_w=="})).body == b"\xff"
    # A str body given in Python is still text (SEND encodes it in its charset).
    assert Send(destination="/q", body="aGk=").body == b"aGk="


@pytest.mark.parametrize("frame", SAMPLES, ids=lambda f: type(f).__name__)
def test_sample_frames_round_trip_through_json(frame: Any) -> None:
    _assert_json_round_trip(_without_passcode(frame))


@pytest.mark.slow
@pytest.mark.parametrize(("cls", "version"), PAIRS, ids=PAIR_IDS)
@JSON_ROUND_TRIP
@given(data=st.data())
def test_every_frame_round_trips_through_json(
    cls: type[Any], version: Version, data: st.DataObject
) -> None:
    frame = _without_passcode(data.draw(frame_of(cls, version)))
    _assert_json_round_trip(frame)


@pytest.mark.parametrize("cls", [Connect, Stomp])
@pytest.mark.parametrize("passcode", [SECRET, SecretStr(SECRET)])
def test_passcode_never_appears_in_json(cls: type[Any], passcode: str | SecretStr) -> None:
    frame = cls(accept_version="1.2", host="/", login="u", passcode=passcode)
    texts = [
        frame.model_dump_json(),
        frame.model_dump_json(by_alias=True),
        json.dumps(frame.model_dump(mode="json")),
        FRAME.dump_json(frame).decode(),
    ]
    for text in texts:
        assert SECRET not in text
        assert MASK in text
    # The documented loss: JSON cannot carry the secret, so it comes back as the mask.
    back = cls.model_validate_json(frame.model_dump_json())
    assert back.passcode is not None and back.passcode.get_secret_value() == MASK
    assert back == frame.model_copy(update={"passcode": MASK})


# -- item 8: python mode gives Python values, JSON mode JSON-native ones --------------------------


@pytest.mark.parametrize("cls", [Connect, Stomp])
def test_python_dump_gives_values_not_wire_text(cls: type[Any]) -> None:
    frame = cls(accept_version="1.1,1.2", host="/", heart_beat="10000,5000")
    dumped = frame.model_dump()
    assert dumped["accept_version"] == ("1.1", "1.2")
    assert isinstance(dumped["accept_version"], tuple)
    assert dumped["heart_beat"] == HeartBeat(10000, 5000)
    assert isinstance(dumped["heart_beat"], tuple)
    assert cls.model_validate(dumped) == frame
    as_json = frame.model_dump(mode="json")
    assert as_json["accept_version"] == ["1.1", "1.2"]
    assert as_json["heart_beat"] == [10000, 5000]
    assert cls.model_validate(as_json) == frame
    assert cls.model_validate_json(json.dumps(as_json)) == frame


def test_connected_heart_beat_dumps() -> None:
    frame = Connected(version="1.2", heart_beat=(0, 250))
    assert frame.model_dump()["heart_beat"] == (0, 250)
    assert frame.model_dump(mode="json")["heart_beat"] == [0, 250]
    assert '"heart_beat":[0,250]' in frame.model_dump_json()


# -- item 7: JSON schemas in both modes, checked against the dumps --------------------------------

SCHEMA_OWNERS: Final[list[Any]] = [*MODELS, FRAME]


def _schema(owner: Any, mode: str) -> dict[str, Any]:
    if isinstance(owner, TypeAdapter):
        return owner.json_schema(mode=mode)  # type: ignore[arg-type]
    schema: dict[str, Any] = owner.model_json_schema(mode=mode)
    return schema


def _name(owner: Any) -> str:
    return owner.__name__ if isinstance(owner, type) else "Frame"


@pytest.mark.parametrize("mode", ["validation", "serialization"])
@pytest.mark.parametrize("owner", SCHEMA_OWNERS, ids=_name)
def test_every_schema_is_a_valid_json_schema(owner: Any, mode: str) -> None:
    jsonschema.Draft202012Validator.check_schema(_schema(owner, mode))


@pytest.mark.parametrize("mode", ["validation", "serialization"])
@pytest.mark.parametrize("cls", [Connect, Stomp])
def test_connect_schema_types_accept_version_and_heart_beat(cls: type[Any], mode: str) -> None:
    properties = _schema(cls, mode)["properties"]
    versions = json.dumps(properties["accept-version"])
    assert '"array"' in versions and '"pattern"' in versions
    heart_beat = json.dumps(properties["heart-beat"])
    assert '"integer"' in heart_beat and '"minimum": 0' in heart_beat
    assert properties["heart-beat"]["default"] == [0, 0]


@functools.cache
def _validator(name: str, mode: str) -> jsonschema.Draft202012Validator:
    owner = FRAME if name == "Frame" else MODELS_BY_NAME[name]
    return jsonschema.Draft202012Validator(_schema(owner, mode))


MODELS_BY_NAME: Final = {cls.__name__: cls for cls in MODELS}


def _check_against_schemas(frame: Any) -> None:
    # The schemas name properties by alias (the wire names), as model_json_schema does.
    dumped = frame.model_dump(mode="json", by_alias=True)
    for owner in (type(frame).__name__, "Frame"):
        for mode in ("validation", "serialization"):
            _validator(owner, mode).validate(dumped)
    # It validates back; a passcode as the mask it was dumped as (an empty one stays empty).
    expected = frame
    if getattr(frame, "passcode", None) is not None:
        assert dumped["passcode"] in (MASK, "")
        expected = frame.model_copy(update={"passcode": dumped["passcode"]})
    assert type(frame).model_validate_json(json.dumps(dumped)) == expected


@pytest.mark.parametrize("frame", SAMPLES, ids=lambda f: type(f).__name__)
def test_sample_dumps_validate_against_the_schemas(frame: Any) -> None:
    _check_against_schemas(frame)


def test_validation_schema_takes_the_wire_text_and_refuses_nonsense() -> None:
    validator = _validator("Connect", "validation")
    good = {"accept-version": "1.1,1.2", "host": "/", "heart-beat": "10,20"}
    validator.validate(good)
    assert Connect.model_validate_json(json.dumps(good)).heart_beat == (10, 20)
    for bad in (
        {**good, "heart-beat": [1]},
        {**good, "heart-beat": [-1, 0]},
        {**good, "heart-beat": "1;2"},
        {**good, "accept-version": []},
        {**good, "accept-version": ["2.0"]},
        {**good, "accept-version": "x"},
        {**good, "bogus": 1},
    ):
        assert not validator.is_valid(bad), bad


@pytest.mark.slow
@pytest.mark.parametrize(("cls", "version"), PAIRS, ids=PAIR_IDS)
@JSON_ROUND_TRIP
@given(data=st.data())
def test_every_frame_dump_validates_against_the_schemas(
    cls: type[Any], version: Version, data: st.DataObject
) -> None:
    _check_against_schemas(data.draw(frame_of(cls, version)))
