"""A silent peer: the fault proxy black-holes the broker's bytes (tests and benchmark).

The client negotiated heart-beats; the proxy starts discarding everything the broker sends
(the sockets stay open, the client's own heart-beats still reach the broker). A SEND with a
receipt, made just then, must fail with HeartbeatTimeout once nothing has come for the
negotiated interval times the grace factor. The outage lasts a moment longer, then the proxy
heals (and resets the connections still open, as a recovered network does with a half-open
one); the client must come back by itself and work again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Final

from stompmodels.aio import (
    Backoff,
    BrokerURL,
    ConnectionEvent,
    ConnectionLost,
)
from stompmodels.aio import Client as AioClient
from stompmodels.blocking import Client as BlockingClient
from tests.faultproxy import FaultProxy

from ._fault_stream import ClientKind

HEART_BEAT: Final = (1000, 1000)
TIMEOUT: Final = 10.0  # the client's own waits: longer than any heart-beat verdict
OUTAGE: Final = 1.0  # seconds the black hole stays after the client noticed it
RECONNECT: Final = Backoff(initial=0.05, maximum=0.5, attempts=40)
DESTINATION: Final = "/topic/stompmodels-faults-silent"  # no subscriber: nothing piles up


@dataclass(frozen=True, slots=True)
class SilentPeer:
    """What happened when the broker fell silent."""

    client: ClientKind
    receive_ms: int  # the negotiated interval at which the broker sends
    detected_after: float  # seconds from the black hole to the failed SEND
    error: ConnectionLost | TimeoutError  # what the SEND raised
    recovered_after: float  # seconds from the heal to "reconnected" (then a SEND worked)


class _Events:
    """The client's connection events, waited for from any thread."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, ConnectionEvent]] = []
        self._changed = threading.Condition()

    def __call__(self, event: ConnectionEvent, _: BrokerURL) -> None:
        with self._changed:
            self.seen.append((time.monotonic(), event))
            self._changed.notify_all()

    def wait(self, event: ConnectionEvent, after: float, timeout: float = 30.0) -> float:
        """When `event` happened after `after` (time.monotonic()); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [at for at, seen in self.seen if seen == event and at >= after]
                if found:
                    return found[0]
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no {event!r} within {timeout} s: {self.seen}"
                self._changed.wait(remaining)


def _heal_after_outage(proxy: FaultProxy, events: _Events, since: float) -> float:
    """Wait for the loss, keep the black hole `OUTAGE` s more, heal; the time of the heal."""
    events.wait("lost", since)
    time.sleep(OUTAGE)
    proxy.heal()
    healed = time.monotonic()
    proxy.cut()  # the attempt under way waits for a CONNECTED that was discarded
    return healed


def silent_peer_aio(broker_url: str, broker_port: int) -> SilentPeer:
    """The scenario with `stompmodels.aio`."""
    events = _Events()

    async def scenario(proxy: FaultProxy) -> SilentPeer:
        client = AioClient(
            proxy.url(broker_url),
            heart_beat=HEART_BEAT,
            timeout=TIMEOUT,
            reconnect=RECONNECT,
            on_state=events,
        )
        await client.connect()
        try:
            receive_ms = client.engine.heart_beat.receive_ms
            proxy.set("down", blackhole=True)
            silent = time.monotonic()
            try:
                await client.send(DESTINATION, "into the void", receipt=True)
            except (ConnectionLost, TimeoutError) as exc:
                error: ConnectionLost | TimeoutError = exc
            else:
                raise AssertionError("a RECEIPT came through the black hole")
            detected = time.monotonic()
            healed = await asyncio.to_thread(_heal_after_outage, proxy, events, silent)
            back = await asyncio.to_thread(events.wait, "reconnected", healed)
            await client.send(DESTINATION, "back", receipt=True)
        finally:
            await client.close()
        return SilentPeer("aio", receive_ms, detected - silent, error, back - healed)

    with FaultProxy(broker_port) as proxy:
        return asyncio.run(asyncio.wait_for(scenario(proxy), 60))


def silent_peer_blocking(broker_url: str, broker_port: int) -> SilentPeer:
    """The scenario with `stompmodels.blocking`."""
    events = _Events()
    with FaultProxy(broker_port) as proxy:
        client = BlockingClient(
            proxy.url(broker_url),
            heart_beat=HEART_BEAT,
            timeout=TIMEOUT,
            reconnect=RECONNECT,
            on_state=events,
        )
        with client:
            receive_ms = client.engine.heart_beat.receive_ms
            proxy.set("down", blackhole=True)
            silent = time.monotonic()
            try:
                client.send(DESTINATION, "into the void", receipt=True)
            except (ConnectionLost, TimeoutError) as exc:
                error: ConnectionLost | TimeoutError = exc
            else:
                raise AssertionError("a RECEIPT came through the black hole")
            detected = time.monotonic()
            healed = _heal_after_outage(proxy, events, silent)
            back = events.wait("reconnected", healed)
            client.send(DESTINATION, "back", receipt=True)
    return SilentPeer("blocking", receive_ms, detected - silent, error, back - healed)
