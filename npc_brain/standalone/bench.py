"""`npc-brain bench sidecar`: the standalone sidecar's size and start-up time.

Builds the sidecar into a temporary folder (or takes a built one with --sidecar), then
starts it several times on a free loopback port, as a game would, and measures from the
moment the process is started: the first `pong`, and the first decision (an NPC's whole
trace, the first request after start). Prints the medians, and the CPU time the sidecar
used for a start, that decision and its stop (on a busy machine the wall times grow, the
CPU time does not; POSIX only).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from npc_brain.sidecar.client import Client
from npc_brain.sidecar.protocol import DecisionEvent, StepEvent
from npc_brain.standalone.build import BuildError, build_sidecar, executable_name, folder_size

TIMEOUT_S = 120.0
NPC = {
    "id": "guard-1",
    "name": "Bram",
    "role": "guard",
    "health": 80,
    "perception": [{"name": "wolf", "kind": "animal", "distance": 4, "hostile": True}],
}
ACTIONS = ["attack", "flee", "call_for_help"]


@dataclass
class Start:
    pong_s: float  # process start -> first pong
    decision_s: float  # process start -> the first decision, all its thoughts streamed
    cpu_s: float | None  # the sidecar's CPU time from start to stop (None: not measured)
    thoughts: list[str]
    decision: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_once(exe: Path) -> Start:
    """Start the sidecar, wait for its first pong and its first decision, stop it."""
    address = f"tcp://127.0.0.1:{free_port()}"
    cpu_before = children_cpu_s()
    began = time.perf_counter()
    proc = subprocess.Popen(
        [str(exe), "--bind", address, "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with Client(address, timeout=TIMEOUT_S) as client:
            client.ping()  # the DEALER reconnects until the sidecar listens
            pong_s = time.perf_counter() - began
            events = list(client.decide(NPC, ACTIONS))
            decision_s = time.perf_counter() - began
    except TimeoutError:
        proc.kill()
        _, err = proc.communicate(timeout=TIMEOUT_S)
        raise RuntimeError(f"{exe} did not answer within {TIMEOUT_S:.0f} s:\n{err}") from None
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=TIMEOUT_S)
    thoughts = [e.text for e in events if isinstance(e, StepEvent)]
    final = events[-1]
    assert isinstance(final, DecisionEvent)
    decision = f"{final.action} {final.target or ''}".strip()
    cpu_after = children_cpu_s()
    cpu_s = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Start(pong_s, decision_s, cpu_s, thoughts, decision)


def children_cpu_s() -> float | None:
    """User + system CPU seconds of every child process that has ended (POSIX only)."""
    if os.name != "posix":
        return None
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="npc-bench-sidecar-") as tmp:
        if args.sidecar:
            exe = Path(args.sidecar)
            exe = exe / executable_name() if exe.is_dir() else exe
        else:
            print("building the sidecar with PyInstaller (a few minutes)...", flush=True)
            try:
                exe = build_sidecar(Path(tmp) / "npc_brain_sidecar", model_dir=args.model)
            except BuildError as exc:
                print(f"npc-brain bench sidecar: {exc}")
                return 2
        if not exe.is_file():
            print(f"no sidecar at {exe}; pass the folder `npc-brain build-sidecar` wrote")
            return 2
        folder = exe.parent
        print(f"sidecar {exe}: {folder_size(folder) / 1e6:.1f} MB ({folder})")
        runs = [start_once(exe) for _ in range(3 if args.quick else 5)]
    first = runs[0]
    print(f"first decision: {first.decision}; thoughts: {' | '.join(first.thoughts)}")
    pong = statistics.median(r.pong_s for r in runs)
    decision = statistics.median(r.decision_s for r in runs)
    print(f"start-up, median of {len(runs)} starts: first pong {pong:.2f} s, ", end="")
    print(f"first decision {decision:.2f} s (from starting the process)")
    cpu = [r.cpu_s for r in runs if r.cpu_s is not None]
    if cpu:
        cpu_s = statistics.median(cpu)
        print(f"the sidecar's CPU time for a start, first decision and stop, median: {cpu_s:.2f} s")
    return 0
