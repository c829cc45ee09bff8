"""`npc-brain bench server`: the real sidecar through real sockets, 1 to 256 NPCs in flight.

The sidecar runs in its own process (as in a game) and one DEALER client (the game) keeps N
NPCs thinking: each time an NPC's decision arrives, that NPC asks again, the things it sees
having moved a metre (so its prompt starts as before and the prefix cache has its usual
share). The first backend also runs without each speed option (the prefix cache,
jump-forward decoding), side by side. Reported per
level: decisions/s, tokens/s (and its share of the compute ceiling measured in the same
run), and p50/p99 latency from sending a request to its first `step` event and to its
`decision`, for each backend side by side (ONNX Runtime, numpy, torch: whichever runs
here). A last run repeats one level under cProfile in the sidecar and prints where its
time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import multiprocessing as mp
import pstats
import random
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import zmq
from tqdm import tqdm

from npc_brain.npc.decision import plan_decision
from npc_brain.npc.state import NPCState
from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, has_weights, load_tokenizer, train_info
from npc_brain.nrm.config import NRMConfig
from npc_brain.nrm.runtime import RuntimeUnavailableError, load_runtime
from npc_brain.nrm.trace import prompt_ids
from npc_brain.workshop.bench_model import flops_per_token, matmul_flops
from npc_brain.workshop.data.npc import random_situation

LEVELS = (1, 16, 64, 256)
# The sidecar's speed options, each measured off beside the served default.
WITHOUT: dict[str, dict[str, Any]] = {
    "the prefix cache": {"prefix_tokens": 0},
    "jump-forward decoding": {"jump": False},
}
PROFILE_LEVEL = 64
SITUATIONS = 256


def run(args: argparse.Namespace) -> int:
    model_dir = Path(args.model) if args.model else DEFAULT_MODEL_DIR
    if not has_weights(model_dir):
        print(f"no model at {model_dir}; pass --model DIR (e.g. one made by `npc-brain train`)")
        return 2
    requests = situations(SITUATIONS)
    steps = train_info(model_dir).get("steps")
    print(f"model {model_dir}" + (f" (trained {steps} steps)" if steps else ""))
    print("sidecar in its own process, one DEALER client keeping N decide requests in flight")
    backends = runnable_backends(model_dir)
    if not backends:
        return 2
    peak = matmul_flops()
    print(f"matmul peak {peak / 1e9:.0f} GFLOP/s (the ceiling below: peak / FLOPs per token)")
    # Each backend as served, then the first without each of its options (same run).
    runs = [(b, "", {}) for b in backends] + [
        (backends[0], label, change) for label, change in WITHOUT.items()
    ]
    rates: dict[str, list[float]] = {}
    for backend, without, change in runs:
        results = []
        with Sidecar(model_dir, backend=backend, config=change) as sidecar:
            drive(sidecar.endpoint, requests, in_flight=4, total=16)  # warm-up: allocations
            for level in LEVELS:
                total = max(3 * level, 30) if args.quick else max(6 * level, 100)
                results.append(drive(sidecar.endpoint, requests, level, total, rethink=True))
        ceiling = peak / flops_per_token(
            NRMConfig.load(model_dir / "config.json"), mean_context(model_dir, requests, results)
        )
        label = f"{backend} without {without}" if without else backend
        print(f"\n{label}: ceiling {ceiling:,.0f} tokens/s", end="")
        print_table(results, ceiling)
        if backend == backends[0]:
            rates[without] = [r.decisions / r.seconds for r in results]
    for without in WITHOUT:
        ratios = ", ".join(
            f"{level}: {on / off:.2f}x"
            for level, on, off in zip(LEVELS, rates[""], rates[without], strict=True)
        )
        print(f"\n{without} on / off ({backends[0]}, decisions/s, same run): {ratios}")
    with tempfile.TemporaryDirectory(prefix="npc-bench-") as tmp:
        profile_path = str(Path(tmp) / "sidecar.prof")
        with Sidecar(model_dir, profile_path, backends[0]) as sidecar:
            drive(sidecar.endpoint, requests, in_flight=4, total=16)
            total = 3 * PROFILE_LEVEL if args.quick else 6 * PROFILE_LEVEL
            profiled = drive(sidecar.endpoint, requests, PROFILE_LEVEL, total, rethink=True)
        print_profile(profile_path, profiled)
    return 0


def runnable_backends(model_dir: Path) -> list[str]:
    found = []
    for name in ("onnx", "numpy", "torch"):
        try:
            load_runtime(model_dir, name)
            found.append(name)
        except RuntimeUnavailableError as exc:
            print(f"{name}: not measured ({exc})")
    return found


def mean_context(model_dir: Path, bodies: list[dict[str, Any]], results: list) -> int:
    """Average tokens a decoded token attends to: the prompt plus half the completion."""
    tok = load_tokenizer(model_dir)
    prompts = [
        len(prompt_ids(tok, plan_decision(NPCState.model_validate(b["npc"]), b["actions"]).prompt))
        for b in bodies
    ]
    per = sum(r.tokens for r in results) / max(1, sum(r.decisions for r in results))
    return round(sum(prompts) / len(prompts) + per / 2)


def situations(n: int) -> list[dict[str, Any]]:
    """Varied NPC situations from the data generator, as decide request bodies."""
    rng = random.Random(2024)
    out = []
    for _ in range(n):
        state, actions = random_situation(rng)
        out.append({"type": "decide", "npc": state.model_dump(), "actions": actions})
    return out


def moved(body: dict[str, Any], round_: int) -> dict[str, Any]:
    """The NPC's request on its `round_`th thought: everything it sees a metre off from
    before (nearer on odd rounds), all else as it was."""
    step = -1 if round_ % 2 else 1
    seen = [p | {"distance": max(0, p["distance"] + step)} if p.get("distance") is not None
            else p for p in body["npc"].get("perception") or []]  # fmt: skip
    return body | {"npc": body["npc"] | {"perception": seen}}


# ---------------------------------------------------------------- the sidecar process


def _serve(
    model_dir: str, conn: Any, profile_path: str | None, backend: str, change: dict[str, Any]
) -> None:
    from npc_brain.sidecar.server import Server, ServerConfig

    config = ServerConfig(bind="tcp://127.0.0.1:0", **change)
    server = Server.from_model_dir(model_dir, config, backend)
    conn.send(server.bind())
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    # If the bench dies without stopping us, the pipe closes: stop rather than linger.
    threading.Thread(target=_stop_when_parent_goes, args=(conn, server), daemon=True).start()
    if profile_path is None:
        server.serve_forever()
        return
    profiler = cProfile.Profile()
    profiler.runcall(server.serve_forever)
    profiler.dump_stats(profile_path)


def _stop_when_parent_goes(conn: Any, server: Any) -> None:
    with contextlib.suppress(EOFError, OSError):
        conn.recv()
    server.stop()


class Sidecar:
    """The server in a spawned process; the endpoint is known once it has bound."""

    def __init__(
        self,
        model_dir: Path,
        profile_path: str | None = None,
        backend: str = "auto",
        config: dict[str, Any] | None = None,
    ) -> None:
        """`config`: ServerConfig fields to change from the defaults."""
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        args = (str(model_dir), child, profile_path, backend, config or {})
        self.proc = ctx.Process(target=_serve, args=args)
        self.proc.start()
        child.close()
        if not parent.poll(120):
            self.proc.kill()
            raise RuntimeError("the sidecar did not start within 120 s")
        self.endpoint: str = parent.recv()
        self._conn = parent  # held open: its closing tells the sidecar the bench is gone

    def __enter__(self) -> Sidecar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()  # SIGTERM: clean stop (and the profile is written)
        self.proc.join(60)
        if self.proc.is_alive():
            self.proc.kill()


# ---------------------------------------------------------------- the client side


@dataclass
class LevelResult:
    in_flight: int
    decisions: int
    seconds: float
    tokens: int
    first_step_ms: list[float] = field(default_factory=list)
    decision_ms: list[float] = field(default_factory=list)
    errors: int = 0


def drive(
    endpoint: str,
    bodies: list[dict[str, Any]],
    in_flight: int,
    total: int,
    rethink: bool = False,
) -> LevelResult:
    """Keep `in_flight` requests going until `total` have finished: the next of `bodies`
    each time one ends, or (`rethink`) the same NPC again, its surroundings moved."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    sent: dict[int, float] = {}
    first: dict[int, float] = {}
    result = LevelResult(in_flight, 0, 0.0, 0)
    next_id = 0
    npc_of: dict[int, int] = {}  # request id -> index of the NPC asking
    rounds = [0] * len(bodies)

    def send(npc: int) -> None:
        nonlocal next_id
        body = bodies[npc] if not rounds[npc] else moved(bodies[npc], rounds[npc])
        sent[next_id], npc_of[next_id] = time.perf_counter(), npc
        sock.send(msgpack.packb(body | {"id": next_id}))
        next_id += 1

    start = time.perf_counter()
    for _ in range(min(in_flight, total)):
        send(next_id % len(bodies))
    bar = tqdm(total=total, desc=f"{in_flight:>3} in flight", leave=False, unit="decision")
    while result.decisions + result.errors < total:
        if not sock.poll(60_000):
            raise RuntimeError("the sidecar stopped answering")
        ev = msgpack.unpackb(sock.recv())
        now = time.perf_counter()
        rid = ev["id"]
        if ev["type"] == "step":
            first.setdefault(rid, now)
            continue
        if ev["type"] == "decision":
            result.decisions += 1
            result.tokens += ev["tokens"]
            result.decision_ms.append((now - sent[rid]) * 1000)
            if rid in first:
                result.first_step_ms.append((first.pop(rid) - sent[rid]) * 1000)
        else:
            result.errors += 1
        bar.update(1)
        npc = npc_of.pop(rid, None)
        if next_id < total and rethink and npc is not None:
            rounds[npc] += 1
            send(npc)
        elif next_id < total:
            send(next_id % len(bodies))
    bar.close()
    result.seconds = time.perf_counter() - start
    sock.close()
    return result


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def print_table(results: list[LevelResult], ceiling: float) -> None:
    print()
    print(
        "in flight | decisions | decisions/s | tokens/s | of ceiling | tokens/decision"
        " | first thought p50/p99 ms | decision p50/p99 ms"
    )
    for r in results:
        rate = r.decisions / r.seconds
        per = r.tokens / max(r.decisions, 1)
        first = f"{pct(r.first_step_ms, 0.5):.1f} / {pct(r.first_step_ms, 0.99):.1f}"
        done = f"{pct(r.decision_ms, 0.5):.1f} / {pct(r.decision_ms, 0.99):.1f}"
        errors = f" ({r.errors} errors)" if r.errors else ""
        print(
            f"{r.in_flight:>9} | {r.decisions:>9} | {rate:>11.1f} | {r.tokens / r.seconds:>8,.0f} |"
            f" {r.tokens / r.seconds / ceiling:>10.1%} |"
            f" {per:>15.1f} | {first:>24} | {done:>19}{errors}"
        )


# Where the sidecar's time goes: (label, file suffix, function name), cumulative time each.
PROFILE_PARTS = (
    ("serve loop (total)", "server.py", "serve_forever"),
    ("  engine step", "engine.py", "step"),
    ("    model forward (decode)", "engine.py", "_decode"),
    ("    model forward (prefill)", "engine.py", "_prefill"),
    ("    token choice: masks + argmax", "engine.py", "_choose"),
    ("    constraint bookkeeping", "constraints.py", "advance"),
    ("  trace parsing", "trace.py", "feed"),
    ("  scheduler admission", "scheduler.py", "_admit"),
    ("  reading requests (recv + validate + prompt)", "server.py", "_read_waiting"),
    ("    request validation", "protocol.py", "decode_request"),
    ("    decision plan (prompt, options, thought rules)", "decision.py", "plan_decision"),
    ("  sending events (encode + send)", "server.py", "_send"),
    ("    event encoding", "protocol.py", "encode_event"),
    ("  idle wait (poll)", "socket.py", "poll"),
)


def print_profile(path: str, run_result: LevelResult) -> None:
    if not Path(path).is_file():
        print("profile: the sidecar wrote no profile")
        return
    stats = pstats.Stats(path).stats  # type: ignore[attr-defined]
    parts: dict[tuple[str, str], tuple[int, float]] = {}  # -> (calls, cumulative seconds)
    wanted = {(suffix, fn) for _, suffix, fn in PROFILE_PARTS}
    for (filename, _, name), (_, calls, _, ct, _) in stats.items():
        for suffix, fn in wanted:
            if name == fn and filename.endswith(suffix):
                n, t = parts.get((suffix, fn), (0, 0.0))
                parts[(suffix, fn)] = (n + calls, t + ct)
    total = parts.get(("server.py", "serve_forever"), (0, 0.0))[1]
    rate = run_result.decisions / run_result.seconds
    print(
        f"\nprofile of the sidecar at {run_result.in_flight} in flight under cProfile"
        f" ({rate:.1f} decisions/s with profiling overhead), cumulative time:"
    )
    for label, suffix, fn in PROFILE_PARTS:
        calls, t = parts.get((suffix, fn), (0, 0.0))
        share = t / total if total else 0.0
        per_call = f"{t / calls * 1000:>8.2f} ms/call" if calls else ""
        print(f"  {label:<48} {t:>7.2f} s {share:>6.1%} {calls:>8,} calls {per_call}")
    print("  top functions by own time:")
    ranked = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:8]
    for (filename, line, name), (_, calls, tt, _, _) in ranked:
        where = f"{Path(filename).name}:{line}" if line else filename
        print(f"    {tt:>7.2f} s {calls:>9,} calls  {name} ({where})")
