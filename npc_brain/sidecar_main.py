"""The standalone sidecar's program (`npc-brain-sidecar`): `npc-brain serve` on the model
frozen beside it, with the same options, plus --exit-with.

`npc-brain build-sidecar` freezes this file with PyInstaller (npc_brain/standalone/build.py).
The bundle holds the model's export alone (model.npz for numpy, plus the model.onnx graph
over it for ONNX Runtime), so `--backend auto` runs that one: no torch. Like cli.py it is a
program, so it sits above commands/.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from npc_brain.commands.serve import add_serve
from npc_brain.standalone import MODEL_FOLDER

PROG = "npc-brain-sidecar"
POLL_S = 0.5


def bundled_model_dir() -> Path | None:
    """The model inside the bundle; None when not frozen (serve's default model then)."""
    base = getattr(sys, "_MEIPASS", None)
    return Path(base) / MODEL_FOLDER if base else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, allow_abbrev=False)
    add_serve(parser)
    parser.add_argument(
        "--exit-with",
        type=int,
        default=None,
        metavar="PID",
        help="stop once process PID has exited, e.g. the game that started this sidecar, even"
        " after a crash (default: run until stopped)",
    )
    model = bundled_model_dir()
    if model is not None:
        parser.set_defaults(model=str(model))
    return parser


def process_exists(pid: int) -> bool:
    """POSIX: whether process `pid` still runs (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def wait_for_exit(pid: int) -> None:
    """Return once process `pid` has exited (at once when there is none)."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate it on Windows
        import ctypes

        synchronize, infinite = 0x00100000, 0xFFFFFFFF
        kernel32 = ctypes.WinDLL("kernel32")
        handle = kernel32.OpenProcess(synchronize, False, pid)
        if handle:
            kernel32.WaitForSingleObject(handle, infinite)
            kernel32.CloseHandle(handle)
        return
    while process_exists(pid):
        time.sleep(POLL_S)


def exit_with(pid: int) -> None:
    """Stop this process as SIGTERM does (cleanly) once process `pid` has exited."""

    def watch() -> None:
        wait_for_exit(pid)
        signal.raise_signal(signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.exit_with is not None:
        exit_with(args.exit_with)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
