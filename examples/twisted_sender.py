"""The seed's Twisted sender, redone with stompmodels: a numbered series of messages to a queue,
each confirmed by the broker's RECEIPT, which is printed as the typed frame it is.

Run it after ``examples/twisted_receiver.py``, with the same --url, destination and count:

Run: ``python examples/twisted_sender.py --url stomp://guest:guest@127.0.0.1:61613/ --count 10``
"""

from __future__ import annotations

import argparse
import sys

from twisted.internet import task
from twisted.internet.defer import Deferred

from stompmodels.twisted import ConnectionLost, Reactor, StompClientFactory

DEFAULT_URL = "stomp://guest:guest@127.0.0.1:61613/"
DEFAULT_DESTINATION = "/queue/stompmodels-demo"


async def send(reactor: Reactor, url: str, destination: str, count: int, timeout: float) -> None:
    """Send messages 1..count to `destination`, waiting for the broker's receipt of each."""
    factory = StompClientFactory(url, reactor=reactor, timeout=timeout)
    try:
        stomp = await factory.connect()
        print(f"sender connected: {await stomp.when_connected()!r}")
        for number in range(1, count + 1):
            receipt = await stomp.send(
                destination,
                f"hello #{number}",
                headers={"x-sequence": str(number), "x-note": "colons: and\nnewlines escape"},
                receipt=True,
            )
            print(f"sender sent #{number}: {receipt!r}")
    except (ConnectionLost, TimeoutError) as error:
        print(f"sender failed: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        await factory.close()
    print(f"sender done: {count} messages confirmed")


def arguments(argv: list[str]) -> argparse.Namespace:
    """The command line: the same options as the receiver."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=DEFAULT_URL, help=f"broker URL (default {DEFAULT_URL})")
    parser.add_argument("--destination", default=DEFAULT_DESTINATION)
    parser.add_argument("--count", type=int, default=5, help="how many messages (default 5)")
    parser.add_argument("--timeout", type=float, default=10.0, help="bound on each wait, in s")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    """Run the sender on Twisted's reactor; exits 0 once every message is confirmed."""
    options = arguments(argv)

    def run(reactor: Reactor) -> Deferred[None]:
        return Deferred.fromCoroutine(
            send(reactor, options.url, options.destination, options.count, options.timeout)
        )

    task.react(run)


if __name__ == "__main__":
    main(sys.argv[1:])
