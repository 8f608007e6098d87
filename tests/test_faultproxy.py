"""The fault proxy of the fault tests (tests/faultproxy.py), against a local echo server."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from typing import Final

import pytest

from .faultproxy import FaultProxy

WAIT: Final = 5.0  # seconds any socket call may block
SHORT: Final = 0.3  # how long "nothing arrives" is watched for


class _Echo(socketserver.BaseRequestHandler):
    """Sends back what it reads, and notes the size of each read."""

    server: _EchoServer

    def handle(self) -> None:
        self.request.settimeout(WAIT)
        while data := self.request.recv(65536):
            self.server.reads.append(len(data))
            self.request.sendall(data)


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.reads: list[int] = []


@pytest.fixture
def echo() -> Iterator[_EchoServer]:
    server = _EchoServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(WAIT)


@pytest.fixture
def proxy(echo: _EchoServer) -> Iterator[FaultProxy]:
    with FaultProxy(echo.server_address[1]) as proxy:
        yield proxy


def connected(proxy: FaultProxy, count: int = 1) -> list[socket.socket]:
    """`count` connections through the proxy, each known to be open at both ends."""
    socks = [
        socket.create_connection(("127.0.0.1", proxy.port), timeout=WAIT) for _ in range(count)
    ]
    assert proxy.wait_active(count, WAIT)
    return socks


def receive(sock: socket.socket, size: int, timeout: float = WAIT) -> bytes:
    """Read exactly `size` bytes, or what came before EOF or `timeout`."""
    sock.settimeout(timeout)
    data = b""
    try:
        while len(data) < size and (chunk := sock.recv(size - len(data))):
            data += chunk
    except TimeoutError:
        pass
    return data


def is_closed(sock: socket.socket) -> bool:
    """Whether the peer closed (EOF or reset) within WAIT seconds."""
    sock.settimeout(WAIT)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_bytes_go_both_ways_and_are_counted(proxy: FaultProxy) -> None:
    [sock] = connected(proxy)
    with sock:
        sock.sendall(b"hello")
        assert receive(sock, 5) == b"hello"
    counters = proxy.counters
    assert (counters.connections, counters.forwarded) == (1, {"up": 5, "down": 5})
    assert proxy.wait_active(0, WAIT)  # the client's close reached the echo server and back


def test_split_writes_each_chunk_in_tiny_pieces(proxy: FaultProxy) -> None:
    payload = bytes(range(256)) * 4
    proxy.set("up", split=(1, 7))
    [sock] = connected(proxy)
    with sock:
        sock.sendall(payload)
        assert receive(sock, len(payload)) == payload  # nothing lost, nothing reordered
    counters = proxy.counters
    assert counters.writes["up"] >= len(payload) // 7
    assert counters.writes["down"] < counters.writes["up"]  # the way back was not split


@pytest.mark.slow
def test_delay_holds_every_chunk(proxy: FaultProxy) -> None:
    proxy.set("down", delay=0.3)
    [sock] = connected(proxy)
    with sock:
        started = time.monotonic()
        sock.sendall(b"slow")
        assert receive(sock, 4) == b"slow"
        assert time.monotonic() - started >= 0.3


@pytest.mark.slow
def test_a_stall_keeps_the_connection_open_and_forwards_nothing_until_healed(
    proxy: FaultProxy,
) -> None:
    [sock] = connected(proxy)
    with sock:
        proxy.set("down", stall=True)
        sock.sendall(b"held")
        assert receive(sock, 4, SHORT) == b""
        assert proxy.counters.active == 1
        proxy.heal()
        assert receive(sock, 4) == b"held"  # held, not dropped


@pytest.mark.slow
def test_a_black_hole_discards_what_it_reads(proxy: FaultProxy) -> None:
    [sock] = connected(proxy)
    with sock:
        proxy.set("down", blackhole=True)
        sock.sendall(b"gone")
        assert receive(sock, 4, SHORT) == b""
        assert proxy.counters.discarded == {"up": 0, "down": 4}
        proxy.set("down", blackhole=False)
        sock.sendall(b"back")
        assert receive(sock, 4) == b"back"


def test_cut_ends_every_connection_and_new_ones_still_work(proxy: FaultProxy) -> None:
    socks = connected(proxy, 2)
    assert proxy.cut() == 2
    assert all(is_closed(sock) for sock in socks)
    assert proxy.counters.cut == 2
    [sock] = connected(proxy)
    with sock:
        sock.sendall(b"again")
        assert receive(sock, 5) == b"again"


def test_cut_after_n_bytes_delivers_part_of_the_next_chunk_then_closes(
    proxy: FaultProxy,
) -> None:
    [sock] = connected(proxy)
    with sock:
        assert proxy.cut(after=3, direction="down", wait=False) == 1
        sock.sendall(b"abcdefgh")
        assert receive(sock, 8) == b"abc"  # then EOF
        assert is_closed(sock)


@pytest.mark.slow
def test_an_armed_cut_on_a_quiet_connection_happens_within_the_bound(proxy: FaultProxy) -> None:
    [sock] = connected(proxy)
    with sock:
        started = time.monotonic()
        assert proxy.cut(after=3, within=0.3) == 1
        assert 0.3 <= time.monotonic() - started < WAIT
        assert is_closed(sock)


def test_refused_connections_are_closed_at_once(proxy: FaultProxy) -> None:
    proxy.refuse()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=WAIT) as sock:
        assert is_closed(sock)
    assert proxy.counters.refused == 1
    proxy.heal()
    [sock] = connected(proxy)
    with sock:
        sock.sendall(b"open")
        assert receive(sock, 4) == b"open"


def test_stop_closes_connections_and_the_listener(echo: _EchoServer) -> None:
    proxy = FaultProxy(echo.server_address[1])
    proxy.start()
    [sock] = connected(proxy)
    proxy.stop()
    with sock:
        assert is_closed(sock)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=WAIT)
    proxy.stop()  # a second stop does nothing


def test_url_points_a_broker_url_at_the_proxy(proxy: FaultProxy) -> None:
    url = proxy.url("stomp://guest:guest@127.0.0.1:61613/vhost")
    assert url == f"stomp://guest:guest@127.0.0.1:{proxy.port}/vhost"
    assert proxy.url("stomp://127.0.0.1:61613/") == f"stomp://127.0.0.1:{proxy.port}/"


def test_only_loopback_targets_are_allowed() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy(61613, "192.0.2.1")
