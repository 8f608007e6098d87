"""Destinations: queues, topics, temporary queues, unknown prefixes.

STOMP leaves destinations to the server; these are the semantics RabbitMQ ("Destinations" of
its STOMP plugin) and ActiveMQ ("STOMP" manual page) document, which the embedded broker
implements: /queue/ (stored, competing consumers), /topic/ (fan-out to the subscribers of the
moment), /temp-queue/ (one connection's private queue).
"""

from __future__ import annotations

import time

import pytest

from stompmodels import Error, Message, Receipt, Send, Subscribe, Unsubscribe

from .conftest import Target
from .wire import QUIET, Session, connect, token, unique


def test_queue_keeps_messages_until_consumed(target: Target) -> None:
    """A message sent to a queue nobody subscribes to is kept, and goes to the first
    subscriber (both brokers create the queue on first use)."""
    queue = unique()
    with connect(target, "1.2") as producer:
        producer.publish(queue, b"stored")
        producer.disconnect()
    with connect(target, "1.2") as consumer:
        consumer.subscribe(queue)
        (message,) = consumer.messages(1)
        assert message.body == b"stored"
        assert message.destination == queue
        consumer.nothing_for()
        consumer.disconnect()


def test_topic_fans_out(target: Target) -> None:
    """A message sent to a topic goes to every current subscriber, each getting it once, with
    its own subscription id."""
    topic = unique("topic")
    with connect(target, "1.2") as first, connect(target, "1.2") as second:
        first.subscribe(topic, id="first")
        second.subscribe(topic, id="second")
        first.publish(topic, b"to all")
        for session, sub_id in ((first, "first"), (second, "second")):
            (message,) = session.messages(1)
            assert message.body == b"to all"
            assert message.subscription == sub_id
            assert message.destination == topic
            session.nothing_for(QUIET / 2)
        first.disconnect()
        second.disconnect()


def test_topic_keeps_nothing_without_subscribers(target: Target) -> None:
    """A message sent to a topic with no subscriber is not kept: a later subscriber gets only
    what is sent after it subscribed."""
    topic = unique("topic")
    with connect(target, "1.2") as session:
        session.publish(topic, b"nobody listens")
        session.subscribe(topic)
        session.nothing_for()
        session.publish(topic, b"heard")
        assert [m.body for m in session.messages(1)] == [b"heard"]
        session.disconnect()


def test_queue_consumers_compete(target: Target) -> None:
    """Subscribers of one queue share its messages: each message goes to exactly one of them,
    and with two idle consumers both get some (RabbitMQ and ActiveMQ alternate)."""
    queue = unique()
    with connect(target, "1.2") as first, connect(target, "1.2") as second:
        first.subscribe(queue)
        second.subscribe(queue)
        sent = [b"q%d" % index for index in range(6)]
        for body in sent:
            first.publish(queue, body)
        got: dict[str, list[bytes]] = {"first": [], "second": []}
        deadline = time.monotonic() + 3.0
        while sum(map(len, got.values())) < len(sent) and time.monotonic() < deadline:
            for name, session in (("first", first), ("second", second)):
                frame = session.receive(0.05)
                if frame is not None:
                    assert isinstance(frame, Message), frame
                    got[name].append(frame.body)
        assert sorted(got["first"] + got["second"]) == sorted(sent), got
        assert got["first"] and got["second"], f"one consumer got everything: {got}"
        first.nothing_for(QUIET / 2)
        second.nothing_for(QUIET / 2)
        first.disconnect()
        second.disconnect()


def test_unsubscribe_stops_delivery(target: Target) -> None:
    """STOMP 1.2 "UNSUBSCRIBE": after it, the subscription gets no more messages (here a
    queue's: the message stays for a later subscriber)."""
    queue = unique()
    with connect(target, "1.2") as session:
        session.subscribe(queue, id="gone")
        session.send(Unsubscribe(id="gone", receipt="unsub"))
        session.expect_receipt("unsub")
        session.publish(queue, b"for later")
        session.nothing_for()
        session.subscribe(queue, id="back")
        (message,) = session.messages(1)
        assert (message.body, message.subscription) == (b"for later", "back")
        session.disconnect()


def _request_reply(requester: Session, server: Session, target: Target, reply_name: str) -> str:
    """The request/reply pattern: requester asks on a queue with ``reply-to`` naming its
    temp queue, the server answers to the reply-to it got; the requester's subscription id for
    the reply. Returns the reply-to the server saw."""
    requests = unique()
    server.subscribe(requests, id="server")
    if target.subscribe_temp_queue:
        reply_sub = requester.subscribe(reply_name, id="replies")
    else:
        reply_sub = reply_name  # RabbitMQ subscribes the requester itself, by this name
    requester.publish(requests, b"ping", headers={"reply-to": reply_name})
    (request,) = server.messages(1)
    assert request.body == b"ping"
    reply_to = request.headers.get("reply-to")
    assert reply_to, f"the request lost its reply-to: {request}"
    server.publish(reply_to, b"pong")
    (reply,) = requester.messages(1)
    assert reply.body == b"pong"
    assert reply.subscription == reply_sub, reply
    return reply_to


def test_temp_queue_request_reply(target: Target) -> None:
    """A temp queue carries replies back to the connection that made it.

    ActiveMQ: the requester SUBSCRIBEs to /temp-queue/N and sends its request with
    ``reply-to:/temp-queue/N``; the server sees the reply-to rewritten to
    /remote-temp-queue/ID:..., sends the answer there and the requester gets it on its
    subscription. The embedded broker follows ActiveMQ (any connection may SEND to the temp
    queue). RabbitMQ refuses that SUBSCRIBE (see test_subscribe_to_temp_queue) and instead,
    on the SEND with the reply-to, makes a private reply queue, rewrites the reply-to to
    /reply-queue/... and subscribes the requester to it with the id /temp-queue/N.
    """
    reply_name = unique("temp-queue")
    with connect(target, "1.2") as requester, connect(target, "1.2") as server:
        _request_reply(requester, server, target, reply_name)
        requester.nothing_for(QUIET / 2)
        server.nothing_for(QUIET / 2)
        requester.disconnect()
        server.disconnect()


def test_subscribe_to_temp_queue(target: Target) -> None:
    """SUBSCRIBE to /temp-queue/N: ActiveMQ (and the embedded broker) take it (RECEIPT) and a
    message the same connection sends there comes back; RabbitMQ answers ERROR "Invalid
    destination" (its temp queues are made by a SEND's reply-to only) and keeps the session."""
    name = unique("temp-queue")
    with connect(target, "1.2") as session:
        session.send(Subscribe(destination=name, id="temp", receipt="sub"))
        if target.subscribe_temp_queue:
            session.expect_receipt("sub")
            session.publish(name, b"to myself")
            assert [m.body for m in session.messages(1)] == [b"to myself"]
            session.disconnect()
        else:
            error = session.expect(Error)
            assert "destination" in (error.message or "").lower(), error
            session.barrier()


def test_temp_queue_is_deleted_with_its_connection(target: Target) -> None:
    """A temp queue lives as long as the connection that made it. After that connection
    closes, a SEND to the reply-to the server got: ActiveMQ answers ERROR (the destination does
    not exist); RabbitMQ takes it (RECEIPT) and drops it with the reply queue, and so does the
    embedded broker (an ERROR would close a responder's connection for a late requester)."""
    reply_name = unique("temp-queue")
    with connect(target, "1.2") as requester, connect(target, "1.2") as server:
        reply_to = _request_reply(requester, server, target, reply_name)
        requester.disconnect()
        time.sleep(0.2)  # the broker's clean-up of the closed connection
        server.send(Send(destination=reply_to, body=b"too late", receipt="late"))
        if target.send_to_closed_temp_queue == "error":
            error = server.expect(Error)
            assert error.message, error
        else:
            server.expect_receipt("late")
            server.disconnect()


@pytest.mark.parametrize("command", ["SEND", "SUBSCRIBE"])
def test_unknown_destination_prefix(target: Target, command: str) -> None:
    """A destination outside /queue/, /topic/, /temp-queue/ (and RabbitMQ's /exchange/,
    /amq/queue/, /reply-queue/): RabbitMQ answers ERROR "Unknown destination" and keeps the
    session; the embedded broker answers ERROR and closes. ActiveMQ takes any string as a
    queue's name: a message SENT there waits for a SUBSCRIBE to the same string."""
    name = f"/conformance-nowhere-{token('d')}/x"
    with connect(target, "1.2") as session:
        if command == "SEND":
            session.send(Send(destination=name, body=b"where?", receipt="odd"))
        else:
            session.send(Subscribe(destination=name, id="odd", receipt="odd"))
        if not target.unknown_prefix_is_error:
            session.expect_receipt("odd")
            if command == "SEND":
                session.subscribe(name, id="odd")
            else:
                session.publish(name, b"where?")
            assert [m.body for m in session.messages(1)] == [b"where?"]
            session.disconnect()
            return
        error = session.expect(Error)
        text = f"{error.message} {error.body.decode(errors='replace')}".lower()
        assert "destination" in text, error
        if target.error_receipt_id:
            assert error.receipt_id == "odd", error
        if "unknown-destination" in target.error_closes:
            session.closed_within(2.0)
        else:
            session.barrier()
            assert not any(isinstance(frame, Receipt) for frame in session.pending)
