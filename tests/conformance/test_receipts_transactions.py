"""Receipts (STOMP 1.2 "Header receipt", "RECEIPT") and transactions ("BEGIN", "COMMIT",
"ABORT")."""

from __future__ import annotations

from stompmodels import (
    Abort,
    Begin,
    Commit,
    Disconnect,
    Error,
    Receipt,
    Send,
    Subscribe,
    Unsubscribe,
)

from .conftest import Target
from .wire import connect, token, unique


def test_receipt_for_every_frame(target: Target) -> None:
    """Any client frame but CONNECT may carry `receipt`, and the server answers each with a
    RECEIPT whose receipt-id is that value (STOMP 1.2 "Header receipt"): SUBSCRIBE, SEND,
    ACK, NACK, BEGIN, COMMIT, ABORT and UNSUBSCRIBE here (all three brokers do)."""
    queue = unique()
    with connect(target, "1.2") as session:
        session.send(Subscribe(destination=queue, id="s", ack="client-individual", receipt="r-sub"))
        session.expect_receipt("r-sub")
        session.send(Send(destination=queue, body=b"one", receipt="r-send-1"))
        session.send(Send(destination=queue, body=b"two", receipt="r-send-2"))
        # ActiveMQ may send a RECEIPT before the MESSAGE it caused: take both in any order.
        first, second = session.messages(2)
        receipts = {session.expect(Receipt).receipt_id for _ in range(2)}
        assert receipts == {"r-send-1", "r-send-2"}
        session.ack(first, receipt="r-ack")
        session.ack(second, nack=True, receipt="r-nack")
        if target.nack_redelivers:
            session.ack(session.messages(1)[0], receipt="r-ack-again")
        session.send(Begin(transaction="t1", receipt="r-begin"))
        session.expect_receipt("r-begin")
        session.send(Commit(transaction="t1", receipt="r-commit"))
        session.expect_receipt("r-commit")
        session.send(Begin(transaction="t2", receipt="r-begin-2"))
        session.expect_receipt("r-begin-2")
        session.send(Abort(transaction="t2", receipt="r-abort"))
        session.expect_receipt("r-abort")
        session.send(Unsubscribe(id="s", receipt="r-unsub"))
        session.expect_receipt("r-unsub")
        session.nothing_for()
        session.disconnect()


def test_disconnect_receipt_then_close(target: Target) -> None:
    """STOMP 1.2 "DISCONNECT": a DISCONNECT with a receipt gets its RECEIPT once everything
    before it is processed, then the server closes the socket. A message sent just before
    it is delivered (a later subscriber gets it)."""
    queue = unique()
    with connect(target, "1.2") as session:
        session.send(Send(destination=queue, body=b"before bye"))
        session.send(Disconnect(receipt="bye"))
        session.expect_receipt("bye")
        frames = session.closed_within(2.0)
        assert frames == [], frames
    with connect(target, "1.2") as later:
        later.subscribe(queue)
        assert later.messages(1)[0].body == b"before bye"
        later.disconnect()


def test_transaction_commit_delivers_sends(target: Target) -> None:
    """SENDs inside BEGIN..COMMIT are delivered only at COMMIT (STOMP 1.2 "BEGIN": "any
    messages sent ... will be handled atomically"); nothing before it.

    The RECEIPT of a SEND inside the transaction comes at once on ActiveMQ; RabbitMQ holds it
    back until COMMIT (and sends COMMIT's own RECEIPT first; after ABORT it never comes). The
    embedded broker follows ActiveMQ: the RECEIPT says the frame was taken into the
    transaction."""
    queue = unique()
    with connect(target, "1.2") as consumer, connect(target, "1.2") as producer:
        consumer.subscribe(queue)
        transaction = token("tx")
        producer.send(Begin(transaction=transaction, receipt="begin"))
        producer.expect_receipt("begin")
        producer.send(Send(destination=queue, body=b"t1", transaction=transaction))
        producer.send(Send(destination=queue, body=b"t2", transaction=transaction, receipt="in-tx"))
        if target.transactional_send_receipt == "at-once":
            producer.expect_receipt("in-tx")
        else:
            producer.nothing_for()
        consumer.nothing_for()
        producer.send(Commit(transaction=transaction, receipt="commit"))
        owed = {"commit"} if target.transactional_send_receipt == "at-once" else {"commit", "in-tx"}
        assert {producer.expect(Receipt).receipt_id for _ in owed} == owed
        assert [message.body for message in consumer.messages(2)] == [b"t1", b"t2"]
        producer.nothing_for(0.1)
        consumer.disconnect()
        producer.disconnect()


def test_transaction_abort_discards_sends(target: Target) -> None:
    """STOMP 1.2 "ABORT": the SENDs of an aborted transaction are never delivered; a SEND
    outside it, after, is."""
    queue = unique()
    with connect(target, "1.2") as session:
        session.subscribe(queue)
        transaction = token("tx")
        session.send(Begin(transaction=transaction))
        session.send(Send(destination=queue, body=b"never", transaction=transaction))
        session.send(Abort(transaction=transaction, receipt="abort"))
        session.expect_receipt("abort")
        session.nothing_for()
        session.publish(queue, b"after")
        assert session.messages(1)[0].body == b"after"
        session.disconnect()


def test_transaction_acks_apply_at_commit(target: Target) -> None:
    """ACKs inside a transaction take effect at COMMIT and are forgotten at ABORT (STOMP 1.2
    "ACK": "transaction ... the message acknowledgment will be part of the named
    transaction"). Two messages: ACKing both in an aborted transaction acknowledges neither;
    ACKing one in a committed transaction acknowledges that one, so after the connection
    drops only the other comes again."""
    queue = unique()
    with connect(target, "1.2") as session:
        session.subscribe(queue, ack="client-individual")
        session.publish(queue, b"x1")
        session.publish(queue, b"x2")
        first, second = session.messages(2)
        aborted = token("tx")
        session.send(Begin(transaction=aborted))
        session.ack(first, transaction=aborted)
        session.ack(second, transaction=aborted)
        session.send(Abort(transaction=aborted, receipt="abort"))
        session.expect_receipt("abort")
        committed = token("tx")
        session.send(Begin(transaction=committed))
        session.ack(second, transaction=committed)
        session.send(Commit(transaction=committed, receipt="commit"))
        session.expect_receipt("commit")
        session.nothing_for()
        session.close()
    with connect(target, "1.2") as later:
        later.subscribe(queue, ack="client-individual")
        (again,) = later.messages(1)
        assert again.body == b"x1"
        assert again.headers.get("redelivered") == "true", again
        later.ack(again, receipt="ack")
        later.nothing_for()
        later.disconnect()


def test_unknown_transaction_is_an_error(target: Target) -> None:
    """A SEND or COMMIT naming a transaction that was never begun gets ERROR (RabbitMQ: "Bad
    transaction"; ActiveMQ: "Invalid transaction id"), and the message is not delivered.
    Only the embedded broker then closes the connection (as STOMP 1.2 "ERROR" requires);
    both real brokers keep the session working."""
    queue = unique()
    with connect(target, "1.2") as watcher, connect(target, "1.2") as session:
        watcher.subscribe(queue)
        session.send(
            Send(destination=queue, body=b"stray", transaction="never-begun", receipt="stray")
        )
        error = session.expect(Error)
        text = f"{error.message} {error.body.decode(errors='replace')}".lower()
        assert "transaction" in text, error
        if target.error_receipt_id:
            assert error.receipt_id == "stray", error
        if "unknown-transaction" in target.error_closes:
            session.closed_within(2.0)
        else:
            session.barrier()
        watcher.nothing_for()
        watcher.disconnect()


def test_begin_twice(target: Target) -> None:
    """A BEGIN naming a transaction already open: ActiveMQ answers ERROR ("The transaction
    was already started"); RabbitMQ accepts it (RECEIPT). The embedded broker follows
    ActiveMQ: the second BEGIN is a mistake worth naming. The spec says nothing of it."""
    with connect(target, "1.2") as session:
        session.send(Begin(transaction="twice", receipt="b1"))
        session.expect_receipt("b1")
        session.send(Begin(transaction="twice", receipt="b2"))
        if target.duplicate_begin_is_error:
            error = session.expect(Error)
            if target.error_receipt_id:
                assert error.receipt_id == "b2", error
        else:
            session.expect_receipt("b2")
            session.send(Abort(transaction="twice", receipt="ab"))
            session.expect_receipt("ab")
