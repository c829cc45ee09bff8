"""`npc-brain build-sidecar`: the standalone sidecar a game ships to its players."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from npc_brain.standalone.build import (
    BACKENDS,
    DEFAULT_BACKEND,
    DEFAULT_OUT,
    SIDECAR,
    BuildError,
    build_sidecar,
    folder_size,
)

DESCRIPTION = f"""\
Build the standalone brain for players: one folder holding the model and everything it
runs on (no Python, no torch on the player's machine). Copy the folder beside your
exported game's executable; the addon finds {DEFAULT_OUT}/{SIDECAR} there,
starts it when the game first needs the brain, and it stops when the game exits
(Project Settings > npc_brain/sidecar/bundled_path). Build on each platform you ship
(Windows, macOS, Linux): a build runs only on the kind of system it was built on.
Needs PyInstaller: pip install 'npc-brain[standalone]'. Takes a few minutes.
"""


def add_build_sidecar(p: argparse.ArgumentParser) -> None:
    p.description = DESCRIPTION
    p.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"the folder to write; an earlier build there is replaced (default: ./{DEFAULT_OUT})",
    )
    p.add_argument(
        "--onefile",
        action="store_true",
        help="one smaller file instead of a folder; it unpacks itself at every start, so it"
        " starts slower (default: off, a folder)",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help="what runs the model: numpy (model.npz, the smaller build) or onnx (model.onnx on"
        " ONNX Runtime: ~37 MB more, a little less CPU time per decision, up to 4 cores per"
        f" step) (default: {DEFAULT_BACKEND})",
    )
    p.add_argument(
        "--model", default=None, metavar="DIR", help="model directory (default: the bundled model)"
    )
    p.set_defaults(func=run)


PARSERS = {"build-sidecar": add_build_sidecar}


def run(args: argparse.Namespace) -> int:
    print(f"building {args.out} ({args.backend}) with PyInstaller (a few minutes)...", flush=True)
    start = time.perf_counter()
    try:
        exe = build_sidecar(
            args.out, onefile=args.onefile, model_dir=args.model, backend=args.backend
        )
    except BuildError as exc:
        print(f"npc-brain build-sidecar: {exc}", file=sys.stderr)
        return 2
    folder = exe.parent
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    print(f"built {exe} in {time.perf_counter() - start:.0f} s")
    what = "1 file" if files == 1 else f"{files} files"
    print(f"size: {folder_size(folder) / 1e6:.1f} MB ({what} in {folder})")
    print(f"try it: {Path(exe)} --bind tcp://127.0.0.1:5555")
    return 0
