"""`npc-brain bench model|server|broker|soak|sidecar`: speed, fault and size figures."""

from __future__ import annotations

import argparse
import importlib

TARGETS = {
    "model": "npc_brain.workshop.bench_model",
    "server": "npc_brain.workshop.bench_server",
    "broker": "npc_brain.workshop.bench_broker",
    "soak": "npc_brain.workshop.bench_soak",
    "sidecar": "npc_brain.standalone.bench",
}
DESCRIPTION = """\
Print speed figures. `model`: decode tokens/s for 1 to 256 NPCs at once and the time to
the first thought. `server`: decisions/s and latency through a real sidecar. `broker`:
decisions/s of one sidecar on two threads against a broker with one and with two workers
(one thread each), and the broker's CPU cost per event. `sidecar`:
the standalone brain's size (`npc-brain build-sidecar`) and its start-up time to the first
pong and the first decision.
"""


def add_bench(p: argparse.ArgumentParser) -> None:
    p.description = DESCRIPTION
    p.add_argument(
        "target",
        choices=sorted(TARGETS),
        help="what to measure: model, server, broker, soak or sidecar",
    )
    p.add_argument(
        "--model", default=None, metavar="DIR", help="model directory (default: the bundled model)"
    )
    p.add_argument("--quick", action="store_true", help="fewer repetitions (default: the full run)")
    p.add_argument(
        "--sidecar",
        default=None,
        metavar="DIR",
        help="sidecar only: a folder `npc-brain build-sidecar` wrote (default: build one now)",
    )
    p.set_defaults(func=_run)


PARSERS = {"bench": add_bench}


def _run(args: argparse.Namespace) -> int:
    return importlib.import_module(TARGETS[args.target]).run(args)
