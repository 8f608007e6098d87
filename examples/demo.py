"""`make demo`: a real publish/subscribe round trip through the local RabbitMQ, frames shown as
typed models as they go both ways.

A receiver subscribes, a sender sends a numbered series with receipts, and every frame either
client writes or reads is printed as its model (passcodes stay hidden in model reprs).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid

from receiver import receive
from sender import send

URL = "stomp://guest:guest@127.0.0.1:61613/"
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


async def round_trip(url: str, destination: str) -> None:
    """Run the receiver and the sender side by side."""
    ready = asyncio.Event()
    receiver = asyncio.create_task(receive(url, destination, COUNT, ready), name="receiver")
    await asyncio.wait_for(ready.wait(), 10)
    sender = asyncio.create_task(send(url, destination, COUNT), name="sender")
    await asyncio.gather(sender, receiver)


def main() -> int:
    """Show the round trip; exit non-zero with one line if the broker cannot be reached."""
    logger = logging.getLogger("stompmodels.aio")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(_FrameLog())
    destination = f"/queue/stompmodels-demo-{uuid.uuid4().hex[:8]}"
    print(f"round trip through {URL} on {destination}\n")
    try:
        asyncio.run(round_trip(URL, destination))
    except (ConnectionError, TimeoutError) as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    print("\ndone: every message sent was received, acknowledged and confirmed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
