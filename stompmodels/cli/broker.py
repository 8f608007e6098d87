"""`stompmodels broker`: the embedded broker from the command line, a log line per connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from stompmodels.broker.server import serve

from .format import EscapingFormatter


@dataclass(frozen=True, slots=True)
class BrokerOptions:
    """What `stompmodels broker` was asked for."""

    host: str
    port: int
    ws_port: int | None
    users: Mapping[str, str] | None


async def run_broker(options: BrokerOptions) -> int:
    """Serve until interrupted (Ctrl-C or SIGTERM); exit status 0."""
    log = logging.getLogger("stompmodels.broker")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        async with await serve(
            options.host, options.port, ws_port=options.ws_port, users=options.users
        ) as server:
            where = server.url + (f" and {server.ws_url}" if server.ws_url else "")
            logins = "any login" if options.users is None else f"{len(options.users)} user(s)"
            log.info("stompmodels broker on %s (in memory, %s); Ctrl-C stops it", where, logins)
            await stop.wait()
            log.info("stopping")
    finally:
        log.removeHandler(handler)
    return 0
