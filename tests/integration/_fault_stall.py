"""Every wait under a stalled connection ends at its timeout (tests and benchmark).

The fault proxy stops forwarding what the broker sends (the sockets stay open, so only the
client's timeouts can end the waits): before CONNECTED, before a SEND's RECEIPT, before a
SUBSCRIBE's RECEIPT, and before DISCONNECT's RECEIPT (where `close` gives up, logs a warning
and closes anyway). Heart-beats are off, so that no heart-beat verdict ends a wait first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal

from stompmodels.aio import Client as AioClient
from stompmodels.blocking import Client as BlockingClient
from tests.faultproxy import FaultProxy

from ._fault_stream import ClientKind
from ._warnings_log import WarningLog, warnings_logged

Wait = Literal["connect", "send", "subscribe", "disconnect"]
WAITS: Final[tuple[Wait, ...]] = ("connect", "send", "subscribe", "disconnect")
TIMEOUT: Final = 0.5
DESTINATION: Final = "/topic/stompmodels-faults-stall"  # nothing piles up


@dataclass(frozen=True, slots=True)
class StalledWait:
    """How one wait ended: after how long, with which error (or which logged warning)."""

    client: ClientKind
    wait: Wait
    timeout: float
    elapsed: float
    error: BaseException | None
    warnings: tuple[str, ...]  # what the client logged at WARNING and above meanwhile


def _timed(
    client: ClientKind, wait: Wait, call: Callable[[], object], warnings: WarningLog
) -> StalledWait:
    del warnings.messages[:]
    started = time.monotonic()
    error: BaseException | None = None
    try:
        call()
    except (ConnectionError, TimeoutError) as exc:
        error = exc
    elapsed = time.monotonic() - started
    return StalledWait(client, wait, TIMEOUT, elapsed, error, tuple(warnings.messages))


async def _timed_async(
    wait: Wait, call: Callable[[], Awaitable[object]], warnings: WarningLog
) -> StalledWait:
    del warnings.messages[:]
    started = time.monotonic()
    error: BaseException | None = None
    try:
        await call()
    except (ConnectionError, TimeoutError) as exc:
        error = exc
    elapsed = time.monotonic() - started
    return StalledWait("aio", wait, TIMEOUT, elapsed, error, tuple(warnings.messages))


def stalled_waits_blocking(broker_url: str, broker_port: int) -> list[StalledWait]:
    """Each wait of `stompmodels.blocking` under a stall."""
    results: list[StalledWait] = []
    with FaultProxy(broker_port) as proxy, warnings_logged() as warnings:
        url = proxy.url(broker_url)
        proxy.set("down", stall=True)
        first = BlockingClient(url, timeout=TIMEOUT, heart_beat=(0, 0))
        results.append(_timed("blocking", "connect", first.connect, warnings))
        first.close()
        proxy.heal()
        client = BlockingClient(url, timeout=TIMEOUT, heart_beat=(0, 0))
        client.connect()
        try:
            proxy.set("down", stall=True)
            calls: list[tuple[Wait, Callable[[], object]]] = [
                ("send", lambda: client.send(DESTINATION, "held", receipt=True)),
                ("subscribe", lambda: client.subscribe(DESTINATION, receipt=True)),
            ]
            for wait, call in calls:
                results.append(_timed("blocking", wait, call, warnings))
            results.append(_timed("blocking", "disconnect", client.close, warnings))
        finally:
            client.close()
    return results


def stalled_waits_aio(broker_url: str, broker_port: int) -> list[StalledWait]:
    """Each wait of `stompmodels.aio` under a stall."""

    async def scenario(proxy: FaultProxy, warnings: WarningLog) -> list[StalledWait]:
        url = proxy.url(broker_url)
        proxy.set("down", stall=True)
        first = AioClient(url, timeout=TIMEOUT, heart_beat=(0, 0))
        results = [await _timed_async("connect", first.connect, warnings)]
        await first.close()
        proxy.heal()
        client = AioClient(url, timeout=TIMEOUT, heart_beat=(0, 0))
        await client.connect()
        try:
            proxy.set("down", stall=True)
            calls: list[tuple[Wait, Callable[[], Awaitable[object]]]] = [
                ("send", lambda: client.send(DESTINATION, "held", receipt=True)),
                ("subscribe", lambda: client.subscribe(DESTINATION, receipt=True)),
                ("disconnect", client.close),
            ]
            for wait, call in calls:
                results.append(await _timed_async(wait, call, warnings))
        finally:
            await client.close()
        return results

    with FaultProxy(broker_port) as proxy, warnings_logged() as warnings:
        return asyncio.run(asyncio.wait_for(scenario(proxy, warnings), 60))
