"""The stream scenario of the fault tests: numbered messages through a disrupted connection.

`run_stream` publishes `count` numbered messages, each with a receipt, while a consumer with
`client-individual` ack takes them, both clients with `reconnect` on; a send that fails
(ConnectionLost, no receipt in time) is sent again once its client has reconnected, so every
message is confirmed at least once. Meanwhile `disrupt(progress)` runs on a thread of its own:
it cuts a proxy's connections, restarts a broker, whatever the caller wants, and should return
once `progress.finished` is set (all messages confirmed). The consumer then drains until it has
every confirmed message and nothing more comes for `quiet` seconds. The result counts what was
sent, confirmed, delivered, lost (confirmed but never delivered: must be 0) and duplicated.

A disruption that must happen mid-stream holds the publisher (`hold_at`) so that a fast
stream cannot end before it: `act_in_stages` waits at each hold, lets the publisher on and acts.

```python
holds = (3_000, 6_000)
result = run_stream(
    proxy.url(broker.url),
    proxy.url(broker.url),
    10_000,
    lambda progress: act_in_stages(progress, holds, proxy.cut, timeout=30),
    hold_at=holds[0],
)
assert result.lost == 0 and result.failure is None
```
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol, TypedDict

from stompmodels.aio import Backoff, BrokerURL, ConnectionEvent

ClientKind = Literal["aio", "blocking"]
Role = Literal["publisher", "consumer"]

WINDOW: Final = 64  # sends awaiting their receipts at once (ActiveMQ is slow one at a time)
RECONNECT: Final = Backoff(initial=0.05, maximum=1.0, attempts=60)
CLIENT_TIMEOUT: Final = 5.0  # each client's bound on one wait (a receipt, CONNECTED)
QUIET: Final = 1.0  # seconds without a message after which the drain ends
MISSING_AFTER: Final = 10.0  # ... or, while a confirmed message is missing, this many seconds
ATTEMPTS: Final = 100  # sends of one message before the publisher gives up on it
# RabbitMQ deletes a queue made with this argument 5 minutes after its last use.
RABBITMQ_QUEUE_ARGS: Final = {"x-expires": "300000"}


def queue_args(product: str) -> dict[str, str]:
    """Headers for every frame that may make the queue (SUBSCRIBE and SEND): on RabbitMQ an
    expiry, so the test's queue goes away (RabbitMQ refuses a SEND whose queue arguments
    differ from those the queue was made with)."""
    return dict(RABBITMQ_QUEUE_ARGS) if product == "RabbitMQ" else {}


def subscribe_headers(product: str, prefetch: int = 500) -> dict[str, str]:
    """SUBSCRIBE headers for a stream on `product` ("RabbitMQ" or "ActiveMQ"): the queue's
    arguments and the broker's prefetch header (how many unacknowledged messages it sends
    ahead)."""
    if product == "RabbitMQ":
        return {"prefetch-count": str(prefetch), **queue_args(product)}
    return {"activemq.prefetchSize": str(prefetch)}


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """A connection event of one of the two clients, `at` seconds after the stream began."""

    at: float
    role: Role
    event: str


@dataclass(frozen=True, slots=True)
class StreamResult:
    """What a stream run counted."""

    client: ClientKind
    count: int  # messages to publish
    sent: int  # SEND frames written, resends included
    confirmed: int  # messages whose RECEIPT came
    delivered: int  # distinct messages the consumer received
    lost: int  # confirmed but never delivered: must be 0
    duplicated: int  # deliveries beyond the first of each message
    elapsed: float  # seconds, from the first SEND to the end of the drain
    events: tuple[StreamEvent, ...]  # connected, lost, reconnected, closed of both clients
    failure: str | None  # why the stream did not finish (a client gave up, the deadline)

    @property
    def reconnects(self) -> int:
        """How many times either client came back."""
        return sum(1 for event in self.events if event.event == "reconnected")

    @property
    def recoveries(self) -> list[float]:
        """Seconds from each "lost" to the same client's next "reconnected"."""
        times: list[float] = []
        for role in ("publisher", "consumer"):
            lost_at: float | None = None
            for event in (e for e in self.events if e.role == role):
                if event.event == "lost" and lost_at is None:
                    lost_at = event.at
                elif event.event == "reconnected" and lost_at is not None:
                    times.append(event.at - lost_at)
                    lost_at = None
        return times


@dataclass
class StreamProgress:
    """What `disrupt` sees of a running stream; safe to read from any thread."""

    count: int
    hold_at: int | None = None  # the publisher sends no number from here on until `allow`
    started: float = field(default_factory=time.monotonic)
    finished: threading.Event = field(default_factory=threading.Event)
    _confirmed: set[int] = field(default_factory=set)
    _deliveries: Counter[int] = field(default_factory=Counter)
    _sent: int = 0
    _events: list[StreamEvent] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _allowed: int = field(init=False)

    def __post_init__(self) -> None:
        self._allowed = self.count if self.hold_at is None else self.hold_at

    @property
    def confirmed(self) -> int:
        """Messages confirmed so far."""
        return len(self._confirmed)

    @property
    def delivered(self) -> int:
        """Distinct messages delivered so far."""
        return len(self._deliveries)

    def wait_confirmed(self, count: int, timeout: float) -> bool:
        """Wait until `count` messages are confirmed (False after `timeout` s or at the end)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._confirmed) < count and not self.finished.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.1))
            return len(self._confirmed) >= count

    def allow(self, limit: int) -> None:
        """Let the publisher send the numbers below `limit`."""
        with self._changed:
            self._allowed = max(self._allowed, limit)
            self._changed.notify_all()

    def may_send(self, number: int) -> bool:
        """Whether the publisher may send message `number` now."""
        with self._changed:
            return number < self._allowed

    def wait_may_send(self, number: int, timeout: float) -> bool:
        """Wait until message `number` may be sent (False after `timeout` s)."""
        with self._changed:
            return self._changed.wait_for(lambda: number < self._allowed, timeout)

    def both_back(self, times: int, timeout: float) -> bool:
        """Wait until each client has reconnected `times` times (False after `timeout` s or at
        the end of the stream)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.finished.is_set():
            events = self.events()
            if all(
                sum(1 for e in events if e.role == role and e.event == "reconnected") >= times
                for role in ("publisher", "consumer")
            ):
                return True
            time.sleep(0.01)
        return False

    def events(self) -> list[StreamEvent]:
        """The connection events so far."""
        with self._changed:
            return list(self._events)

    def note_sent(self) -> None:
        with self._changed:
            self._sent += 1

    def note_confirmed(self, number: int) -> None:
        with self._changed:
            self._confirmed.add(number)
            self._changed.notify_all()

    def note_delivered(self, number: int) -> None:
        with self._changed:
            self._deliveries[number] += 1

    def note_event(self, role: Role, event: str) -> None:
        with self._changed:
            self._events.append(StreamEvent(time.monotonic() - self.started, role, event))

    def all_delivered(self) -> bool:
        with self._changed:
            return self._confirmed.issubset(self._deliveries)

    def result(self, client: ClientKind, failure: str | None) -> StreamResult:
        with self._changed:
            return StreamResult(
                client=client,
                count=self.count,
                sent=self._sent,
                confirmed=len(self._confirmed),
                delivered=len(self._deliveries),
                lost=len(self._confirmed - self._deliveries.keys()),
                duplicated=sum(self._deliveries.values()) - len(self._deliveries),
                elapsed=time.monotonic() - self.started,
                events=tuple(self._events),
                failure=failure,
            )


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """Everything a stream run needs but the clients' code."""

    publisher_url: str
    consumer_url: str
    destination: str
    tag: str  # in every body, so that a stray message is never counted
    headers: Mapping[str, str]  # on every SEND
    subscribe_headers: Mapping[str, str]
    prefetch: int | None  # SUBSCRIBE's `prefetch` (None: the client's default)
    deadline: float  # time.monotonic() by which everything must be over
    quiet: float
    heart_beat: tuple[int, int]

    def body(self, number: int) -> str:
        return f"{self.tag}:{number}"

    def number(self, body: bytes) -> int | None:
        tag, _, number = body.decode(errors="replace").partition(":")
        return int(number) if tag == self.tag and number.isdigit() else None

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)


class Flag(Protocol):
    """What asyncio.Event and threading.Event share."""

    def set(self) -> None: ...
    def clear(self) -> None: ...


class ClientOptions(TypedDict):
    """The keywords both kinds of client of a stream get."""

    reconnect: Backoff
    timeout: float
    heart_beat: tuple[int, int]
    on_state: Callable[[ConnectionEvent, BrokerURL], None]


def client_options(
    plan: StreamPlan, progress: StreamProgress, role: Role, up: Flag
) -> ClientOptions:
    """Options for the `role` client: its connection events go to `progress`, and `up` is set
    while it is connected."""

    def on_state(event: ConnectionEvent, _: BrokerURL) -> None:
        progress.note_event(role, event)
        if event in ("connected", "reconnected"):
            up.set()
        else:
            up.clear()

    return ClientOptions(
        reconnect=RECONNECT, timeout=CLIENT_TIMEOUT, heart_beat=plan.heart_beat, on_state=on_state
    )


def run_stream(
    publisher_url: str,
    consumer_url: str,
    count: int,
    disrupt: Callable[[StreamProgress], None],
    *,
    client: ClientKind = "aio",
    destination: str | None = None,
    subscribe_headers: Mapping[str, str] | None = None,
    send_headers: Mapping[str, str] | None = None,
    prefetch: int | None = None,
    persistent: bool = True,
    heart_beat: tuple[int, int] = (0, 0),
    quiet: float = QUIET,
    deadline: float = 120.0,
    hold_at: int | None = None,
) -> StreamResult:
    """Publish `count` numbered messages through faults and count what the consumer gets.

    `disrupt` runs on its own thread from just after the consumer subscribed; it should
    return soon after `progress.finished` is set. `persistent` marks messages persistent (a
    broker restart keeps them). With `hold_at`, the publisher sends nothing from that number
    on until `disrupt` calls `progress.allow` (or returns). Everything ends within `deadline`
    seconds (then `failure` says so); nothing is asserted here.
    """
    plan = StreamPlan(
        publisher_url=publisher_url,
        consumer_url=consumer_url,
        destination=destination or f"/queue/stompmodels-faults-{uuid.uuid4().hex[:12]}",
        tag=uuid.uuid4().hex[:8],
        headers={**(send_headers or {}), **({"persistent": "true"} if persistent else {})},
        subscribe_headers=dict(subscribe_headers or {}),
        prefetch=prefetch,
        deadline=time.monotonic() + deadline,
        quiet=quiet,
        heart_beat=heart_beat,
    )
    progress = StreamProgress(count, hold_at)
    if client == "aio":
        from ._fault_stream_aio import stream_aio

        failure = stream_aio(plan, progress, disrupt)
    else:
        from ._fault_stream_blocking import stream_blocking

        failure = stream_blocking(plan, progress, disrupt)
    return progress.result(client, failure)


class Disruptor(threading.Thread):
    """Runs `disrupt(progress)` on a daemon thread; `outcome` joins it and says what went wrong."""

    def __init__(self, disrupt: Callable[[StreamProgress], None], progress: StreamProgress) -> None:
        super().__init__(name="fault-disrupt", daemon=True)
        self._disrupt = disrupt
        self._progress = progress
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._disrupt(self._progress)
        except BaseException as exc:  # reported by `outcome`, on the test's thread
            self.error = exc
        finally:
            self._progress.allow(self._progress.count)  # a held publisher finishes the stream

    def outcome(self, timeout: float) -> str | None:
        """Wait (at most `timeout` s) for `disrupt` to return; None if it returned normally."""
        self.join(timeout)
        if self.is_alive():
            return f"disrupt did not return within {timeout:.0f} s of the end of publishing"
        return None if self.error is None else f"disrupt failed: {self.error!r}"


def act_in_stages(
    progress: StreamProgress, holds: Sequence[int], act: Callable[[], object], timeout: float
) -> int:
    """For each of `holds` (the first given to `run_stream` as `hold_at`): wait until the
    messages below it are confirmed and both clients are back from the previous `act`, let the
    publisher on to the next hold (or the end), then `act()`, so each act finds both clients
    connected and the publisher sending. Returns how many times it acted (fewer when the
    stream stalled within `timeout` s at a stage)."""
    for done, hold in enumerate(holds):
        if not progress.wait_confirmed(hold, timeout) or not progress.both_back(done, timeout):
            return done
        progress.allow(holds[done + 1] if done + 1 < len(holds) else progress.count)
        act()
    return len(holds)
