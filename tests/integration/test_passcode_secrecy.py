"""The passcode never reaches a log line, a repr, an error message or the CLI's output.

Each test uses a distinctive passcode (a fresh uuid inside characters that URLs must
percent-encode) and greps everything a user could see for it, for its percent-encoded form and
for the uuid alone: every log record of the "stompmodels" logger at DEBUG (formatted with any
traceback, plus the repr, str and JSON of every object logged, such as the CONNECT model), the
str, repr and full traceback of every error, the repr and str of the client and its URLs, and
the CLI's stdout and stderr.

Successful sessions run on RabbitMQ under a user the test makes (`rabbitmqctl add_user`), since
ActiveMQ's users are fixed in the shared broker's configuration (guest/guest, admin/admin).
Refused logins (guest with a wrong passcode) run on both brokers, and so does a passcode that
makes RabbitMQ drop the connection without an ERROR (a ConnectionLost, not a BrokerError).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import quote

import pytest
from pydantic import BaseModel, ValidationError

from stompmodels import Connect, ProtocolError, aio, blocking, parse_frame
from stompmodels._client.url import parse_url

from ._brokers import RABBITMQ, Broker, BrokerGate, rabbitmqctl

Transport = Literal["aio", "blocking"]
TRANSPORTS: Final[tuple[Transport, ...]] = ("aio", "blocking")
TIMEOUT: Final = 5.0
SESSION_LIMIT: Final = 20.0
CLI_LIMIT: Final = 30.0


@dataclass(frozen=True, slots=True)
class Secret:
    """A passcode nobody else uses, and the forms in which it could leak."""

    token: str

    @classmethod
    def new(cls) -> Secret:
        return cls(uuid.uuid4().hex)

    @property
    def passcode(self) -> str:
        # Characters a URL must percent-encode, around the token (no backslash: RabbitMQ reads
        # CONNECT values as escaped, see shared/brokers/README.md).
        return f"pw:{self.token}@/%#?&=+!"

    @property
    def in_url(self) -> str:
        return quote(self.passcode, safe="")

    def leaks(self, texts: list[str]) -> list[str]:
        """The texts that show the passcode, percent-encoded or not, or its token."""
        forms = (self.passcode, self.in_url, self.token)
        return [text for text in texts if any(form in text for form in forms)]


def url_for(broker: Broker, login: str, secret: Secret) -> str:
    return f"stomp://{quote(login, safe='')}:{secret.in_url}@{broker.host}:{broker.port}/"


class Recorder(logging.Handler):
    """Every record of the "stompmodels" logger, formatted with its traceback, and the repr,
    str and JSON of each object it logged (the frames sent and received)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        arguments = record.args if isinstance(record.args, tuple) else (record.args,)
        for argument in arguments:
            self.texts += [repr(argument), str(argument)]
            if isinstance(argument, BaseModel):
                self.texts.append(argument.model_dump_json())

    @property
    def connects_logged(self) -> int:
        return sum(text.startswith("Connect(") for text in self.texts)


@pytest.fixture
def recorder(caplog: pytest.LogCaptureFixture) -> Iterator[Recorder]:
    caplog.set_level(logging.DEBUG, logger="stompmodels")
    library = logging.getLogger("stompmodels")
    handler = Recorder()
    library.addHandler(handler)
    try:
        yield handler
    finally:
        library.removeHandler(handler)
        handler.texts.append(caplog.text)


def error_texts(error: BaseException) -> list[str]:
    """What an error shows: str, repr, the traceback with its chain, and any ERROR frame."""
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    frame = getattr(error, "frame", None)
    if isinstance(frame, BaseModel):
        texts += [repr(frame), str(frame), frame.model_dump_json()]
    return texts


def client_texts(client: aio.Client | blocking.Client) -> list[str]:
    return [repr(client), str(client), str(client.url), repr(client.url), repr(client.urls)]


@pytest.fixture(scope="module")
def rabbitmq_user(brokers: BrokerGate) -> Iterator[tuple[str, Secret]]:
    """A RabbitMQ user with a distinctive passcode, allowed on the vhost /."""
    brokers.require(RABBITMQ)
    secret = Secret.new()
    login = f"stompmodels-secrecy-{secret.token[:8]}"
    assert rabbitmqctl("add_user", login, secret.passcode) == 0
    try:
        assert rabbitmqctl("set_permissions", "-p", "/", login, ".*", ".*", ".*") == 0
        yield login, secret
    finally:
        rabbitmqctl("delete_user", login)


# -- full sessions -----------------------------------------------------------------------------


def aio_session(url: str) -> list[str]:
    """Connect, subscribe, send with a receipt, receive, ACK, disconnect."""

    async def session() -> list[str]:
        queue = f"/queue/stompmodels-secrecy-{uuid.uuid4().hex[:12]}"
        client = aio.Client(url, heart_beat=(0, 0), timeout=TIMEOUT)
        async with asyncio.timeout(SESSION_LIMIT), client:
            subscription = await client.subscribe(queue, ack="client-individual")
            await client.send(queue, "hello", receipt=True)
            await subscription.ack(await subscription.get(timeout=TIMEOUT))
            texts = client_texts(client)
        return texts + client_texts(client)

    return asyncio.run(session())


def blocking_session(url: str) -> list[str]:
    queue = f"/queue/stompmodels-secrecy-{uuid.uuid4().hex[:12]}"
    with blocking.Client(url, heart_beat=(0, 0), timeout=TIMEOUT) as client:
        subscription = client.subscribe(queue, ack="client-individual")
        client.send(queue, "hello", receipt=True)
        subscription.ack(subscription.get(timeout=TIMEOUT))
        texts = client_texts(client)
    return texts + client_texts(client)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_full_session_shows_the_passcode_nowhere(
    rabbitmq_user: tuple[str, Secret], recorder: Recorder, transport: Transport
) -> None:
    login, secret = rabbitmq_user
    url = url_for(RABBITMQ, login, secret)
    texts = aio_session(url) if transport == "aio" else blocking_session(url)
    assert recorder.connects_logged >= 1, "the CONNECT frame was not logged at DEBUG"
    assert login in "\n".join(recorder.texts)  # the log does name the session's user
    assert secret.leaks(texts + recorder.texts) == []


# -- refused logins and lost connections -------------------------------------------------------


def aio_refused(url: str) -> list[str]:
    async def attempt() -> list[str]:
        client = aio.Client(url, heart_beat=(0, 0), timeout=TIMEOUT)
        async with asyncio.timeout(SESSION_LIMIT):
            with pytest.raises(aio.ConnectionLost) as caught:
                await client.connect()
            await client.close()
        return error_texts(caught.value) + client_texts(client)

    return asyncio.run(attempt())


def blocking_refused(url: str) -> list[str]:
    client = blocking.Client(url, heart_beat=(0, 0), timeout=TIMEOUT)
    with pytest.raises(blocking.ConnectionLost) as caught:
        client.connect()
    texts = error_texts(caught.value) + client_texts(client)
    client.close()
    failure = client.failure
    return texts + ([] if failure is None else error_texts(failure))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_refused_login_shows_the_passcode_nowhere(
    broker: Broker, recorder: Recorder, transport: Transport
) -> None:
    secret = Secret.new()
    url = url_for(broker, broker.login, secret)
    texts = aio_refused(url) if transport == "aio" else blocking_refused(url)
    assert any("ERROR" in text for text in texts), "the broker did not refuse with an ERROR"
    assert recorder.connects_logged >= 1
    assert secret.leaks(texts + recorder.texts) == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_dropped_connection_shows_the_passcode_nowhere(
    rabbitmq: Broker, recorder: Recorder, transport: Transport
) -> None:
    """RabbitMQ drops a CONNECT whose value holds an undefined escape, with no ERROR frame."""
    secret = Secret(uuid.uuid4().hex + "\\t")
    url = url_for(rabbitmq, rabbitmq.login, secret)
    texts = aio_refused(url) if transport == "aio" else blocking_refused(url)
    assert any("closed the connection" in text for text in texts)
    assert not any("sent ERROR" in text for text in texts), "expected no ERROR frame"
    assert secret.leaks(texts + recorder.texts) == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_unreachable_broker_shows_the_passcode_nowhere(
    recorder: Recorder, transport: Transport
) -> None:
    secret = Secret.new()
    with contextlib.closing(socket.socket()) as probe:  # a port free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"stomp://guest:{secret.in_url}@127.0.0.1:{port}/"
    texts = aio_refused(url) if transport == "aio" else blocking_refused(url)
    assert any("cannot reach" in text for text in texts)
    assert secret.leaks(texts + recorder.texts) == []


# -- the models, the URL parser and the decoder ------------------------------------------------


def test_the_connect_model_and_its_errors_show_the_passcode_nowhere() -> None:
    secret = Secret.new()
    frame = Connect(accept_version="1.2", host="/", login="guest", passcode=secret.passcode)
    texts = [repr(frame), str(frame), frame.model_dump_json(), repr(frame.model_dump())]
    assert secret.passcode.encode() in frame.to_wire("1.2")  # it is sent, and only sent
    with pytest.raises(ValidationError) as invalid:
        Connect(accept_version="1.2", host="/", passcode=secret.passcode, heart_beat="x")
    texts += error_texts(invalid.value)
    wire = f"CONNECT\naccept-version:1.2\nhost:/\npasscode:{secret.passcode}\nheart-beat:x\n\n\0"
    with pytest.raises(ProtocolError) as broken:
        parse_frame(wire.encode())
    texts += error_texts(broken.value)
    url = parse_url(f"stomp://guest:{secret.in_url}@127.0.0.1:61613/vhost")
    assert url.passcode is not None and url.passcode.get_secret_value() == secret.passcode
    texts += [repr(url), str(url)]
    for bad in (
        f"stomp://guest:{secret.in_url}@127.0.0.1:99999/",
        f"ftp://guest:{secret.in_url}@h/",
    ):
        with pytest.raises(ValueError) as refused:
            parse_url(bad)
        texts += error_texts(refused.value)
    assert secret.leaks(texts) == []


# -- the command line ------------------------------------------------------------------------


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "STOMP_URL"}
    return subprocess.run(
        [sys.executable, "-m", "stompmodels", "-v", *arguments],
        capture_output=True,
        text=True,
        timeout=CLI_LIMIT,
        env=env,
        check=False,
    )


def test_the_cli_shows_the_passcode_nowhere(rabbitmq_user: tuple[str, Secret]) -> None:
    login, secret = rabbitmq_user
    url = url_for(RABBITMQ, login, secret)
    queue = f"/queue/stompmodels-secrecy-{uuid.uuid4().hex[:12]}"
    sent = run_cli("--url", url, "send", queue, "hello", "--receipt")
    heard = run_cli("--url", url, "listen", queue, "--count", "1", "--timeout", "5", "--json")
    for done in (sent, heard):
        assert done.returncode == 0, done.stderr
        assert "sent Connect(" in done.stderr  # -v logs the frames at DEBUG
        assert secret.leaks([done.stdout, done.stderr]) == []
    assert base64.b64decode(json.loads(heard.stdout)["body"]) == b"hello"


def test_the_cli_refused_login_shows_the_passcode_nowhere(broker: Broker) -> None:
    secret = Secret.new()
    done = run_cli("--url", url_for(broker, broker.login, secret), "send", "/queue/never", "x")
    assert done.returncode == 1
    assert "stompmodels: error: the broker sent ERROR" in done.stderr
    assert secret.leaks([done.stdout, done.stderr]) == []


def test_the_cli_bad_url_and_captures_show_the_passcode_nowhere(tmp_path: Path) -> None:
    secret = Secret.new()
    bad = run_cli("--url", f"stomp://guest:{secret.in_url}@127.0.0.1:99999/", "send", "/q", "x")
    assert bad.returncode == 2
    capture = tmp_path / "capture.bin"
    capture.write_bytes(Connect(accept_version="1.2", host="/", passcode=secret.passcode).to_wire())
    shown = [run_cli("decode", str(capture)), run_cli("decode", "--json", str(capture))]
    assert all(done.returncode == 0 and "CONNECT" in done.stdout for done in shown)
    texts = [bad.stdout, bad.stderr] + [
        text for done in shown for text in (done.stdout, done.stderr)
    ]
    assert secret.leaks(texts) == []
