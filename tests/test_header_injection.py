"""Header injection is impossible through `to_wire`: CR, LF, ':' and '\\' in a header name or
value are escaped (STOMP 1.1/1.2) or refused with a ValueError naming the header (1.0, and
CONNECT/CONNECTED, which STOMP 1.2 "Value Encoding" says are never escaped), never written raw.
Whatever is written decodes to exactly the headers that went in: none lost, none added.

Expected bytes are found by writing the frame with a placeholder where the hostile text goes,
then putting the exact escaped text (spelled out below, not computed) in its place.
"""

from __future__ import annotations

import re
from typing import Any, Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from stompmodels import (
    Connect,
    Frame,
    Send,
    Version,
    parse_frame,
)
from tests.strategies import MODELS, UNESCAPED_MODELS, VERSIONS, models_for

PLACEHOLDER: Final = "PLACEHOLDER"

# name: (hostile text, its exact STOMP 1.1/1.2 escaped form)
PAYLOADS: Final[dict[str, tuple[str, str]]] = {
    "lf": ("x\ninjected:yes", "x\\ninjected\\cyes"),
    "cr": ("x\rinjected:yes", "x\\rinjected\\cyes"),
    "crlf": ("x\r\ninjected:yes", "x\\r\\ninjected\\cyes"),
    "second-destination": ("x\ndestination:/queue/evil", "x\\ndestination\\c/queue/evil"),
    "colon": ("a:b", "a\\cb"),
    "backslash": ("a\\nb\\", "a\\\\nb\\\\"),  # a literal backslash-n, not a line break
}

# Headers each frame needs in each version; the hostile text goes in on top of these.
_ACK_FORMS: Final[dict[Version, dict[str, Any]]] = {
    "1.0": {"message_id": "m-1"},
    "1.1": {"message_id": "m-1", "subscription": "0"},
    "1.2": {"id": "m-1"},
}


def base_fields(model: type[Any], version: Version) -> dict[str, Any]:
    """The smallest set of headers that makes `model` a frame of `version`."""
    since_11 = version != "1.0"
    connect = {"accept_version": version if since_11 else None, "host": "/" if since_11 else None}
    fields: dict[str, dict[str, Any]] = {
        "CONNECT": connect,
        "STOMP": connect,
        "SEND": {"destination": "/queue/a"},
        "SUBSCRIBE": {"destination": "/queue/a", "id": "0"},
        "UNSUBSCRIBE": {"id": "0"},
        "ACK": _ACK_FORMS[version],
        "NACK": _ACK_FORMS[version],
        "BEGIN": {"transaction": "tx-1"},
        "COMMIT": {"transaction": "tx-1"},
        "ABORT": {"transaction": "tx-1"},
        "DISCONNECT": {},
        "CONNECTED": {"version": version if since_11 else None},
        "MESSAGE": {"destination": "/queue/a", "message_id": "m-1", "subscription": "0"},
        "RECEIPT": {"receipt_id": "r-1"},
        "ERROR": {},
    }
    return dict(fields[model.model_fields["command"].default])


def text_fields(model: type[Any]) -> list[tuple[str, str]]:
    """(field, wire name) of the model's typed headers that hold free text."""
    found = []
    for name, wire in model.header_fields:
        annotation = model.model_fields[name].annotation
        if annotation in (str, str | None, SecretStr | None):
            found.append((name, wire))
    return found


def refused(version: Version, model: type[Any], text: str, *, name: bool) -> bool:
    """Whether `version` must refuse `text` as a header name (or value) of `model`."""
    if version == "1.0" or model in UNESCAPED_MODELS:
        return "\r" in text or "\n" in text or (name and ":" in text)
    return version == "1.1" and "\r" in text


def expected_text(version: Version, model: type[Any], payload: str) -> str:
    hostile, escaped = PAYLOADS[payload]
    return hostile if version == "1.0" or model in UNESCAPED_MODELS else escaped


def head_lines(wire: bytes) -> list[bytes]:
    """The lines of a frame head (the command, then one line per header)."""
    return wire[: wire.index(b"\n\n")].split(b"\n")


def check_written(
    frame: Frame, template: Frame, version: Version, placeholder: str, text: str
) -> None:
    """`frame` is `template` with `text` where `template` has `placeholder`, byte for byte,
    and it decodes to itself with the same number of header lines."""
    wire = frame.to_wire(version)
    expected = template.to_wire(version).replace(placeholder.encode(), text.encode())
    assert wire == expected
    assert len(head_lines(wire)) == len(head_lines(template.to_wire(version)))
    assert b"\r" not in wire[: wire.index(b"\n\n")]
    decoded = parse_frame(wire, version)
    assert decoded == frame
    assert decoded.headers == frame.headers  # exactly the custom headers that went in


def cases() -> list[tuple[type[Any], Version, str]]:
    # Backslashes in a 1.0 SEND have a test of their own (test_10_send_refuses_backslashes).
    return [
        (model, version, payload)
        for version in VERSIONS
        for model in models_for(version)
        for payload in PAYLOADS
        if not (payload == "backslash" and version == "1.0" and model is Send)
    ]


def case_id(case: tuple[type[Any], Version, str]) -> str:
    return f"{case[0].__name__}-{case[1]}-{case[2]}"


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_custom_header_value(case: tuple[type[Any], Version, str]) -> None:
    model, version, payload = case
    hostile = PAYLOADS[payload][0]
    fields = base_fields(model, version)
    frame = model(**fields, headers={"x-probe": hostile})
    if refused(version, model, hostile, name=False):
        with pytest.raises(ValueError, match=re.escape("'x-probe'")):
            frame.to_wire(version)
        return
    template = model(**fields, headers={"x-probe": PLACEHOLDER})
    check_written(frame, template, version, PLACEHOLDER, expected_text(version, model, payload))


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_custom_header_name(case: tuple[type[Any], Version, str]) -> None:
    model, version, payload = case
    hostile = PAYLOADS[payload][0]
    fields = base_fields(model, version)
    frame = model(**fields, headers={hostile: "v"})
    if refused(version, model, hostile, name=True):
        with pytest.raises(ValueError, match=re.escape(repr(hostile))):
            frame.to_wire(version)
        return
    template = model(**fields, headers={PLACEHOLDER: "v"})
    check_written(frame, template, version, PLACEHOLDER, expected_text(version, model, payload))


def typed_cases() -> list[tuple[type[Any], str, str, Version, str]]:
    return [
        (model, field, wire, version, payload)
        for model, version, payload in cases()
        for field, wire in text_fields(model)
    ]


@pytest.mark.parametrize(
    "case", typed_cases(), ids=lambda c: f"{c[0].__name__}-{c[1]}-{c[3]}-{c[4]}"
)
def test_typed_header_value(case: tuple[type[Any], str, str, Version, str]) -> None:
    model, field, wire_name, version, payload = case
    hostile = PAYLOADS[payload][0]
    fields = base_fields(model, version)
    frame = model(**{**fields, field: hostile})
    if refused(version, model, hostile, name=False):
        with pytest.raises(ValueError, match=re.escape(repr(wire_name))):
            frame.to_wire(version)
        return
    template = model(**{**fields, field: PLACEHOLDER})
    check_written(frame, template, version, PLACEHOLDER, expected_text(version, model, payload))


def test_every_model_and_text_header_is_covered() -> None:
    """The tables above reach all 15 models and every free-text header they have."""
    assert {case[0] for case in cases()} == set(MODELS)
    assert len(typed_cases()) > 100
    assert ("passcode", "passcode") in text_fields(Connect)
    assert ("destination", "destination") in text_fields(Send)


def test_10_send_refuses_backslashes() -> None:
    """STOMP 1.0 has no escapes, yet both brokers unescape 1.0 frames: ActiveMQ hands a SEND's
    ``\\n`` to 1.0 consumers as a raw line break (an injected header), and RabbitMQ drops the
    connection on an undefined escape. A SEND's headers are the ones a broker forwards to other
    clients, so a 1.0 SEND must refuse a backslash, as it refuses CR and LF. (Other frames keep
    raw backslashes: a 1.0 ACK must give back the message-id RabbitMQ sent, escapes and all.)"""
    written = []
    for fields in ({"headers": {"x-probe": "x\\ninjected:yes"}}, {"content_type": "a\\cb"}):
        frame = Send(destination="/queue/a", **fields)
        try:
            written.append(frame.to_wire("1.0"))
        except ValueError as exc:
            assert "'x-probe'" in str(exc) or "'content-type'" in str(exc)
    assert written == [], "a 1.0 SEND carried backslash sequences that brokers unescape"


# -- any header map --------------------------------------------------------------------------

_HOSTILE: Final = st.sampled_from(["\n", "\r", "\r\n", ":", "\\", "\\n", "\\c", " ", "\t", "é"])
_TEXT: Final = st.lists(
    st.one_of(_HOSTILE, st.characters(codec="utf-8", exclude_characters="\0")), max_size=8
).map("".join)


def _refused_map(version: Version, model: type[Any], headers: dict[str, str]) -> bool:
    for name, value in headers.items():
        if refused(version, model, name, name=True) or refused(version, model, value, name=False):
            return True
        if version == "1.0" and (name != name.strip() or value != value.strip()):
            return True  # 1.0 readers strip around values, so the encoder refuses it
    return False


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_header_map_adds_exactly_its_lines(data: st.DataObject) -> None:
    """For any custom headers, the head has one line per header more than the bare frame (or
    the version refuses them), and decoding gives back exactly those headers."""
    version = data.draw(st.sampled_from(VERSIONS), label="version")
    model = data.draw(st.sampled_from(models_for(version)), label="model")
    taken = model.wire_fields | {"content-length"}
    headers = data.draw(
        st.dictionaries(_TEXT.filter(lambda n: n != "" and n not in taken), _TEXT, max_size=6),
        label="headers",
    )
    if version == "1.0" and model is Send:
        # Backslashes in a 1.0 SEND: test_10_send_refuses_backslashes.
        headers = {n.replace("\\", "/"): v.replace("\\", "/") for n, v in headers.items()}
    bare = model(**base_fields(model, version))
    frame = model(**base_fields(model, version), headers=headers)
    if _refused_map(version, model, headers):
        with pytest.raises(ValueError, match="header"):
            frame.to_wire(version)
        return
    wire = frame.to_wire(version)
    assert len(head_lines(wire)) == len(head_lines(bare.to_wire(version))) + len(headers)
    assert b"\r" not in wire[: wire.index(b"\n\n")]
    decoded = parse_frame(wire, version)
    assert decoded == frame
    assert decoded.headers == headers
    assert list(decoded.headers) == list(headers)  # wire order kept
