"""`npc-brain bench model|server|soak`: throughput, latency and fault figures (not tests)."""

from __future__ import annotations

import argparse
import importlib

TARGETS = {
    "model": "npc_brain.workshop.bench_model",
    "server": "npc_brain.workshop.bench_server",
    "soak": "npc_brain.workshop.bench_soak",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="print throughput/latency benchmarks")
    p.add_argument("target", choices=sorted(TARGETS))
    p.add_argument("--model", default=None, help="model directory (default: bundled)")
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    return importlib.import_module(TARGETS[args.target]).run(args)
