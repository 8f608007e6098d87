"""mypy --strict on typed subscribers and requests of the asyncio client: what the types of
`Client.subscriber` and `Client.request` let through, and what they reveal.

As tests/test_typing.py does, mypy runs in a subprocess with the project's mypy.ini (strict,
pydantic plugin) on a file of its own; here one snippet holds every case, each line of interest
tagged ``# <tag>``, so mypy runs once for the strict checks.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # mypy in a subprocess (seconds, more with a cold cache)

ROOT = Path(__file__).resolve().parent.parent
# A cache of its own: neither racing nor disturbing the project's or test_typing's.
CACHE = Path(tempfile.gettempdir()) / "stompmodels-test-typed-typing-mypy-cache"

_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<level>error|note): (?P<text>.*)$")
_CODE = re.compile(r"^(?P<message>.*?)  \[(?P<code>[a-z0-9-]+)\]$")
_TAG = re.compile(r"#\s*<(?P<tag>[a-z-]+)>\s*$")

SNIPPET = """\
from __future__ import annotations

from pydantic import BaseModel

from stompmodels import Message
from stompmodels.aio import Client


class Order(BaseModel):
    id: int


class Price(BaseModel):
    value: float


client = Client("stomp://guest:guest@127.0.0.1:61613/")


@client.subscriber("/queue/a")  # <untyped-decorator>
async def untyped(order, message: Message) -> None:  # <untyped>
    pass


@client.subscriber("/queue/a", max_concurrent=2)
async def typed(order: Order, message: Message) -> int:  # <typed>
    reveal_type(order)  # <payload>
    return order.id


reveal_type(typed)  # <decorated>


@client.subscriber("/queue/a")
async def payload_only(order: list[Order]) -> None:  # <payload-only>
    reveal_type(order)  # <payload-list>


@client.subscriber("/queue/a")  # <sync-decorator>
def sync(order: Order) -> None:  # <sync>
    pass


@client.subscriber("/queue/a")  # <three-decorator>
async def three(order: Order, message: Message, extra: int) -> None:  # <three>
    pass


@client.subscriber("/queue/a")  # <second-decorator>
async def second_not_message(order: Order, message: str) -> None:  # <second>
    pass


async def main() -> None:
    price = await client.request("/queue/p", Order(id=1), response=Price, timeout=5)
    reveal_type(price)  # <request>
    prices = await client.request("/queue/p", {"id": 1}, response=list[Price])
    reveal_type(prices)  # <request-list>
    await client.publish("/queue/o", Order(id=1), receipt=True)  # <publish>
"""


@dataclass(frozen=True)
class Diagnostic:
    line: int
    level: str  # "error" or "note"
    code: str  # "" for a note
    message: str


@dataclass(frozen=True)
class Checked:
    returncode: int
    output: str
    diagnostics: list[Diagnostic]
    tags: dict[str, int]  # tag -> line

    def at(self, tag: str, level: str) -> list[Diagnostic]:
        line = self.tags[tag]
        return [d for d in self.diagnostics if d.line == line and d.level == level]


def check(folder: Path, config: str | None = None) -> Checked:
    """mypy on SNIPPET in `folder`: with the project's mypy.ini, or with `config` (ini text)."""
    path = folder / "snippet.py"
    path.write_text(SNIPPET)
    if config is None:
        config_file = ROOT / "mypy.ini"
    else:
        config_file = folder / "mypy.ini"
        config_file.write_text(config)
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "mypy", "--config-file", str(config_file)),
            *("--cache-dir", str(CACHE), "--no-pretty", "--show-error-codes"),
            *("--no-error-summary", str(path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    diagnostics: list[Diagnostic] = []
    for raw in proc.stdout.splitlines():
        found = _LINE.match(raw)
        if found is None:
            continue
        assert Path(found["path"]).name == path.name, raw  # errors in other files: a bad setup
        coded = _CODE.match(found["text"])
        message, code = (coded["message"], coded["code"]) if coded else (found["text"], "")
        diagnostics.append(Diagnostic(int(found["line"]), found["level"], code, message))
    tags = {}
    for number, text in enumerate(SNIPPET.splitlines(), start=1):
        tagged = _TAG.search(text)
        if tagged is not None:
            tags[tagged["tag"]] = number
    return Checked(proc.returncode, proc.stdout + proc.stderr, diagnostics, tags)


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    return check(tmp_path_factory.mktemp("strict"))


def revealed(checked: Checked, tag: str) -> str:
    [note] = checked.at(tag, "note")
    found = re.fullmatch(r'Revealed type is "(?P<type>.*)"', note.message)
    assert found is not None, note
    return found["type"]


def test_the_snippet_gets_exactly_the_expected_errors(strict: Checked) -> None:
    # Every error is accounted for: the strict-mode one on the unannotated handler and the
    # decorator's refusals; the well-typed handlers, requests and publish pass.
    assert strict.returncode == 1, strict.output
    errors = sorted((d.line, d.code) for d in strict.diagnostics if d.level == "error")
    expected = sorted(
        [
            (strict.tags["untyped"], "no-untyped-def"),
            (strict.tags["sync-decorator"], "type-var"),
            (strict.tags["three-decorator"], "type-var"),
            (strict.tags["second-decorator"], "type-var"),
        ]
    )
    assert errors == expected, strict.output


def test_a_payload_without_annotation_is_rejected_by_strict_mode(strict: Checked) -> None:
    [error] = strict.at("untyped", "error")
    assert error.code == "no-untyped-def"
    assert "missing a type annotation" in error.message
    assert strict.at("untyped-decorator", "error") == []  # the refusal is strict's, see below


def test_without_strict_the_decorator_lets_an_unannotated_payload_through(
    tmp_path: Path,
) -> None:
    # The decorator's type takes `Callable[[Never], Awaitable[object]]`: an unannotated (Any)
    # parameter fits it, so only disallow_untyped_defs (part of --strict) catches the handler
    # (SubscriberSpec.of refuses it at run time).
    loose = check(tmp_path, "[mypy]\nplugins = pydantic.mypy\npython_version = 3.11\n")
    assert loose.at("untyped", "error") == [], loose.output
    assert loose.at("untyped-decorator", "error") == [], loose.output
    assert [d.code for d in loose.at("sync-decorator", "error")] == ["type-var"], loose.output


def test_the_payload_inside_a_handler_is_its_annotated_type(strict: Checked) -> None:
    assert revealed(strict, "payload") == "snippet.Order"
    assert revealed(strict, "payload-list") == "list[snippet.Order]"
    assert strict.at("typed", "error") == []
    assert strict.at("payload-only", "error") == []


def test_the_decorated_handler_keeps_its_own_type(strict: Checked) -> None:
    assert revealed(strict, "decorated") == (
        "def (order: snippet.Order, message: stompmodels._frames.Message) -> "
        "typing.Coroutine[Any, Any, int]"
    )


def test_a_plain_function_is_rejected_by_the_asyncio_decorator(strict: Checked) -> None:
    [error] = strict.at("sync-decorator", "error")  # mypy names the decorator's line
    assert error.code == "type-var"
    assert '"AsyncHandler"' in error.message
    assert '"Callable[[Order], None]"' in error.message


def test_shapes_the_runtime_refuses_are_rejected_by_the_type_too(strict: Checked) -> None:
    [three] = strict.at("three-decorator", "error")
    assert three.code == "type-var"
    assert '"Callable[[Order, Message, int], Coroutine[Any, Any, None]]"' in three.message
    [second] = strict.at("second-decorator", "error")
    assert second.code == "type-var"
    assert '"Callable[[Order, str], Coroutine[Any, Any, None]]"' in second.message


def test_request_returns_the_response_type(strict: Checked) -> None:
    assert revealed(strict, "request") == "snippet.Price"
    assert revealed(strict, "request-list") == "list[snippet.Price]"
    assert strict.at("publish", "error") == []
