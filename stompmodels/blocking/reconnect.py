"""Reconnecting for the blocking client: a background thread renews a lost session.

When a session that was up is lost and `reconnect` is on, `_fail` (on whatever thread saw the
loss: reader, heart-beat or a writer) only wakes the waiters and calls `_retry`, which starts the
reconnect thread and returns at once; the reader never reconnects, sleeps or runs user code.
The reconnect thread waits for the old connection's threads (bounded), then sleeps each
`Backoff` delay (an Event wait that `close` cuts short) and tries the next broker in turn: a new
socket and Engine, CONNECT, and the subscriptions again, with the same ids, ack modes and
headers (their channels, and the messages in them, stay). A transaction is never replayed.
When the attempts run out, the subscriptions end with the error. `on_state` callbacks run on
the thread that caused the event: "lost" and "reconnected" on the reconnect thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from stompmodels._client.errors import ConnectionEvent, ConnectionLost
from stompmodels._client.url import BrokerURL

from .connection import logger
from .threads import Session


class Reconnecting(Session):
    """A `Session` that fails over and reconnects; `blocking.Client` builds on it."""

    _on_state: Callable[[ConnectionEvent, BrokerURL], None] | None = None
    _reconnector: threading.Thread | None = None

    def _retry(self, error: ConnectionLost) -> None:
        self._reconnector = self._start(lambda: self._reconnect_loop(error), "reconnect")

    def _reconnect_loop(self, error: ConnectionLost) -> None:
        assert self._backoff is not None
        self._notify("lost")
        self._retire()
        for delay in self._backoff.delays():
            if self._halt.wait(delay):
                return  # closing: `close` ends the subscriptions
            self._next_url = (self._next_url + 1) % len(self.urls)
            url = self.urls[self._next_url]
            try:
                self._attempt(url)
            except ConnectionLost as exc:
                logger.warning("reconnect to %s failed: %s", url, exc)
                error = exc
                continue
            except Exception as exc:  # a credentials hook that fails, say: give up loudly
                logger.exception("reconnect to %s failed", url)
                error = ConnectionLost(f"reconnect to {url} failed: {exc!r}")
                break
            if not self._halt.is_set():
                self._notify("reconnected")
            return
        final = ConnectionLost(f"gave up reconnecting: {error}")
        logger.warning("%s", final)
        with self._lock:
            self._attempting = False
            self._failure = final
        self._end(final)

    def _close(self, timeout: float | None) -> None:
        self._halt.set()
        reconnector = self._reconnector
        if reconnector is not None and reconnector is not threading.current_thread():
            # An attempt under way is bounded by `timeout` per step; it sees the halt at once.
            reconnector.join(self.timeout if timeout is None else timeout)
        super()._close(timeout)

    def _notify(self, event: ConnectionEvent) -> None:
        if self._on_state is None:
            return
        try:
            self._on_state(event, self.url)
        except Exception:
            logger.exception("the on_state callback failed on %r", event)
