"""The seed's receiver, redone with asyncio: subscribe, print typed messages, stop cleanly.

Run: ``python examples/receiver.py [URL] [DESTINATION] [COUNT]``
"""

from __future__ import annotations

import asyncio
import sys

from stompmodels import Message
from stompmodels.aio import Client

DEFAULT_URL = "stomp://guest:guest@127.0.0.1:61613/"
DEFAULT_DESTINATION = "/queue/stompmodels-demo"


async def receive(
    url: str, destination: str, count: int, ready: asyncio.Event | None = None
) -> list[Message]:
    """Take `count` messages from `destination`, ACKing each one after printing it."""
    received: list[Message] = []
    async with Client(url, heart_beat=(1000, 1000)) as client:
        subscription = await client.subscribe(destination, ack="client-individual")
        if ready is not None:
            ready.set()
        for _ in range(count):
            message = await subscription.get(timeout=10)
            print(f"receiver got #{len(received) + 1}: {message.text!r}")
            await subscription.ack(message)
            received.append(message)
        await subscription.unsubscribe()
    return received


def main(argv: list[str]) -> int:
    """Command-line entry: URL, destination and count are optional positional arguments."""
    url = argv[0] if argv else DEFAULT_URL
    destination = argv[1] if len(argv) > 1 else DEFAULT_DESTINATION
    count = int(argv[2]) if len(argv) > 2 else 5
    asyncio.run(receive(url, destination, count))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
