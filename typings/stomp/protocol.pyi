# Partial stubs for stomp.protocol (stomp.py 9): only what the tests use.
from typing import Any

from stomp.transport import BaseTransport

_Headers = dict[str, Any]

class Protocol10:
    version: str
    def __init__(self, transport: BaseTransport, auto_content_length: bool = True) -> None: ...
    def send_frame(
        self, cmd: str, headers: _Headers | None = None, body: bytes | str = ""
    ) -> None: ...
    def connect(
        self,
        username: str | None = None,
        passcode: str | None = None,
        wait: bool = False,
        headers: _Headers | None = None,
        **keyword_headers: Any,
    ) -> None: ...
    def send(
        self,
        destination: str,
        body: bytes | str,
        content_type: str | None = None,
        headers: _Headers | None = None,
        **keyword_headers: Any,
    ) -> None: ...
    def subscribe(
        self,
        destination: str,
        id: str | None = None,
        ack: str = "auto",
        headers: _Headers | None = None,
        **keyword_headers: Any,
    ) -> None: ...
    def unsubscribe(
        self,
        destination: str | None = None,
        id: str | None = None,
        headers: _Headers | None = None,
        **keyword_headers: Any,
    ) -> None: ...
    def ack(self, id: str, transaction: str | None = None, receipt: str | None = None) -> None: ...
    def begin(
        self,
        transaction: str | None = None,
        headers: _Headers | None = None,
        **keyword_headers: Any,
    ) -> str: ...
    def commit(
        self,
        transaction: str | None = None,
        headers: _Headers | None = None,
        **keyword_headers: Any,
    ) -> None: ...
    def abort(
        self, transaction: str, headers: _Headers | None = None, **keyword_headers: Any
    ) -> None: ...

class Protocol11:
    version: str
    def __init__(
        self,
        transport: BaseTransport,
        heartbeats: tuple[int, int] = (0, 0),
        auto_content_length: bool = True,
        heart_beat_receive_scale: float = 1.5,
    ) -> None: ...
    def send_frame(
        self, cmd: str, headers: _Headers | None = None, body: bytes | str = ""
    ) -> None: ...
    def connect(
        self,
        username: str | None = None,
        passcode: str | None = None,
        wait: bool = False,
        headers: _Headers | None = None,
        with_connect_command: bool = False,
        **keyword_headers: Any,
    ) -> None: ...
    def send(
        self,
        destination: str,
        body: bytes | str,
        content_type: str | None = None,
        headers: _Headers | None = None,
        **keyword_headers: Any,
    ) -> None: ...
    def subscribe(
        self,
        destination: str,
        id: str,
        ack: str = "auto",
        headers: _Headers | None = None,
        **keyword_headers: Any,
    ) -> None: ...
    def unsubscribe(
        self, id: str, headers: _Headers | None = None, **keyword_headers: Any
    ) -> None: ...
    def ack(
        self,
        id: str,
        subscription: str,
        transaction: str | None = None,
        receipt: str | None = None,
    ) -> None: ...
    def nack(
        self,
        id: str,
        subscription: str,
        transaction: str | None = None,
        receipt: str | None = None,
        **keyword_headers: Any,
    ) -> None: ...
    def begin(
        self,
        transaction: str | None = None,
        headers: _Headers | None = None,
        **keyword_headers: Any,
    ) -> str: ...
    def commit(
        self,
        transaction: str | None = None,
        headers: _Headers | None = None,
        **keyword_headers: Any,
    ) -> None: ...
    def abort(
        self, transaction: str, headers: _Headers | None = None, **keyword_headers: Any
    ) -> None: ...

class Protocol12(Protocol11):
    def ack(  # type: ignore[override]  # 1.2 acknowledges by id alone
        self, id: str, transaction: str | None = None, receipt: str | None = None
    ) -> None: ...
    def nack(  # type: ignore[override]
        self,
        id: str,
        transaction: str | None = None,
        receipt: str | None = None,
        **keyword_headers: Any,
    ) -> None: ...
