"""The bytes of the frames the broker writes: CONNECTED, MESSAGE, RECEIPT and ERROR."""

from __future__ import annotations

from typing import Final

from stompmodels._codec import frame_bytes
from stompmodels._headers import HeartBeat
from stompmodels._spec import Version
from stompmodels._version import package_version
from stompmodels.broker.destinations import Delivery

SERVER: Final = f"stompmodels/{package_version() or '0'}"
"""CONNECTED's `server` header."""

MESSAGE_OWN: Final = frozenset(
    {"destination", "message-id", "subscription", "ack", "content-length", "redelivered"}
)
"""MESSAGE headers the broker writes itself: a SEND's custom header of these names is dropped."""


def connected(version: Version, session: str, heart_beat: HeartBeat) -> bytes:
    """CONNECTED for a session of `version` (heart-beats are negotiated from STOMP 1.1 on)."""
    headers = [("version", version), ("session", session), ("server", SERVER)]
    if version != "1.0":
        headers.append(("heart-beat", heart_beat.to_wire()))
    return frame_bytes("CONNECTED", headers, b"", version)


def message(delivery: Delivery, version: Version) -> bytes:
    """The MESSAGE that hands `delivery` to its subscriber."""
    stored = delivery.stored
    subscription = delivery.subscription
    headers = [("destination", stored.destination), ("message-id", stored.message_id)]
    if subscription.has_id:
        headers.append(("subscription", subscription.id))
    if version == "1.2" and subscription.ack != "auto":
        headers.append(("ack", delivery.tag))
    if stored.redelivered:
        headers.append(("redelivered", "true"))
    headers.append(("content-length", str(len(stored.body))))
    try:
        return frame_bytes("MESSAGE", headers + list(stored.headers), stored.body, version)
    except ValueError:
        # Only STOMP 1.0 and 1.1 cannot carry some values (a CR; in 1.0 line breaks and
        # surrounding spaces): those custom headers are left out rather than the message. The
        # broker's own headers can be carried (`carries` checked them at SUBSCRIBE).
        custom = [pair for pair in stored.headers if carries(pair, version)]
        return frame_bytes("MESSAGE", headers + custom, stored.body, version)


def carries(header: tuple[str, str], version: Version) -> bool:
    """Whether a frame of `version` from the broker can carry `header` as it is."""
    if version == "1.2":
        return True  # it escapes CR and LF, and no decoded value holds a NUL
    try:
        frame_bytes("MESSAGE", [header], b"", version)
    except ValueError:
        return False
    return True


def receipt(receipt_id: str, version: Version) -> bytes:
    """RECEIPT for the frame that asked for `receipt_id`."""
    return frame_bytes("RECEIPT", [("receipt-id", receipt_id)], b"", version)


def error(reason: str, version: Version, receipt_id: str | None = None) -> bytes:
    """ERROR with `reason` in its `message` header and its body (the server closes after it)."""
    headers = [("message", reason.replace("\n", " ").replace("\r", " "))]
    if receipt_id is not None:
        headers.append(("receipt-id", receipt_id))
    body = reason.encode()
    headers += [("content-type", "text/plain"), ("content-length", str(len(body)))]
    try:
        return frame_bytes("ERROR", headers, body, version)
    except ValueError:  # a receipt id STOMP 1.0 cannot carry
        return frame_bytes("ERROR", [headers[0], *headers[-2:]], body, version)
