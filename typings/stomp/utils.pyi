# Partial stubs for stomp.utils (stomp.py 9): only what the tests use.
from typing import Any

NULL: bytes

class Frame:
    cmd: str | None
    # Values are str when parsed; an encoder also takes ints and tuples (one line per item).
    headers: dict[str, Any]
    original_headers: dict[str, Any]
    body: bytes | str | None
    def __init__(
        self,
        cmd: str | None,
        headers: dict[str, Any] | None = None,
        body: bytes | str | None = None,
    ) -> None: ...

def parse_frame(frame: bytes) -> Frame | None: ...
def convert_frame(frame: Frame) -> list[bytes]: ...
def pack(pieces: list[bytes] | tuple[bytes, ...] = ()) -> bytes: ...
