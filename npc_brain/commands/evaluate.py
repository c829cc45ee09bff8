"""`npc-brain eval [MODEL_DIR]`: the card's table side by side, plus NPC metrics."""

from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = """\
Evaluate a model: the reasoning suites next to the reference card, harder splits, the
hand-typed reasoning questions, NPC decision metrics and the hand-written designer set.
Prints a table and writes a JSON report.
"""


def add_eval(p: argparse.ArgumentParser) -> None:
    p.description = DESCRIPTION
    p.add_argument(
        "model_dir", nargs="?", default=None, help="model directory (default: the bundled model)"
    )
    p.add_argument(
        "--items",
        type=int,
        default=200,
        help="items per task and split; use 200 or more for reports (default: 200)",
    )
    p.add_argument("--npc-items", type=int, default=400, help="NPC decision items (default: 400)")
    p.add_argument(
        "--json",
        default="eval_report.json",
        metavar="PATH",
        help="where to write the JSON report (default: eval_report.json)",
    )
    p.set_defaults(func=_run)


PARSERS = {"eval": add_eval}


def _run(args: argparse.Namespace) -> int:
    import torch

    from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, generate_dir, load_model
    from npc_brain.workshop.evaluate import evaluate, format_report, write_report

    torch.set_num_threads(2)
    model, tok = load_model(args.model_dir)
    # A reasoning specialist in the directory's generate/ runs the card's tasks.
    d, g = Path(args.model_dir or DEFAULT_MODEL_DIR), generate_dir(args.model_dir)
    reasoner = load_model(g) if g != d else None
    report = evaluate(model, tok, args.items, args.npc_items, reasoner)
    print(format_report(report))
    write_report(report, args.json)
    print(f"wrote {args.json} ({report['seconds']} s)")
    return 0
