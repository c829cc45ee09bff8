"""`npc-brain bench broker`: what a broker and its workers deliver on this machine.

Three set-ups run side by side, each in its own processes, all started before measuring:
one sidecar decoding on two threads; a broker with one worker (one thread); a broker with
two workers (one thread each). One DEALER client (the game) keeps N decide requests in
flight against each in turn, round after round (interleaved, so a machine whose load
drifts treats them alike); reported are the median decisions/s per set-up, ratios of
those medians, and the broker's own cost: its process CPU time per event it forwarded,
over its idle baseline, and at saturation against an echo worker (no model: it answers
each request at once with three thoughts and a decision), which shows how many
decisions/s one broker core can forward.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import signal
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR
from npc_brain.workshop.bench_server import LevelResult, drive, pct, situations

START_TIMEOUT_S = 180


# ---------------------------------------------------------------- the processes


def _sidecar_main(model_dir: str, threads: int, worker: str | None, conn: Any) -> None:
    """A sidecar (worker None) or a worker of the broker whose back end is `worker`."""
    from npc_brain.sidecar.server import Server, ServerConfig

    config = ServerConfig(worker=worker) if worker else ServerConfig(bind="tcp://127.0.0.1:0")
    server = Server.from_model_dir(model_dir, config, "auto", threads)
    conn.send((server.bind(), server.backend))
    _serve(server, conn, lambda: {})


def _broker_main(conn: Any) -> None:
    from npc_brain.sidecar.broker import Broker, BrokerConfig

    broker = Broker(BrokerConfig(front="tcp://127.0.0.1:0", back="tcp://127.0.0.1:0"))
    conn.send(broker.bind())
    _serve(broker, conn, lambda: {"workers": broker.workers, **broker.stats})


def _echo_worker_main(back: str, conn: Any) -> None:
    """A stand-in worker without a model: three steps and a decision per request."""
    import msgpack
    import zmq

    from npc_brain.sidecar import worker_protocol as wp

    sock = zmq.Context().socket(zmq.DEALER)
    sock.connect(back)
    sock.send_multipart(wp.command(wp.READY, wp.encode_info(wp.WorkerInfo(capacity=256))))
    conn.send("ready")
    beat = 0.0
    while not conn.poll(0):
        if time.monotonic() > beat:
            sock.send_multipart(wp.command(wp.HEARTBEAT))
            beat = time.monotonic() + wp.HEARTBEAT_S
        if not sock.poll(100):
            continue
        frames = sock.recv_multipart()
        if frames[1] != wp.REQUEST:
            continue
        route, rid = frames[2], msgpack.unpackb(frames[3])["id"]
        steps = ["the wolf is only 3 m away", "it is too close to hide", "so I flee"]
        for i, text in enumerate(steps):
            event = {"type": "step", "id": rid, "index": i, "text": text}
            sock.send_multipart(wp.command(wp.EVENT, route, wp.STEP, msgpack.packb(event)))
        decision = {"type": "decision", "id": rid, "action": "flee", "target": None}
        decision |= {"steps": steps, "raw": "flee", "tokens": 29, "latency_ms": 1.0}
        sock.send_multipart(wp.command(wp.EVENT, route, wp.TERMINAL, msgpack.packb(decision)))


def _serve(server: Any, conn: Any, stats: Any) -> None:
    """Run `server` until SIGTERM or the bench going away; answer stats requests."""
    signal.signal(signal.SIGTERM, lambda *_: server.stop())

    def answer() -> None:
        with contextlib.suppress(EOFError, OSError):
            while conn.recv() == "stats":
                conn.send({"cpu_s": time.process_time(), **stats()})
        server.stop()  # the pipe closed: the bench is gone

    threading.Thread(target=answer, daemon=True).start()
    server.serve_forever()


class Process:
    """One spawned process; `first` is what it reported once ready (waited for then, so
    processes started one after another load their models side by side)."""

    def __init__(self, target: Any, *args: Any) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=target, args=(*args, child), daemon=True)
        self.proc.start()
        child.close()
        self._first: Any = None

    @property
    def first(self) -> Any:
        if self._first is None:
            if not self.conn.poll(START_TIMEOUT_S):
                self.proc.kill()
                raise RuntimeError(f"a bench process did not start within {START_TIMEOUT_S} s")
            self._first = self.conn.recv()
        return self._first

    def stats(self) -> dict[str, Any]:
        self.conn.send("stats")
        return self.conn.recv()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join(30)
        if self.proc.is_alive():
            self.proc.kill()


class Setup:
    """What one row of the table measures: an address to drive, and its processes."""

    def __init__(self, name: str, model_dir: Path | None, workers: int) -> None:
        self.name = name
        self.processes: list[Process] = []
        self.broker: Process | None = None
        self.results: list[LevelResult] = []
        self.cost = {"cpu_s": 0.0, "events": 0, "requests": 0}  # the broker's, in its runs
        self.workers = workers
        if workers == 0:
            self._start(_sidecar_main, str(model_dir), 2, None)
            return
        self.broker = self._start(_broker_main)
        back = self.broker.first[1]
        for _ in range(workers):
            if model_dir is None:
                self._start(_echo_worker_main, back)
            else:
                self._start(_sidecar_main, str(model_dir), 1, back)

    def ready(self) -> None:
        """Wait until every process of this set-up has started and every worker registered."""
        firsts = [p.first for p in self.processes]
        self.address = firsts[0][0]
        self.backend = firsts[-1][1] if isinstance(firsts[-1], tuple) else "none"
        if self.broker is None:
            return
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.broker.stats()["workers"] < self.workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: the workers did not register")
            time.sleep(0.1)

    def _start(self, target: Any, *args: Any) -> Process:
        process = Process(target, *args)
        self.processes.append(process)
        return process

    def idle_cpu(self, seconds: float = 2.0) -> float:
        """The broker's CPU seconds per second while nothing is asked of it."""
        assert self.broker is not None
        before = self.broker.stats()["cpu_s"]
        time.sleep(seconds)
        return (self.broker.stats()["cpu_s"] - before) / seconds

    def measure(self, bodies: list[dict[str, Any]], in_flight: int, total: int) -> None:
        """One run; a broker's CPU time and traffic are counted over this run alone."""
        before = self.broker.stats() if self.broker else None
        self.results.append(drive(self.address, bodies, in_flight, total))
        if self.broker and before:
            after = self.broker.stats()
            for key in self.cost:
                self.cost[key] += after[key] - before[key]

    def rate(self) -> float:
        return statistics.median(r.decisions / r.seconds for r in self.results)

    def stop(self) -> None:
        for process in reversed(self.processes):  # workers before their broker
            process.stop()


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> int:
    model_dir = Path(args.model) if args.model else DEFAULT_MODEL_DIR
    rounds, in_flight, total = (3, 32, 64) if args.quick else (5, 64, 384)
    echo_total = 1000 if args.quick else 4000
    bodies = situations(256)
    print(f"model {model_dir}; starting a sidecar, a broker with 1 worker, a broker with 2")
    setups: list[Setup] = []
    try:
        for name, workers in (
            ("sidecar, 2 threads", 0),
            ("broker + 1 worker, 1 thread", 1),
            ("broker + 2 workers, 1 thread each", 2),
        ):
            setups.append(Setup(name, model_dir, workers))
        for setup in setups:
            setup.ready()
        print(
            f"backend {setups[0].backend}; one client keeps {in_flight} decide requests in"
            f" flight, {total} per run, {rounds} rounds, set-ups interleaved"
        )
        for setup in setups:  # warm-up: allocations, first batches
            drive(setup.address, bodies, in_flight=8, total=16)
        idle = {s.name: s.idle_cpu() for s in setups if s.broker}
        for n in range(rounds):
            for setup in setups:
                setup.measure(bodies, in_flight, total)
            print(f"  round {n + 1}/{rounds}: " + ", ".join(
                f"{s.results[-1].decisions / s.results[-1].seconds:.1f}" for s in setups
            ) + " decisions/s")  # fmt: skip
        for setup in setups:
            setup.stop()
        echo = Setup("broker + echo worker (no model)", None, 1)
        setups.append(echo)
        echo.ready()
        drive(echo.address, bodies, in_flight=8, total=64)
        idle[echo.name] = echo.idle_cpu()
        echo.measure(bodies, 64, echo_total)
    finally:
        for setup in setups:
            setup.stop()
    print_table(setups[:3])
    print_broker_cost(setups, idle)
    return 0


def print_table(setups: list[Setup]) -> None:
    print(f"\n{'set-up':<36} | decisions/s median (min-max) | decision p50 ms | errors")
    for s in setups:
        rates = [r.decisions / r.seconds for r in s.results]
        latency = pct([ms for r in s.results for ms in r.decision_ms], 0.5)
        errors = sum(r.errors for r in s.results)
        spread = f"{s.rate():.1f} ({min(rates):.1f}-{max(rates):.1f})"
        print(f"{s.name:<36} | {spread:>28} | {latency:>15.0f} | {errors:>6}")
    side, one, two = (s.rate() for s in setups)
    print("\nratios of the medians, this run:")
    print(f"  2 workers / 1 worker            {two / one:.2f}")
    print(f"  2 workers (1 thread each) / sidecar (2 threads)  {two / side:.2f}")
    print(f"  1 worker / sidecar (2 threads)  {one / side:.2f}")


def print_broker_cost(setups: list[Setup], idle: dict[str, float]) -> None:
    print("\nthe broker's cost (its process CPU time during its own runs, less its idle rate):")
    for setup in setups:
        if setup.broker is None:
            continue
        cpu, events, requests = (setup.cost[k] for k in ("cpu_s", "events", "requests"))
        wall = sum(r.seconds for r in setup.results)
        busy = max(cpu - idle[setup.name] * wall, 0.0)
        per_event = busy / max(events, 1) * 1e6
        per_request = busy / max(requests, 1) * 1e6
        print(
            f"  {setup.name}: {requests:,} requests, {events:,} events"
            f" ({events / max(requests, 1):.1f} each) in {wall:.1f} s;"
            f" idle {idle[setup.name]:.1%} of a core, {cpu:.2f} s CPU in all:"
            f" {per_event:.0f} us per event, {per_request:.0f} us per decision"
        )
    echo = setups[-1]
    rate = echo.results[-1].decisions / echo.results[-1].seconds
    per_request = echo.cost["cpu_s"] / max(echo.cost["requests"], 1)
    print(
        f"  at saturation (echo worker): {rate:,.0f} decisions/s forwarded,"
        f" broker CPU {echo.cost['cpu_s'] / echo.results[-1].seconds:.0%} of a core;"
        f" one broker core forwards about {1 / max(per_request, 1e-9):,.0f} decisions/s"
    )
