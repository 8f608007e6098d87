"""Every fast path gives exactly what the general, validated path gives.

The fast paths skip work that is redundant for the inputs they take: the decoder builds
frames of plain-str models without pydantic validation (`as_is_frame`), the builders make ACK
and SEND frames without it (`Plan.valid`), headers that need no escaping are encoded in one
pass (`encode_plain`), an ACK or NACK with only an `id` is encoded directly
(`Acknowledgement.to_wire`), and `Engine.encode_ack` / `Engine.encode_send` give the bytes of
a frame without building it. Each test compares a fast path with its general path, for every
STOMP version and header form: the same model (type, field values in field order, fields set),
the same bytes, the same session afterwards, or the same error.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from stompmodels import (
    Ack,
    AckMode,
    Connected,
    Engine,
    Frame,
    FrameDecoder,
    LocalProtocolError,
    Message,
    Nack,
    ProtocolError,
    Send,
    Version,
)
from stompmodels._codec import encode_each, encode_plain, frame_bytes
from stompmodels._decoder import _PLANS, as_is_frame, build_frame, validated_frame
from stompmodels._limits import Limits
from stompmodels._model import FrameModel
from stompmodels._reader import FrameReader, RawFrame
from stompmodels._state import ROWS, TRANSITIONS, State
from tests.strategies import VERSIONS, frame_of, header_text, models_for
from tests.vectors import VALID

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AS_IS = [model for model in _PLANS.values() if model.decoded_as_is]

# Text that stresses the codec: every character STOMP escapes, NUL, SOH (the codec's second
# separator), and plain text.
TEXT = st.text(st.sampled_from("ab:\\\n\r\x00\x01 é/-"), max_size=6)


def assert_same_frame(fast: FrameModel, general: FrameModel) -> None:
    """Same class, same field values in the same order, same fields marked as set."""
    assert type(fast) is type(general)
    assert list(fast.__dict__.items()) == list(general.__dict__.items())
    assert fast.model_fields_set == general.model_fields_set
    assert repr(fast) == repr(general)


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What a call gave: its result, or the type and text of the error it raised."""
    try:
        return "ok", call()
    except (ValueError, TypeError) as exc:  # ValidationError and both protocol errors too
        return type(exc).__name__, str(exc)


def assert_same_outcome(fast: Callable[[], Any], general: Callable[[], Any]) -> None:
    got, want = outcome(fast), outcome(general)
    if got[0] == want[0] == "ok" and isinstance(want[1], FrameModel):
        assert_same_frame(got[1], want[1])
    else:
        assert got == want


def raw_frames(wire: bytes, version: Version) -> list[RawFrame]:
    reader = FrameReader(version, Limits())
    reader.feed(wire)
    frames = []
    while (raw := reader.next_frame()) is not None:
        frames.append(raw)
    return frames


# ---- Decoding: as_is_frame builds what validation builds.


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.name)
def test_vectors_decode_as_validation_does(case: Any) -> None:
    (raw,) = raw_frames(case.wire, case.version)
    plan = _PLANS[raw.command]
    general = validated_frame(plan, raw)
    assert_same_frame(build_frame(raw, case.version), general)
    if plan.decoded_as_is:
        fast = as_is_frame(plan, raw)
        if fast is None:  # declined: only a bodiless frame's content-length needs the validator
            assert not plan.carries_body and "content-length" in raw.headers
        else:
            assert_same_frame(fast, general)


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
@FAST
@given(data=st.data())
def test_random_frames_decode_as_validation_does(version: Version, data: st.DataObject) -> None:
    plan = data.draw(st.sampled_from([p for p in AS_IS if p.model in models_for(version)]))
    frame = data.draw(frame_of(plan.model, version))
    (raw,) = raw_frames(frame.to_wire(version), version)
    fast = as_is_frame(plan, raw)
    assert fast is not None
    assert_same_frame(fast, validated_frame(plan, raw))
    assert fast == frame


def test_as_is_leaves_to_validation_what_only_it_can_judge() -> None:
    # A frame that cannot have a body may declare content-length 0, written any way: "00"
    # passes the reader, and only the model's validator refuses it.
    (raw,) = raw_frames(b"RECEIPT\nreceipt-id:1\ncontent-length:00\n\n\x00", "1.2")
    assert as_is_frame(_PLANS["RECEIPT"], raw) is None
    with pytest.raises(ProtocolError, match="content-length must be 0"):
        FrameDecoder("1.2").feed(b"RECEIPT\nreceipt-id:1\ncontent-length:00\n\n\x00")
    # A MESSAGE without a required header is left to validation, which names it.
    with pytest.raises(ProtocolError, match="lacks required header 'message-id'"):
        FrameDecoder("1.2").feed(b"MESSAGE\ndestination:/q\nsubscription:0\n\n\x00")


def test_decoded_as_is_is_refused_for_a_header_that_is_not_plain_str() -> None:
    with pytest.raises(TypeError, match="not a plain str"):

        class Counted(FrameModel):  # pyright: ignore[reportUnusedClass]
            count: int
            decoded_as_is: ClassVar = True


def test_version_forms_must_list_exactly_the_versions_of_the_command() -> None:
    # to_wire takes "a version has forms" for "the command exists in it" (NACK: 1.1 and 1.2).
    with pytest.raises(TypeError, match="must list the versions of NACK"):

        class Nack10(FrameModel):  # pyright: ignore[reportUnusedClass]
            command: Literal["NACK"] = "NACK"
            version_forms: ClassVar = {"1.0": (), "1.1": (), "1.2": ()}


# ---- Encoding: the plain pass and the ACK/NACK shortcut write what the escaping pass writes.


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=300, deadline=None)
@given(
    command=st.sampled_from(["SEND", "ACK", "CONNECT", "MESSAGE"]),
    # Names are never empty: the models see to it.
    headers=st.lists(st.tuples(TEXT.filter(bool), TEXT), max_size=4),
)
def test_one_pass_and_plain_encoding_are_header_by_header_encoding(
    version: Version, command: str, headers: list[tuple[str, str]]
) -> None:
    each = outcome(lambda: encode_each(command, headers, b"b", version))
    assert outcome(lambda: frame_bytes(command, headers, b"b", version)) == each
    plain = encode_plain(command, [f"{name}:{value}" for name, value in headers], b"b", version)
    assert plain is None or ("ok", plain) == each


def ack_like_frames(version: Version) -> st.SearchStrategy[Ack | Nack]:
    """ACK and NACK in any version's form, with ids holding anything, NUL included."""
    value = st.one_of(st.none(), TEXT, header_text(version))
    ident = st.one_of(TEXT, header_text(version))
    kinds: st.SearchStrategy[type[Ack | Nack]] = st.sampled_from([Ack, Nack])
    forms = st.sampled_from([("id",), ("message_id", "subscription"), ("message_id",)])

    @st.composite
    def build(draw: st.DrawFn) -> Ack | Nack:
        kind, form = draw(kinds), draw(forms)
        if kind is Nack and form == ("message_id",):
            form = ("id",)  # NACK has no 1.0 form
        fields: dict[str, Any] = {name: draw(ident) for name in form}
        headers = draw(st.dictionaries(st.sampled_from(["x", "y:z"]), TEXT, max_size=1))
        return kind(transaction=draw(value), receipt=draw(value), headers=headers, **fields)

    return build()


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_ack_shortcut_encodes_as_every_frame_does(version: Version, data: st.DataObject) -> None:
    frame = data.draw(ack_like_frames(version))
    assert outcome(lambda: frame.to_wire(version)) == outcome(
        lambda: FrameModel.to_wire(frame, version)
    )


# ---- The engine: builders without validation, and bytes without frames.


def connected_engine(version: Version, ack: AckMode = "client-individual") -> Engine:
    """An engine in session `version`, subscribed to /queue/a as sub-1 with `ack` (1.0 has no
    client-individual mode: client instead, which acknowledges as explicitly)."""
    if version == "1.0" and ack == "client-individual":
        ack = "client"
    engine = Engine(auto_ack=False)
    engine.encode(engine.connect(versions=(version,)))
    engine.receive(Connected(version=version).to_wire(version))
    engine.encode(engine.subscribe("/queue/a", ack=ack, id="sub-1"))
    engine.encode(engine.begin("tx-open"))
    return engine


def session(engine: Engine) -> tuple[Any, ...]:
    return (
        engine.state,
        dict(engine.pending_receipts),
        engine.transactions,
        dict(engine.subscriptions),
    )


messages = st.builds(
    Message,
    destination=st.sampled_from(["/queue/a", "/queue/b"]),
    message_id=st.one_of(TEXT.filter(lambda t: "\x00" not in t), st.just("m-1")),
    subscription=st.sampled_from([None, "sub-1", "sub-2"]),
    ack=st.one_of(st.none(), TEXT, st.just("T_sub-1@@session-x@@1"), st.just("ID:a:1")),
)
modes = st.sampled_from(["auto", "client", "client-individual"])
transactions = st.sampled_from([None, "tx-open", "tx-unknown"])
receipts = st.sampled_from([False, True, "r-1", ""])


@pytest.mark.slow
@pytest.mark.parametrize("kind", [Ack, Nack])
@pytest.mark.parametrize("version", VERSIONS)
@FAST
@given(message=messages, mode=modes, transaction=transactions, receipt=receipts)
def test_ack_and_nack_builders_make_the_validated_frame(
    kind: type[Ack | Nack],
    version: Version,
    *,
    message: Message,
    mode: AckMode,
    transaction: str | None,
    receipt: Any,
) -> None:
    if kind is Nack and version == "1.0":
        return  # refused before any field is made (test_engine checks it)
    fast, general = connected_engine(version, mode), connected_engine(version, mode)
    build = fast.ack if kind is Ack else fast.nack
    command = "ACK" if kind is Ack else "NACK"
    assert_same_outcome(
        lambda: build(message, transaction=transaction, receipt=receipt),
        lambda: kind(**general._ack_fields(message, command, transaction, receipt)),
    )


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
@FAST
@given(message=messages, mode=modes, transaction=transactions)
def test_encode_ack_is_encode_of_ack(
    version: Version, message: Message, mode: AckMode, transaction: str | None
) -> None:
    fast, general = connected_engine(version, mode), connected_engine(version, mode)
    assert_same_outcome(
        lambda: fast.encode_ack(message, transaction=transaction),
        lambda: general.encode(general.ack(message, transaction=transaction)),
    )
    assert session(fast) == session(general)


@pytest.mark.parametrize("state", ["connecting", "disconnecting", "closed"])
def test_encode_ack_outside_a_session_fails_as_encode_does(state: str) -> None:
    message = Message(destination="/queue/a", message_id="1", subscription="sub-1", ack="1")
    engines = []
    for _ in range(2):
        engine = connected_engine("1.2")
        if state == "connecting":
            engine = Engine()
            engine.encode(engine.connect())
        elif state == "disconnecting":
            engine.encode(engine.disconnect())
        else:
            engine.connection_lost()
        engines.append(engine)
    fast, general = engines
    with pytest.raises(LocalProtocolError) as fast_error:
        fast.encode_ack(message)
    with pytest.raises(LocalProtocolError) as general_error:
        general.encode(general.ack(message))
    assert str(fast_error.value) == str(general_error.value)


send_headers = st.one_of(
    st.none(),
    st.dictionaries(st.one_of(TEXT, st.sampled_from(["destination", "content-length"])), TEXT),
    st.just({"x": 1}),  # not a str: validation refuses it
)
send_kwargs = st.fixed_dictionaries(
    {
        "destination": st.one_of(TEXT, st.just("/queue/a")),
        "body": st.one_of(st.binary(max_size=8), TEXT, st.just(bytearray(b"ab"))),
        "content_type": st.one_of(st.none(), TEXT),
        "transaction": transactions,
        "receipt": receipts,
        "headers": send_headers,
        "omit_content_length": st.booleans(),
    }
)


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
@FAST
@given(kwargs=send_kwargs)
def test_send_builder_makes_the_validated_frame(version: Version, kwargs: dict[str, Any]) -> None:
    fast, general = connected_engine(version), connected_engine(version)

    def validated() -> Send:
        body, content_type = kwargs["body"], kwargs["content_type"]
        if isinstance(body, str):
            body = body.encode()
            content_type = "text/plain;charset=utf-8" if content_type is None else content_type
        fields = {"content_length": None} if kwargs["omit_content_length"] else {}
        return Send(
            destination=kwargs["destination"],
            body=body,
            content_type=content_type,
            transaction=kwargs["transaction"],
            receipt=general._receipt(kwargs["receipt"]),
            headers=dict(kwargs["headers"] or {}),
            **fields,
        )

    assert_same_outcome(lambda: fast.send(**kwargs), validated)


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
@FAST
@given(kwargs=send_kwargs)
def test_encode_send_is_encode_of_send(version: Version, kwargs: dict[str, Any]) -> None:
    fast, general = connected_engine(version), connected_engine(version)
    assert_same_outcome(
        lambda: fast.encode_send(**kwargs), lambda: general.encode(general.send(**kwargs))
    )
    assert session(fast) == session(general)


def test_encode_send_outside_a_session_fails_as_encode_does() -> None:
    fast, general = Engine(), Engine()
    with pytest.raises(LocalProtocolError) as fast_error:
        fast.encode_send("/queue/a", b"x")
    with pytest.raises(LocalProtocolError) as general_error:
        general.encode(general.send("/queue/a", b"x"))
    assert str(fast_error.value) == str(general_error.value)


def test_the_engine_looks_steps_up_in_the_rows_of_the_table() -> None:
    cells = {(state, step): after for state, row in ROWS.items() for step, after in row.items()}
    assert cells == TRANSITIONS
    assert set(ROWS) == set(State)


def test_frames_built_without_validation_are_frames_like_any_other() -> None:
    engine = connected_engine("1.2")
    message = Message(destination="/queue/a", message_id="1", subscription="sub-1", ack="a:1")
    ack = engine.ack(message)
    assert ack == Ack(id="a:1")
    with pytest.raises(ValidationError):
        ack.id = "other"  # type: ignore[misc]  # frozen, as a validated frame is
    assert ack.model_copy(update={"receipt": "r"}).to_wire("1.2") == (
        b"ACK\nid:a\\c1\nreceipt:r\n\n\x00"
    )
    decoded: Frame = FrameDecoder("1.2").feed(message.to_wire("1.2"))[0]
    assert decoded.model_dump() == message.model_dump()


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
@FAST
@given(calls=st.lists(send_kwargs, min_size=1, max_size=6), repeat=st.binary(min_size=1))
def test_encode_send_again_to_a_destination_is_encode_of_send(
    version: Version, calls: list[dict[str, Any]], repeat: bytes
) -> None:
    """A later SEND of bytes alone to a destination seen before takes its head as it was."""
    fast, general = connected_engine(version), connected_engine(version)
    again = [{"destination": kwargs["destination"], "body": repeat} for kwargs in calls]
    for kwargs in [*calls, *again]:
        assert_same_outcome(
            partial(fast.encode_send, **kwargs),
            partial(lambda k: general.encode(general.send(**k)), kwargs),
        )
    assert session(fast) == session(general)
