"""The WebSocket relay carrying raw ZMTP from the package's own ZMTP client, like the Godot
addon's."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
from server_harness import TIMEOUT_S, decide, running_server
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from npc_brain.sidecar.ws_client import ZmtpWebSocket
from npc_brain.sidecar.ws_relay import WebSocketRelay, parse_host_port


class ZmtpOverWebSocket(ZmtpWebSocket):
    """The package's ZMTP client exchanging msgpack maps, optionally sent in small pieces."""

    def __init__(self, ws: ClientConnection, chunk: int = 0) -> None:
        self.chunk = chunk  # >0: split everything sent into messages of this many bytes
        super().__init__(ws, TIMEOUT_S)

    def write(self, data: bytes) -> None:
        step = self.chunk or len(data)
        for i in range(0, len(data), step):
            super().write(data[i : i + step])

    def send_map(self, message: dict[str, Any]) -> None:
        self.send(msgpack.packb(message))

    def recv_map(self) -> dict[str, Any]:
        body = self.recv(TIMEOUT_S)
        assert body is not None, "no event in time"
        return msgpack.unpackb(body)


@contextlib.contextmanager
def relay_for(target: str) -> Iterator[str]:
    relay = WebSocketRelay("127.0.0.1:0", target)
    host, port = relay.start()
    try:
        yield f"ws://{host}:{port}/"
    finally:
        relay.stop()


@pytest.mark.parametrize("chunk", [0, 7])
def test_full_decide_round_trip_over_websocket(chunk: int) -> None:
    with (
        running_server() as server,
        relay_for(server.endpoint) as url,
        connect(url, compression=None) as ws,
    ):
        zmtp = ZmtpOverWebSocket(ws, chunk)
        zmtp.send_map({"type": "ping", "id": 0})
        assert zmtp.recv_map()["type"] == "pong"
        zmtp.send_map(decide(1, max_steps=2, max_tokens=300))
        events = []
        while not events or events[-1]["type"] == "step":
            events.append(zmtp.recv_map())
        *steps, decision = events
        assert steps and [ev["index"] for ev in steps] == list(range(len(steps)))
        assert decision["type"] == "decision" and decision["steps"] == [ev["text"] for ev in steps]


def test_two_websocket_clients_are_separate_zmq_clients() -> None:
    with (
        running_server() as server,
        relay_for(server.endpoint) as url,
        connect(url, compression=None) as ws_a,
        connect(url, compression=None) as ws_b,
    ):
        a, b = ZmtpOverWebSocket(ws_a), ZmtpOverWebSocket(ws_b)
        a.send_map(decide(1, max_tokens=60))
        b.send_map(decide(1, max_tokens=60))
        for peer in (a, b):
            events = [peer.recv_map()]
            while events[-1]["type"] == "step":
                events.append(peer.recv_map())
            assert events[-1]["type"] == "decision"
            assert [ev["id"] for ev in events] == [1] * len(events)


def test_text_messages_close_the_connection() -> None:
    with running_server() as server, relay_for(server.endpoint) as url, connect(url) as ws:
        ws.send("hello")
        with pytest.raises(ConnectionClosed) as info:
            while True:  # the sidecar's greeting bytes may arrive before the close
                ws.recv(timeout=TIMEOUT_S)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1003


def test_unreachable_sidecar_closes_with_1011() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with relay_for(f"tcp://127.0.0.1:{port}") as url, connect(url) as ws:
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=TIMEOUT_S)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1011


def test_addresses_parse_and_bad_ones_are_refused() -> None:
    assert parse_host_port("tcp://*:5555") == ("*", 5555)
    assert parse_host_port("127.0.0.1:5556") == ("127.0.0.1", 5556)
    assert parse_host_port("[::1]:80") == ("::1", 80)
    for bad in ("5556", "localhost:", "host:99999", "host:port"):
        with pytest.raises(ValueError):
            parse_host_port(bad)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        relay = WebSocketRelay(f"127.0.0.1:{taken.getsockname()[1]}", "tcp://127.0.0.1:5555")
        with pytest.raises(OSError, match="cannot listen"):
            relay.start()
