"""Who may use the WebSocket relay: Origins, the token, the connection cap, CURVE servers."""

from __future__ import annotations

import contextlib
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_harness import TIMEOUT_S, decide, running_server, wait_for
from test_ws_relay import ZmtpOverWebSocket
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from npc_brain.sidecar.auth import CurveKeys, make_key_pair
from npc_brain.sidecar.fd_limit import RESERVED
from npc_brain.sidecar.ws_relay import WebSocketRelay

TOKEN = "a-long-enough-test-token-0123456789"


@contextlib.contextmanager
def relay_to(target: str, **options: Any) -> Iterator[WebSocketRelay]:
    relay = WebSocketRelay("127.0.0.1:0", target, **options)
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()


def url(relay: WebSocketRelay) -> str:
    assert relay.address is not None
    return f"ws://{relay.address[0]}:{relay.address[1]}/"


def decides(ws_url: str, origin: str | None = None, token: str | None = None) -> str:
    with connect(ws_url, origin=origin, open_timeout=TIMEOUT_S) as ws:  # type: ignore[arg-type]
        if token is not None:
            ws.send(token)
        client = ZmtpOverWebSocket(ws)
        client.send_map(decide(1))
        while (event := client.recv_map())["type"] == "step":
            pass
        return event["type"]


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "http://localhost.attacker.net", "file://"]
)
def test_foreign_origins_are_refused_before_reaching_the_sidecar(origin: str) -> None:
    with running_server() as server, relay_to(server.endpoint) as relay:
        with pytest.raises(InvalidStatus) as refused:
            decides(url(relay), origin=origin)
        assert refused.value.response.status_code == 403


@pytest.mark.parametrize(
    "origin", [None, "http://127.0.0.1:8060", "http://localhost:5173", "https://game.example"]
)
def test_loopback_pages_desktop_clients_and_configured_origins_get_through(origin) -> None:
    with (
        running_server() as server,
        relay_to(server.endpoint, origins=["https://game.example"]) as relay,
    ):
        assert decides(url(relay), origin=origin) == "decision"


def test_the_token_must_be_the_first_message() -> None:
    with running_server() as server, relay_to(server.endpoint, token=TOKEN) as relay:
        assert decides(url(relay), token=TOKEN) == "decision"
        for wrong in ("wrong-token", None):  # None: ZMTP bytes first
            with pytest.raises(ConnectionClosed) as closed:
                decides(url(relay), token=wrong)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_connections_beyond_the_cap_get_503_and_room_comes_back() -> None:
    with (
        running_server() as server,
        relay_to(server.endpoint, max_connections=2) as relay,
        contextlib.ExitStack() as held,
    ):
        first = held.enter_context(connect(url(relay), open_timeout=TIMEOUT_S))
        held.enter_context(connect(url(relay), open_timeout=TIMEOUT_S))
        wait_for(lambda: relay.open_connections == 2)
        with pytest.raises(InvalidStatus) as refused:
            connect(url(relay), open_timeout=TIMEOUT_S)
        assert refused.value.response.status_code == 503
        first.close()
        wait_for(lambda: relay.open_connections == 1)
        assert decides(url(relay)) == "decision"


def test_relay_reaches_a_curve_server_through_its_local_endpoint(tmp_path: Path) -> None:
    make_key_pair(tmp_path / "server", "server")
    make_key_pair(tmp_path / "clients", "game")
    keys = CurveKeys.load(tmp_path / "server" / "server.key_secret", tmp_path / "clients")
    with running_server(curve=keys) as server:
        assert server.relay_endpoint and server.relay_endpoint != server.endpoint
        with relay_to(server.relay_endpoint, token=TOKEN) as relay:
            assert decides(url(relay), token=TOKEN) == "decision"


def test_listening_beyond_loopback_needs_a_token_or_insecure() -> None:
    with pytest.raises(ValueError, match="--ws-token-file"):
        WebSocketRelay("0.0.0.0:0", "tcp://127.0.0.1:5555")
    WebSocketRelay("0.0.0.0:0", "tcp://127.0.0.1:5555", token=TOKEN)  # not started
    WebSocketRelay("0.0.0.0:0", "tcp://127.0.0.1:5555", insecure=True)


def test_the_connection_cap_follows_the_descriptor_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (RESERVED + 3 * 4 + 2, hard))
    try:
        relay = WebSocketRelay("127.0.0.1:0", "tcp://127.0.0.1:5555", max_connections=512)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert relay.max_connections == 4  # three descriptors each, after the reserve


def test_serve_raises_a_low_soft_descriptor_limit() -> None:
    def lower() -> None:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))

    code = "from npc_brain.sidecar.fd_limit import raise_soft_limit; print(raise_soft_limit())"
    out = subprocess.run(
        [sys.executable, "-c", code], preexec_fn=lower, capture_output=True, text=True, check=True
    )
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert int(out.stdout) == min(hard, 65536) > 512
