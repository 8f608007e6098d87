"""Facts of the STOMP 1.0, 1.1 and 1.2 specifications, as data."""

from __future__ import annotations

from typing import Final, Literal, get_args

Version = Literal["1.0", "1.1", "1.2"]
VERSIONS: Final[tuple[Version, ...]] = get_args(Version)

CLIENT_COMMANDS: Final = frozenset(
    {"CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK", "BEGIN", "COMMIT",
     "ABORT", "DISCONNECT"}
)  # fmt: skip
SERVER_COMMANDS: Final = frozenset({"CONNECTED", "MESSAGE", "RECEIPT", "ERROR"})

# STOMP and NACK were added in 1.1.
COMMANDS_BY_VERSION: Final[dict[Version, frozenset[str]]] = {
    "1.0": (CLIENT_COMMANDS | SERVER_COMMANDS) - {"STOMP", "NACK"},
    "1.1": CLIENT_COMMANDS | SERVER_COMMANDS,
    "1.2": CLIENT_COMMANDS | SERVER_COMMANDS,
}

# STOMP 1.2 "Body": only SEND, MESSAGE and ERROR frames MAY have a body.
BODY_COMMANDS: Final = frozenset({"SEND", "MESSAGE", "ERROR"})

# The commands whose frames may have a body, per version. STOMP 1.0 gives every frame one: "A
# blank line indicates the end of the headers and beginning of the body ..., and the null
# indicates the end of the frame", and it restricts no command's body; 1.1 and 1.2 do.
BODY_COMMANDS_BY_VERSION: Final[dict[Version, frozenset[str]]] = {
    "1.0": COMMANDS_BY_VERSION["1.0"],
    "1.1": BODY_COMMANDS,
    "1.2": BODY_COMMANDS,
}

# STOMP 1.2 "Value Encoding": CONNECT and CONNECTED frames are never escaped, for 1.0 compatibility.
UNESCAPED_COMMANDS: Final = frozenset({"CONNECT", "CONNECTED"})

# STOMP 1.1/1.2 "Value Encoding": the escape sequences each version defines (1.0 has none).
ESCAPES: Final[dict[Version, dict[str, str]]] = {
    "1.0": {},
    "1.1": {"\\": "\\\\", "\n": "\\n", ":": "\\c"},
    "1.2": {"\\": "\\\\", "\r": "\\r", "\n": "\\n", ":": "\\c"},
}
