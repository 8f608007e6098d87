"""The `stompmodels` command line, without a real broker.

`decode` runs on byte vectors; `send` and `listen` talk to `FakeBroker`, the in-memory
FakeServer behind a loopback port. Every run of `main` is bounded (`run_cli`), and every listen
gets --timeout.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

import stompmodels.cli.app as cli_module
from stompmodels import Frame, HeartBeat, Message, Send, Subscribe
from stompmodels._client.url import parse_url
from stompmodels.cli import main
from stompmodels.cli.commands import ListenOptions, subscribe_plan
from stompmodels.cli.format import Progress, body_fields, body_preview, frame_text

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

    def _apply(self, frame: Frame) -> tuple[str | None, list[bytes]]:
        if isinstance(frame, Send | Subscribe) and not frame.destination.startswith(
            ("/queue/", "/topic/")
        ):
            return "Unknown destination", []
        return super()._apply(frame)


@dataclass
class FakeBroker:
    """FakeServer sessions behind 127.0.0.1:`port`, served by an event loop in a thread.

    Each new subscription is sent every body of `messages`.
    """

    messages: Sequence[bytes] = ()
    credentials: tuple[str, str] | None = None
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
        self.sessions.append(server)
        try:
            while not server.closed and (data := await reader.read(65536)):
                known = set(server.subscriptions)
                out = server.receive(data)
                for key in server.subscriptions.keys() - known:
                    out.extend(server.message(key, body) for body in self.messages)
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
    # The record is the model's JSON dump: it validates back to the same frame.
    fields = {k: v for k, v in message.items() if k not in ("offset", "body_encoding")}
    fields["body"] = b"a\0\xff"
    assert Message.model_validate(fields) == Message(
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
    run = run_cli(capsys, "send", "--url", "stomp://127.0.0.1:1/", "/q", "-H", "content-type=x")
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
    assert [(r["body"], r["body_encoding"]) for r in records] == [
        ("one", "utf-8"),
        ("two", "utf-8"),
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


# -- formatting pieces --------------------------------------------------------------------------


def test_body_fields_and_previews() -> None:
    assert body_fields(b"h\xc3\xa9") == {"body": "hé", "body_encoding": "utf-8"}
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
