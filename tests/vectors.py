"""Spec test vectors: wire bytes and the frame models they must mean, in each STOMP version.

The oracle is the STOMP specification (https://stomp.github.io/, versions 1.0, 1.1 and 1.2),
as narrowed by docs/_api_brief.md where the specification leaves a choice. Each group cites
the specification section it checks ("1.2 Value Encoding" is the section "Value Encoding" of
stomp-specification-1.2.html).

Four kinds of case:

- `Valid`: `wire` decodes to exactly `frame` (``==``, custom headers in wire order). With
  ``roundtrip=True``, ``frame.to_wire(version)`` must also give back `wire` byte for byte.
- `Encodes`: ``frame.to_wire(version) == wire`` exactly.
- `Invalid`: decoding `wire` raises ProtocolError whose message matches the regex `match`
  (case-insensitive), naming what was wrong.
- `Unencodable`: ``frame.to_wire(version)`` raises ValueError matching `match`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

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


@dataclass(frozen=True)
class Valid:
    """`wire` decodes to `frame`; with `roundtrip`, `frame` also encodes to `wire`."""

    name: str
    version: Version
    wire: bytes
    frame: Frame
    roundtrip: bool = False


@dataclass(frozen=True)
class Encodes:
    """`frame.to_wire(version)` is exactly `wire`."""

    name: str
    version: Version
    frame: Frame
    wire: bytes


@dataclass(frozen=True)
class Invalid:
    """Decoding `wire` raises ProtocolError matching `match` (case-insensitive regex)."""

    name: str
    version: Version
    wire: bytes
    match: str


@dataclass(frozen=True)
class Unencodable:
    """`frame.to_wire(version)` raises ValueError matching `match` (case-insensitive regex)."""

    name: str
    version: Version
    frame: Frame
    match: str


ALL: Final[tuple[Version, ...]] = ("1.0", "1.1", "1.2")
SINCE_11: Final[tuple[Version, ...]] = ("1.1", "1.2")

# The body of the ERROR example of "1.2 ERROR": exactly the 170 octets its content-length says.
SPEC_ERROR_BODY: Final = (
    b"The message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\n"
    b"Hello queue a!\n-----\nDid not contain a destination header, which is REQUIRED\n"
    b"for message propagation.\n"
)
# The body of the ERROR example of "1.0 ERROR" (no content-length: read up to the NUL).
SPEC_10_ERROR_BODY: Final = (
    b"The message:\n-----\nMESSAGE\ndestined:/queue/a\n\nHello queue a!\n-----\n"
    b"Did not contain a destination header, which is required \nfor message propagation.\n"
)


VALID: Final[list[Valid]] = [
    # ---- The seed: stomper's usage example, byte for byte (a STOMP 1.0 session). ----
    # 1.0 "Augmented BNF": the NUL may be followed by LFs; 1.0 headers are stripped (brief).
    Valid(
        "seed-connect-1.0",
        "1.0",
        b"CONNECT\nlogin:bob\npasscode:1234\n\n\x00\n",
        Connect(accept_version=None, host=None, login="bob", passcode="1234"),
    ),
    Valid(
        "seed-connected-1.0",
        "1.0",
        b"CONNECTED\nsession:ID:snorky.local-49191-1185461799654-3:18\n\n\x00\n",
        Connected(version=None, session="ID:snorky.local-49191-1185461799654-3:18"),
    ),
    Valid(
        "seed-message-1.0-space-stripped",
        "1.0",
        b"MESSAGE\ndestination: /queue/a\nmessage-id: some-message-id\n\nhello queue a\n\n\x00\n",
        Message(
            destination="/queue/a",
            message_id="some-message-id",
            subscription=None,
            body=b"hello queue a\n\n",
            content_length=None,
        ),
    ),
    Valid(
        "seed-message-1.0-body-without-trailing-lfs",
        "1.0",
        b"MESSAGE\ndestination: /queue/a\nmessage-id: some-message-id\n\nhello queue a\x00",
        Message(
            destination="/queue/a",
            message_id="some-message-id",
            subscription=None,
            body=b"hello queue a",
            content_length=None,
        ),
    ),
    Valid(
        "seed-ack-1.0-space-stripped",
        "1.0",
        b"ACK\nmessage-id: some-message-id\n\n\x00\n",
        Ack(message_id="some-message-id"),
    ),
    Valid(
        "seed-commit-1.0-space-stripped",
        "1.0",
        b"COMMIT\ntransaction: 1234\n\n\x00\n",
        Commit(transaction="1234"),
    ),
    # The same frames in 1.1/1.2 sessions ("1.2 Value Encoding": clients and servers MUST never
    # trim or pad headers with spaces, so the space after the colon belongs to the value).
    *[
        Valid(
            f"seed-message-{v}-space-kept",
            v,
            b"MESSAGE\ndestination: /queue/a\nmessage-id: some-message-id\nsubscription:0\n\n"
            b"hello queue a\n\n\x00",
            Message(
                destination=" /queue/a",
                message_id=" some-message-id",
                subscription="0",
                body=b"hello queue a\n\n",
                content_length=None,
            ),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"seed-connect-{v}",
            v,
            f"CONNECT\naccept-version:{v}\nhost:localhost\nlogin:bob\npasscode:1234\n\n\x00".encode(),
            Connect(accept_version=(v,), host="localhost", login="bob", passcode="1234"),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    # CONNECTED is never escaped ("1.2 Value Encoding"): the session's colons stay raw.
    *[
        Valid(
            f"seed-connected-{v}-raw-colons",
            v,
            f"CONNECTED\nversion:{v}\nsession:ID:snorky.local-49191-1185461799654-3:18\n\n\x00".encode(),
            Connected(version=v, session="ID:snorky.local-49191-1185461799654-3:18"),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    Valid(
        "seed-connected-1.0-canonical",
        "1.0",
        b"CONNECTED\nsession:ID:snorky.local-49191-1185461799654-3:18\n\n\x00",
        Connected(version=None, session="ID:snorky.local-49191-1185461799654-3:18"),
        roundtrip=True,
    ),
    # ---- CONNECT / STOMP: "1.0" (intro), "1.2 CONNECT or STOMP Frame", "Protocol Negotiation".
    Valid(
        "connect-1.0-spec-padded-login",
        "1.0",
        b"CONNECT\nlogin: bob\npasscode:1234\n\n\x00",
        Connect(accept_version=None, host=None, login="bob", passcode="1234"),
    ),
    Valid(
        "connect-1.0-canonical",
        "1.0",
        b"CONNECT\nlogin:bob\npasscode:1234\n\n\x00",
        Connect(accept_version=None, host=None, login="bob", passcode="1234"),
        roundtrip=True,
    ),
    *[
        Valid(
            f"connect-{v}-spec",
            v,
            f"CONNECT\naccept-version:{v}\nhost:stomp.github.org\n\n\x00".encode(),
            Connect(accept_version=(v,), host="stomp.github.org"),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"connect-{v}-negotiation-example",
            v,
            b"CONNECT\naccept-version:1.0,1.1,2.0\nhost:stomp.github.org\n\n\x00",
            Connect(accept_version=("1.0", "1.1", "2.0"), host="stomp.github.org"),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"connect-{v}-all-headers",
            v,
            b"CONNECT\naccept-version:1.1,1.2\nhost:/\nlogin:bob\npasscode:1234\n"
            b"heart-beat:10000,10000\n\n\x00",
            Connect(
                accept_version=("1.1", "1.2"),
                host="/",
                login="bob",
                passcode="1234",
                heart_beat=HeartBeat(10000, 10000),
            ),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"stomp-{v}",
            v,
            f"STOMP\naccept-version:{v}\nhost:stomp.github.org\n\n\x00".encode(),
            Stomp(accept_version=(v,), host="stomp.github.org"),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"stomp-{v}-all-headers",
            v,
            b"STOMP\naccept-version:1.1,1.2\nhost:/\nlogin:bob\npasscode:1234\n"
            b"heart-beat:0,5000\n\n\x00",
            Stomp(
                accept_version=("1.1", "1.2"),
                host="/",
                login="bob",
                passcode="1234",
                heart_beat=HeartBeat(0, 5000),
            ),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    # ---- CONNECTED: "1.2 CONNECTED Frame" (server = name ["/" version] *(comment)).
    *[
        Valid(
            f"connected-{v}-spec",
            v,
            f"CONNECTED\nversion:{v}\n\n\x00".encode(),
            Connected(version=v),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"connected-{v}-all-headers-activemq-session",
            v,
            b"CONNECTED\nversion:1.2\nsession:ID:host-1234-5:1\nserver:Apache/1.3.9 (Unix)\n"
            b"heart-beat:0,10000\n\n\x00",
            Connected(
                version="1.2",
                session="ID:host-1234-5:1",
                server="Apache/1.3.9 (Unix)",
                heart_beat=HeartBeat(0, 10000),
            ),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    Valid(
        "connected-1.0-activemq-session",
        "1.0",
        b"CONNECTED\nsession:ID:host-1234-5:1\n\n\x00",
        Connected(version=None, session="ID:host-1234-5:1"),
        roundtrip=True,
    ),
    # ---- SEND: "1.0 SEND", "1.2 SEND", "1.2 Header receipt", "1.2 Header content-length".
    Valid(
        "send-1.0-spec",
        "1.0",
        b"SEND\ndestination:/queue/a\n\nhello queue a\n\x00",
        Send(destination="/queue/a", body=b"hello queue a\n", content_length=None),
        roundtrip=True,
    ),
    *[
        Valid(
            f"send-{v}-spec-content-type",
            v,
            b"SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n\x00",
            Send(
                destination="/queue/a",
                content_type="text/plain",
                body=b"hello queue a\n",
                content_length=None,
            ),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"send-{v}-spec-receipt",
            v,
            b"SEND\ndestination:/queue/a\nreceipt:message-12345\n\nhello queue a\x00",
            Send(
                destination="/queue/a",
                receipt="message-12345",
                body=b"hello queue a",
                content_length=None,
            ),
            roundtrip=True,
        )
        for v in ALL
    ],
    *[
        Valid(
            f"send-{v}-all-headers",
            v,
            b"SEND\ndestination:/queue/a\ntransaction:tx1\nreceipt:r-1\n"
            b"content-type:text/plain;charset=utf-8\ncontent-length:5\n\nhello\x00",
            Send(
                destination="/queue/a",
                transaction="tx1",
                receipt="r-1",
                content_type="text/plain;charset=utf-8",
                body=b"hello",
            ),
            roundtrip=True,
        )
        for v in ALL
    ],
    *[
        Valid(
            f"send-{v}-empty",
            v,
            b"SEND\ndestination:/queue/a\n\n\x00",
            Send(destination="/queue/a"),
            roundtrip=True,
        )
        for v in ALL
    ],
    # ---- SUBSCRIBE: "1.0 SUBSCRIBE", "1.2 SUBSCRIBE", "SUBSCRIBE id Header", "ack Header".
    Valid(
        "subscribe-1.0-spec-padded-no-id",
        "1.0",
        b"SUBSCRIBE\ndestination: /queue/foo\nack: client\n\n\x00",
        Subscribe(destination="/queue/foo", id=None, ack="client"),
    ),
    Valid(
        "subscribe-1.0-no-id",
        "1.0",
        b"SUBSCRIBE\ndestination:/queue/foo\nack:client\n\n\x00",
        Subscribe(destination="/queue/foo", id=None, ack="client"),
        roundtrip=True,
    ),
    Valid(
        "subscribe-1.0-with-id",
        "1.0",
        b"SUBSCRIBE\ndestination:/queue/foo\nid:0\nack:auto\n\n\x00",
        Subscribe(destination="/queue/foo", id="0", ack="auto"),
        roundtrip=True,
    ),
    *[
        Valid(
            f"subscribe-{v}-spec",
            v,
            b"SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\x00",
            Subscribe(destination="/queue/foo", id="0", ack="client"),
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"subscribe-{v}-ack-{ack}",
            v,
            f"SUBSCRIBE\ndestination:/queue/foo\nid:sub-1\nack:{ack}\nreceipt:r1\n\n\x00".encode(),
            Subscribe(destination="/queue/foo", id="sub-1", ack=ack, receipt="r1"),
            roundtrip=True,
        )
        for v in SINCE_11
        for ack in ("auto", "client", "client-individual")
    ],
    # "If the header is not set, it defaults to auto."
    *[
        Valid(
            f"subscribe-{v}-ack-absent-is-auto",
            v,
            b"SUBSCRIBE\ndestination:/queue/foo\nid:0\n\n\x00",
            Subscribe(destination="/queue/foo", id="0", ack="auto"),
        )
        for v in ALL
    ],
    # ---- UNSUBSCRIBE: "1.0 UNSUBSCRIBE" (destination or id), "1.2 UNSUBSCRIBE" (id).
    Valid(
        "unsubscribe-1.0-spec-destination",
        "1.0",
        b"UNSUBSCRIBE\ndestination: /queue/a\n\n\x00",
        Unsubscribe(id=None, destination="/queue/a"),
    ),
    Valid(
        "unsubscribe-1.0-destination",
        "1.0",
        b"UNSUBSCRIBE\ndestination:/queue/a\n\n\x00",
        Unsubscribe(id=None, destination="/queue/a"),
        roundtrip=True,
    ),
    *[
        Valid(
            f"unsubscribe-{v}-id",
            v,
            b"UNSUBSCRIBE\nid:0\nreceipt:r-2\n\n\x00",
            Unsubscribe(id="0", receipt="r-2"),
            roundtrip=True,
        )
        for v in ALL
    ],
    # ---- ACK / NACK: "1.0 ACK" (message-id), "1.1 ACK"/"1.1 NACK" (message-id +
    # subscription), "1.2 ACK"/"1.2 NACK" (id). NACK does not exist in 1.0.
    Valid(
        "ack-1.0-message-id",
        "1.0",
        b"ACK\nmessage-id:007\ntransaction:tx1\n\n\x00",
        Ack(message_id="007", transaction="tx1"),
        roundtrip=True,
    ),
    Valid(
        "ack-1.1-spec",
        "1.1",
        b"ACK\nsubscription:0\nmessage-id:007\ntransaction:tx1\n\n\x00",
        Ack(message_id="007", subscription="0", transaction="tx1"),
    ),
    Valid(
        "ack-1.1-canonical",
        "1.1",
        b"ACK\nmessage-id:007\nsubscription:0\ntransaction:tx1\nreceipt:r-3\n\n\x00",
        Ack(message_id="007", subscription="0", transaction="tx1", receipt="r-3"),
        roundtrip=True,
    ),
    Valid(
        "ack-1.2-spec",
        "1.2",
        b"ACK\nid:12345\ntransaction:tx1\n\n\x00",
        Ack(id="12345", transaction="tx1"),
        roundtrip=True,
    ),
    Valid(
        "nack-1.1",
        "1.1",
        b"NACK\nmessage-id:007\nsubscription:0\n\n\x00",
        Nack(message_id="007", subscription="0"),
        roundtrip=True,
    ),
    Valid(
        "nack-1.2",
        "1.2",
        b"NACK\nid:12345\ntransaction:tx1\nreceipt:r-4\n\n\x00",
        Nack(id="12345", transaction="tx1", receipt="r-4"),
        roundtrip=True,
    ),
    # ---- BEGIN / COMMIT / ABORT / DISCONNECT: "1.0" and "1.2" sections of each.
    Valid(
        "begin-1.0-spec-padded",
        "1.0",
        b"BEGIN\ntransaction: tx1\n\n\x00",
        Begin(transaction="tx1"),
    ),
    *[
        Valid(
            f"{model.__name__.lower()}-{v}",
            v,
            f"{model.__name__.upper()}\ntransaction:tx1\n\n\x00".encode(),
            model(transaction="tx1"),
            roundtrip=True,
        )
        for v in ALL
        for model in (Begin, Commit, Abort)
    ],
    *[
        Valid(
            f"{model.__name__.lower()}-{v}-receipt",
            v,
            f"{model.__name__.upper()}\ntransaction:tx1\nreceipt:r-5\n\n\x00".encode(),
            model(transaction="tx1", receipt="r-5"),
            roundtrip=True,
        )
        for v in ALL
        for model in (Begin, Commit, Abort)
    ],
    *[
        Valid(f"disconnect-{v}", v, b"DISCONNECT\n\n\x00", Disconnect(), roundtrip=True)
        for v in ALL
    ],
    *[
        Valid(
            f"disconnect-{v}-spec-receipt",
            v,
            b"DISCONNECT\nreceipt:77\n\n\x00",
            Disconnect(receipt="77"),
            roundtrip=True,
        )
        for v in ALL
    ],
    # ---- MESSAGE: "1.0 MESSAGE", "1.2 MESSAGE" (destination, message-id, subscription, ack).
    Valid(
        "message-1.0",
        "1.0",
        b"MESSAGE\ndestination:/queue/a\nmessage-id:007\n\nhello queue a\x00",
        Message(
            destination="/queue/a",
            message_id="007",
            subscription=None,
            body=b"hello queue a",
            content_length=None,
        ),
        roundtrip=True,
    ),
    *[
        Valid(
            f"message-{v}-spec",
            v,
            b"MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\n"
            b"content-type:text/plain\n\nhello queue a\x00",
            Message(
                destination="/queue/a",
                message_id="007",
                subscription="0",
                content_type="text/plain",
                body=b"hello queue a",
                content_length=None,
            ),
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"message-{v}-all-headers",
            v,
            b"MESSAGE\ndestination:/queue/a\nmessage-id:007\nsubscription:0\nack:ack-007\n"
            b"content-type:text/plain\ncontent-length:13\n\nhello queue a\x00",
            Message(
                destination="/queue/a",
                message_id="007",
                subscription="0",
                ack="ack-007",
                content_type="text/plain",
                body=b"hello queue a",
            ),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    # ---- RECEIPT: "1.0 RECEIPT", "1.2 RECEIPT".
    *[
        Valid(
            f"receipt-{v}-spec",
            v,
            b"RECEIPT\nreceipt-id:message-12345\n\n\x00",
            Receipt(receipt_id="message-12345"),
            roundtrip=True,
        )
        for v in ALL
    ],
    # ---- ERROR: "1.0 ERROR", "1.2 ERROR", "1.2 Protocol Negotiation".
    Valid(
        "error-1.0-spec",
        "1.0",
        b"ERROR\nmessage: malformed packet received\n\n" + SPEC_10_ERROR_BODY + b"\x00",
        Error(message="malformed packet received", body=SPEC_10_ERROR_BODY, content_length=None),
    ),
    *[
        Valid(
            f"error-{v}-spec",
            v,
            b"ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\ncontent-length:170\n"
            b"message:malformed frame received\n\n" + SPEC_ERROR_BODY + b"\x00",
            Error(
                message="malformed frame received",
                receipt_id="message-12345",
                content_type="text/plain",
                body=SPEC_ERROR_BODY,
            ),
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"error-{v}-canonical",
            v,
            b"ERROR\nmessage:malformed frame received\nreceipt-id:message-12345\n"
            b"content-type:text/plain\ncontent-length:170\n\n" + SPEC_ERROR_BODY + b"\x00",
            Error(
                message="malformed frame received",
                receipt_id="message-12345",
                content_type="text/plain",
                body=SPEC_ERROR_BODY,
            ),
            roundtrip=True,
        )
        for v in ALL
    ],
    *[
        Valid(
            f"error-{v}-negotiation-example",
            v,
            b"ERROR\nversion:1.2,2.1\ncontent-type:text/plain\n\n"
            b"Supported protocol versions are 1.2 2.1\x00",
            Error(
                content_type="text/plain",
                headers={"version": "1.2,2.1"},
                body=b"Supported protocol versions are 1.2 2.1",
                content_length=None,
            ),
        )
        for v in SINCE_11
    ],
    *[Valid(f"error-{v}-empty", v, b"ERROR\n\n\x00", Error(), roundtrip=True) for v in ALL],
    # ---- Value encoding, 1.1 and 1.2: "1.1 Value Encoding", "1.2 Value Encoding".
    # \c, \n and \\ in names and values, both directions.
    *[
        Valid(
            f"escape-{v}-colon-in-value",
            v,
            b"SEND\ndestination:/queue/a\\cb\n\n\x00",
            Send(destination="/queue/a:b"),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"escape-{v}-all-in-value",
            v,
            b"MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\n"
            b"k:a\\cb\\nc\\\\d\\\\\\\\\n\n\x00",
            Message(
                destination="/q",
                message_id="1",
                subscription="0",
                headers={"k": "a:b\nc\\d\\\\"},
                content_length=None,
            ),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"escape-{v}-all-in-name",
            v,
            b"SEND\ndestination:/q\nx\\cy\\nz\\\\w:v\n\n\x00",
            Send(destination="/q", headers={"x:y\nz\\w": "v"}),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    # An escaped backslash followed by 'c' or 'n' is a backslash and a letter, not \c or \n.
    *[
        Valid(
            f"escape-{v}-backslash-then-letter",
            v,
            b"SEND\ndestination:/q\nk:\\\\c\\\\n\\\\\\c\n\n\x00",
            Send(destination="/q", headers={"k": "\\c\\n\\:"}),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    Valid(
        "escape-1.2-cr",
        "1.2",
        b"SEND\ndestination:/q\nk\\rk:a\\rb\\r\\n\n\n\x00",
        Send(destination="/q", headers={"k\rk": "a\rb\r\n"}),
        roundtrip=True,
    ),
    # Escapes are in the head only: the body is raw octets.
    *[
        Valid(
            f"escape-{v}-not-in-body",
            v,
            b"SEND\ndestination:/q\ncontent-length:4\n\n\\c\\t\x00",
            Send(destination="/q", body=b"\\c\\t"),
            roundtrip=True,
        )
        for v in ALL
    ],
    # Headers are UTF-8 ("1.2 Value Encoding"); Unicode line separators are not EOLs.
    *[
        Valid(
            f"utf8-{v}-multibyte-and-unicode-breaks",
            v,
            "SEND\ndestination:/queue/é€😀\nk\u2028:a\x85b\u2029c\n\n\x00".encode(),
            Send(destination="/queue/é€😀", headers={"k\u2028": "a\x85b\u2029c"}),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    # 1.0 defines no escapes: backslashes are data and colons in values go raw.
    Valid(
        "escape-1.0-backslashes-are-raw",
        "1.0",
        b"SEND\ndestination:/q\\c\nk:a\\tb\\n\\\\\\\n\n\x00",
        Send(destination="/q\\c", headers={"k": "a\\tb\\n\\\\\\"}),
        # Not written back: brokers unescape 1.0 frames (unencodable-1.0-backslash-in-send).
    ),
    Valid(
        "escape-1.0-raw-colon-in-values",
        "1.0",
        b"SEND\ndestination:/queue/a:b\nk:x:y:z\n\n\x00",
        Send(destination="/queue/a:b", headers={"k": "x:y:z"}),
        roundtrip=True,
    ),
    Valid(
        "utf8-1.0-multibyte",
        "1.0",
        "SEND\ndestination:/queue/é€😀\n\n\x00".encode(),
        Send(destination="/queue/é€😀"),
        roundtrip=True,
    ),
    # A raw colon in a 1.1/1.2 value: the header splits at the first colon (brief).
    *[
        Valid(
            f"split-{v}-at-first-colon",
            v,
            b"SEND\ndestination:/queue/a:b\nk:x:y:z\n\n\x00",
            Send(destination="/queue/a:b", headers={"k": "x:y:z"}),
        )
        for v in SINCE_11
    ],
    # ---- CONNECT / CONNECTED are never escaped ("1.1/1.2 Value Encoding"); STOMP is.
    *[
        Valid(
            f"connect-{v}-raw-backslash-and-colon",
            v,
            b"CONNECT\naccept-version:1.1,1.2\nhost:h\nlogin:dom\\user\npasscode:p\\cq:r\\t\\\n\n\x00",
            Connect(
                accept_version=("1.1", "1.2"),
                host="h",
                login="dom\\user",
                passcode="p\\cq:r\\t\\",
            ),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"connected-{v}-raw-backslash-and-colon",
            v,
            b"CONNECTED\nversion:1.2\nsession:ID:host-1234-5:1\nserver:a\\cb\\n\\t\n"
            b"x-custom:1:2\\\n\n\x00",
            Connected(
                version="1.2",
                session="ID:host-1234-5:1",
                server="a\\cb\\n\\t",
                headers={"x-custom": "1:2\\"},
            ),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"stomp-{v}-is-escaped",
            v,
            b"STOMP\naccept-version:1.2\nhost:h\nlogin:dom\\\\user\npasscode:a\\cb\n\n\x00",
            Stomp(accept_version=("1.2",), host="h", login="dom\\user", passcode="a:b"),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    # ---- EOLs: "1.2 STOMP Frames" (EOL = [CR] LF); 1.0/1.1 "Augmented BNF" (LF only).
    Valid(
        "crlf-1.2-send",
        "1.2",
        b"SEND\r\ndestination:/queue/a\r\ncontent-type:text/plain\r\n\r\nhello\x00\r\n",
        Send(destination="/queue/a", content_type="text/plain", body=b"hello", content_length=None),
    ),
    Valid(
        "crlf-1.2-connect",
        "1.2",
        b"CONNECT\r\naccept-version:1.2\r\nhost:h\r\nlogin:bob\r\n\r\n\x00",
        Connect(accept_version=("1.2",), host="h", login="bob"),
    ),
    Valid(
        "crlf-1.2-mixed-with-lf",
        "1.2",
        b"MESSAGE\r\ndestination:/q\nmessage-id:1\r\nsubscription:0\n\r\n\x00\n\r\n",
        Message(destination="/q", message_id="1", subscription="0"),
    ),
    Valid("crlf-1.2-no-headers", "1.2", b"DISCONNECT\r\n\r\n\x00", Disconnect()),
    # The body is raw: a CR before the NUL or inside the body is data, in every version.
    *[
        Valid(
            f"crlf-{v}-cr-in-body-is-data",
            v,
            b"SEND\ndestination:/q\n\nline\r\n\r\x00",
            Send(destination="/q", body=b"line\r\n\r", content_length=None),
            roundtrip=True,
        )
        for v in ALL
    ],
    # 1.1: EOL is LF only, so a CR before the LF is part of the value (brief; 1.1 BNF allows
    # any octet but LF and ':' in a value).
    Valid(
        "cr-1.1-is-part-of-value",
        "1.1",
        b"SEND\ndestination:/q\r\nk:v\r\n\n\x00",
        Send(destination="/q\r", headers={"k": "v\r"}),
    ),
    # ---- EOLs after the NUL: "1.2 STOMP Frames" (the NULL octet can be followed by EOLs).
    *[
        Valid(
            f"eol-{v}-after-nul",
            v,
            b"RECEIPT\nreceipt-id:1\n\n\x00\n\n\n",
            Receipt(receipt_id="1"),
        )
        for v in ALL
    ],
    Valid(
        "eol-1.2-crlf-after-nul",
        "1.2",
        b"RECEIPT\nreceipt-id:1\n\n\x00\r\n\n\r\n",
        Receipt(receipt_id="1"),
    ),
    # ---- Repeated headers: "1.2 Repeated Header Entries" (first wins; 1.1 likewise).
    *[
        Valid(
            f"repeated-{v}-custom-spec-example",
            v,
            b"MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\nfoo:World\nfoo:Hello\n\n\x00",
            Message(destination="/q", message_id="1", subscription="0", headers={"foo": "World"}),
        )
        for v in ALL
    ],
    *[
        Valid(
            f"repeated-{v}-typed",
            v,
            b"SEND\ndestination:/a\ntransaction:t1\ndestination:/b\ntransaction:t2\n\n\x00",
            Send(destination="/a", transaction="t1"),
        )
        for v in ALL
    ],
    *[
        Valid(
            f"repeated-{v}-content-length",
            v,
            b"SEND\ndestination:/a\ncontent-length:2\ncontent-length:3\n\nhi\x00",
            Send(destination="/a", body=b"hi"),
        )
        for v in ALL
    ],
    *[
        Valid(
            f"repeated-{v}-after-unescaping",
            v,
            b"SEND\ndestination:/a\na\\cb:1\na\\cb:2\n\n\x00",
            Send(destination="/a", headers={"a:b": "1"}),
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"repeated-{v}-connect-raw",
            v,
            b"CONNECT\naccept-version:1.2\nhost:a\nhost:b\nlogin:x:1\nlogin:y\n\n\x00",
            Connect(accept_version=("1.2",), host="a", login="x:1"),
        )
        for v in SINCE_11
    ],
    Valid(
        "repeated-1.0-connected",
        "1.0",
        b"CONNECTED\nsession: ID:a:1\nsession:ID:b:2\n\n\x00",
        Connected(version=None, session="ID:a:1"),
    ),
    # ---- content-length: "1.2 Header content-length" (read exactly that many octets, NUL
    # included; the frame is still terminated by a NUL), "1.0 SEND" (likewise).
    *[
        Valid(
            f"content-length-{v}-nul-in-body",
            v,
            b"SEND\ndestination:/q\ncontent-length:5\n\na\x00b\x00c\x00",
            Send(destination="/q", body=b"a\x00b\x00c"),
            roundtrip=True,
        )
        for v in ALL
    ],
    *[
        Valid(
            f"content-length-{v}-body-is-nul",
            v,
            b"MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\ncontent-length:1\n\n\x00\x00",
            Message(destination="/q", message_id="1", subscription="0", body=b"\x00"),
            roundtrip=True,
        )
        for v in ALL
    ],
    *[
        Valid(
            f"content-length-{v}-zero",
            v,
            b"SEND\ndestination:/q\ncontent-length:0\n\n\x00",
            Send(destination="/q", content_length=0),
            roundtrip=True,
        )
        for v in ALL
    ],
    *[
        Valid(
            f"content-length-{v}-binary-body",
            v,
            b"ERROR\ncontent-type:application/octet-stream\ncontent-length:4\n\n\xff\xfe\n\x00\x00",
            Error(content_type="application/octet-stream", body=b"\xff\xfe\n\x00"),
            roundtrip=True,
        )
        for v in ALL
    ],
    *[
        Valid(
            f"content-length-{v}-leading-zeros",
            v,
            b"SEND\ndestination:/q\ncontent-length:002\n\nhi\x00",
            Send(destination="/q", body=b"hi"),
        )
        for v in ALL
    ],
    # "1.2 Header content-length": all frames MAY include it; on a frame without a body field
    # it is a custom header (and 0).
    *[
        Valid(
            f"content-length-{v}-zero-on-begin",
            v,
            b"BEGIN\ntransaction:tx1\ncontent-length:0\n\n\x00",
            Begin(transaction="tx1", headers={"content-length": "0"}),
            roundtrip=True,
        )
        for v in ALL
    ],
    # A body frame without content-length is read up to the first NUL ("1.0 SEND").
    *[
        Valid(
            f"no-content-length-{v}-read-to-nul",
            v,
            b'MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\n\n{"a": 1}\n\n\x00',
            Message(
                destination="/q",
                message_id="1",
                subscription="0",
                body=b'{"a": 1}\n\n',
                content_length=None,
            ),
            roundtrip=True,
        )
        for v in ALL
    ],
    # Header names are case sensitive ("1.2 STOMP Frames"): this is a custom header.
    *[
        Valid(
            f"content-length-{v}-case-sensitive-name",
            v,
            b"SEND\ndestination:/q\nContent-Length:1\n\nhello\x00",
            Send(
                destination="/q",
                headers={"Content-Length": "1"},
                body=b"hello",
                content_length=None,
            ),
            roundtrip=True,
        )
        for v in ALL
    ],
    # 1.0 strips whitespace around values (brief), content-length included.
    Valid(
        "content-length-1.0-padded",
        "1.0",
        b"SEND\ndestination:/q\ncontent-length: 2 \n\nhi\x00",
        Send(destination="/q", body=b"hi"),
    ),
    # ---- Custom headers: kept in `headers`, in wire order, whatever their name (brief).
    *[
        Valid(
            f"custom-{v}-names-of-model-attributes",
            v,
            b"SEND\ndestination:/q\nbody:b\ncommand:c\ncontent_length:7\nheaders:h\n"
            b"message_id:m\ntext:t\n\n\x00",
            Send(
                destination="/q",
                headers={
                    "body": "b",
                    "command": "c",
                    "content_length": "7",
                    "headers": "h",
                    "message_id": "m",
                    "text": "t",
                },
            ),
            roundtrip=True,
        )
        for v in ALL
    ],
    *[
        Valid(
            f"custom-{v}-wire-order",
            v,
            b"MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\nzeta:1\nalpha:2\nmid:3\n"
            b"Alpha:4\n\n\x00",
            Message(
                destination="/q",
                message_id="1",
                subscription="0",
                headers={"zeta": "1", "alpha": "2", "mid": "3", "Alpha": "4"},
            ),
            roundtrip=True,
        )
        for v in ALL
    ],
    *[
        Valid(
            f"custom-{v}-interleaved-with-typed",
            v,
            b"SEND\nzeta:1\ndestination:/q\nalpha:2\nreceipt:r\n\n\x00",
            Send(destination="/q", receipt="r", headers={"zeta": "1", "alpha": "2"}),
        )
        for v in ALL
    ],
    *[
        Valid(
            f"custom-{v}-empty-value",
            v,
            b"SEND\ndestination:/q\nempty:\n\n\x00",
            Send(destination="/q", headers={"empty": ""}),
            roundtrip=True,
        )
        for v in ALL
    ],
    # A custom header on a frame whose command has no typed field of that name.
    *[
        Valid(
            f"custom-{v}-on-connect-raw",
            v,
            b"CONNECT\naccept-version:1.2\nhost:h\nclient-id:a:b\n\n\x00",
            Connect(accept_version=("1.2",), host="h", headers={"client-id": "a:b"}),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    # ---- 1.0 whitespace (brief; the 1.0 examples pad headers): names and values are stripped.
    Valid(
        "strip-1.0-names-and-values",
        "1.0",
        b"SEND\n destination : /queue/a \n\tk\t:\tv w\t\n\n\x00",
        Send(destination="/queue/a", headers={"k": "v w"}),
    ),
    Valid(
        "strip-1.0-connect",
        "1.0",
        b"CONNECT\nlogin: bob \npasscode: 1234\n\n\x00",
        Connect(accept_version=None, host=None, login="bob", passcode="1234"),
    ),
    # 1.1/1.2: no trimming ("1.2 Value Encoding": MUST never trim or pad headers with spaces).
    *[
        Valid(
            f"no-strip-{v}",
            v,
            b"SEND\ndestination: /queue/a \n k :\tv \n\n\x00",
            Send(destination=" /queue/a ", headers={" k ": "\tv "}),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    # ---- heart-beat: "1.2 Heart-beating" (two integers; absent == "0,0").
    *[
        Valid(
            f"heart-beat-{v}-zero-zero",
            v,
            b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:0,0\n\n\x00",
            Connect(accept_version=("1.2",), host="h", heart_beat=HeartBeat(0, 0)),
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"heart-beat-{v}-connected",
            v,
            b"CONNECTED\nversion:1.2\nheart-beat:10000,10000\n\n\x00",
            Connected(version="1.2", heart_beat=HeartBeat(10000, 10000)),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    *[
        Valid(
            f"heart-beat-{v}-absent-is-zero",
            v,
            b"CONNECTED\nversion:1.2\n\n\x00",
            Connected(version="1.2", heart_beat=HeartBeat(0, 0)),
            roundtrip=True,
        )
        for v in SINCE_11
    ],
    # STOMP 1.2 "Protocol Negotiation": a CONNECTED without version is a 1.0 server's answer,
    # whatever the client offered, so every decoder accepts it (encoding 1.1+ still refuses it).
    *[
        Valid(
            f"negotiation-{v}-connected-without-version",
            v,
            b"CONNECTED\nsession:ID:snorky.local-49191-1185461799654-3:18\n\n\x00",
            Connected(version=None, session="ID:snorky.local-49191-1185461799654-3:18"),
            roundtrip=False,
        )
        for v in SINCE_11
    ],
    # STOMP 1.0 defines no EOL; like 1.2 (and ActiveMQ), CRLF line ends are read, CR stripped.
    Valid(
        "crlf-1.0-line-ends",
        "1.0",
        b"SEND\r\ndestination: /queue/a\r\n\r\nhi\x00\r\n",
        Send(destination="/queue/a", body=b"hi", content_length=None),
    ),
]


ENCODES: Final[list[Encodes]] = [
    # ---- The seed frames as a 1.0 peer writes them (no EOL after the NUL, no padding).
    Encodes(
        "seed-connect-1.0-written",
        "1.0",
        Connect(accept_version=None, host=None, login="bob", passcode="1234"),
        b"CONNECT\nlogin:bob\npasscode:1234\n\n\x00",
    ),
    Encodes(
        "seed-message-1.0-written",
        "1.0",
        Message(
            destination="/queue/a",
            message_id="some-message-id",
            subscription=None,
            body=b"hello queue a\n\n",
            content_length=None,
        ),
        b"MESSAGE\ndestination:/queue/a\nmessage-id:some-message-id\n\nhello queue a\n\n\x00",
    ),
    # ---- Typed headers in declaration order, then custom ones (brief).
    Encodes(
        "order-typed-then-custom",
        "1.2",
        Send(
            headers={"zeta": "1", "alpha": "2"},
            receipt="r",
            content_type="text/plain",
            transaction="t",
            destination="/q",
            body=b"hi",
        ),
        b"SEND\ndestination:/q\ntransaction:t\nreceipt:r\ncontent-type:text/plain\n"
        b"content-length:2\nzeta:1\nalpha:2\n\nhi\x00",
    ),
    # ---- content-length ("1.2 Header content-length"; brief: defaults to len(body), opt-out
    # with content_length=None, but a body with NUL always gets it).
    *[
        Encodes(
            f"content-length-{v}-default",
            v,
            Send(destination="/q", body=b"hello"),
            b"SEND\ndestination:/q\ncontent-length:5\n\nhello\x00",
        )
        for v in ALL
    ],
    *[
        Encodes(
            f"content-length-{v}-opt-out",
            v,
            Send(destination="/q", body=b"hello", content_length=None),
            b"SEND\ndestination:/q\n\nhello\x00",
        )
        for v in ALL
    ],
    *[
        Encodes(
            f"content-length-{v}-opt-out-refused-for-nul",
            v,
            Send(destination="/q", body=b"a\x00b", content_length=None),
            b"SEND\ndestination:/q\ncontent-length:3\n\na\x00b\x00",
        )
        for v in ALL
    ],
    Encodes(
        "content-length-empty-body-has-none",
        "1.2",
        Send(destination="/q"),
        b"SEND\ndestination:/q\n\n\x00",
    ),
    Encodes(
        "content-length-message-default",
        "1.2",
        Message(destination="/q", message_id="1", subscription="0", body=b"\x00"),
        b"MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\ncontent-length:1\n\n\x00\x00",
    ),
    Encodes(
        "content-length-error-opt-out",
        "1.2",
        Error(message="m", body=b"oops", content_length=None),
        b"ERROR\nmessage:m\n\noops\x00",
    ),
    # ---- heart-beat: absent == 0,0, so 0,0 is not written (brief, "1.2 Heart-beating").
    *[
        Encodes(
            f"heart-beat-{v}-zero-not-written",
            v,
            Connect(accept_version=("1.2",), host="h", heart_beat=HeartBeat(0, 0)),
            b"CONNECT\naccept-version:1.2\nhost:h\n\n\x00",
        )
        for v in ALL
    ],
    Encodes(
        "heart-beat-from-wire-string",
        "1.2",
        Connected(version="1.2", heart_beat="5000,0"),
        b"CONNECTED\nversion:1.2\nheart-beat:5000,0\n\n\x00",
    ),
    Encodes(
        "heart-beat-from-pair",
        "1.2",
        Connected(version="1.2", heart_beat=(0, 5000)),
        b"CONNECTED\nversion:1.2\nheart-beat:0,5000\n\n\x00",
    ),
    # ---- accept-version: "1.2 Protocol Negotiation" (comma separated list).
    Encodes(
        "accept-version-from-string",
        "1.2",
        Connect(accept_version="1.1,1.2", host="h"),
        b"CONNECT\naccept-version:1.1,1.2\nhost:h\n\n\x00",
    ),
    Encodes(
        "accept-version-from-list",
        "1.1",
        Stomp(accept_version=["1.0", "1.1"], host="h"),
        b"STOMP\naccept-version:1.0,1.1\nhost:h\n\n\x00",
    ),
    # ---- Value encoding per version ("1.1/1.2 Value Encoding"; 1.0 has none).
    Encodes(
        "escape-1.1-colon-lf-backslash",
        "1.1",
        Send(destination="/a:b", headers={"k:\n\\": "v:\n\\"}),
        b"SEND\ndestination:/a\\cb\nk\\c\\n\\\\:v\\c\\n\\\\\n\n\x00",
    ),
    Encodes(
        "escape-1.2-colon-lf-backslash-cr",
        "1.2",
        Send(destination="/a:b", headers={"k\r": "\r\n:\\"}),
        b"SEND\ndestination:/a\\cb\nk\\r:\\r\\n\\c\\\\\n\n\x00",
    ),
    Encodes(
        "escape-1.2-connect-raw",
        "1.2",
        Connect(accept_version=("1.2",), host="h", login="a:b\\c", passcode="p:\\n"),
        b"CONNECT\naccept-version:1.2\nhost:h\nlogin:a:b\\c\npasscode:p:\\n\n\n\x00",
    ),
    Encodes(
        "escape-1.1-connected-raw",
        "1.1",
        Connected(version="1.1", session="ID:host-1234-5:1", server="s\\1"),
        b"CONNECTED\nversion:1.1\nsession:ID:host-1234-5:1\nserver:s\\1\n\n\x00",
    ),
    Encodes(
        "escape-1.2-stomp-escaped",
        "1.2",
        Stomp(accept_version=("1.2",), host="h", login="a:b\\c", passcode="p:\n"),
        b"STOMP\naccept-version:1.2\nhost:h\nlogin:a\\cb\\\\c\npasscode:p\\c\\n\n\n\x00",
    ),
    Encodes(
        "escape-1.0-colon-raw",
        "1.0",
        Send(destination="/a:b", headers={"k": "x:y:"}),
        b"SEND\ndestination:/a:b\nk:x:y:\n\n\x00",
    ),
    Encodes(
        "escape-1.0-connected-activemq-session",
        "1.0",
        Connected(version=None, session="ID:host-1234-5:1"),
        b"CONNECTED\nsession:ID:host-1234-5:1\n\n\x00",
    ),
    # 1.0 ACK (message-id only); a 1.2 model carrying every form writes every header.
    Encodes("ack-1.0", "1.0", Ack(message_id="m1"), b"ACK\nmessage-id:m1\n\n\x00"),
    Encodes(
        "ack-1.2-every-field",
        "1.2",
        Ack(id="i", message_id="m", subscription="s", transaction="t", receipt="r"),
        b"ACK\nid:i\nmessage-id:m\nsubscription:s\ntransaction:t\nreceipt:r\n\n\x00",
    ),
]


INVALID: Final[list[Invalid]] = [
    # ---- Commands: "Augmented BNF" command lists; commands are case sensitive.
    *[Invalid(f"command-{v}-unknown", v, b"FOO\n\n\x00", "command") for v in ALL],
    *[
        Invalid(f"command-{v}-lowercase", v, b"send\ndestination:/q\n\n\x00", "command")
        for v in ALL
    ],
    *[Invalid(f"command-{v}-empty", v, b"\x00", "NUL|blank|command") for v in ALL],
    Invalid(
        "command-1.0-stomp-is-1.1",
        "1.0",
        b"STOMP\naccept-version:1.1\nhost:h\n\n\x00",
        "STOMP",
    ),
    Invalid("command-1.0-nack-is-1.1", "1.0", b"NACK\nmessage-id:007\n\n\x00", "NACK"),
    # 1.1 EOL is LF only: a CR after the command makes an unknown command, a CRLF blank line
    # is not a blank line ("1.1 Augmented BNF").
    Invalid("crlf-1.1-command", "1.1", b"SEND\r\ndestination:/q\n\n\x00", "command"),
    Invalid(
        "crlf-1.1-whole-frame", "1.1", b"SEND\r\ndestination:/q\r\n\r\n\x00", "command|blank|NUL"
    ),
    # ---- Head syntax: "Augmented BNF" header = header-name ":" header-value.
    *[
        Invalid(f"header-{v}-no-colon", v, b"SEND\ndestination:/q\nnocolon\n\n\x00", "no ':'|colon")
        for v in ALL
    ],
    *[
        Invalid(f"header-{v}-empty-name", v, b"SEND\ndestination:/q\n:value\n\n\x00", "empty.*name")
        for v in ALL
    ],
    Invalid("header-1.0-empty-name-after-strip", "1.0", b"SEND\n  :value\n\n\x00", "empty.*name"),
    *[
        Invalid(f"header-{v}-nul-in-head", v, b"SEND\ndestination:/q\x00x\n\n\x00", "NUL")
        for v in ALL
    ],
    *[
        Invalid(f"header-{v}-nul-before-blank-line", v, b"SEND\ndestination:/q\n\x00", "NUL")
        for v in ALL
    ],
    # ---- UTF-8: "1.2 Value Encoding" (commands and headers are encoded in UTF-8).
    *[Invalid(f"utf8-{v}-bad-value", v, b"SEND\ndestination:/\xff\n\n\x00", "UTF-?8") for v in ALL],
    *[
        Invalid(f"utf8-{v}-bad-name", v, b"SEND\ndestination:/q\nk\xc3(:v\n\n\x00", "UTF-?8")
        for v in ALL
    ],
    *[
        Invalid(f"utf8-{v}-overlong", v, b"SEND\ndestination:/\xc0\xaf\n\n\x00", "UTF-?8")
        for v in ALL
    ],
    *[
        Invalid(f"utf8-{v}-surrogate", v, b"SEND\ndestination:/\xed\xa0\x80\n\n\x00", "UTF-?8")
        for v in ALL
    ],
    *[Invalid(f"utf8-{v}-bad-command", v, b"SEN\xc4\n\n\x00", "UTF-?8|command") for v in ALL],
    *[
        Invalid(
            f"utf8-{v}-connect",
            v,
            b"CONNECT\naccept-version:1.2\nhost:h\nlogin:\xfe\n\n\x00",
            "UTF-?8",
        )
        for v in ALL
    ],
    # ---- Undefined escapes: "1.2 Value Encoding" (\t is the spec's example), "1.1 Value
    # Encoding" (\r is the spec's example); a trailing backslash escapes nothing.
    *[
        Invalid(f"escape-{v}-tab", v, b"SEND\ndestination:/q\nk:a\\tb\n\n\x00", "escape")
        for v in SINCE_11
    ],
    *[
        Invalid(f"escape-{v}-tab-in-name", v, b"SEND\ndestination:/q\nk\\t:v\n\n\x00", "escape")
        for v in SINCE_11
    ],
    *[
        Invalid(f"escape-{v}-trailing-backslash", v, b"SEND\ndestination:/q\\\n\n\x00", "escape")
        for v in SINCE_11
    ],
    *[
        Invalid(
            f"escape-{v}-trailing-backslash-in-name",
            v,
            b"SEND\ndestination:/q\nk\\:v\n\n\x00",
            "escape",
        )
        for v in SINCE_11
    ],
    *[
        Invalid(f"escape-{v}-uppercase-c", v, b"SEND\ndestination:/q\\C\n\n\x00", "escape")
        for v in SINCE_11
    ],
    *[
        Invalid(f"escape-{v}-backslash-space", v, b"SEND\ndestination:/q\\ x\n\n\x00", "escape")
        for v in SINCE_11
    ],
    Invalid("escape-1.1-cr-undefined", "1.1", b"SEND\ndestination:/q\\r\n\n\x00", "escape"),
    *[
        Invalid(
            f"escape-{v}-stomp-frame-is-escaped",
            v,
            b"STOMP\naccept-version:1.2\nhost:h\nlogin:a\\tb\n\n\x00",
            "escape",
        )
        for v in SINCE_11
    ],
    # ---- content-length: "1.2 Header content-length" (an octet count; the body is followed
    # by NUL); brief: ASCII digits only.
    *[
        Invalid(
            f"content-length-{v}-too-short",
            v,
            b"SEND\ndestination:/q\ncontent-length:1\n\nab\x00",
            "content-length|NUL",
        )
        for v in ALL
    ],
    *[
        Invalid(
            f"content-length-{v}-longer-than-first-nul",
            v,
            b"SEND\ndestination:/q\ncontent-length:4\n\nab\x00cd\x00",
            "content-length|NUL",
        )
        for v in ALL
    ],
    *[
        Invalid(
            f"content-length-{v}-{label}",
            v,
            b"SEND\ndestination:/q\ncontent-length:" + text + b"\n\nhello\x00",
            "content-length",
        )
        for v in ALL
        for label, text in (
            ("negative", b"-5"),
            ("plus-sign", b"+5"),
            ("non-numeric", b"five"),
            ("hex", b"0x5"),
            ("underscore", b"0_5"),
            ("float", b"5.0"),
            ("empty", b""),
            ("arabic-indic-digit", "\u0665".encode()),
            ("fullwidth-digit", "\uff15".encode()),
        )
    ],
    # Surrounding whitespace is part of a 1.1/1.2 value, so these are not numbers.
    *[
        Invalid(
            f"content-length-{v}-{label}",
            v,
            b"SEND\ndestination:/q\ncontent-length:" + text + b"\n\nhello\x00",
            "content-length",
        )
        for v in SINCE_11
        for label, text in (("leading-space", b" 5"), ("trailing-space", b"5 "))
    ],
    # ---- Bodies: "1.2 Body" (only SEND, MESSAGE and ERROR frames MAY have a body; 1.1 alike).
    # STOMP 1.0 lets any frame have one: tests/test_edges.py decodes these in 1.0.
    *[
        Invalid(f"body-{v}-on-begin", v, b"BEGIN\ntransaction:tx1\n\nhello\x00", "body")
        for v in SINCE_11
    ],
    *[
        Invalid(f"body-{v}-on-receipt", v, b"RECEIPT\nreceipt-id:1\n\n\n\x00", "body")
        for v in SINCE_11
    ],
    *[
        Invalid(
            f"body-{v}-on-subscribe",
            v,
            b"SUBSCRIBE\ndestination:/q\nid:0\n\nselector\x00",
            "body",
        )
        for v in SINCE_11
    ],
    *[
        Invalid(
            f"body-{v}-on-connect",
            v,
            b"CONNECT\naccept-version:1.2\nhost:h\n\nhello\x00",
            "body",
        )
        for v in SINCE_11
    ],
    *[
        Invalid(
            f"body-{v}-on-disconnect-by-content-length",
            v,
            b"DISCONNECT\ncontent-length:1\n\n\x00\x00",
            "body",
        )
        for v in SINCE_11
    ],
    # ---- Missing required headers: "1.2 Frames and Headers", "1.0" sections.
    *[Invalid(f"required-{v}-send-destination", v, b"SEND\n\nhi\x00", "destination") for v in ALL],
    *[
        Invalid(f"required-{v}-subscribe-destination", v, b"SUBSCRIBE\nid:0\n\n\x00", "destination")
        for v in ALL
    ],
    *[
        Invalid(f"required-{v}-subscribe-id", v, b"SUBSCRIBE\ndestination:/q\n\n\x00", r"\bid\b")
        for v in SINCE_11
    ],
    *[
        Invalid(
            f"required-{v}-unsubscribe-id",
            v,
            b"UNSUBSCRIBE\ndestination:/q\n\n\x00",
            r"\bid\b",
        )
        for v in SINCE_11
    ],
    Invalid("required-1.0-unsubscribe-id-or-destination", "1.0", b"UNSUBSCRIBE\n\n\x00", "id"),
    *[
        Invalid(
            f"required-{v}-connect-accept-version",
            v,
            b"CONNECT\nhost:h\nlogin:bob\npasscode:1234\n\n\x00",
            "accept-version",
        )
        for v in SINCE_11
    ],
    *[
        Invalid(
            f"required-{v}-connect-host",
            v,
            b"CONNECT\naccept-version:1.2\nlogin:bob\npasscode:1234\n\n\x00",
            "host",
        )
        for v in SINCE_11
    ],
    *[
        Invalid(f"required-{v}-stomp-host", v, b"STOMP\naccept-version:1.2\n\n\x00", "host")
        for v in SINCE_11
    ],
    *[
        Invalid(
            f"required-{v}-seed-message-subscription",
            v,
            b"MESSAGE\ndestination: /queue/a\nmessage-id: some-message-id\n\nhello queue a\n\n\x00",
            "subscription",
        )
        for v in SINCE_11
    ],
    *[
        Invalid(
            f"required-{v}-message-message-id",
            v,
            b"MESSAGE\ndestination:/q\nsubscription:0\n\nhi\x00",
            "message-id",
        )
        for v in ALL
    ],
    *[
        Invalid(
            f"required-{v}-message-destination",
            v,
            b"MESSAGE\nmessage-id:1\nsubscription:0\n\nhi\x00",
            "destination",
        )
        for v in ALL
    ],
    *[Invalid(f"required-{v}-receipt-id", v, b"RECEIPT\n\n\x00", "receipt-id") for v in ALL],
    *[
        Invalid(
            f"required-{v}-{cmd.lower()}-transaction", v, cmd.encode() + b"\n\n\x00", "transaction"
        )
        for v in ALL
        for cmd in ("BEGIN", "COMMIT", "ABORT")
    ],
    # ---- ACK / NACK forms per version ("1.0 ACK", "1.1 ACK", "1.2 ACK", "1.2 NACK").
    Invalid("ack-1.0-id-only", "1.0", b"ACK\nid:12345\n\n\x00", "message-id"),
    Invalid("ack-1.1-id-only", "1.1", b"ACK\nid:12345\n\n\x00", "message-id|subscription"),
    Invalid("ack-1.1-no-subscription", "1.1", b"ACK\nmessage-id:007\n\n\x00", "subscription"),
    Invalid(
        "ack-1.2-1.1-form",
        "1.2",
        b"ACK\nmessage-id:007\nsubscription:0\n\n\x00",
        r"\bid\b",
    ),
    *[Invalid(f"ack-{v}-empty", v, b"ACK\n\n\x00", "id") for v in ALL],
    Invalid("nack-1.1-id-only", "1.1", b"NACK\nid:12345\n\n\x00", "message-id|subscription"),
    Invalid(
        "nack-1.2-1.1-form",
        "1.2",
        b"NACK\nmessage-id:007\nsubscription:0\n\n\x00",
        r"\bid\b",
    ),
    # ---- Typed values: "SUBSCRIBE ack Header" (auto, client, client-individual) and
    # "1.2 Heart-beating" (two integers separated by a comma).
    *[
        Invalid(
            f"subscribe-{v}-bad-ack",
            v,
            b"SUBSCRIBE\ndestination:/q\nid:0\nack:sometimes\n\n\x00",
            "ack",
        )
        for v in ALL
    ],
    *[
        Invalid(
            f"subscribe-{v}-ack-wrong-case",
            v,
            b"SUBSCRIBE\ndestination:/q\nid:0\nack:Client\n\n\x00",
            "ack",
        )
        for v in SINCE_11
    ],
    *[
        Invalid(
            f"heart-beat-{v}-{label}",
            v,
            b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:" + text + b"\n\n\x00",
            "heart-beat",
        )
        for v in SINCE_11
        for label, text in (
            ("letters", b"a,b"),
            ("three-values", b"1,2,3"),
            ("one-value", b"1000"),
            ("empty", b""),
            ("negative", b"-1,0"),
            ("semicolon", b"1;2"),
            ("empty-member", b",0"),
        )
    ],
    *[
        Invalid(
            f"heart-beat-{v}-connected-letters",
            v,
            b"CONNECTED\nversion:1.2\nheart-beat:a,b\n\n\x00",
            "heart-beat",
        )
        for v in SINCE_11
    ],
]


UNENCODABLE: Final[list[Unencodable]] = [
    # ---- 1.0 has no escaping (brief): CR/LF anywhere, colon in a name and surrounding
    # whitespace (1.0 readers strip it) cannot be carried.
    Unencodable(
        "unencodable-1.0-lf-in-value", "1.0", Send(destination="/q", headers={"k": "a\nb"}), "LF"
    ),
    Unencodable("unencodable-1.0-cr-in-value", "1.0", Send(destination="/q\rx"), "CR"),
    # ActiveMQ hands a 1.0 SEND's "\\n" to 1.0 consumers as a raw line break.
    Unencodable(
        "unencodable-1.0-backslash-in-send",
        "1.0",
        Send(destination="/q", headers={"k": "x\\ninjected:yes"}),
        "backslash",
    ),
    Unencodable(
        "unencodable-1.0-lf-in-name", "1.0", Send(destination="/q", headers={"a\nb": "v"}), "LF"
    ),
    Unencodable(
        "unencodable-1.0-colon-in-name",
        "1.0",
        Send(destination="/q", headers={"a:b": "v"}),
        "colon",
    ),
    Unencodable(
        "unencodable-1.0-leading-space-value", "1.0", Send(destination=" /q"), "whitespace"
    ),
    Unencodable(
        "unencodable-1.0-trailing-tab-value",
        "1.0",
        Send(destination="/q", headers={"k": "v\t"}),
        "whitespace",
    ),
    Unencodable(
        "unencodable-1.0-padded-name",
        "1.0",
        Send(destination="/q", headers={" k": "v"}),
        "whitespace",
    ),
    Unencodable(
        "unencodable-1.0-seed-message-padded",
        "1.0",
        Message(destination=" /queue/a", message_id="1", subscription=None),
        "whitespace",
    ),
    Unencodable(
        "unencodable-1.0-stomp-frame",
        "1.0",
        Stomp(accept_version=("1.0",), host="h"),
        "STOMP",
    ),
    Unencodable(
        "unencodable-1.0-nack-frame", "1.0", Nack(message_id="m", subscription="s"), "NACK"
    ),
    Unencodable("unencodable-1.0-ack-id-only", "1.0", Ack(id="i"), "message-id"),
    Unencodable(
        "unencodable-1.0-unsubscribe-neither", "1.0", Unsubscribe(id=None), "id|destination"
    ),
    # ---- 1.1 defines no escape for CR ("1.1 Value Encoding").
    Unencodable(
        "unencodable-1.1-cr-in-value", "1.1", Send(destination="/q\r"), "carriage return|CR"
    ),
    Unencodable(
        "unencodable-1.1-cr-in-name",
        "1.1",
        Send(destination="/q", headers={"k\r": "v"}),
        "carriage return|CR",
    ),
    # ---- CONNECT / CONNECTED are never escaped: CR/LF cannot be carried, nor a colon in a name.
    *[
        Unencodable(
            f"unencodable-connect-{v}-lf-in-login",
            v,
            Connect(accept_version=("1.2",), host="h", login="a\nb"),
            "CR|LF",
        )
        for v in ALL
    ],
    *[
        Unencodable(
            f"unencodable-connect-{v}-cr-in-host",
            v,
            Connect(accept_version=("1.2",), host="h\rx"),
            "CR|LF",
        )
        for v in ALL
    ],
    *[
        Unencodable(
            f"unencodable-connected-{v}-lf-in-session",
            v,
            Connected(version="1.2", session="ID:a\nb"),
            "CR|LF",
        )
        for v in ALL
    ],
    *[
        Unencodable(
            f"unencodable-connect-{v}-colon-in-custom-name",
            v,
            Connect(accept_version=("1.2",), host="h", headers={"a:b": "v"}),
            "colon",
        )
        for v in ALL
    ],
    # ---- NUL ends a frame ("1.2 STOMP Frames"): a header cannot carry one (the decoder
    # refuses a NUL inside a frame head, so such bytes could not be read back).
    *[
        Unencodable(
            f"unencodable-{v}-nul-in-header-value",
            v,
            Send(destination="/q", headers={"k": "a\x00b"}),
            "NUL",
        )
        for v in ALL
    ],
    Unencodable(
        "unencodable-1.2-nul-in-connect-passcode",
        "1.2",
        Connect(accept_version=("1.2",), host="h", passcode="a\x00b"),
        "NUL",
    ),
    # ---- Headers 1.1+ requires (brief: R11 fields; ACK/NACK forms per version).
    *[
        Unencodable(
            f"unencodable-required-{v}-connect-accept-version-host",
            v,
            Connect(accept_version=None, host=None, login="bob", passcode="1234"),
            "accept-version",
        )
        for v in SINCE_11
    ],
    *[
        Unencodable(
            f"unencodable-required-{v}-connected-version",
            v,
            Connected(version=None, session="s"),
            "version",
        )
        for v in SINCE_11
    ],
    *[
        Unencodable(
            f"unencodable-required-{v}-subscribe-id",
            v,
            Subscribe(destination="/q", id=None),
            r"\bid\b",
        )
        for v in SINCE_11
    ],
    *[
        Unencodable(
            f"unencodable-required-{v}-unsubscribe-id",
            v,
            Unsubscribe(id=None, destination="/q"),
            r"\bid\b",
        )
        for v in SINCE_11
    ],
    *[
        Unencodable(
            f"unencodable-required-{v}-message-subscription",
            v,
            Message(destination="/q", message_id="1", subscription=None),
            "subscription",
        )
        for v in SINCE_11
    ],
    Unencodable("unencodable-ack-1.1-id-only", "1.1", Ack(id="i"), "message-id|subscription"),
    Unencodable("unencodable-ack-1.1-message-id-only", "1.1", Ack(message_id="m"), "subscription"),
    Unencodable(
        "unencodable-ack-1.2-1.1-form", "1.2", Ack(message_id="m", subscription="s"), r"\bid\b"
    ),
    Unencodable("unencodable-ack-1.2-1.0-form", "1.2", Ack(message_id="m"), r"\bid\b"),
    Unencodable("unencodable-nack-1.1-id-only", "1.1", Nack(id="i"), "message-id|subscription"),
    Unencodable(
        "unencodable-nack-1.2-1.1-form", "1.2", Nack(message_id="m", subscription="s"), r"\bid\b"
    ),
]
