"""The seed's sender, redone with asyncio: send a numbered series, each confirmed by a RECEIPT.

Run: ``python examples/sender.py [URL] [DESTINATION] [COUNT]``
"""

from __future__ import annotations

import asyncio
import sys

from stompmodels.aio import Client

DEFAULT_URL = "stomp://guest:guest@127.0.0.1:61613/"
DEFAULT_DESTINATION = "/queue/stompmodels-demo"


async def send(url: str, destination: str, count: int) -> None:
    """Send messages 1..count to `destination`, waiting for the broker's receipt of each."""
    async with Client(url) as client:
        for number in range(1, count + 1):
            await client.send(
                destination,
                f"hello #{number}",
                headers={"x-sequence": str(number), "x-note": "colons: and\nnewlines escape"},
                receipt=True,
            )
            print(f"sender sent #{number} (receipt confirmed)")


def main(argv: list[str]) -> int:
    """Command-line entry: URL, destination and count are optional positional arguments."""
    url = argv[0] if argv else DEFAULT_URL
    destination = argv[1] if len(argv) > 1 else DEFAULT_DESTINATION
    count = int(argv[2]) if len(argv) > 2 else 5
    asyncio.run(send(url, destination, count))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
