"""The `stompmodels` command line, without a real broker.

`decode` runs on byte vectors; `send` and `listen` talk to `FakeBroker`, the in-memory
FakeServer behind a loopback port. Every run of `main` is bounded (`run_cli`), and every listen
gets --timeout.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import io
import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

import stompmodels.cli.app as cli_module
from stompmodels import Connect, Frame, HeartBeat, Message, Send, Stomp, Subscribe
from stompmodels._client.url import parse_url
from stompmodels.cli import main
from stompmodels.cli.commands import ListenOptions, subscribe_plan
from stompmodels.cli.format import Progress, body_fields, body_preview, escape, frame_text
from stompmodels.cli.stats import Stats

from .fake_server import FakeServer

SECRET = "hunter2-do-not-print"
RUN_TIMEOUT = 30.0


@dataclass
class Run:
    """What one run of `main` returned and printed."""

    status: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines()]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str, timeout: float = RUN_TIMEOUT) -> Run:
    """`main(argv)` in a daemon thread, failing the test if it takes longer than `timeout`."""
    outcome: list[int | BaseException] = []

    def target() -> None:
        try:
            outcome.append(main(list(argv)))
        except BaseException as exc:  # surfaced below, in the test's thread
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert outcome, f"main({list(argv)}) did not finish within {timeout} s"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    captured = capsys.readouterr()
    return Run(outcome[0], captured.out, captured.err)


def stdin_bytes(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))


# -- a fake broker on a loopback port -------------------------------------------------------


class RefusingServer(FakeServer):
    """A FakeServer that, like RabbitMQ, refuses destinations outside /queue and /topic."""

    refusal = "Unknown destination"
    """The `message` header of the ERROR that refuses one."""

    def _apply(self, frame: Frame) -> tuple[str | None, list[bytes]]:
        if isinstance(frame, Send | Subscribe) and not frame.destination.startswith(
            ("/queue/", "/topic/")
        ):
            return self.refusal, []
        return super()._apply(frame)


@dataclass
class FakeBroker:
    """FakeServer sessions behind 127.0.0.1:`port`, served by an event loop in a thread.

    Each new subscription is sent every body of `messages`, with the custom `headers`.
    """

    messages: Sequence[bytes] = ()
    credentials: tuple[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    refusal: str = RefusingServer.refusal
    session_id: str = "session-7"
    sessions: list[FakeServer] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"stomp://guest:{SECRET}@127.0.0.1:{self.port}/"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server = RefusingServer(heart_beat=HeartBeat(0, 0), credentials=self.credentials)
        server.refusal, server.session = self.refusal, self.session_id
        self.sessions.append(server)
        try:
            while not server.closed and (data := await reader.read(65536)):
                known = set(server.subscriptions)
                out = server.receive(data)
                for key in server.subscriptions.keys() - known:
                    out.extend(
                        server.message(key, body, headers=self.headers) for body in self.messages
                    )
                writer.write(b"".join(out))
                await writer.drain()
        finally:
            writer.close()

    def __enter__(self) -> FakeBroker:
        self._thread.start()
        assert self._ready.wait(10), "the fake broker did not start"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def fake_broker() -> Iterator[FakeBroker]:
    with FakeBroker(messages=[b"one", b"two", b"\xff\x00bin"]) as broker:
        yield broker


# -- decode -----------------------------------------------------------------------------------

CONNECTED = b"CONNECTED\nversion:1.2\nheart-beat:10000,10000\nserver:RabbitMQ/3.10.8\n\n\0"
MESSAGE = (
    b"MESSAGE\ndestination:/queue/a\nmessage-id:1\nsubscription:0\ncontent-length:3\n\na\0\xff\0"
)
RECEIPT = b"RECEIPT\nreceipt-id:r-1\n\n\0"
STREAM = CONNECTED + b"\n\n" + MESSAGE + b"\r\n" + RECEIPT
OFFSETS = [0, len(CONNECTED) + 2, len(CONNECTED) + 2 + len(MESSAGE) + 2]

CONNECT = (
    b"CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:" + SECRET.encode() + b"\n\n\0"
)
SEND = b"SEND\ndestination:/queue/a\n\nhi\0"
BAD = CONNECT + SEND + b"BOGUS\n\n\0"
BAD_OFFSET = len(CONNECT) + len(SEND)


@pytest.fixture
def capture(tmp_path: Any) -> str:
    path = tmp_path / "capture.bin"
    path.write_bytes(STREAM)
    return str(path)


def test_decode_readable_shows_each_frame_at_its_offset(
    capsys: pytest.CaptureFixture[str], capture: str
) -> None:
    run = run_cli(capsys, "decode", capture)
    assert run.status == 0 and run.err == ""
    titles = [line for line in run.out.splitlines() if not line.startswith(" ")]
    assert titles == [
        f"CONNECTED  [byte {OFFSETS[0]}]",
        f"MESSAGE /queue/a  [byte {OFFSETS[1]}]",
        f"RECEIPT  [byte {OFFSETS[2]}]",
    ]
    assert "  server: RabbitMQ/3.10.8" in run.out
    assert "  body (3 bytes, binary): 61 00 ff" in run.out


def test_decode_json_lines_parse_and_carry_offset_and_body(
    capsys: pytest.CaptureFixture[str], capture: str
) -> None:
    run = run_cli(capsys, "decode", "--json", capture)
    assert run.status == 0 and run.err == ""
    records = run.json_lines()
    assert [r["command"] for r in records] == ["CONNECTED", "MESSAGE", "RECEIPT"]
    assert [r["offset"] for r in records] == OFFSETS
    message = records[1]
    assert message["body_encoding"] == "base64" and message["body"] == "YQD/"
    assert message["message_id"] == "1" and message["content_length"] == 3
    # The record is the model's JSON dump (base64 body): it validates back to the same frame.
    fields = {k: v for k, v in message.items() if k not in ("offset", "body_encoding")}
    assert Message.model_validate_json(json.dumps(fields)) == Message(
        destination="/queue/a", message_id="1", subscription="0", body=b"a\0\xff"
    )


def test_decode_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    stdin_bytes(monkeypatch, RECEIPT)
    run = run_cli(capsys, "decode", "--json")
    assert run.status == 0
    assert run.json_lines() == [
        {"offset": 0, "command": "RECEIPT", "headers": {}, "receipt_id": "r-1"}
    ]


@pytest.mark.parametrize("as_json", [False, True])
def test_decode_error_prints_frames_before_it_then_one_line_with_offset(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any, as_json: bool
) -> None:
    stdin_bytes(monkeypatch, BAD)
    run = run_cli(capsys, "decode", "-", *(["--json"] if as_json else []))
    assert run.status == 1
    assert run.err_lines == [
        f"stompmodels: error: protocol error at byte {BAD_OFFSET}: "
        "unknown STOMP 1.2 command 'BOGUS'"
    ]
    if as_json:
        assert [r["command"] for r in run.json_lines()] == ["CONNECT", "SEND"]
    else:
        assert "CONNECT  [byte 0]" in run.out and f"SEND /queue/a  [byte {len(CONNECT)}]" in run.out
    assert SECRET not in run.out + run.err
    assert "**********" in run.out


def test_decode_truncated_input_names_where_the_last_frame_started(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    stdin_bytes(monkeypatch, SEND + b"\nSEND\ndest")
    run = run_cli(capsys, "decode")
    assert run.status == 1
    assert len(run.err_lines) == 1
    assert run.err.startswith(f"stompmodels: error: protocol error at byte {len(SEND) + 1}: ")
    assert "ends inside a frame" in run.err


def test_decode_follows_the_version_of_connected(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    # In 1.0 `\c` is not an escape: after CONNECTED version:1.0 the header stays as it is.
    message = b"MESSAGE\ndestination:/queue/a\nmessage-id:1\nsubscription:0\nx:a\\cb\n\n\0"
    stdin_bytes(monkeypatch, b"CONNECTED\nversion:1.0\n\n\0" + message)
    run = run_cli(capsys, "decode", "--json", "--version", "1.2")
    assert run.status == 0
    assert run.json_lines()[1]["headers"] == {"x": "a\\cb"}
    stdin_bytes(monkeypatch, message)
    assert run_cli(capsys, "decode", "--json").json_lines()[0]["headers"] == {"x": "a:b"}


def test_decode_missing_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    missing = str(tmp_path / "nope.bin")
    run = run_cli(capsys, "decode", missing)
    assert run.status == 1
    assert run.err_lines == [
        f"stompmodels: error: cannot read {missing!r}: No such file or directory"
    ]


# -- arguments and URLs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["send"], "the following arguments are required: DEST"),
        (["send", "/queue/a", "--count", "0"], "--count: expected a whole number of at least 1"),
        (["send", "/queue/a", "-H", "novalue"], "expected NAME=VALUE, got 'novalue'"),
        (["listen", "/queue/a", "--ack", "never"], "--ack: invalid choice: 'never'"),
        (["listen", "/queue/a", "--timeout", "-1"], "--timeout: expected a number of seconds"),
        (["decode", "--version", "2.0"], "--version: invalid choice: '2.0'"),
        (
            ["send", "/queue/a", "x", "--stomp-version", "1.2,2.0"],
            "--stomp-version: expected a comma list of 1.0, 1.1, 1.2, got '1.2,2.0'",
        ),
        (["listen", "/queue/a", "--stomp-version", ""], "--stomp-version: expected a comma"),
    ],
)
def test_argument_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    run = run_cli(capsys, *argv)
    assert run.status == 2
    assert complaint in run.err_lines[-1]
    assert run.out == ""


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "listen", "--help")
    assert run.status == 0
    assert "--timeout" in run.out and "exit 1 if none arrived in time" in run.out


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        (f"http://guest:{SECRET}@127.0.0.1/", "unsupported URL scheme 'http'"),
        (f"stomp://guest:{SECRET}@127.0.0.1:99999/", "port is not a number"),
        (f"stomp://guest:{SECRET}@/", "the URL names no host"),
    ],
)
def test_bad_url_is_one_line_exit_2_without_the_passcode(
    capsys: pytest.CaptureFixture[str], url: str, complaint: str
) -> None:
    run = run_cli(capsys, "send", "--url", url, "/queue/a", "hi")
    assert run.status == 2
    assert len(run.err_lines) == 1
    assert run.err.startswith("stompmodels: error: bad URL: ") and complaint in run.err
    assert SECRET not in run.out + run.err


def test_bad_header_for_the_model_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["send", "--url", "stomp://127.0.0.1:1/", "/q", "hi", "-H", "content-type=x"]
    run = run_cli(capsys, *argv)
    assert run.status == 2
    assert run.err_lines == [
        "stompmodels: error: cannot send that: custom header 'content-type' duplicates the typed "
        "field of that name"
    ]


@pytest.mark.parametrize("where", ["before", "after", "env"])
@pytest.mark.parametrize("verbose", [False, True])
def test_unreachable_broker_fails_fast_in_one_line_without_the_passcode(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any, where: str, verbose: bool
) -> None:
    url = f"stomp://guest:{SECRET}@127.0.0.1:1/"
    argv = ["-v"] if verbose else []
    if where == "env":
        monkeypatch.setenv("STOMP_URL", url)
        argv += ["send", "/queue/a", "hi"]
    elif where == "before":
        argv += ["--url", url, "send", "/queue/a", "hi"]
    else:
        argv += ["send", "--url", url, "/queue/a", "hi"]
    started = time.monotonic()
    run = run_cli(capsys, *argv)
    assert time.monotonic() - started < 5
    assert run.status == 1
    assert run.err_lines[-1].startswith(
        "stompmodels: error: cannot reach stomp://guest@127.0.0.1:1"
    )
    if not verbose:
        assert len(run.err_lines) == 1
    assert SECRET not in run.out + run.err


def test_keyboard_interrupt_exits_130_quietly(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    def interrupted(*args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "decode", interrupted)
    stdin_bytes(monkeypatch, b"")
    run = run_cli(capsys, "decode")
    assert (run.status, run.out, run.err) == (130, "", "")


# -- send and listen against the fake broker ---------------------------------------------------


def test_send_reaches_the_broker_with_headers_and_stdin_body(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any, fake_broker: FakeBroker
) -> None:
    stdin_bytes(monkeypatch, b"\x00\x01binary")
    argv = ["send", "--url", fake_broker.url, "/queue/a", "-", "-H", "x-k=a=b", "--count", "3"]
    run = run_cli(capsys, *argv, "--content-type", "application/octet-stream")
    assert (run.status, run.out, run.err) == (0, "", "")
    session = fake_broker.sessions[0]
    assert [send.body for send in session.published] == [b"\x00\x01binary"] * 3
    first = session.published[0]
    assert first.headers == {"x-k": "a=b"}
    assert first.content_type == "application/octet-stream"
    # A body given on the command line is text; one from stdin is bytes with no content-type.
    assert run_cli(capsys, "send", "--url", fake_broker.url, "/queue/a", "h\u00e9").status == 0
    text = fake_broker.sessions[-1].published[0]
    assert (text.body, text.content_type) == ("h\u00e9".encode(), "text/plain;charset=utf-8")
    # Without --receipt the first and the last SEND ask for a receipt: an ERROR is never missed.
    assert [send.receipt is not None for send in session.published] == [True, False, True]


def test_send_receipt_confirms_each_message(
    capsys: pytest.CaptureFixture[str], fake_broker: FakeBroker
) -> None:
    run = run_cli(
        capsys, "send", "--url", fake_broker.url, "/queue/a", "hi", "--count", "2", "--receipt"
    )
    assert run.status == 0
    assert all(send.receipt for send in fake_broker.sessions[0].published)


def test_send_error_frame_is_one_line(
    capsys: pytest.CaptureFixture[str], fake_broker: FakeBroker
) -> None:
    run = run_cli(capsys, "send", "--url", fake_broker.url, "/invalid/x", "hi")
    assert run.status == 1
    assert run.err_lines == ["stompmodels: error: the broker sent ERROR: Unknown destination"]


def test_refused_login_is_one_line_without_the_passcode(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeBroker(credentials=("guest", "other")) as broker:
        run = run_cli(capsys, "-v", "listen", "--url", broker.url, "/queue/a", "--timeout", "1")
    assert run.status == 1
    assert run.err_lines[-1] == "stompmodels: error: the broker sent ERROR: bad credentials"
    assert SECRET not in run.out + run.err


def test_listen_json_count_and_body_encodings(
    capsys: pytest.CaptureFixture[str], fake_broker: FakeBroker
) -> None:
    run = run_cli(
        capsys,
        "listen",
        "--url",
        fake_broker.url,
        "/queue/a",
        "--json",
        "--count",
        "3",
        "--timeout",
        "5",
    )
    assert (run.status, run.err) == (0, "")
    records = run.json_lines()
    # Bodies are base64 as in `model_dump_json`, text ones too.
    assert [(r["body"], r["body_encoding"]) for r in records] == [
        ("b25l", "base64"),
        ("dHdv", "base64"),
        ("/wBiaW4=", "base64"),
    ]
    assert {r["destination"] for r in records} == {"/queue/a"}
    # --count with the default auto mode: the CLI ACKs what it printed, the rest stays queued.
    (session,) = fake_broker.sessions
    (subscription,) = [f for f in session.received if isinstance(f, Subscribe)]
    assert subscription.ack == "client-individual"
    assert subscription.headers["prefetch-count"] == "3"
    assert [d.body for d in session.acked] == [b"one", b"two", b"\xff\x00bin"]


def test_listen_count_stops_early_and_acks_only_what_it_printed(
    capsys: pytest.CaptureFixture[str], fake_broker: FakeBroker
) -> None:
    run = run_cli(
        capsys, "listen", "--url", fake_broker.url, "/queue/a", "--count", "1",
        "--ack", "client-individual", "--timeout", "5",
    )  # fmt: skip
    assert run.status == 0
    assert run.out.splitlines()[0] == "MESSAGE /queue/a"
    assert '  body (3 bytes): "one"' in run.out
    assert [d.body for d in fake_broker.sessions[0].acked] == [b"one"]


@pytest.mark.slow
def test_listen_auto_without_count_acks_nothing(
    capsys: pytest.CaptureFixture[str], fake_broker: FakeBroker
) -> None:
    run = run_cli(capsys, "listen", "--url", fake_broker.url, "/topic/t", "--timeout", "0.5")
    assert run.status == 0 and run.out.count("MESSAGE /topic/t") == 3
    (session,) = fake_broker.sessions
    assert [f.ack for f in session.received if isinstance(f, Subscribe)] == ["auto"]
    assert session.acked == []


def test_listen_timeout_with_nothing_received_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeBroker() as broker:
        run = run_cli(capsys, "listen", "--url", broker.url, "/queue/empty", "--timeout", "0.2")
    assert (run.status, run.out) == (1, "")
    assert run.err_lines == ["stompmodels: error: no message on /queue/empty within 0.2 s"]


def test_listen_error_frame_on_subscribe(
    capsys: pytest.CaptureFixture[str], fake_broker: FakeBroker
) -> None:
    run = run_cli(capsys, "listen", "--url", fake_broker.url, "/invalid/x", "--timeout", "1")
    assert run.status == 1
    assert run.err_lines == ["stompmodels: error: the broker sent ERROR: Unknown destination"]


# -- what a peer sends cannot take over the terminal --------------------------------------------

HOSTILE = "\x1b[2J\x1b[Hgone\nfake: line\r\x9b31m\u202eevil\\n"
HOSTILE_SHOWN = "\\u001b[2J\\u001b[Hgone\\nfake: line\\r\\u009b31m\\u202eevil\\\\n"


def shows_nothing_raw(text: str) -> bool:
    """No control character but the newlines that end lines, no C1 or bidi control."""
    return not any(
        (ord(char) < 0x20 and char != "\n") or 0x7F <= ord(char) <= 0x9F or char == "\u202e"
        for char in text
    )


def test_listen_readable_escapes_header_names_and_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    headers = {"x-evil": HOSTILE, "x-\x1b]0;title\x07": "ok"}
    with FakeBroker(messages=[b"body\x1b[2J"], headers=headers) as broker:
        argv = ["listen", "--url", broker.url, "/queue/a", "--count", "1", "--timeout", "5"]
        run = run_cli(capsys, *argv)
    assert (run.status, run.err) == (0, "")
    assert shows_nothing_raw(run.out)
    lines = run.out.splitlines()
    assert lines[0] == "MESSAGE /queue/a"
    assert f"  x-evil: {HOSTILE_SHOWN}" in lines
    assert "  x-\\u001b]0;title\\u0007: ok" in lines
    assert lines[-1] == '  body (8 bytes): "body\\u001b[2J"'
    # One line for the title, each header and the body: no header made a line of its own.
    assert not any(line.startswith("fake:") for line in lines)


def test_listen_json_keeps_header_values_exact(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeBroker(messages=[b"b"], headers={"x-evil": HOSTILE}) as broker:
        argv = ["listen", "--url", broker.url, "/queue/a", "--count", "1", "--timeout", "5"]
        run = run_cli(capsys, *argv, "--json")
    assert (run.status, run.err) == (0, "")
    assert shows_nothing_raw(run.out)  # JSON escapes them itself
    (record,) = run.json_lines()
    assert record["headers"] == {"x-evil": HOSTILE}


def test_decode_readable_escapes_the_destination_and_headers(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    frame = Message(
        destination="/queue/\x1b[2Ja\nb",
        message_id="1\x1b[H",
        subscription="0",
        headers={"x\ny": "\\"},
    )
    stdin_bytes(monkeypatch, frame.to_wire("1.2"))
    run = run_cli(capsys, "decode")
    assert (run.status, run.err) == (0, "")
    assert shows_nothing_raw(run.out)
    assert run.out.splitlines() == [
        "MESSAGE /queue/\\u001b[2Ja\\nb  [byte 0]",
        "  destination: /queue/\\u001b[2Ja\\nb",
        "  message-id: 1\\u001b[H",
        "  subscription: 0",
        "  x\\ny: \\\\",
    ]
    stdin_bytes(monkeypatch, frame.to_wire("1.2"))
    (record,) = run_cli(capsys, "decode", "--json").json_lines()
    assert record["destination"] == "/queue/\x1b[2Ja\nb" and record["headers"] == {"x\ny": "\\"}


def test_error_frame_message_is_escaped_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeBroker(refusal="Unknown\x1b[2J destination\nsecond line") as broker:
        run = run_cli(capsys, "send", "--url", broker.url, "/invalid/x", "hi")
    assert run.status == 1
    assert run.err_lines == [
        "stompmodels: error: the broker sent ERROR: Unknown\\u001b[2J destination\\nsecond line"
    ]


def test_verbose_log_escapes_what_the_broker_said(capsys: pytest.CaptureFixture[str]) -> None:
    # CONNECTED is never escaped on the wire, so its session id can hold ESC but not LF.
    with FakeBroker(session_id="s\x1b[2J\x9b1m") as broker:
        run = run_cli(capsys, "-v", "send", "--url", broker.url, "/queue/a", "hi")
    assert run.status == 0
    assert shows_nothing_raw(run.err)
    assert any("session s\\u001b[2J\\u009b1m, " in line for line in run.err_lines)


def test_escape() -> None:
    assert escape("plain héllo: a=b") == "plain héllo: a=b"
    assert escape("\x00\x07\b\t\n\f\r\x1b\x7f\x85\x9b") == (
        "\\u0000\\u0007\\b\\t\\n\\f\\r\\u001b\\u007f\\u0085\\u009b"
    )
    assert escape("\u2028\u2029\u202e\u2066\u200f") == "\\u2028\\u2029\\u202e\\u2066\\u200f"
    assert escape("C:\\dir\\n") == "C:\\\\dir\\\\n"  # a backslash doubles: no ambiguity
    assert escape("C:\\dir\n", backslash=False) == "C:\\dir\\n"
    # The body preview is a JSON string that decodes back to the text.
    shown = body_preview(HOSTILE.encode())
    assert shows_nothing_raw(shown)
    assert json.loads(shown.partition(": ")[2]) == HOSTILE


# -- --cafile, failover URLs, a piped body, --version, --stomp-version ----------------------------


@pytest.mark.parametrize(
    ("url", "every"),
    [
        (f"stomp://guest:{SECRET}@127.0.0.1:1/", False),
        (f"ws://guest:{SECRET}@127.0.0.1:1/ws", False),
        (f"failover:(stomp+ssl://guest:{SECRET}@127.0.0.1:1/,stomp://127.0.0.1:2/)", True),
    ],
)
def test_cafile_without_tls_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Any, url: str, every: bool
) -> None:
    missing = str(tmp_path / "never-read.pem")  # refused before the file is even opened
    for command in (["send", "/queue/a", "hi"], ["listen", "/queue/a", "--timeout", "1"]):
        run = run_cli(capsys, *command, "--url", url, "--cafile", missing)
        assert (run.status, run.out) == (2, "")
        (line,) = run.err_lines
        assert line.startswith("stompmodels: error: --cafile has no effect without TLS, which ")
        assert line.endswith("for every broker of the failover URL") == every
        assert SECRET not in run.err


def test_cafile_with_tls_is_still_loaded(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    missing = str(tmp_path / "missing.pem")
    url = f"stomp+ssl://guest:{SECRET}@127.0.0.1:1/"
    run = run_cli(capsys, "send", "--url", url, "/queue/a", "hi", "--cafile", missing)
    assert run.status == 2
    assert run.err_lines[0].startswith(f"stompmodels: error: cannot load --cafile {missing!r}: ")


def test_failover_url_tries_each_broker_in_turn(
    capsys: pytest.CaptureFixture[str], fake_broker: FakeBroker
) -> None:
    url = f"failover:(stomp://guest:{SECRET}@127.0.0.1:1/,{fake_broker.url})"
    run = run_cli(capsys, "send", "--url", url, "/queue/a", "hi")
    assert (run.status, run.out, run.err) == (0, "", "")
    assert [send.body for send in fake_broker.sessions[0].published] == [b"hi"]
    argv = ["listen", "--url", url, "/queue/a", "--json", "--count", "1", "--timeout", "5"]
    listened = run_cli(capsys, *argv)
    assert (listened.status, listened.err) == (0, "")
    assert [r["body"] for r in listened.json_lines()] == ["b25l"]  # base64 of "one"


def test_failover_url_that_fails_everywhere_exits_1_without_the_passcode(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"failover:(stomp://guest:{SECRET}@127.0.0.1:1/,stomp://guest:{SECRET}@127.0.0.1:2/)"
    run = run_cli(capsys, "send", "--url", url, "/queue/a", "hi")
    assert run.status == 1
    (line,) = run.err_lines  # the last broker's failure
    assert line.startswith("stompmodels: error: cannot reach stomp://guest@127.0.0.1:2")
    assert SECRET not in run.err


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        (f"failover:stomp://guest:{SECRET}@h/", "a failover URL looks like failover:("),
        (f"failover:(stomp://guest:{SECRET}@h/,http://h/)", "unsupported URL scheme 'http'"),
        ("failover:()", "no broker URL given"),
    ],
)
def test_bad_failover_url_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], url: str, complaint: str
) -> None:
    run = run_cli(capsys, "send", "--url", url, "/queue/a", "hi")
    assert (run.status, run.out) == (2, "")
    (line,) = run.err_lines
    assert line.startswith("stompmodels: error: bad URL: ") and complaint in line
    assert SECRET not in line


def test_send_without_body_reads_piped_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any, fake_broker: FakeBroker
) -> None:
    stdin_bytes(monkeypatch, b"piped\x00bytes")
    run = run_cli(capsys, "send", "--url", fake_broker.url, "/queue/a", "--count", "2")
    assert (run.status, run.out, run.err) == (0, "", "")
    published = fake_broker.sessions[0].published
    assert [(s.body, s.content_type) for s in published] == [(b"piped\x00bytes", None)] * 2


class UnreadInput(io.StringIO):
    """Standard input that must not be read: on a terminal (reading would wait for the user),
    or not readable at all (as under pytest's capture)."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def readable(self) -> bool:
        return self.tty

    def read(self, size: int | None = -1) -> str:
        raise AssertionError("this stdin must not be read")


@pytest.mark.parametrize("tty", [True, False])
def test_send_without_body_or_piped_stdin_sends_an_empty_body(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any, fake_broker: FakeBroker, tty: bool
) -> None:
    monkeypatch.setattr("sys.stdin", UnreadInput(tty))
    run = run_cli(capsys, "send", "--url", fake_broker.url, "/queue/a")
    assert (run.status, run.err) == (0, "")
    assert [s.body for s in fake_broker.sessions[0].published] == [b""]


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "--version")
    assert (run.status, run.err) == (0, "")
    assert run.out == f"stompmodels {importlib.metadata.version('stompmodels')}\n"


@pytest.mark.parametrize(
    "case",
    [("1.1", ("1.1",), "1.1"), ("1.2,1.0", ("1.0", "1.2"), "1.2"), ("1.0", ("1.0",), "1.0")],
)
@pytest.mark.parametrize("command", ["send", "listen"])
def test_stomp_version_limits_what_is_offered(
    capsys: pytest.CaptureFixture[str],
    fake_broker: FakeBroker,
    command: str,
    case: tuple[str, tuple[str, ...], str],
) -> None:
    option, offered, chosen = case  # --stomp-version, the accept-version sent, the version used
    rest = ["hi"] if command == "send" else ["--count", "1", "--timeout", "5"]
    argv = [command, "--url", fake_broker.url, "/queue/a", *rest, "--stomp-version", option]
    run = run_cli(capsys, *argv)
    assert (run.status, run.err) == (0, "")
    (session,) = fake_broker.sessions
    connect = session.received[0]
    assert isinstance(connect, Connect | Stomp)
    assert connect.accept_version == offered
    assert session.version == chosen
    if command == "listen":  # --count: the CLI ACKs what it printed, in 1.0 in client mode
        (subscribe,) = [f for f in session.received if isinstance(f, Subscribe)]
        assert subscribe.ack == ("client" if chosen == "1.0" else "client-individual")
        assert [d.body for d in session.acked] == [b"one"]


def test_stomp_version_is_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "send", "--help")
    assert run.status == 0
    assert "--stomp-version" in run.out and "comma list such as" in run.out


# -- formatting pieces --------------------------------------------------------------------------


def test_body_fields_and_previews() -> None:
    assert body_fields(b"h\xc3\xa9") == {"body": "aMOp", "body_encoding": "base64"}
    assert body_fields(b"\xff") == {"body": "/w==", "body_encoding": "base64"}
    assert body_preview(b"a\nb") == 'body (3 bytes): "a\\nb"'
    assert body_preview(b"x" * 300).endswith('" ...')
    assert (
        body_preview(b"\xff" * 40) == "body (40 bytes, binary): " + " ".join(["ff"] * 32) + " ..."
    )


def test_frame_text_masks_a_passcode_of_a_built_frame() -> None:
    from stompmodels import Connect

    text = frame_text(Connect(accept_version="1.2", host="/", login="u", passcode=SECRET))
    assert SECRET not in text and "passcode: **********" in text


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_only_on_a_terminal_and_only_for_several_messages() -> None:
    terminal = FakeTerminal(tty=True)
    progress = Progress(3, terminal, every=0)
    for done in (1, 2, 3):
        progress.update(done)
    progress.finish()
    assert terminal.getvalue() == "\rsent 1/3\rsent 2/3\rsent 3/3\n"
    for stream, total in ((FakeTerminal(tty=False), 3), (FakeTerminal(tty=True), 1)):
        quiet = Progress(total, stream)
        quiet.update(total)
        quiet.finish()
        assert stream.getvalue() == ""


def test_subscribe_plan() -> None:
    url = parse_url("stomp://127.0.0.1/")
    assert subscribe_plan(ListenOptions(url, "/q")) == ("auto", {})
    ack, headers = subscribe_plan(ListenOptions(url, "/q", {"prefetch-count": "9"}, count=2))
    assert ack == "client-individual"
    assert headers == {"prefetch-count": "9", "activemq.prefetchSize": "2"}
    assert subscribe_plan(ListenOptions(url, "/q", count=1, ack="client"))[0] == "client"
    # STOMP 1.0 has no client-individual; the CLI ACKs in order, so client does the same.
    assert subscribe_plan(ListenOptions(url, "/q", count=1), "1.0")[0] == "client"
    assert subscribe_plan(ListenOptions(url, "/q", count=1), "1.1")[0] == "client-individual"


@pytest.mark.slow
def test_python_dash_m_runs_the_cli() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "stompmodels", "decode", "--json"],
        input=RECEIPT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    assert json.loads(done.stdout)["receipt_id"] == "r-1"


def test_stats_lines_give_totals_and_the_rates_since_the_last_line() -> None:
    now = [100.0]
    stats = Stats(clock=lambda: now[0])
    plain = Message(destination="/queue/a", message_id="1", subscription="0", body=b"abcd")
    again = plain.model_copy(update={"headers": {"redelivered": "true"}})
    for _ in range(10):
        stats.took(plain, acked=True)
    now[0] = 102.0
    assert stats.line() == (
        "stats 2 s: 10 messages (5/s), 40 body bytes (20 B/s), 10 acked, 0 redelivered"
    )
    stats.took(again, acked=False)
    now[0] = 103.0
    assert stats.line() == (
        "stats 3 s: 11 messages (1/s), 44 body bytes (4 B/s), 10 acked, 1 redelivered"
    )
