"""Scenarios of the Twisted client against one real broker, run in a process of their own.

Twisted's global reactor cannot be restarted, so pytest runs this script once per broker
(``python -m tests.integration._twisted_scenarios --broker NAME [SCENARIO...]``). The scenarios
run concurrently on one reactor, each bounded by `SCENARIO_LIMIT`, and report what they
observed; the script prints one JSON object: ``{scenario: {"ok": observations}}`` or
``{scenario: {"error": "Type: message"}}``. The assertions live in test_twisted_brokers.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Final

from pydantic import SecretStr
from twisted.internet import task
from twisted.internet.defer import CancelledError, Deferred, DeferredList
from twisted.internet.threads import deferToThread

from stompmodels import VERSIONS, AckMode, Message
from stompmodels.twisted import (
    BrokerError,
    BrokerURL,
    ConnectionEvent,
    ConnectionLost,
    Reactor,
    StompClientFactory,
    StompProtocol,
    Subscription,
)

from ._brokers import BROKERS, Broker, cut_vhost_connections, prepare_vhost

Observations = dict[str, object]
Scenario = Callable[["Context"], Coroutine[Deferred[object], object, Observations]]

SCENARIO_LIMIT: Final = 20.0  # seconds for one scenario, whatever happens
CLIENT_TIMEOUT: Final = 3.0  # the client's bound on each of its own waits
QUIET: Final = 0.3  # how long "nothing arrives" is watched for
# RabbitMQ deletes a queue made with this argument 5 minutes after its last use (a SUBSCRIBE
# makes the queue, so every scenario subscribes before it sends). ActiveMQ ignores it.
QUEUE_ARGS: Final = {"x-expires": "300000"}
RECONNECT_VHOST: Final = "stompmodels-twisted-reconnect"
CLOSED_PORT: Final = 1  # nothing listens there: a connection is refused at once


class Context:
    """What a scenario gets: the reactor and the broker, and a way to make clients."""

    def __init__(self, reactor: Reactor, broker: Broker) -> None:
        self.reactor = reactor
        self.broker = broker
        self.url = broker.url

    def factory(self, url: str | None = None, **options: object) -> StompClientFactory:
        settings: dict[str, object] = {"timeout": CLIENT_TIMEOUT, **options}
        return StompClientFactory(
            url or self.url,
            reactor=self.reactor,
            **settings,  # type: ignore[arg-type]  # each scenario's options
        )

    def sleep(self, seconds: float) -> Deferred[None]:
        waiter: Deferred[None] = Deferred()
        self.reactor.callLater(seconds, waiter.callback, None)
        return waiter


def queue_name(label: str) -> str:
    return f"/queue/stompmodels-twisted-{label}-{uuid.uuid4().hex[:12]}"


async def subscribe(stomp: StompProtocol, queue: str, ack: AckMode = "auto") -> Subscription:
    return await stomp.subscribe(queue, ack=ack, headers=QUEUE_ARGS)


async def nothing_arrives(subscription: Subscription) -> bool:
    try:
        await subscription.get(timeout=QUIET)
    except TimeoutError:
        return True
    return False


async def next_is_sentinel(stomp: StompProtocol, subscription: Subscription) -> bool:
    """Send a fresh marker: whether it is the very next message (nothing came before it)."""
    marker = f"sentinel-{uuid.uuid4().hex}"
    await stomp.send(subscription.destination, marker, receipt=True)
    message = await subscription.get()
    if subscription.ack_mode != "auto":
        await subscription.ack(message)
    return message.text == marker


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the scenarios -------------------------------------------------------------------------


async def versions(ctx: Context) -> Observations:
    """Each version offered alone is the one negotiated; all offered give 1.2."""
    seen: Observations = {}
    for version in VERSIONS:
        factory = ctx.factory(versions=(version,))
        stomp = await factory.connect()
        connected = await stomp.when_connected()
        await factory.close()
        seen[version] = {
            "version": stomp.engine.version,
            "frame_version": connected.version,
            "server": stomp.engine.server,
            "session": bool(stomp.engine.session),
            "state_after_close": stomp.engine.state.value,
        }
    factory = ctx.factory()
    stomp = await factory.connect()
    seen["all"] = stomp.engine.version
    await factory.close()
    return seen


async def bodies(ctx: Context) -> Observations:
    """Text and binary bodies (NULs, several reads' worth) round trip."""
    binary = [b"\x00", b"a\x00b\x00\x00c\n\n\r\n\x00", bytes(range(256)) * 4]
    binary.append(os.urandom(300 * 1024) + b"\x00")
    text = "héllo ☃ — ünïcode\nsecond line"
    factory = ctx.factory()
    try:
        stomp = await factory.connect()
        queue = queue_name("bodies")
        subscription = await subscribe(stomp, queue)
        for body in binary:
            await stomp.send(queue, body, receipt=True)
        await stomp.send(queue, text, receipt=True)
        await stomp.send(queue, text, receipt=True, omit_content_length=True)
        got = [await subscription.get() for _ in range(len(binary) + 2)]
    finally:
        await factory.close()
    return {
        "sent": [digest(body) for body in binary],
        "received": [digest(message.body) for message in got[: len(binary)]],
        "lengths": [message.content_length for message in got[: len(binary)]],
        "texts": [message.text for message in got[len(binary) :]],
        "text_lengths": [message.content_length for message in got[len(binary) :]],
        "text": text,
    }


async def receipts(ctx: Context) -> Observations:
    """Each SEND with a receipt fires with the RECEIPT of its own id."""
    factory = ctx.factory()
    try:
        stomp = await factory.connect()
        queue = queue_name("receipts")
        await subscribe(stomp, queue)
        asked: list[str] = []
        confirmed: list[str | None] = []
        for number in range(5):
            sending = stomp.send(queue, f"r{number}", receipt=True)
            asked.append([*stomp.engine.pending_receipts][-1])
            receipt = await sending
            confirmed.append(receipt.receipt_id if receipt is not None else None)
        unconfirmed = await stomp.send(queue, "no receipt")
        pending = dict(stomp.engine.pending_receipts)
    finally:
        await factory.close()
    return {"asked": asked, "confirmed": confirmed, "without": unconfirmed, "pending": pending}


async def ack_and_nack(ctx: Context) -> Observations:
    """client-individual: an ACKed message is gone; a NACKed one is redelivered (RabbitMQ) or
    dead-lettered (ActiveMQ, persistent)."""
    tag = uuid.uuid4().hex
    factory = ctx.factory()
    try:
        stomp = await factory.connect()
        queue = queue_name("acks")
        subscription = await subscribe(stomp, queue, "client-individual")
        headers = {"persistent": "true", "xtag": tag}
        await stomp.send(queue, "kept", headers=headers, receipt=True)
        await stomp.send(queue, "rejected", headers=headers, receipt=True)
        kept, rejected = await subscription.get(), await subscription.get()
        await subscription.ack(kept)
        await subscription.nack(rejected)
        if ctx.broker.name == "rabbitmq":
            later = await subscription.get()
            await subscription.ack(later)
        else:
            dead = await stomp.subscribe(
                "/queue/ActiveMQ.DLQ",
                ack="client-individual",
                headers={"selector": f"xtag = '{tag}'"},
            )
            later = await dead.get()
            await dead.ack(later)
        clean = await next_is_sentinel(stomp, subscription)
    finally:
        await factory.close()
    return {
        "first": [kept.text, rejected.text],
        "first_redelivered": rejected.headers.get("redelivered", "false"),
        "later": later.text,
        "later_tag": later.headers.get("xtag"),
        "later_redelivered": later.headers.get("redelivered"),
        "later_origin": later.headers.get("original-destination"),
        "queue": queue,
        "nothing_else": clean,
    }


async def transaction(ctx: Context) -> Observations:
    """Nothing sent in a transaction arrives before COMMIT; nothing after ABORT."""
    factory = ctx.factory()
    try:
        stomp = await factory.connect()
        queue = queue_name("tx")
        subscription = await subscribe(stomp, queue)
        tx = await stomp.begin()
        for text in ("one", "two"):  # RabbitMQ confirms a SEND in a transaction at COMMIT
            await stomp.send(queue, text, transaction=tx)
        before_commit = await nothing_arrives(subscription)
        await stomp.commit(tx)
        committed = [(await subscription.get()).text for _ in range(2)]
        aborted = await stomp.begin()
        await stomp.send(queue, "aborted", transaction=aborted)
        await stomp.abort(aborted)
        clean = await next_is_sentinel(stomp, subscription)
        open_after = sorted(stomp.engine.transactions)
    finally:
        await factory.close()
    return {
        "quiet_before_commit": before_commit,
        "committed": committed,
        "abort_left_nothing": clean,
        "open_after": open_after,
    }


async def heartbeats(ctx: Context) -> Observations:
    """1 s heart-beats both ways: the connection outlives 3.5 s of silence of its own."""
    factory = ctx.factory(heart_beat=(1000, 1000))
    try:
        stomp = await factory.connect()
        queue = queue_name("heartbeat")
        subscription = await subscribe(stomp, queue)
        before = stomp.engine.decoder.heartbeats_received
        await ctx.sleep(3.5)
        state = stomp.engine.state.value
        await stomp.send(queue, "still here", receipt=True)
        message = await subscription.get()
        beats = stomp.engine.decoder.heartbeats_received - before
    finally:
        await factory.close()
    return {
        "negotiated": list(stomp.engine.heart_beat),
        "state": state,
        "text": message.text,
        "beats": beats,
        "failure": repr(factory.failure),
    }


async def disconnect(ctx: Context) -> Observations:
    """close() sends DISCONNECT, gets its RECEIPT, and leaves nothing waiting."""
    factory = ctx.factory()
    stomp = await factory.connect()
    queue = queue_name("close")
    subscription = await subscribe(stomp, queue)
    started = ctx.reactor.seconds()
    await factory.close()
    took = ctx.reactor.seconds() - started
    try:
        await stomp.send(queue, "too late")
        late = "sent"
    except ConnectionLost as error:
        late = type(error).__name__
    try:
        await subscription.get()
        ended = "a message"
    except ConnectionLost as error:
        ended = type(error).__name__
    return {
        "state": stomp.engine.state.value,
        "pending_receipts": dict(stomp.engine.pending_receipts),
        "protocol_failure": type(stomp.failure).__name__,
        "factory_failure": repr(factory.failure),
        "late_send": late,
        "get_after_close": ended,
        "took": took,
    }


async def error_after_a_bad_ack(ctx: Context) -> Observations:
    """An ACK of an unknown message gets ERROR: what waits fails with BrokerError."""
    factory = ctx.factory()
    stomp = await factory.connect()
    queue = queue_name("error")
    subscription = await subscribe(stomp, queue, "client-individual")
    unknown = Message(
        destination=queue,
        message_id="no-such:1",  # ActiveMQ hangs up without ERROR on an id with no ":"
        subscription=subscription.id,
        ack="no-such:1",
    )
    await subscription.ack(unknown)
    outcome: Observations = {}
    try:
        await stomp.send(queue, "after the bad ACK", receipt=True)
        outcome["send"] = "confirmed"
    except ConnectionLost as error:
        outcome["send"] = type(error).__name__
        outcome["message"] = error.frame.message if isinstance(error, BrokerError) else None
    await factory.close()
    outcome["state"] = stomp.engine.state.value
    outcome["protocol_failure"] = type(stomp.failure).__name__
    outcome["factory_failure"] = type(factory.failure).__name__
    outcome["engine_error"] = stomp.engine.error is not None
    return outcome


async def refused_login(ctx: Context) -> Observations:
    """A wrong passcode: connect() fails with the broker's ERROR, quickly."""
    factory = ctx.factory(ctx.broker.url_for(ctx.broker.login, "not-the-password"))
    started = ctx.reactor.seconds()
    try:
        await factory.connect()
        return {"connected": True}
    except BrokerError as error:
        return {
            "connected": False,
            "message": error.frame.message,
            "text": error.frame.text,
            "took": ctx.reactor.seconds() - started,
            "passcode_shown": "not-the-password" in str(error),
        }


async def reconnect(ctx: Context) -> Observations:
    """RabbitMQ only: its connections cut, the client reconnects, renews the subscription."""
    if ctx.broker.name != "rabbitmq":
        return {"skipped": True}
    await deferToThread(prepare_vhost, RECONNECT_VHOST)
    events: list[ConnectionEvent] = []
    factory = ctx.factory(
        ctx.broker.url_for(ctx.broker.login, ctx.broker.passcode, RECONNECT_VHOST),
        reconnect=True,
        on_state=lambda event, _: events.append(event),
    )
    try:
        stomp = await factory.connect()
        queue = queue_name("reconnect")
        subscription = await subscribe(stomp, queue, "client-individual")
        await stomp.send(queue, "before", receipt=True)
        first = await subscription.get()
        await subscription.ack(first)
        tx = await stomp.begin()
        await deferToThread(cut_vhost_connections, RECONNECT_VHOST)
        # Until the client has seen the cut, when_connected() is the old connection.
        for _ in range(100):
            if "lost" in events:
                break
            pause: Deferred[None] = Deferred()
            ctx.reactor.callLater(0.1, pause.callback, None)
            await pause
        renewed = await factory.when_connected()
        try:
            await stomp.commit(tx)
            old_commit = "committed"
        except ConnectionLost:
            old_commit = "ConnectionLost"
        await renewed.send(queue, "after", receipt=True)
        second = await subscription.get()
        await subscription.ack(second)
        result: Observations = {
            "texts": [first.text, second.text],
            "new_protocol": renewed is not stomp,
            "old_commit": old_commit,
            "new_transactions": sorted(renewed.engine.transactions),
        }
    finally:
        await factory.close()
    result["events"] = list(events)
    return result


async def failover_and_credentials(ctx: Context) -> Observations:
    """A failover list whose first broker refuses connections: the next one is used, with
    the passcode the credentials hook gives (the URLs carry a wrong one)."""
    broker = ctx.broker
    dead = f"stomp://{broker.login}:wrong@{broker.host}:{CLOSED_PORT}/"
    dialed: list[str] = []

    def fresh(url: BrokerURL) -> BrokerURL:
        dialed.append(f"{url.host}:{url.port}")
        return replace(url, passcode=SecretStr(broker.passcode))

    factory = ctx.factory(
        f"failover:({dead},{broker.url_for(broker.login, 'wrong')})", credentials=fresh
    )
    try:
        stomp = await factory.connect()
        queue = queue_name("failover")
        subscription = await subscribe(stomp, queue)
        await stomp.send(queue, "via the second broker", receipt=True)
        message = await subscription.get()
        port = factory.url.port
    finally:
        await factory.close()
    return {"dialed": dialed, "text": message.text, "port": port}


SCENARIOS: Final[dict[str, Scenario]] = {
    scenario.__name__: scenario
    for scenario in (
        versions,
        bodies,
        receipts,
        ack_and_nack,
        transaction,
        heartbeats,
        disconnect,
        error_after_a_bad_ack,
        refused_login,
        reconnect,
        failover_and_credentials,
    )
}


# -- running them --------------------------------------------------------------------------


async def bounded(ctx: Context, scenario: Scenario) -> Observations:
    """Run one scenario; its observations, or the error that ended it."""
    running: Deferred[Observations] = Deferred.fromCoroutine(scenario(ctx))
    timer = ctx.reactor.callLater(SCENARIO_LIMIT, running.cancel)
    try:
        return {"ok": await running}
    except CancelledError:
        return {"error": f"did not finish within {SCENARIO_LIMIT} s"}
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}
    finally:
        if timer.active():
            timer.cancel()


async def run_all(ctx: Context, names: list[str]) -> dict[str, Observations]:
    waits: list[Deferred[Observations]] = [
        Deferred.fromCoroutine(bounded(ctx, SCENARIOS[name])) for name in names
    ]
    outcomes = await DeferredList(waits)
    results: dict[str, Observations] = {}
    for name, (_, outcome) in zip(names, outcomes, strict=True):
        results[name] = outcome if isinstance(outcome, dict) else {"error": str(outcome)}
    return results


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Twisted client scenarios on one broker")
    parser.add_argument("--broker", required=True, choices=sorted(BROKERS))
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    options = parser.parse_args(argv)

    async def everything(reactor: Reactor) -> None:
        context = Context(reactor, BROKERS[options.broker])
        results = await run_all(context, options.scenarios)
        print(json.dumps(results))

    def start(reactor: Reactor) -> Deferred[None]:
        return Deferred.fromCoroutine(everything(reactor))

    task.react(start)


if __name__ == "__main__":
    main(sys.argv[1:])
