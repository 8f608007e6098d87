"""`make demo`: a real publish/subscribe round trip, frames shown as typed models as they go
both ways.

By default it runs through the embedded broker (`stompmodels.broker`), started in this process
on a free loopback port, so it needs nothing but Python; `python examples/demo.py URL` (`make
demo URL=...`) or `$STOMP_URL` points it at a real broker instead. A receiver subscribes, a
sender sends a numbered series with receipts, and every frame either client writes or reads is
printed as its model (passcodes stay hidden in model reprs).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid

from receiver import receive
from sender import send

from stompmodels.broker.server import serve

COUNT = 3


class _FrameLog(logging.Handler):
    """Print the aio client's DEBUG frame records, labelled with the task that wrote them."""

    def emit(self, record: logging.LogRecord) -> None:
        direction, _, frame = record.getMessage().partition(" ")
        if direction not in ("sent", "received"):
            return
        task = asyncio.current_task()
        who = task.get_name().partition(":")[0] if task is not None else "?"
        arrow = "->" if direction == "sent" else "<-"
        print(f"  [{who:8}] {arrow} {frame}")


async def round_trip(url: str | None, destination: str) -> None:
    """Run the receiver and the sender side by side, through `url`, or through the embedded
    broker when it is None."""
    if url is None:
        async with await serve("127.0.0.1", 0) as server:
            print(f"round trip through the embedded broker at {server.url} on {destination}\n")
            await clients(server.url, destination)
    else:
        print(f"round trip through {url} on {destination}\n")
        await clients(url, destination)


async def clients(url: str, destination: str) -> None:
    """The receiver and the sender."""
    ready = asyncio.Event()
    receiver = asyncio.create_task(receive(url, destination, COUNT, ready), name="receiver")
    subscribed = asyncio.create_task(ready.wait())
    await asyncio.wait({receiver, subscribed}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    subscribed.cancel()
    if not ready.is_set():
        if receiver.done():
            await receiver  # its error
        receiver.cancel()
        raise TimeoutError("the receiver did not subscribe within 10 s")
    sender = asyncio.create_task(send(url, destination, COUNT), name="sender")
    await asyncio.gather(sender, receiver)


def main(argv: list[str]) -> int:
    """Show the round trip; exit non-zero with one line if the broker cannot be reached."""
    logger = logging.getLogger("stompmodels.aio")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(_FrameLog())
    destination = f"/queue/stompmodels-demo-{uuid.uuid4().hex[:8]}"
    url = argv[0] if argv else os.environ.get("STOMP_URL") or None
    try:
        asyncio.run(round_trip(url, destination))
    except (ConnectionError, TimeoutError) as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    print("\ndone: every message sent was received, acknowledged and confirmed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
