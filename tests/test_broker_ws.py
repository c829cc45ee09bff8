"""`npc-brain broker --ws` on loopback: the broker's WebSocket relay in front, a worker
behind it, and a client speaking ZMTP over the WebSocket as a Godot web export does;
the relay's protections (Origin allowlist, token) hold on the broker too, also with CURVE
on its front. And the options both commands share are declared alike."""

from __future__ import annotations

import argparse
import contextlib
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_harness import ACTIONS, TIMEOUT_S, decide, tiny_model
from test_ws_relay import ZmtpOverWebSocket
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from npc_brain import cli
from npc_brain.cli import main
from npc_brain.commands import server_options as so
from npc_brain.sidecar.auth import make_key_pair
from npc_brain.sidecar.server import Server, ServerConfig

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "npc_brain.cli"]
LOOPBACK = ["--front", "tcp://127.0.0.1:0", "--back", "tcp://127.0.0.1:0"]
BANNER = r"games connect to (tcp://\S+), WebSocket (ws://\S+), workers to (tcp://\S+)"
TOKEN = "a-long-enough-test-token-0123456789"
GAME_ORIGIN = "https://game.example"


class BrokerProcess:
    """`npc-brain broker --ws` in a subprocess; its addresses read from the banner."""

    def __init__(self, *args: str) -> None:
        argv = [*CLI, "broker", *LOOPBACK, "--ws", "127.0.0.1:0", *args]
        self.proc = subprocess.Popen(argv, cwd=REPO, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        banner = self.wait_for(BANNER)
        self.front, self.url, self.back = banner.groups()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT_S)
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} in {self.log}") from None
            self.log.append(line)
            if found := re.search(pattern, line):
                return found

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@contextlib.contextmanager
def broker_with_worker(*args: str) -> Iterator[BrokerProcess]:
    """A broker process and one worker (`serve --worker`, in this process, tiny model)."""
    broker = BrokerProcess(*args)
    model, tok = tiny_model()
    worker = Server(model, tok, ServerConfig(worker=broker.back, max_batch=2), model_name="tiny")
    thread = threading.Thread(target=worker.serve_forever, name="worker")
    try:
        worker.bind()
        thread.start()
        yield broker
    finally:
        worker.stop()
        if thread.is_alive():
            thread.join(TIMEOUT_S)
        code = broker.stop()
    assert code == 0 and broker.wait_for(r"^stopped$"), broker.log


@contextlib.contextmanager
def open_ws(url: str, origin: str | None = None, token: str | None = None) -> Iterator[Any]:
    """A WebSocket to the relay, the token (if any) sent first as the relay asks."""
    options: Any = {"origin": origin, "open_timeout": TIMEOUT_S, "compression": None}
    with connect(url, **options) as ws:
        if token is not None:
            ws.send(token)
        yield ws


def decide_over(client: ZmtpOverWebSocket, rid: Any) -> list[dict[str, Any]]:
    client.send_map(decide(rid, max_steps=2, max_tokens=200))
    events = [client.recv_map()]
    while events[-1]["type"] == "step":
        events.append(client.recv_map())
    return events


def assert_decided(events: list[dict[str, Any]], rid: Any) -> None:
    *steps, decision = events
    assert decision["type"] == "decision" and decision["action"] in ACTIONS, events
    assert [ev["id"] for ev in events] == [rid] * len(events)
    assert [ev["index"] for ev in steps] == list(range(len(steps)))
    assert decision["steps"] == [ev["text"] for ev in steps]


@pytest.fixture(scope="module")
def plain_broker() -> Iterator[BrokerProcess]:
    with broker_with_worker() as broker:
        yield broker


def test_decide_round_trips_through_the_brokers_websocket(plain_broker: BrokerProcess) -> None:
    with open_ws(plain_broker.url) as ws:
        client = ZmtpOverWebSocket(ws, chunk=7)  # ZMTP split across messages still works
        for rid in range(3):
            assert_decided(decide_over(client, rid), rid)
        client.send_map({"type": "ping", "id": "p"})
        pong = client.recv_map()
        assert (pong["type"], pong["workers"], pong["model"]) == ("pong", 1, "tiny")


def test_two_websocket_games_share_the_broker(plain_broker: BrokerProcess) -> None:
    with (
        open_ws(plain_broker.url, origin="http://127.0.0.1:8060") as ws_a,
        open_ws(plain_broker.url) as ws_b,
    ):
        a, b = ZmtpOverWebSocket(ws_a), ZmtpOverWebSocket(ws_b)
        a.send_map(decide("a", max_tokens=80))
        b.send_map(decide("b", max_tokens=80))
        for peer, rid in ((a, "a"), (b, "b")):
            events = [peer.recv_map()]
            while events[-1]["type"] == "step":
                events.append(peer.recv_map())
            assert_decided(events, rid)


def test_foreign_origins_are_refused_by_the_brokers_relay(plain_broker: BrokerProcess) -> None:
    with pytest.raises(InvalidStatus) as refused, open_ws(plain_broker.url, "https://evil.example"):
        pass
    assert refused.value.response.status_code == 403


def test_token_origins_and_curve_front_apply_to_the_broker(tmp_path: Path) -> None:
    make_key_pair(tmp_path / "broker", "broker")
    make_key_pair(tmp_path / "games", "game")
    (tmp_path / "token").write_text(TOKEN + "\n")
    options = ["--ws-token-file", str(tmp_path / "token"), "--ws-origin", GAME_ORIGIN]
    # CURVE on --front: the relay must reach the broker through its local NULL endpoint.
    options += ["--curve-secret", str(tmp_path / "broker" / "broker.key_secret")]
    options += ["--curve-clients", str(tmp_path / "games")]
    with broker_with_worker(*options) as broker:
        with pytest.raises(InvalidStatus) as refused, open_ws(broker.url, "https://evil.example"):
            pass
        assert refused.value.response.status_code == 403
        for wrong in ("wrong-token", None):  # None: ZMTP bytes first
            with pytest.raises(ConnectionClosed) as closed, open_ws(broker.url, token=wrong) as ws:
                decide_over(ZmtpOverWebSocket(ws), 1)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        with open_ws(broker.url, origin=GAME_ORIGIN, token=TOKEN) as ws:
            assert_decided(decide_over(ZmtpOverWebSocket(ws), "t"), "t")


def test_broker_ws_refuses_exposure_without_a_token_and_taken_ports(capsys) -> None:
    assert main(["broker", *LOOPBACK, "--ws", "0.0.0.0:0"]) == 2
    assert "--ws-token-file" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["broker", *LOOPBACK, "--ws", f"127.0.0.1:{port}"]) == 2
    assert "npc-brain broker: --ws: cannot listen" in capsys.readouterr().err


def test_serve_and_broker_declare_the_shared_options_alike() -> None:
    alone = argparse.ArgumentParser()
    so.add_front_options(alone, ServerConfig())
    so.add_quiet_option(alone)
    so.add_access_options(so.security_group(alone))
    shared = {a.option_strings[0] for a in alone._actions if a.option_strings != ["-h", "--help"]}
    seen: dict[str, dict[str, Any]] = {}
    for command in ("serve", "broker"):
        parser = cli.command_parser(cli.build_parser(command), command)
        options = {a.option_strings[0]: a for a in parser._actions if a.option_strings}
        assert shared <= set(options), shared - set(options)
        seen[command] = {o: (options[o].default, options[o].help) for o in shared}
    assert seen["serve"] == seen["broker"]
