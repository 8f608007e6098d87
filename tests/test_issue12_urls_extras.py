"""Issue #12: passcodes with ``/`` in the CLI's URL, missing extras, the words of a `get` that
times out, and docs whose examples do what they say (the Twisted pair meets, the README's
WebSocket snippet runs)."""

from __future__ import annotations

import ast
import asyncio
import importlib
import importlib.abc
import re
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import CoroutineType
from typing import Final

import pytest

from stompmodels._client.url import parse_url
from stompmodels.cli import main

from .drivers.conftest import make_driver
from .drivers.harness import DRIVERS, Driver

REPO: Final = Path(__file__).resolve().parent.parent
ODD_SECRET: Final = "9876/5432"

Hide = Callable[..., None]


def unused_port() -> int:
    """A loopback port where nobody listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- 1. a passcode with / in the CLI's URL --------------------------------------------------


def test_the_cli_dials_the_host_after_the_passcode_and_never_prints_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = unused_port()
    status = main(
        ["--url", f"stomp://guest:{ODD_SECRET}@127.0.0.1:{port}/", "send", "/queue/a", "x"]
    )
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"stompmodels: error: cannot reach stomp://guest@127.0.0.1:{port}")
    assert "9876" not in err
    assert "5432" not in err


# -- 11. missing extras ---------------------------------------------------------------------


class Uninstalled(importlib.abc.MetaPathFinder):
    """Finds no `package` (nor its modules), as if it were not installed."""

    def __init__(self, package: str) -> None:
        self.package = package

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname == self.package or fullname.startswith(f"{self.package}."):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)


@pytest.fixture
def hide() -> Iterator[Hide]:
    """`hide(package, *modules)`: make `package` look uninstalled and forget `modules` (so they
    import again); every module is back as it was after the test."""
    saved = dict(sys.modules)
    finders: list[Uninstalled] = []

    def hide_package(package: str, *modules: str) -> None:
        for name in list(sys.modules):
            if any(name == top or name.startswith(f"{top}.") for top in (package, *modules)):
                del sys.modules[name]
        finders.append(Uninstalled(package))
        sys.meta_path.insert(0, finders[-1])

    yield hide_package
    for finder in finders:
        sys.meta_path.remove(finder)
    for name in set(sys.modules) - saved.keys():
        del sys.modules[name]
    sys.modules.update(saved)


def test_importing_stompmodels_ws_without_websockets_names_the_extra(hide: Hide) -> None:
    hide("websockets", "stompmodels.ws", "stompmodels.aio.websocket")
    with pytest.raises(ModuleNotFoundError) as caught:
        importlib.import_module("stompmodels.ws")
    assert str(caught.value) == (
        "stompmodels.ws needs the websockets package: pip install 'stompmodels[ws]'"
    )
    assert caught.value.name == "websockets"


def test_importing_stompmodels_twisted_without_twisted_names_the_extra(hide: Hide) -> None:
    hide("twisted", "stompmodels.twisted")
    with pytest.raises(ModuleNotFoundError) as caught:
        importlib.import_module("stompmodels.twisted")
    assert str(caught.value) == (
        "stompmodels.twisted needs the twisted package: pip install 'stompmodels[twisted]'"
    )
    assert caught.value.name == "twisted"


def test_a_ws_url_without_websockets_names_the_extra(hide: Hide) -> None:
    from stompmodels.aio import Client

    hide("websockets", "stompmodels.aio.websocket")

    async def connect() -> None:
        async with Client(f"ws://guest:guest@127.0.0.1:{unused_port()}/ws", timeout=5.0):
            pass

    with pytest.raises(ModuleNotFoundError, match="^ws:// URLs need the websockets package: "):
        asyncio.run(connect())


def test_the_cli_says_in_one_line_which_extra_a_ws_url_needs(
    hide: Hide, capsys: pytest.CaptureFixture[str]
) -> None:
    hide("websockets", "stompmodels.aio.websocket")
    url = f"ws://guest:{ODD_SECRET}@127.0.0.1:{unused_port()}/ws"
    status = main(["--url", url, "send", "/queue/a", "x"])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err == (
        "stompmodels: error: ws:// URLs need the websockets package: "
        "pip install 'stompmodels[ws]'\n"
    )
    assert captured.out == ""


def test_a_module_missing_from_an_installed_extra_is_not_blamed_on_the_extra(
    hide: Hide,
) -> None:
    hide("twisted.internet.defer", "stompmodels.twisted")  # Twisted is there, but broken
    with pytest.raises(ModuleNotFoundError) as caught:
        importlib.import_module("stompmodels.twisted")
    assert "pip install" not in str(caught.value)


# -- 16. a `get` that times out says so, in the same words in every client -------------------


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Driver]:
    made = make_driver(request.param, monkeypatch)
    yield made
    made.close()


def test_get_times_out_with_the_same_words_in_every_client(driver: Driver) -> None:
    broker = driver.broker()
    client = driver.client(broker.url)
    client.connect()
    inbox = client.subscribe("/queue/a")
    with pytest.raises(TimeoutError, match=r"^no message within 0\.5 s$"):
        inbox.get(timeout=0.5)
    assert client.failure is None


def test_the_twisted_get_writes_whole_seconds_as_the_blocking_one_does() -> None:
    from twisted.internet.defer import Deferred

    from stompmodels import Message

    from .test_twisted_unit import Harness, failed

    harness = Harness()
    harness.connected()
    late: Deferred[Message] = harness.subscribe().get(timeout=2.0)
    harness.reactor.advance(2.1)
    error = failed(late)
    assert isinstance(error, TimeoutError)
    assert str(error) == "no message within 2 s"  # the blocking client's words (not "2.0 s")


# -- 17. the docs' examples do what they say --------------------------------------------------


def run_line(example: str) -> list[str]:
    """The arguments of the ``Run:`` line of an example's docstring."""
    source = (REPO / "examples" / example).read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source)) or ""
    [command] = re.findall(r"^Run: ``python (.*)``$", docstring, re.MULTILINE)
    script, *arguments = str(command).split()
    assert script == f"examples/{example}"
    return arguments


def option(arguments: list[str], name: str, default: str) -> str:
    return arguments[arguments.index(name) + 1] if name in arguments else default


def test_the_twisted_pair_as_documented_meets_on_one_broker_and_queue() -> None:
    receiver, sender = run_line("twisted_receiver.py"), run_line("twisted_sender.py")
    receiver_url = parse_url(option(receiver, "--url", "stomp://127.0.0.1/"))
    sender_url = parse_url(option(sender, "--url", "stomp://127.0.0.1/"))
    assert (receiver_url.host, receiver_url.port, receiver_url.vhost, receiver_url.scheme) == (
        sender_url.host,
        sender_url.port,
        sender_url.vhost,
        sender_url.scheme,
    )
    assert option(receiver, "--destination", "") == option(sender, "--destination", "")
    assert option(receiver, "--count", "5") == option(sender, "--count", "5")


def readme_snippet(heading: str) -> str:
    """The first ```python block after `heading` in README.md."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    after = readme[readme.index(f"\n{heading}\n") :]
    match = re.search(r"```python\n(.*?)```", after, re.DOTALL)
    assert match is not None
    return match[1]


def test_the_readme_websocket_snippet_runs_its_main(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def run(coroutine: CoroutineType[object, object, object]) -> None:
        ran.append(coroutine.__name__)
        coroutine.close()  # the snippet's main, not run: no broker is needed

    monkeypatch.setattr(asyncio, "run", run)
    snippet = readme_snippet("### STOMP over WebSocket")
    exec(compile(snippet, "README.md", "exec"), {"__name__": "__main__"})
    assert ran == ["main"]
