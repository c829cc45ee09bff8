"""`npc-brain bench soak`: many decisions from many clients while faults are injected.

The sidecar runs as `npc-brain serve` in a process of its own. Worker clients (the Python
`Client`) keep decide requests in flight; meanwhile clients connect, send and vanish
mid-stream, oversize frames arrive (under the transport cap: `too_large`; over it: the
connection drops), and once the sidecar is killed with SIGKILL and restarted on the same port.

Every request must end with exactly one terminal event. Printed: requests lost (no terminal
event by the deadline), duplicated (a second terminal event from the sidecar), misrouted (an
event or decision that belongs to another request), how requests ended, the sidecar's RSS
growth, and one client's first-thought latency alone and during another client's burst.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from tqdm import tqdm
from zmq.utils.monitor import recv_monitor_message

from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, has_weights
from npc_brain.sidecar.client import Client, ServerError
from npc_brain.workshop.data.npc import random_situation

DEADLINE_S = 300.0  # per request: covers a restart of the sidecar on a busy machine
MIB = 1 << 20
UNDER_CAP = (2 * MIB, 8 * MIB)
OVER_CAP = 65 * MIB


@dataclass(frozen=True)
class Plan:
    decisions: int
    clients: int
    window: int  # requests each worker keeps in flight
    burst: int  # the greedy client's burst in the fairness phase
    probes: int  # first-thought samples per fairness measurement


FULL = Plan(decisions=4000, clients=8, window=16, burst=200, probes=30)
QUICK = Plan(decisions=64, clients=4, window=4, burst=32, probes=5)


def run(args: argparse.Namespace) -> int:
    model_dir = Path(args.model) if args.model else DEFAULT_MODEL_DIR
    if not has_weights(model_dir):
        print(f"no model at {model_dir}; pass --model DIR")
        return 2
    plan = QUICK if args.quick else FULL
    bodies = situations(256)
    sidecar = Sidecar(model_dir)
    print(f"sidecar pid {sidecar.proc.pid} at {sidecar.endpoint}; {plan}")
    strays = StrayEvents()
    soak = Soak(sidecar, plan, bodies, strays)
    try:
        soak.run()
        soak.after = probe_after(sidecar.endpoint)
        fairness = measure_fairness(sidecar.endpoint, bodies, plan)
    finally:
        sidecar.stop()
        strays.detach()
    print_report(soak, strays, fairness)
    return 0 if soak.clean(strays) else 1


def situations(n: int) -> list[dict[str, Any]]:
    rng = random.Random(2024)
    out = []
    for _ in range(n):
        state, actions = random_situation(rng)
        out.append({"npc": state.model_dump(), "actions": actions})
    return out


# ---------------------------------------------------------------- the sidecar process


class Sidecar:
    """`npc-brain serve` on a fixed port, so clients reconnect to the restarted one."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir
        self.endpoint = f"tcp://127.0.0.1:{free_port()}"
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "npc_brain.cli", "serve", "--quiet"]
        command += ["--model", str(self.model_dir), "--bind", self.endpoint]
        proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("serving"):
                threading.Thread(target=proc.stderr.read, daemon=True).start()
                return proc
        raise RuntimeError(f"the sidecar exited with {proc.wait()} before serving")

    def kill_and_restart(self) -> None:
        self.proc.kill()  # SIGKILL: no goodbye to anyone
        self.proc.wait()
        self.proc = self._start()

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(found.group(1)) / 1024 if found else float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- accounting


class StrayEvents(logging.Handler):
    """Events the clients received for requests no longer (or never) in flight."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[str, str, Any]] = []  # (thread, event type, request id)
        self._log = logging.getLogger("npc_brain.sidecar.client")
        self._level = self._log.level
        self._log.setLevel(logging.DEBUG)
        self._log.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("event %s for request %r"):
            kind, rid = record.args  # type: ignore[misc]
            self.seen.append((record.threadName or "", kind, rid))

    def detach(self) -> None:
        self._log.removeHandler(self)
        self._log.setLevel(self._level)


@dataclass
class Ledger:
    """How each worker request ended (by id) and what looked wrong."""

    ended: dict[str, str] = field(default_factory=dict)
    lost: int = 0
    misrouted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, rid: str, outcome: str) -> None:
        with self.lock:
            if outcome == "lost":
                self.lost += 1
            if outcome == "misrouted":
                self.misrouted += 1
            self.ended[rid] = outcome


# ---------------------------------------------------------------- the soak


class Soak:
    def __init__(
        self, sidecar: Sidecar, plan: Plan, bodies: list[dict[str, Any]], strays: StrayEvents
    ) -> None:
        self.sidecar = sidecar
        self.plan = plan
        self.bodies = bodies
        self.strays = strays
        self.ledger = Ledger()
        self.faults: Counter[str] = Counter()
        self.rss: dict[str, float] = {}
        self.after = ""
        self._stop = threading.Event()

    def run(self) -> None:
        plan = self.plan
        each = plan.decisions // plan.clients
        workers = [
            threading.Thread(target=self._worker, args=(i, each), name=f"worker-{i}")
            for i in range(plan.clients)
        ]
        chaos = [
            threading.Thread(target=self._dropper, name="dropper"),
            threading.Thread(target=self._oversize, name="oversize"),
        ]
        for t in workers + chaos:
            t.start()
        self._watch_progress(each * plan.clients)
        for t in workers:
            t.join()
        self.rss["end"] = self.sidecar.rss_mib()
        self._stop.set()
        for t in chaos:
            t.join()

    def _watch_progress(self, total: int) -> None:
        """Kill -9 and restart the sidecar a third of the way; sample its RSS."""
        killed = False
        with tqdm(total=total, desc="soak", unit="req") as bar:
            while (done := len(self.ledger.ended)) < total:
                bar.update(done - bar.n)
                if not killed and done >= total // 3:
                    self.rss["before kill"] = self.sidecar.rss_mib()
                    self.sidecar.kill_and_restart()
                    self.faults["sidecar killed (SIGKILL) and restarted"] += 1
                    killed = True
                if killed and "warm again" not in self.rss and done >= 2 * total // 3:
                    self.rss["warm again"] = self.sidecar.rss_mib()
                if "warm" not in self.rss and done >= total // 10:
                    self.rss["warm"] = self.sidecar.rss_mib()
                time.sleep(0.2)
            bar.update(total - bar.n)

    def _worker(self, index: int, count: int) -> None:
        rng = random.Random(index)
        with Client(self.sidecar.endpoint, timeout=DEADLINE_S) as client:
            for start in range(0, count, self.plan.window):
                batch = []
                for k in range(start, min(count, start + self.plan.window)):
                    rid, verb = f"w{index}-{k}", f"go{index}x{k}"
                    body = rng.choice(self.bodies)
                    aliases = {verb: "wait"}
                    stream = client.decide(body["npc"], [verb, "flee"], aliases, request_id=rid)
                    batch.append((rid, verb, stream))
                for rid, verb, stream in batch:
                    self.ledger.record(rid, _outcome(stream, rid, {verb, "flee"}))

    def _dropper(self) -> None:
        """Clients that send a few requests, read one event and vanish."""
        while not self._stop.is_set():
            with Client(self.sidecar.endpoint, timeout=5.0) as client:
                streams = [client.decide(b["npc"], b["actions"]) for b in self.bodies[:2]]
                with contextlib.suppress(ServerError, TimeoutError):
                    next(streams[0])
            self.faults["clients vanished mid-stream"] += 1
            self._stop.wait(5.0)

    def _oversize(self) -> None:
        """Frames under the transport cap must get `too_large`; over it, a disconnect."""
        ctx = zmq.Context.instance()
        rounds = 0
        while not self._stop.is_set():
            for size in UNDER_CAP:
                answered = _send_frame(ctx, self.sidecar.endpoint, size, expect_reply=True)
                self.faults[f"{size // MIB} MiB frames answered too_large"] += answered
                self.faults[f"{size // MIB} MiB frames sent"] += 1
            if rounds % 4 == 0:
                dropped = _send_frame(ctx, self.sidecar.endpoint, OVER_CAP, expect_reply=False)
                self.faults[f"{OVER_CAP // MIB} MiB frames sent"] += 1
                self.faults[f"{OVER_CAP // MIB} MiB frames: connection dropped"] += dropped
            rounds += 1
            self._stop.wait(3.0)

    def clean(self, strays: StrayEvents) -> bool:
        _late, dup, mis = classify_strays(strays, self.ledger)
        return not (self.ledger.lost or self.ledger.misrouted or dup or mis)


def _outcome(stream: Any, rid: str, allowed: set[str]) -> str:
    try:
        events = list(stream)
    except ServerError as exc:
        return exc.code
    except TimeoutError:
        return "lost"
    final = events[-1]
    if final.id != rid or any(e.id != rid for e in events) or final.action not in allowed:
        return "misrouted"
    return "decision"


def _send_frame(ctx: zmq.Context, endpoint: str, size: int, expect_reply: bool) -> int:
    """1 if the frame got `too_large` (expect_reply) or dropped the connection (else)."""
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    try:
        sock.connect(endpoint)
        sock.send(b"\x00" * size)
        if expect_reply:
            if not sock.poll(30_000):
                return 0
            return int(b"too_large" in sock.recv())
        return int(bool(monitor.poll(30_000)) and bool(recv_monitor_message(monitor)))
    finally:
        sock.disable_monitor()
        monitor.close(0)
        sock.close(0)


def classify_strays(strays: StrayEvents, ledger: Ledger) -> tuple[int, int, int]:
    """(late, duplicated, misrouted) among events that arrived for no request in flight.

    Late: a request the client had already ended (`disconnected`, or its deadline passed),
    answered after all (the client ignores it). Duplicated: a second terminal event for a
    request that had ended with its answer. Misrouted: an id another worker sent.
    """
    late = dup = mis = 0
    for thread, kind, rid in strays.seen:
        if not isinstance(rid, str) or not rid.startswith("w"):
            continue  # dropper clients' ids: they left on purpose
        if not thread.startswith("worker-") or rid.split("-")[0][1:] != thread.split("-")[1]:
            mis += 1
        elif ledger.ended.get(rid) in ("disconnected", "lost"):
            late += kind != "step"
        elif kind != "step":
            dup += 1
    return late, dup, mis


def probe_after(endpoint: str) -> str:
    """Whether the sidecar still answers at once after the soak (ping and one decision)."""
    with Client(endpoint, timeout=DEADLINE_S) as client:
        start = time.perf_counter()
        pong = client.ping()
        ping_ms = (time.perf_counter() - start) * 1000
        return f"ping {ping_ms:.0f} ms, {pong.active} active, {pong.queued} queued"


# ---------------------------------------------------------------- fairness


def measure_fairness(endpoint: str, bodies: list[dict[str, Any]], plan: Plan) -> dict[str, float]:
    """A client's first-thought latency p50 alone, then during another client's burst."""
    with Client(endpoint, timeout=DEADLINE_S) as probe, Client(endpoint, timeout=600) as greedy:
        alone = _first_thoughts(probe, bodies, plan.probes)
        burst = [greedy.decide(b["npc"], b["actions"]) for b in bodies[: plan.burst]]
        loaded = _first_thoughts(probe, bodies, plan.probes)
        for stream in burst:
            for _ in stream:
                pass
    return {"alone": statistics.median(alone), "during burst": statistics.median(loaded)}


def _first_thoughts(client: Client, bodies: list[dict[str, Any]], n: int) -> list[float]:
    out = []
    for body in bodies[:n]:
        start = time.perf_counter()
        stream = client.decide(body["npc"], body["actions"])
        next(stream)
        out.append((time.perf_counter() - start) * 1000)
        for _ in stream:
            pass
    return out


# ---------------------------------------------------------------- report


def print_report(soak: Soak, strays: StrayEvents, fairness: dict[str, float]) -> None:
    ledger = soak.ledger
    late, dup, mis = classify_strays(strays, ledger)
    ends = Counter(ledger.ended.values())
    print(f"\nrequests {len(ledger.ended)}: " + ", ".join(f"{k} {v}" for k, v in ends.items()))
    print(f"lost {ledger.lost}   duplicated {dup}   misrouted {ledger.misrouted + mis}")
    print(f"  (lost: no terminal event within {DEADLINE_S:.0f} s, the client's deadline)")
    print(f"late answers ignored after `disconnected` or the deadline: {late}")
    print("faults: " + "; ".join(f"{k}: {v}" for k, v in sorted(soak.faults.items())))
    rss = soak.rss
    print(f"after the soak: {soak.after}")
    print("sidecar RSS MiB: " + ", ".join(f"{k} {v:.1f}" for k, v in rss.items()))
    if {"warm", "before kill"} <= rss.keys():
        print(f"RSS growth, first process: {rss['before kill'] - rss['warm']:+.1f} MiB")
    if {"warm again", "end"} <= rss.keys():
        print(f"RSS growth, restarted process: {rss['end'] - rss['warm again']:+.1f} MiB")
    ratio = fairness["during burst"] / fairness["alone"]
    print(
        f"first thought p50: alone {fairness['alone']:.1f} ms, during another client's "
        f"burst {fairness['during burst']:.1f} ms ({ratio:.2f}x)"
    )
