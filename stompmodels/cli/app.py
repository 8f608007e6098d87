"""The `stompmodels` command (also `python -m stompmodels`): send, listen, decode, broker.

    stompmodels send /queue/a "hello" [--count N] [--receipt] [--header k=v] [--content-type T]
    stompmodels send /queue/a < payload.bin      (the body from stdin: no BODY, or BODY -)
    stompmodels listen /queue/a [--count N] [--ack MODE] [--timeout S] [--json] [--stats]
    stompmodels decode capture.bin [--version 1.2] [--json]
    stompmodels broker [--host H] [--port P] [--ws-port P] [--user NAME:PASS]
    stompmodels --version

The broker comes from --url, else the environment variable STOMP_URL, else
stomp://guest:guest@127.0.0.1:61613/; ws:// and wss:// URLs speak STOMP over WebSocket, and
failover:(stomp://a,stomp://b) tries each broker in turn. --cafile needs TLS (stomp+ssl://,
wss://) for every broker; send and listen offer STOMP 1.0, 1.1 and 1.2 unless
--stomp-version names fewer (a comma list, such as 1.1,1.2). Readable output escapes the
control characters of what the broker sent (headers, destination, body); --json is exact JSON.
Exit status: 0 success, 1 a runtime failure (unreachable broker, refused login, ERROR frame,
protocol error, nothing received before --timeout), 2 a usage error (bad arguments, bad URL,
--cafile without TLS), 130 interrupted. A failure prints one line to stderr,
``stompmodels: error: ...``, never a traceback, and never the passcode.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import ssl
import sys
from collections.abc import Iterator
from typing import Final, get_args

from stompmodels._client.errors import BrokerError, ConnectionLost, MissingExtra
from stompmodels._client.url import BrokerURL, parse_urls
from stompmodels._errors import LocalProtocolError, ProtocolError
from stompmodels._headers import AckMode
from stompmodels._spec import VERSIONS, Version
from stompmodels._version import package_version as installed_version

from .broker import BrokerOptions, run_broker
from .commands import (
    CommandFailed,
    ListenOptions,
    SendOptions,
    UsageError,
    decode,
    input_is_piped,
    listen,
    read_input,
    send,
)
from .format import EscapingFormatter, escape

PROG: Final = "stompmodels"
DEFAULT_URL: Final = "stomp://guest:guest@127.0.0.1:61613/"
EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130


# -- arguments ------------------------------------------------------------------------------


def _header(text: str) -> tuple[str, str]:
    """An argparse type: ``name=value`` (the value may contain ``=``)."""
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return number


def _positive_float(text: str) -> float:
    """An argparse type: a number of seconds above 0."""
    try:
        number = float(text)
    except ValueError:
        number = 0.0
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return number


def _user(text: str) -> tuple[str, str]:
    login, colon, passcode = text.partition(":")
    if not colon or not login:
        raise argparse.ArgumentTypeError("expected NAME:PASS")
    return login, passcode


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return port


def _versions(text: str) -> tuple[Version, ...]:
    """An argparse type: STOMP versions as a comma list, such as ``1.1,1.2``."""
    named = [item.strip() for item in text.split(",")]
    unknown = [item for item in named if item not in VERSIONS]
    if unknown or not named:
        raise argparse.ArgumentTypeError(
            f"expected a comma list of {', '.join(VERSIONS)}, got {text!r}"
        )
    return tuple(version for version in VERSIONS if version in named)


def package_version() -> str:
    """The installed version of the package (from its metadata)."""
    return installed_version() or "(version unknown: not installed)"


def _add_url(parser: argparse.ArgumentParser) -> None:
    """--url, taken before or after the command name (absent: no attribute at all)."""
    parser.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help="broker URL: stomp://, stomp+ssl://, ws:// or wss://, or several to try in turn "
        f"as failover:(URL,URL) (default: $STOMP_URL, else {DEFAULT_URL})",
    )


def _connection_options() -> argparse.ArgumentParser:
    """Options shared by the commands that talk to a broker."""
    parent = argparse.ArgumentParser(add_help=False)
    _add_url(parent)
    parent.add_argument(
        "--cafile",
        metavar="PEM",
        help="for stomp+ssl:// and wss://, also trust the CA certificates in this PEM file "
        "(verification stays on; the system's CAs, or $SSL_CERT_FILE, are trusted too); "
        "a usage error with a URL without TLS",
    )
    parent.add_argument(
        "--stomp-version",
        type=_versions,
        default=VERSIONS,
        metavar="V[,V...]",
        help="the STOMP versions to offer, as one comma list such as 1.1,1.2 "
        f"(default: {','.join(VERSIONS)}); the broker picks the highest one it speaks",
    )
    parent.add_argument(
        "-H",
        "--header",
        type=_header,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a custom header for the frame (repeatable)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Send, receive and decode STOMP frames."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log the session to stderr")
    parser.add_argument(
        "--version",
        action="version",
        version=f"{PROG} {package_version()}",
        help="print the version of stompmodels and exit",
    )
    _add_url(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = [_connection_options()]

    sender = commands.add_parser(
        "send",
        parents=shared,
        help="send a message",
        description="Send a message. The body is BODY as UTF-8 text; with - , or with no BODY "
        "when stdin is not a terminal, it is the bytes of stdin (sent with no content-type); "
        "with no BODY on a terminal, it is empty.",
    )
    sender.add_argument("destination", metavar="DEST")
    sender.add_argument(
        "body",
        nargs="?",
        metavar="BODY",
        help="text, or - for stdin (default: stdin if it is not a terminal, else empty)",
    )
    sender.add_argument("--count", type=_positive_int, default=1, help="send it N times")
    sender.add_argument("--receipt", action="store_true", help="confirm every message")
    sender.add_argument("--content-type", metavar="TYPE")

    listener = commands.add_parser(
        "listen",
        parents=shared,
        help="print messages as they arrive",
        description="Print messages as they arrive. Exit 0 once --count messages arrived, or "
        "when --timeout ends the wait after at least one; exit 1 if none arrived in time. "
        "With --count, messages beyond the count stay on the queue (the CLI then ACKs "
        "each printed message itself, even with --ack auto).",
    )
    listener.add_argument("destination", metavar="DEST")
    listener.add_argument("--count", type=_positive_int, help="stop after N messages")
    listener.add_argument(
        "--ack", choices=get_args(AckMode), default="auto", help="ack mode (default: auto)"
    )
    listener.add_argument(
        "--timeout", type=_positive_float, metavar="S", help="stop after S seconds without one"
    )
    listener.add_argument("--json", action="store_true", help="one JSON object per message")
    listener.add_argument(
        "--stats", action="store_true", help="counts and rates on stderr once a second"
    )

    decoder = commands.add_parser(
        "decode", help="decode captured STOMP bytes", description="Print the frames in a capture."
    )
    decoder.add_argument("file", nargs="?", default="-", metavar="FILE", help="default: stdin")
    decoder.add_argument(
        "--version", choices=VERSIONS, default="1.2", help="STOMP version (default: 1.2)"
    )
    decoder.add_argument("--json", action="store_true", help="one JSON object per frame")

    broker = commands.add_parser(
        "broker",
        help="run the embedded broker",
        description="Run the embedded STOMP broker, with a log line per connection on stderr. "
        "It keeps everything in memory in this one process: for development, tests and "
        "demos, not production.",
    )
    broker.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    broker.add_argument("--port", type=_port, default=61613, help="STOMP port (default: 61613)")
    broker.add_argument(
        "--ws-port", type=_port, metavar="PORT", help="serve STOMP over WebSocket at /ws too"
    )
    broker.add_argument(
        "--user",
        type=_user,
        action="append",
        metavar="NAME:PASS",
        help="accept this login (repeat it for more); without any, every login is accepted",
    )
    return parser


def broker_url(text: str | None) -> BrokerURL | str:
    """The broker(s) to use: --url, else $STOMP_URL, else the default (UsageError if bad).

    One URL comes back parsed; several (``failover:(URL,URL)``, as the clients take them) come
    back as the text, once each of them has been checked.
    """
    if text is None:
        text = os.environ.get("STOMP_URL") or DEFAULT_URL
    try:
        urls = parse_urls(text)
    except ValueError as exc:  # the message never repeats the URL, which may hold a passcode
        raise UsageError(f"bad URL: {exc}") from None
    return urls[0] if len(urls) == 1 else text


def broker_urls(url: BrokerURL | str) -> list[BrokerURL]:
    """The brokers `url` (from `broker_url`) names, in failover order."""
    return [url] if isinstance(url, BrokerURL) else parse_urls(url)


def tls_context(cafile: str | None, urls: list[BrokerURL] | None = None) -> ssl.SSLContext | None:
    """A verifying context that also trusts `cafile` (None: the client's default context).

    The context serves every broker of `urls`: a UsageError if any of them does not use TLS
    (--cafile would have no effect on it, or turn TLS on for a plain port).
    """
    if cafile is None:
        return None
    plain = [url for url in urls or [] if not url.tls]
    if plain:
        every = " for every broker of the failover URL" if len(urls or []) > 1 else ""
        raise UsageError(
            f"--cafile has no effect without TLS, which {plain[0].scheme}:// does not use: "
            f"use stomp+ssl:// or wss://{every}"
        )
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load --cafile {cafile!r}: {describe(exc)}") from None
    return context


# -- running --------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    """Run the chosen command."""
    if args.command == "decode":
        return decode(read_input(args.file), args.version, args.json)
    if args.command == "broker":
        users = dict(args.user) if args.user else None
        return asyncio.run(run_broker(BrokerOptions(args.host, args.port, args.ws_port, users)))
    url = broker_url(getattr(args, "url", None))
    tls = tls_context(args.cafile, broker_urls(url))
    headers = dict(args.header)
    versions: tuple[Version, ...] = args.stomp_version
    if args.command == "send":
        body: bytes | str = args.body or ""
        if args.body == "-" or (args.body is None and input_is_piped()):
            body = read_input("-")
        options = SendOptions(
            url,
            args.destination,
            body,
            headers,
            args.content_type,
            args.count,
            args.receipt,
            tls,
            versions,
        )
        return asyncio.run(send(options))
    listening = ListenOptions(
        url,
        args.destination,
        headers,
        args.count,
        args.ack,
        args.timeout,
        args.json,
        tls,
        versions,
        stats=args.stats,
    )
    return asyncio.run(listen(listening))


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(error: BaseException) -> str:
    """One line saying what went wrong (what the broker wrote escaped, as in `format`)."""
    if isinstance(error, BrokerError):
        frame = error.frame
        detail = frame.message or ""
        with contextlib.suppress(UnicodeDecodeError):
            first = next(iter(frame.text.strip().splitlines()), "")
            if first and first not in detail:
                detail = f"{detail} ({first})" if detail else first
        return f"the broker sent ERROR: {_shorten(escape(detail)) or '(no message)'}"
    if isinstance(error, ProtocolError):
        where = "" if error.offset is None else f" at byte {error.offset}"
        return f"protocol error{where}: {error.reason}"
    if isinstance(error, TimeoutError):
        return str(error) or "timed out"
    if isinstance(error, OSError) and error.filename is not None:
        return f"cannot read {error.filename!r}: {error.strerror or error}"
    return str(error) or type(error).__name__


@contextlib.contextmanager
def _logging(verbose: bool) -> Iterator[None]:
    """Route the library's log to stderr with -v; otherwise keep it quiet."""
    library = logging.getLogger("stompmodels")
    handler: logging.Handler
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(EscapingFormatter(f"{PROG}: %(levelname)s: %(message)s"))
    else:
        handler = logging.NullHandler()  # no "last resort" printing of warnings
    old_level, old_propagate = library.level, library.propagate
    library.addHandler(handler)
    library.propagate = False
    if verbose:
        library.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        library.removeHandler(handler)
        library.setLevel(old_level)
        library.propagate = old_propagate


def _fail(message: str, status: int) -> int:
    # One line, whatever a peer's text in `message` holds (a control character shows escaped).
    print(f"{PROG}: error: {escape(message, backslash=False)}", file=sys.stderr, flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]); return the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        with _logging(args.verbose):
            return _run(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except (ConnectionLost, TimeoutError, ProtocolError, LocalProtocolError) as exc:
        return _fail(describe(exc), EXIT_FAILURE)
    except CommandFailed as exc:
        return _fail(str(exc), EXIT_FAILURE)
    except MissingExtra as exc:  # e.g. a ws:// URL without the websockets package
        return _fail(str(exc), EXIT_FAILURE)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's exit flush quiet too.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except OSError as exc:
        return _fail(describe(exc), EXIT_FAILURE)
