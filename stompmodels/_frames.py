"""The 15 STOMP frames as typed models, and the unions that parse any of them."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Final, Literal, Self

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from ._codec import encode_id_frame, encode_text
from ._headers import (
    NO_HEART_BEAT,
    AckMode,
    Body,
    ContentLength,
    HeartBeatValue,
    NonEmpty,
    Versions,
)
from ._model import FrameModel, check_custom_headers
from ._plan import Form
from ._spec import Version

_CHARSET: Final = re.compile(r";\s*charset=([^;\s]+)", re.IGNORECASE)
_SINCE_11: Final = ("1.1", "1.2")


def _forms(v10: tuple[Form, ...], v11: tuple[Form, ...]) -> dict[Version, tuple[Form, ...]]:
    return {"1.0": v10, "1.1": v11, "1.2": v11}


class BodyFrame(FrameModel):
    """A frame that may carry a body: SEND, MESSAGE and ERROR (STOMP 1.2 "Body")."""

    content_type: str | None = None
    body: Body = b""
    content_length: ContentLength | None = None
    """Declared body length: set from the body unless given; pass None to leave the header out
    (ActiveMQ then treats a SEND as text). A body containing NUL always gets it."""

    @model_validator(mode="after")
    def _check(self) -> Self:
        # Read through __dict__: an attribute of a model is looked up on its classes first.
        values = self.__dict__
        if values["headers"]:
            check_custom_headers(values["headers"], self.wire_fields)
        body = values["body"]
        length = values["content_length"]
        if length is None:
            # STOMP 1.2 "Body": a body with NUL octets needs content-length to be framed.
            given = self.__pydantic_fields_set__  # model_fields_set, without its property
            if body and ("content_length" not in given or b"\0" in body):
                values["content_length"] = len(body)
        elif length != len(body):
            raise ValueError("content-length does not match the body's length")
        return self

    def _copy_fields(self, changes: dict[str, Any]) -> dict[str, Any]:
        fields = super()._copy_fields(changes)
        # A new body gets its own length, as the constructor gives it, unless one is given;
        # a content-length left out (None) stays out.
        if (
            "body" in changes
            and "content_length" not in changes
            and fields.get("content_length") is not None
        ):
            del fields["content_length"]
        return fields

    @property
    def text(self) -> str:
        """The body decoded with the charset of `content_type` (UTF-8 when none is named)."""
        found = _CHARSET.search(self.content_type or "")
        return self.body.decode(found.group(1).strip("\"'") if found else "utf-8")


class Connect(FrameModel):
    """CONNECT: open a session (STOMP 1.2 "CONNECT or STOMP Frame"); never escaped."""

    command: Literal["CONNECT"] = "CONNECT"
    accept_version: Versions | None
    host: str | None
    login: str | None = None
    passcode: SecretStr | None = None
    heart_beat: HeartBeatValue = NO_HEART_BEAT
    version_forms: ClassVar = _forms((), (("accept_version", "host"),))


class Stomp(FrameModel):
    """STOMP: CONNECT under the name 1.1 added (STOMP 1.2 "CONNECT or STOMP Frame")."""

    command: Literal["STOMP"] = "STOMP"
    accept_version: Versions | None
    host: str | None
    login: str | None = None
    passcode: SecretStr | None = None
    heart_beat: HeartBeatValue = NO_HEART_BEAT
    version_forms: ClassVar = dict.fromkeys(_SINCE_11, (("accept_version", "host"),))


class Connected(FrameModel):
    """CONNECTED: the server accepted the session (STOMP 1.2 "CONNECTED Frame"); never escaped."""

    command: Literal["CONNECTED"] = "CONNECTED"
    version: str | None
    session: str | None = None
    server: str | None = None
    heart_beat: HeartBeatValue = NO_HEART_BEAT
    version_forms: ClassVar = _forms((), (("version",),))
    # STOMP 1.2 "Protocol Negotiation": a CONNECTED without version comes from a 1.0 server,
    # whatever the client offered, so a decoder never requires it.
    decode_forms: ClassVar = {}


class Send(BodyFrame):
    """SEND: publish a message to a destination (STOMP 1.2 "SEND")."""

    command: Literal["SEND"] = "SEND"
    decoded_as_is: ClassVar = True
    destination: NonEmpty
    transaction: str | None = None
    receipt: str | None = None

    @field_validator("body", mode="before")
    @classmethod
    def _text_body(cls, body: object, info: ValidationInfo) -> object:
        # A str body is text in the charset content_type declares (validated before body);
        # in JSON input it is base64, as JSON output writes it (`Body`).
        if isinstance(body, str) and info.mode == "python":
            return encode_text(body, info.data.get("content_type"))
        return body


class Subscribe(FrameModel):
    """SUBSCRIBE: receive messages from a destination (STOMP 1.2 "SUBSCRIBE")."""

    command: Literal["SUBSCRIBE"] = "SUBSCRIBE"
    destination: NonEmpty
    id: str | None
    ack: AckMode = "auto"
    receipt: str | None = None
    version_forms: ClassVar = _forms((), (("id",),))

    def version_problem(self, version: Version) -> str | None:
        """Why this frame cannot be carried by `version`, or None if it can."""
        # STOMP 1.0 "SUBSCRIBE": the ack modes are auto and client; client-individual is 1.1's.
        if version == "1.0" and self.ack == "client-individual":
            return "STOMP 1.0 knows only ack modes auto and client, not client-individual"
        return super().version_problem(version)

    def to_wire(self, version: Version = "1.2") -> bytes:
        """The exact wire bytes of this frame in `version`; ValueError if it cannot carry it."""
        if version == "1.0" and self.ack == "client-individual":
            raise ValueError(self.version_problem(version))
        return super().to_wire(version)


class Unsubscribe(FrameModel):
    """UNSUBSCRIBE: end a subscription (STOMP 1.2 "UNSUBSCRIBE"); 1.0 may name the destination."""

    command: Literal["UNSUBSCRIBE"] = "UNSUBSCRIBE"
    decoded_as_is: ClassVar = True
    id: str | None
    destination: str | None = None
    receipt: str | None = None
    version_forms: ClassVar = _forms((("id",), ("destination",)), (("id",),))


_ACK_FORMS: Final[dict[Version, tuple[Form, ...]]] = {
    "1.0": (("message_id",),),
    "1.1": (("message_id", "subscription"),),
    "1.2": (("id",),),
}


class Acknowledgement(FrameModel):
    """What ACK and NACK share.

    Each version names the message differently (1.2: `id`; 1.1: `message-id` and
    `subscription`; 1.0: `message-id`): a model holds any of those forms, and encoding or
    decoding checks the form of the version in use.
    """

    id: str | None = None
    message_id: str | None = None
    subscription: str | None = None
    transaction: str | None = None
    receipt: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.headers:
            check_custom_headers(self.headers, self.wire_fields)
        problem = self._missing(self.build_forms)
        if problem:
            raise ValueError(problem)
        return self

    def to_wire(self, version: Version = "1.2") -> bytes:
        """The exact wire bytes of this frame in `version`; ValueError if it cannot carry it."""
        values = self.__dict__
        # The frame `Engine.ack` builds for STOMP 1.2, the one on every message's path.
        if (
            version == "1.2"
            and values["id"] is not None
            and values["message_id"] is None
            and values["subscription"] is None
            and values["transaction"] is None
            and values["receipt"] is None
            and not values["headers"]
        ):
            data = encode_id_frame(values["command"], values["id"])
            if data is not None:
                return data
        return super().to_wire(version)


class Ack(Acknowledgement):
    """ACK: acknowledge a message (STOMP 1.2 "ACK")."""

    command: Literal["ACK"] = "ACK"
    version_forms: ClassVar = _ACK_FORMS
    build_forms: ClassVar = (("id",), ("message_id", "subscription"), ("message_id",))


class Nack(Acknowledgement):
    """NACK: reject a message (STOMP 1.2 "NACK"); added in 1.1."""

    command: Literal["NACK"] = "NACK"
    version_forms: ClassVar = {v: _ACK_FORMS[v] for v in _SINCE_11}
    build_forms: ClassVar = (("id",), ("message_id", "subscription"))


class Begin(FrameModel):
    """BEGIN: start a transaction (STOMP 1.2 "BEGIN")."""

    command: Literal["BEGIN"] = "BEGIN"
    decoded_as_is: ClassVar = True
    transaction: NonEmpty
    receipt: str | None = None


class Commit(FrameModel):
    """COMMIT: commit a transaction (STOMP 1.2 "COMMIT")."""

    command: Literal["COMMIT"] = "COMMIT"
    decoded_as_is: ClassVar = True
    transaction: NonEmpty
    receipt: str | None = None


class Abort(FrameModel):
    """ABORT: roll back a transaction (STOMP 1.2 "ABORT")."""

    command: Literal["ABORT"] = "ABORT"
    decoded_as_is: ClassVar = True
    transaction: NonEmpty
    receipt: str | None = None


class Disconnect(FrameModel):
    """DISCONNECT: close the session, ideally with a receipt (STOMP 1.2 "DISCONNECT")."""

    command: Literal["DISCONNECT"] = "DISCONNECT"
    decoded_as_is: ClassVar = True
    receipt: str | None = None


class Message(BodyFrame):
    """MESSAGE: a message delivered to a subscription (STOMP 1.2 "MESSAGE")."""

    command: Literal["MESSAGE"] = "MESSAGE"
    decoded_as_is: ClassVar = True
    destination: str
    message_id: str
    subscription: str | None
    ack: str | None = None
    version_forms: ClassVar = _forms((), (("subscription",),))


class Receipt(FrameModel):
    """RECEIPT: the server processed the frame that asked for it (STOMP 1.2 "RECEIPT")."""

    command: Literal["RECEIPT"] = "RECEIPT"
    decoded_as_is: ClassVar = True
    receipt_id: str


class Error(BodyFrame):
    """ERROR: something went wrong; the server closes the connection (STOMP 1.2 "ERROR")."""

    command: Literal["ERROR"] = "ERROR"
    decoded_as_is: ClassVar = True
    message: str | None = None
    receipt_id: str | None = None


ClientFrame = Annotated[
    Connect
    | Stomp
    | Send
    | Subscribe
    | Unsubscribe
    | Ack
    | Nack
    | Begin
    | Commit
    | Abort
    | Disconnect,
    Field(discriminator="command"),
]
"""Any frame a client sends."""

ServerFrame = Annotated[Connected | Message | Receipt | Error, Field(discriminator="command")]
"""Any frame a server sends."""

Frame = Annotated[
    Connect
    | Stomp
    | Send
    | Subscribe
    | Unsubscribe
    | Ack
    | Nack
    | Begin
    | Commit
    | Abort
    | Disconnect
    | Connected
    | Message
    | Receipt
    | Error,
    Field(discriminator="command"),
]
"""Any STOMP frame, discriminated by its command."""

MODELS: Final[dict[str, type[FrameModel]]] = {
    model.model_fields["command"].default: model
    for model in (Connect, Stomp, Send, Subscribe, Unsubscribe, Ack, Nack, Begin, Commit, Abort,
                  Disconnect, Connected, Message, Receipt, Error)
}  # fmt: skip
