"""The codec on the seed's example frames: build client frames, parse server frames, print models.

This is what stomper's usage example did with strings, done with typed models.
"""

from __future__ import annotations

from stompmodels import Connect, FrameDecoder, Message, Send, Subscribe

# The server's side of stomper's example conversation, as a STOMP 1.0 broker put it on the wire
# (note the spaces after the colons: STOMP 1.0 readers strip them; in 1.1+ they would be kept).
SERVER_BYTES = (
    b"CONNECTED\nsession: ID:snorky.local-49191-1185461799654-3:18\n\n\x00\n"
    b"MESSAGE\ndestination: /queue/a\nmessage-id: some-message-id\n\nhello queue a\x00\n"
)


def main() -> None:
    """Build the client's frames, decode the server's, and show both as models and bytes."""
    outgoing = [
        Connect(accept_version=None, host=None, login="bob", passcode="1234"),
        Subscribe(destination="/queue/a", id=None, ack="client"),
        Send(destination="/queue/a", body=b"hello queue a", headers={"x-trace": "demo:1"}),
    ]
    print("client -> server (STOMP 1.0)")
    for frame in outgoing:
        print(f"  {frame!r}")
        print(f"    {frame.to_wire('1.0')!r}")
    print("\nserver -> client (STOMP 1.0)")
    decoder = FrameDecoder("1.0")
    for chunk in (SERVER_BYTES[:37], SERVER_BYTES[37:]):  # any split yields the same frames
        for frame in decoder.feed(chunk):
            print(f"  {frame!r}")
            if isinstance(frame, Message):
                print(f"    text body: {frame.text!r}")
    print(f"\n{decoder.bytes_received} bytes, {decoder.heartbeats_received} heart-beat EOLs")
    print("\nthe same SEND in STOMP 1.2 (escaped header):")
    print(f"  {outgoing[2].to_wire('1.2')!r}")


if __name__ == "__main__":
    main()
