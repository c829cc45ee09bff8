"""The broker on loopback with real worker processes (`npc-brain serve --worker`, the
bundled model): spreading load, cancel, a worker killed mid-stream, a late joiner, a
broker restart; and, without processes, the checks a broker makes on its own."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
from server_harness import ACTIONS, LONG_PROMPT, TIMEOUT_S, Peer, decide, tiny_model, wait_for

from npc_brain.cli import main
from npc_brain.sidecar.auth import CurveKeys, make_key_pair
from npc_brain.sidecar.broker import Broker, BrokerConfig
from npc_brain.sidecar.client import Client, CurveClientKeys, ServerError
from npc_brain.sidecar.server import Server, ServerConfig

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "npc_brain.cli"]
TERMINAL = ("decision", "answer", "error", "pong")
SLOTS = 3  # each worker's --max-batch: small, so requests queue and spread
NPC = decide(0)["npc"]


class WorkerProcess:
    """`npc-brain serve --worker` in a subprocess, its log in a file."""

    def __init__(self, back: str, log: Path) -> None:
        self.log = log
        args = [*CLI, "serve", "--worker", back, "--threads", "1", "--max-batch", str(SLOTS)]
        self.proc = subprocess.Popen(args, cwd=REPO, stderr=log.open("w"))

    def text(self) -> str:
        return self.log.read_text()

    def served(self, rid: Any) -> str | None:
        """The outcome this worker logged for request `rid` (decision verb or error code)."""
        found = re.search(rf"id={rid!r} .*?(-> '(\w+)'|code=(\w+))", self.text())
        return (found.group(2) or found.group(3)) if found else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()

    def wait(self) -> None:
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Pool:
    """A broker in this process (so tests can look inside) and worker processes."""

    def __init__(self, tmp: Path, **config: Any) -> None:
        self.tmp = tmp
        cfg = BrokerConfig(front="tcp://127.0.0.1:0", back="tcp://127.0.0.1:0", **config)
        self.broker = Broker(cfg)
        self.front, self.back = self.broker.bind()
        self.thread = threading.Thread(target=self.broker.serve_forever, name="broker")
        self.thread.start()
        self.workers: list[WorkerProcess] = []

    def start_workers(self, n: int) -> list[WorkerProcess]:
        logs = [self.tmp / f"worker{len(self.workers) + i}.log" for i in range(n)]
        new = [WorkerProcess(self.back, log) for log in logs]
        self.workers += new
        return new

    def wait_registered(self, workers: list[WorkerProcess]) -> None:
        pids = {w.proc.pid for w in workers}
        wait_for(lambda: pids <= {i.pid for i in _read(self.broker.worker_info).values()}, 90)

    def identity_of(self, worker: WorkerProcess) -> bytes | None:
        infos = _read(self.broker.worker_info)
        return next((i for i, info in infos.items() if info.pid == worker.proc.pid), None)

    def restart_broker(self) -> None:
        self.broker.stop()
        self.thread.join(TIMEOUT_S)
        cfg = self.broker.config.model_copy(update={"front": self.front, "back": self.back})
        self.broker = Broker(cfg)
        self.broker.bind()
        self.thread = threading.Thread(target=self.broker.serve_forever, name="broker")
        self.thread.start()

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        for worker in self.workers:
            worker.wait()
        self.broker.stop()
        self.thread.join(TIMEOUT_S)


def _read(getter: Any) -> Any:
    """Read the broker's state from another thread (retried if it changed meanwhile)."""
    for _ in range(100):
        with contextlib.suppress(RuntimeError):
            return getter()
        time.sleep(0.01)
    raise AssertionError("broker state kept changing")


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    p = Pool(tmp_path_factory.mktemp("broker"))
    try:
        p.wait_registered(p.start_workers(3))
        yield p
    finally:
        p.close()


def collect(peer: Peer, ids: list[Any], settle: float = 0.5) -> dict[Any, list[dict[str, Any]]]:
    """Every event of `ids` until each has a terminal one, then `settle` s more (so a
    second terminal event would be seen)."""
    events: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    ended: set[Any] = set()
    deadline = None
    while deadline is None or time.monotonic() < deadline:
        if not peer.sock.poll(100 if deadline else TIMEOUT_S * 1000):
            assert deadline is not None, f"no event; still open: {set(ids) - ended}"
            continue
        ev = peer.recv()
        events[ev["id"]].append(ev)
        if ev["type"] in TERMINAL:
            ended.add(ev["id"])
        if deadline is None and ended >= set(ids):
            deadline = time.monotonic() + settle
    return events


# ---------------------------------------------------------------- with worker processes


def test_unchanged_clients_get_decisions_from_all_three_workers(pool: Pool) -> None:
    results: dict[str, list[Any]] = {}

    def game(name: str) -> None:
        with Client(pool.front, timeout=TIMEOUT_S) as client:
            got = []
            for n in range(3):
                stream = client.decide(NPC, ACTIONS, request_id=f"{name}-{n}", max_tokens=60)
                *steps, decision = list(stream)
                assert [s.index for s in steps] == list(range(len(steps)))
                assert decision.steps == [s.text for s in steps]
                got.append(decision.action)
            results[name] = got

    threads = [threading.Thread(target=game, args=(f"g{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT_S * 2)
    assert len(results) == 4 and all(a in ACTIONS for got in results.values() for a in got)
    # Each worker took a share: four requests at a time go to the workers with most room.
    assert all("decide id=" in w.text() for w in pool.workers), [w.text() for w in pool.workers]
    with Client(pool.front) as client:
        pong = client.ping()
        assert (pong.protocol, pong.model, pong.in_flight) == (1, "model", 0)
    peer = Peer(pool.front)
    assert peer.request({"type": "ping", "id": 1})[0]["workers"] == 3
    peer.close()


def test_req_clients_get_only_the_terminal_event(pool: Pool) -> None:
    peer = Peer(pool.front, zmq.REQ)
    reply = peer.request(decide("r", max_tokens=60))
    assert [e["type"] for e in reply] == ["decision"] and reply[0]["steps"]
    peer.close()


def test_cancel_reaches_the_worker_generating_the_request(pool: Pool) -> None:
    peer = Peer(pool.front)
    # A long answer (a sorting trace of some 200 tokens), so the cancel lands while it is
    # still generated; one that finishes first anyway is retried.
    prompt = LONG_PROMPT
    for attempt in range(3):
        rid = f"c{attempt}"
        peer.send({"type": "generate", "id": rid, "prompt": prompt, "max_tokens": 400})
        holder = _wait_dispatched(pool, rid)
        peer.send({"type": "cancel", "id": rid})
        events = collect(peer, [rid])[rid]
        if events[-1]["type"] == "error" and events[-1]["code"] == "cancelled":
            break
    assert events[-1]["code"] == "cancelled"
    assert len([e for e in events if e["type"] in TERMINAL]) == 1
    # The worker that held it cancelled it (its log says so); no other worker heard of it.
    outcomes = {w.proc.pid: w.served(rid) for w in pool.workers}
    held_by = _read(pool.broker.worker_info)[holder].pid if holder else None
    assert outcomes.pop(held_by, None) == "cancelled", outcomes
    assert set(outcomes.values()) == {None}
    wait_for(lambda: not _read(lambda: pool.broker.requests_on(holder)))  # its slot is free
    peer.close()


def _wait_dispatched(pool: Pool, rid: Any) -> bytes:
    """The identity of the worker the broker handed `rid` to, once it has."""
    found: list[bytes] = []

    def dispatched() -> bool:
        infos = _read(pool.broker.worker_info)
        found[:] = [i for i in infos if rid in _read(lambda i=i: pool.broker.requests_on(i))]
        return bool(found)

    wait_for(dispatched, TIMEOUT_S)
    return found[0]


def test_a_worker_killed_mid_stream_costs_no_request(pool: Pool) -> None:
    peers = [Peer(pool.front) for _ in range(3)]
    ids = {p: [f"k{i}-{n}" for n in range(6)] for i, p in enumerate(peers)}
    for peer, rids in ids.items():
        for rid in rids:
            peer.send(decide(rid, max_tokens=120))
    victim = pool.workers[0]
    identity = pool.identity_of(victim)
    assert identity is not None
    wait_for(lambda: len(_read(lambda: pool.broker.requests_on(identity))) == SLOTS)
    held = set(_read(lambda: pool.broker.requests_on(identity)))
    os.kill(victim.proc.pid, signal.SIGKILL)
    pool.start_workers(1)  # a replacement, joining while the others carry the load
    for peer, rids in ids.items():
        events = collect(peer, rids)
        assert set(events) == set(rids)
        for rid, evs in events.items():
            terminals = [e for e in evs if e["type"] in TERMINAL]
            assert len(terminals) == 1, (rid, evs)  # exactly one, never none or two
            end = terminals[0]
            assert end["type"] == "decision" or end["code"] == "worker_lost", end
            # Events of a re-run carry `rerun`; each attempt's steps count from 0 in order.
            for attempt in {e.get("rerun", 0) for e in evs}:
                run = [e for e in evs if e["type"] == "step" and e.get("rerun", 0) == attempt]
                assert [e["index"] for e in run] == list(range(len(run)))
            if rid not in held:
                assert all("rerun" not in e for e in evs)
        peer.close()
    # The victim's requests were re-run elsewhere (marked) or ended with worker_lost.
    assert held and pool.broker.stats["reruns"] + pool.broker.stats["lost"] >= len(held)
    assert victim.proc.wait(5) == -signal.SIGKILL
    assert pool.identity_of(victim) is None


def test_a_worker_joining_late_gets_work(pool: Pool) -> None:
    late = pool.workers[-1]  # started by the test above
    pool.wait_registered([late])
    peer = Peer(pool.front)
    rids = [f"late{n}" for n in range(3 * SLOTS)]
    for rid in rids:
        peer.send(decide(rid, max_tokens=60))
    events = collect(peer, rids, settle=0.1)
    assert {evs[-1]["type"] for evs in events.values()} == {"decision"}
    assert any(late.served(rid) for rid in rids), late.text()
    peer.close()


def test_a_broker_restart_looks_like_a_sidecar_restart(pool: Pool) -> None:
    with Client(pool.front, timeout=TIMEOUT_S) as client:
        stream = client.generate(LONG_PROMPT, max_tokens=400, max_steps=16)
        next(stream)  # a thought arrived: the request is under way
        pool.restart_broker()
        with pytest.raises(ServerError) as lost:
            list(stream)
        assert lost.value.code in ("shutting_down", "disconnected")
        # The workers register with the new broker; the same client carries on.
        wait_for(lambda: len(_read(pool.broker.worker_info)) == 3, 30)
        decision = list(client.decide(NPC, ACTIONS, max_tokens=60))[-1]
        assert decision.action in ACTIONS


# ---------------------------------------------------------------- without worker processes


@pytest.fixture
def lone_broker() -> Iterator[Broker]:
    cfg = BrokerConfig(front="tcp://127.0.0.1:0", back="tcp://127.0.0.1:0", max_wait_s=0.3)
    broker = Broker(cfg)
    broker.bind()
    thread = threading.Thread(target=broker.serve_forever)
    thread.start()
    yield broker
    broker.stop()
    thread.join(TIMEOUT_S)


def test_without_workers_requests_wait_then_get_server_busy(lone_broker: Broker) -> None:
    peer = Peer(lone_broker.front_endpoint)
    pong = peer.request({"type": "ping", "id": "p"})[0]
    assert (pong["workers"], pong["model"], pong["active"]) == (0, None, 0)
    peer.send(decide(1))
    assert peer.request({"type": "cancel", "id": 2})[0]["code"] == "unknown_id"
    again = {"type": "decide", "id": 1, "npc": {}, "actions": ["x"]}
    assert peer.request(again)[0]["code"] == "duplicate_id"
    started = time.monotonic()
    busy = peer.until_terminal(1)[-1]
    assert busy["code"] == "server_busy" and "no worker" in busy["message"]
    assert time.monotonic() - started < 5
    peer.send(decide(3))
    assert peer.request({"type": "cancel", "id": 3})[0]["code"] == "cancelled"
    peer.close()


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ((b"a", b"b"), "bad_frames"),
        ((b"",), "empty"),
        ((b"\xc1",), "bad_msgpack"),
        ((b"\x91\x01",), "not_a_map"),
        ((b"\x82\xa4type\xa4sing\xa2id\x04",), "unknown_type"),
        ((b"\x82\xa4type\xa6cancel\xa2id\xcb\x00\x00\x00\x00\x00\x00\x00\x00",), "invalid_field"),
    ],
)
def test_malformed_input_gets_the_sidecars_errors(lone_broker: Broker, frames, code) -> None:
    peer = Peer(lone_broker.front_endpoint)
    peer.send_raw(*frames)
    assert peer.recv()["code"] == code
    assert peer.request({"type": "ping", "id": "ok"})[0]["type"] == "pong"
    peer.close()


def test_an_unknown_peer_on_the_back_is_asked_to_register(lone_broker: Broker) -> None:
    stranger = Peer(lone_broker.back_endpoint)
    stranger.send_raw(b"NPCW1", b"\x05")  # a heartbeat from nobody the broker knows
    assert stranger.sock.recv_multipart() == [b"NPCW1", b"\x06"]  # DISCONNECT: register
    stranger.send_raw(b"junk")
    assert lone_broker.worker_info() == {}
    stranger.close()


def test_curve_between_broker_and_a_remote_worker(tmp_path: Path) -> None:
    make_key_pair(tmp_path, "broker")
    make_key_pair(tmp_path, "w1")
    make_key_pair(tmp_path / "stranger", "w2")
    (tmp_path / "workers").mkdir()
    (tmp_path / "w1.key").rename(tmp_path / "workers" / "w1.key")
    keys = CurveKeys.load(tmp_path / "broker.key_secret", tmp_path / "workers")
    cfg = BrokerConfig(front="tcp://127.0.0.1:0", back="tcp://127.0.0.1:0", worker_curve=keys)
    broker = Broker(cfg)
    front, back = broker.bind()
    threading.Thread(target=broker.serve_forever, daemon=True).start()
    model, tok = tiny_model()
    servers = []
    try:
        for secret in (tmp_path / "stranger" / "w2.key_secret", tmp_path / "w1.key_secret"):
            curve = CurveClientKeys(keys.public, *_pair(secret))
            config = ServerConfig(worker=back, worker_curve=curve, max_batch=2)
            server = Server(model, tok, config, model_name="tiny")
            server.bind()
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
        wait_for(lambda: len(_read(broker.worker_info)) == 1)
        peer = Peer(front)
        assert peer.request(decide("x"))[-1]["type"] == "decision"
        time.sleep(0.3)
        assert len(_read(broker.worker_info)) == 1  # the stranger never got in
        peer.close()
    finally:
        for server in servers:
            server.stop()
        broker.stop()


def _pair(secret: Path) -> tuple[bytes, bytes]:
    import zmq.auth

    public, private = zmq.auth.load_certificate(secret)
    assert private is not None
    return public, private


def test_addresses_beyond_loopback_need_curve_or_insecure(capsys) -> None:
    assert main(["broker", "--back", "tcp://0.0.0.0:0"]) == 2
    assert "--curve-workers" in capsys.readouterr().err
    assert main(["broker", "--front", "tcp://0.0.0.0:0"]) == 2
    assert "--curve-clients" in capsys.readouterr().err
    assert main(["serve", "--worker", "tcp://192.0.2.1:5557"]) == 2
    assert "--broker-key" in capsys.readouterr().err
    assert main(["serve", "--worker", "tcp://127.0.0.1:5557", "--ws", "127.0.0.1:0"]) == 2
    assert "--ws does not apply" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["serve"], ["broker"]])
def test_relay_options_without_ws_are_refused(command: list[str], tmp_path, capsys) -> None:
    token = tmp_path / "token"
    token.write_text("secret-token-of-some-length\n")
    argv = [*command, "--ws-token-file", str(token), "--ws-origin", "https://game.example"]
    assert main(argv) == 2
    assert "--ws-token-file, --ws-origin only apply with --ws" in capsys.readouterr().err
