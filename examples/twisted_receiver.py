"""The seed's Twisted receiver, redone with stompmodels: subscribe to a queue, print each
message as its typed frame, ACK it, and stop cleanly after COUNT messages or TIMEOUT seconds.

Run it first (it waits up to --timeout s), then the sender with the same --url, destination
and count, in another terminal:

Run: ``python examples/twisted_receiver.py --url stomp://guest:guest@127.0.0.1:61613/ --count 10``
"""

from __future__ import annotations

import argparse
import sys

from twisted.internet import task
from twisted.internet.defer import Deferred

from stompmodels import Message
from stompmodels.twisted import ConnectionLost, Reactor, StompClientFactory

DEFAULT_URL = "stomp://guest:guest@127.0.0.1:61613/"
DEFAULT_DESTINATION = "/queue/stompmodels-demo"


async def receive(
    reactor: Reactor, url: str, destination: str, count: int, timeout: float
) -> list[Message]:
    """Take `count` messages from `destination` within `timeout` s, ACKing each one."""
    factory = StompClientFactory(url, reactor=reactor, heart_beat=(1000, 1000), timeout=10.0)
    received: list[Message] = []
    done: Deferred[None] = Deferred()
    try:
        stomp = await factory.connect()
        print(f"receiver connected: {await stomp.when_connected()!r}")

        def got(message: Message) -> None:
            if len(received) == count:
                return  # not ACKed: the broker gives it to the next consumer
            received.append(message)
            print(f"receiver got #{len(received)}: {message.text!r}")
            print(f"  {message!r}")
            stomp.ack(message)
            if len(received) == count and not done.called:
                done.callback(None)

        def lost(_: None) -> None:
            if not done.called:
                done.errback(stomp.failure or ConnectionLost("the connection closed"))

        subscription = await stomp.subscribe(destination, ack="client-individual", callback=got)
        stomp.when_closed().addCallback(lost)
        print("receiver ready", flush=True)

        def give_up() -> None:
            if not done.called:
                done.errback(TimeoutError())

        timer = reactor.callLater(timeout, give_up)
        try:
            await done
        finally:
            if timer.active():
                timer.cancel()
        await subscription.unsubscribe()
    except TimeoutError:
        print(f"receiver timed out after {timeout} s with {len(received)} of {count} messages")
        raise SystemExit(1) from None
    except ConnectionLost as error:
        print(f"receiver failed: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        await factory.close()
    print(f"receiver done: {len(received)} messages")
    return received


def arguments(argv: list[str]) -> argparse.Namespace:
    """The command line: the same options as the sender, and how long to wait."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=DEFAULT_URL, help=f"broker URL (default {DEFAULT_URL})")
    parser.add_argument("--destination", default=DEFAULT_DESTINATION)
    parser.add_argument("--count", type=int, default=5, help="how many messages (default 5)")
    parser.add_argument("--timeout", type=float, default=30.0, help="give up after this many s")
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    """Run the receiver on Twisted's reactor; exits 0 after COUNT messages, 1 on a timeout."""
    options = arguments(argv)

    def run(reactor: Reactor) -> Deferred[list[Message]]:
        return Deferred.fromCoroutine(
            receive(reactor, options.url, options.destination, options.count, options.timeout)
        )

    task.react(run)


if __name__ == "__main__":
    main(sys.argv[1:])
