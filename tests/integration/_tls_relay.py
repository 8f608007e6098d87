"""A TLS front with a certificate of the test's choosing, relaying to a plain STOMP port.

ActiveMQ has one TLS context for all its connectors, so a second certificate (a self-signed
one, say) needs a second TLS endpoint: this relay, on its own thread and event loop, accepts
TLS on a free loopback port and copies bytes both ways to the broker's plain connector. A client
that accepts its certificate gets a real session with the broker behind it.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from pathlib import Path
from types import TracebackType
from typing import Final

from ._brokers import LOOPBACK

READY_TIMEOUT: Final = 10.0  # seconds for the relay's thread to listen, and to stop
_CHUNK: Final = 64 * 1024


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


class TlsRelay:
    """``with TlsRelay(cert, key, plain_port) as port:`` TLS on `port`, relayed to the broker."""

    def __init__(self, cert: Path, key: Path, target_port: int) -> None:
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert, key)
        self._target_port = target_port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._port = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._run, name="tls-relay", daemon=True)

    def __enter__(self) -> int:
        self._thread.start()
        if not self._ready.wait(READY_TIMEOUT) or not self._port:
            raise RuntimeError("the TLS relay did not start")
        return self._port

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(READY_TIMEOUT)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._ready.set()  # also when it failed to listen: __enter__ must not wait on
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._relay, LOOPBACK, 0, ssl=self._context)
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
        if self._tasks:  # connections still open when the test is done
            for task in self._tasks:
                task.cancel()
            await asyncio.wait(self._tasks, timeout=READY_TIMEOUT)

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            broker_in, broker_out = await asyncio.open_connection(LOOPBACK, self._target_port)
        except OSError:
            client_out.close()
            return
        await asyncio.gather(_pipe(client_in, broker_out), _pipe(broker_in, client_out))
