"""`npc-brain export`: write model.npz (model.pt's parameters) and model.onnx (a graph over
them) next to model.pt for the torch-free runtimes (numpy and ONNX Runtime)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_export(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "model", nargs="?", default=None, help="model directory (default: the bundled model)"
    )
    p.set_defaults(func=export)


PARSERS = {"export": add_export}


def export(args: argparse.Namespace) -> int:
    from npc_brain.nrm.runtime import has_torch

    if not has_torch():
        print(
            "npc-brain export: reading model.pt needs torch and onnx:"
            " pip install 'npc-brain[train]'",
            file=sys.stderr,
        )
        return 2
    from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, ModelNotFoundError, generate_dir

    model_dir = Path(args.model) if args.model else DEFAULT_MODEL_DIR
    dirs = dict.fromkeys([model_dir, generate_dir(model_dir)])  # and its generate/ specialist
    try:
        from npc_brain.nrm import export_numpy, export_onnx

        # The graph points into model.npz, so that is written first.
        paths = [p for d in dirs for p in (export_numpy.export(d), export_onnx.export(d))]
    except (ModelNotFoundError, ImportError) as exc:
        print(f"npc-brain export: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
