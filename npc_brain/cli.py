"""`npc-brain` command line: each sub-command lives in npc_brain/commands/<name>.py."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module defines register(subparsers) adding its sub-commands; handlers are
# stored as `func` on the parsed namespace and return an exit code.
COMMAND_MODULES = (
    "npc_brain.commands.train",
    "npc_brain.commands.evaluate",
    "npc_brain.commands.bench",
    "npc_brain.commands.serve",
    "npc_brain.commands.keys",
    "npc_brain.commands.godot",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="npc-brain", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
