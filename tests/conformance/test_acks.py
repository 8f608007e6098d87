"""Acknowledgement modes, NACK, redelivery and prefetch (STOMP 1.2 "SUBSCRIBE ack Header",
"ACK", "NACK")."""

from __future__ import annotations

import pytest

from stompmodels import Message, Version

from .conftest import Target
from .wire import connect, unique


def bodies(messages: list[Message]) -> list[bytes]:
    return [message.body for message in messages]


def test_auto_ack_consumes(target: Target) -> None:
    """ack:auto: the server considers a message acknowledged once it has sent it, so a later
    subscriber to the queue gets nothing of it, and a 1.2 MESSAGE has no `ack` header."""
    queue = unique()
    with connect(target, "1.2") as first:
        first.subscribe(queue, ack="auto")
        first.publish(queue, b"a1")
        first.publish(queue, b"a2")
        got = first.messages(2)
        assert bodies(got) == [b"a1", b"a2"]
        assert all(message.ack is None for message in got), got
        first.close()  # no DISCONNECT: nothing is outstanding anyway
    with connect(target, "1.2") as second:
        second.subscribe(queue, ack="client-individual")
        second.nothing_for()
        second.disconnect()


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_client_ack_is_cumulative(target: Target, version: Version) -> None:
    """ack:client: an ACK acknowledges the message and every earlier one of the subscription
    (STOMP 1.2 "SUBSCRIBE ack Header"). Acknowledging the 2nd of three acknowledges the 1st;
    when the connection drops, only the 3rd is redelivered, with ``redelivered:true`` (all
    three brokers mark it so). The ACK takes each version's form: 1.0 `message-id`, 1.1
    `message-id` + `subscription`, 1.2 `id` = the MESSAGE's `ack`."""
    queue = unique()
    with connect(target, version) as first:
        first.subscribe(queue, ack="client")
        for body in (b"c1", b"c2", b"c3"):
            first.publish(queue, body)
        got = first.messages(3)
        assert bodies(got) == [b"c1", b"c2", b"c3"]
        if version == "1.2":
            assert all(message.ack for message in got), "a 1.2 client-ack MESSAGE needs ack"
        first.ack(got[1], receipt="acked-second")
        first.close()  # a dropped connection: unacknowledged messages go back
    with connect(target, version) as second:
        second.subscribe(queue, ack="client")
        again = second.messages(1)
        assert bodies(again) == [b"c3"]
        assert again[0].headers.get("redelivered") == "true", again[0]
        second.ack(again[0], receipt="acked-third")
        second.nothing_for()
        second.disconnect()


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_client_individual_ack_acks_one(target: Target, version: Version) -> None:
    """ack:client-individual: an ACK acknowledges that message only (STOMP 1.2). After acking
    the 2nd of three and dropping the connection, the 1st and 3rd come again."""
    queue = unique()
    with connect(target, version) as first:
        first.subscribe(queue, ack="client-individual")
        for body in (b"i1", b"i2", b"i3"):
            first.publish(queue, body)
        got = first.messages(3)
        first.ack(got[1], receipt="acked-second")
        first.close()
    with connect(target, version) as second:
        second.subscribe(queue, ack="client-individual")
        again = second.messages(2)
        assert sorted(bodies(again)) == [b"i1", b"i3"]
        assert all(message.headers.get("redelivered") == "true" for message in again), again
        for message in again:
            second.ack(message)
        second.nothing_for()
        second.disconnect()


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_nack_redelivers(target: Target, version: Version) -> None:
    """NACK (client-individual): STOMP 1.2 lets the server redeliver, dead-letter or drop a
    NACKed message. RabbitMQ requeues it and it comes again with ``redelivered:true``; the
    embedded broker follows RabbitMQ. ActiveMQ never redelivers it (a non-persistent message
    is dropped). Either way the message NACKed is gone afterwards."""
    queue = unique()
    with connect(target, version) as session:
        session.subscribe(queue, ack="client-individual")
        session.publish(queue, b"n1")
        session.publish(queue, b"n2")
        first, second = session.messages(2)
        session.ack(second, receipt="ack-n2")
        session.ack(first, nack=True, receipt="nack-n1")
        if target.nack_redelivers:
            again = session.messages(1)
            assert bodies(again) == [b"n1"]
            assert again[0].headers.get("redelivered") == "true", again[0]
            session.ack(again[0], receipt="ack-again")
        session.nothing_for()
        session.disconnect()
    with connect(target, version) as later:
        later.subscribe(queue, ack="client-individual")
        later.nothing_for()
        later.disconnect()


def test_nack_without_requeue_drops(target: Target) -> None:
    """NACK with RabbitMQ's ``requeue:false`` drops the message (or dead-letters it) instead
    of redelivering it; ActiveMQ and the embedded broker drop it as well."""
    queue = unique()
    with connect(target, "1.2") as session:
        session.subscribe(queue, ack="client-individual")
        session.publish(queue, b"dropped")
        (message,) = session.messages(1)
        session.ack(message, nack=True, receipt="nack", headers={"requeue": "false"})
        session.nothing_for()
        session.disconnect()
    with connect(target, "1.2") as later:
        later.subscribe(queue, ack="client-individual")
        later.nothing_for()
        later.disconnect()


def test_client_nack_is_cumulative(target: Target) -> None:
    """ack:client: NACK, like ACK, applies to the message and every earlier unacknowledged one
    of the subscription (STOMP 1.2: only client-individual makes ACK and NACK "not
    cumulative"). On RabbitMQ (and the embedded broker) NACKing the 2nd of three redelivers
    the 1st and 2nd, not the 3rd; ActiveMQ drops the two and redelivers nothing."""
    queue = unique()
    with connect(target, "1.2") as session:
        session.subscribe(queue, ack="client")
        for body in (b"k1", b"k2", b"k3"):
            session.publish(queue, body)
        got = session.messages(3)
        session.ack(got[1], nack=True, receipt="nack-k2")
        if target.nack_redelivers:
            again = session.messages(2)
            assert sorted(bodies(again)) == [b"k1", b"k2"]
            assert all(m.headers.get("redelivered") == "true" for m in again), again
            session.nothing_for()
            session.ack(again[-1], receipt="ack-all")  # the last delivered: covers k3 too
        else:
            session.nothing_for()
            session.ack(got[2], receipt="ack-k3")
        session.disconnect()
    with connect(target, "1.2") as later:
        later.subscribe(queue, ack="client-individual")
        later.nothing_for()
        later.disconnect()


def test_unacked_redelivered_to_other_consumer(target: Target) -> None:
    """A message delivered to a client-ack consumer whose connection drops before it ACKs goes
    to another consumer of the queue, marked ``redelivered:true`` (all three brokers; the
    spec leaves redelivery to the server)."""
    queue = unique()
    with connect(target, "1.2") as holder, connect(target, "1.2") as other:
        holder.subscribe(queue, ack="client-individual")
        holder.publish(queue, b"held")
        (held,) = holder.messages(1)
        assert held.headers.get("redelivered") in (None, "false"), held
        other.subscribe(queue, ack="client-individual")
        other.nothing_for()
        holder.close()  # dropped without ACK and without DISCONNECT
        (again,) = other.messages(1)
        assert again.body == b"held"
        assert again.headers.get("redelivered") == "true", again
        other.ack(again, receipt="ack")
        other.disconnect()


@pytest.mark.parametrize("header", ["prefetch-count", "activemq.prefetchSize"])
def test_prefetch_limits_unacked(target: Target, header: str) -> None:
    """A prefetch header on SUBSCRIBE caps the unacknowledged messages a subscription holds.
    RabbitMQ reads `prefetch-count`, ActiveMQ `activemq.prefetchSize`; each ignores the
    other's (then all five come at once). The embedded broker honours both. Acknowledging one
    lets exactly one more through."""
    queue = unique()
    with connect(target, "1.2") as session:
        session.subscribe(queue, ack="client-individual", headers={header: "2"})
        for index in range(5):
            session.publish(queue, b"p%d" % index)
        if header in target.prefetch_headers:
            first = session.messages(2)
            assert bodies(first) == [b"p0", b"p1"]
            session.nothing_for()
            session.ack(first[0], receipt="ack-p0")
            third = session.messages(1)
            assert bodies(third) == [b"p2"]
            session.nothing_for()
            rest = [first[1], third[0]]
            for _ in range(2):
                session.ack(rest.pop(0))
                rest.extend(session.messages(1))
        else:
            rest = session.messages(5)
            assert bodies(rest) == [b"p%d" % index for index in range(5)]
        for message in rest:
            session.ack(message)
        session.nothing_for()
        session.disconnect()
