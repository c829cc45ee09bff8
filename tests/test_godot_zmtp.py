"""The GDScript ZMTP 3.1 DEALER in the real Godot runtime.

1. Framing against byte vectors written here straight from the spec (RFC 37/ZMTP 3.1 and
   docs/protocol.md §10), fed to the session whole and one byte at a time.
2. Live: the same code, over WebSocketPeer and the project's WebSocket relay, against a real
   libzmq ROUTER (pyzmq) that echoes messages and sends heartbeat PINGs.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator

import pytest
import zmq
from godot_harness import assert_passed, gd_literal, gd_vector_script, run_gdscript_test

from npc_brain.sidecar.ws_relay import WebSocketRelay


def greeting(major: int = 3, minor: int = 1, mechanism: bytes = b"NULL") -> bytes:
    # Padding is "any value" in RFC 37; libzmq and docs/protocol.md use 00...01.
    signature = b"\xff" + b"\x00" * 7 + b"\x01\x7f"
    return signature + bytes([major, minor]) + mechanism.ljust(20, b"\x00") + b"\x00" * 32


def frame(body: bytes, *, more: bool = False, command: bool = False) -> bytes:
    flags = (1 if more else 0) | (4 if command else 0)
    if len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def command(name: bytes, data: bytes = b"") -> bytes:
    return frame(bytes([len(name)]) + name + data, command=True)


def ready(**properties: bytes) -> bytes:
    data = b""
    for key, value in properties.items():
        name = key.replace("_", "-").encode()
        data += bytes([len(name)]) + name + struct.pack(">I", len(value)) + value
    return command(b"READY", data)


LONG_BODY = bytes(range(256)) * 2 + b"tail"


def _vectors() -> bytes:
    vectors = {
        "our_greeting": greeting(),
        "our_ready": ready(Socket_Type=b"DEALER"),
        "peer_greeting": greeting(),
        "peer_greeting_30": greeting(minor=0),
        "peer_ready": ready(Socket_Type=b"ROUTER", Identity=b""),
        "short_message": frame(b"hello"),
        "long_message": frame(LONG_BODY),
        "long_body": LONG_BODY,
        "multipart_message": frame(b"a", more=True) + frame(b"", more=True) + frame(b"xyz"),
        "ping": command(b"PING", b"\x00\x0a" + b"ab"),
        "pong": command(b"PONG", b"ab"),
        "ping_long_context": command(b"PING", b"\x00\x00" + bytes(range(16))),
        "pong_long_context": command(b"PONG", bytes(range(16))),
        "subscribe_command": command(b"SUBSCRIBE", b"topic"),
        "error_command": command(b"ERROR", b"\x04oops"),
        "http_response": b"HTTP/1.1 400 Bad Request\r\n\r\n",
        "greeting_v2": greeting(major=2, minor=0),
        "greeting_plain": greeting(mechanism=b"PLAIN"),
        "ready_pub": ready(Socket_Type=b"PUB"),
        "ready_malformed": command(b"READY", b"\x0bSocket-Type\x00\x00\x00\x09ROUTER"),
        "reserved_flags": b"\x08\x01x",
        "more_on_command": b"\x05\x05\x04PING",
        "huge_frame_header": b"\x02" + struct.pack(">Q", 1 << 40),
    }
    return gd_vector_script({"bytes": gd_literal(vectors)})


def test_zmtp_framing_in_godot() -> None:
    result = run_gdscript_test(
        "test_zmtp.gd", extra_files={"res://tests/generated/zmtp_vectors.gd": _vectors()}
    )
    assert_passed(result)


class EchoRouter:
    """A libzmq ROUTER that sends every message back to its sender, with heartbeats on."""

    def __init__(self, heartbeat_ms: int) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.HEARTBEAT_IVL, heartbeat_ms)
        self.sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, heartbeat_ms * 5)
        self.sock.bind("tcp://127.0.0.1:0")
        self.endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.messages: list[list[bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while not self._stop.is_set():
            if poller.poll(50):
                identity, *frames = self.sock.recv_multipart()
                self.messages.append(frames)
                self.sock.send_multipart([identity, *frames])

    def __enter__(self) -> EchoRouter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
        self.ctx.term()


@pytest.fixture
def echo_relay() -> Iterator[tuple[EchoRouter, str]]:
    with EchoRouter(heartbeat_ms=200) as router:
        relay = WebSocketRelay("127.0.0.1:0", router.endpoint)
        host, port = relay.start()
        try:
            yield router, f"ws://{host}:{port}/"
        finally:
            relay.stop()


def test_zmtp_against_libzmq_through_the_websocket_relay(
    echo_relay: tuple[EchoRouter, str],
) -> None:
    router, url = echo_relay
    result = run_gdscript_test("test_zmtp_live.gd", user_args=[f"url={url}"], timeout_s=60)
    assert_passed(result)
    # What libzmq received is exactly what GDScript sent.
    assert [b"hello from godot"] in router.messages
    assert [b"part one", b"", b"x" * 100_000] in router.messages
