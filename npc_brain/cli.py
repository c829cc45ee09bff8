"""The `npc-brain` command line.

Only the chosen command's module is imported, so `npc-brain --help` and the commands that
never run the model (ask, install-addon, addon-zip) start without loading torch.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import sys

from npc_brain import __version__

DESCRIPTION = """\
Give Godot NPCs a tiny reasoning model that thinks out loud: each NPC streams short
thoughts ("the wolf is close", "so I flee"), then decides on one of the actions you allow.

Start here:
  npc-brain demo                          play the demo village in your browser
  npc-brain install-addon PATH            add the Godot addon to your game project
  npc-brain serve --ws 127.0.0.1:5556     run the brain next to your game
  npc-brain ask npc.json --actions attack flee
                                          try one NPC's decision from the terminal
"""
EPILOG = "Run `npc-brain COMMAND --help` for what a command does and all its options."

# name -> (module whose PARSERS[name] fills in the command's parser, summary for --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("npc_brain.commands.godot", "play the demo village in a browser page"),
    "install-addon": ("npc_brain.commands.godot", "copy the Godot addon into a Godot project"),
    "addon-zip": ("npc_brain.commands.godot", "build the addon zip for the Godot Asset Library"),
    "build-sidecar": (
        "npc_brain.commands.build_sidecar",
        "build the standalone brain a game ships to its players",
    ),
    "serve": ("npc_brain.commands.serve", "run the brain (the sidecar) for your game"),
    "ask": ("npc_brain.commands.serve", "ask a running sidecar for one NPC decision"),
    "broker": ("npc_brain.commands.broker", "put many sidecars (workers) behind one address"),
    "train": ("npc_brain.commands.train", "train a model of your own"),
    "eval": ("npc_brain.commands.evaluate", "measure a model on the evaluation suites"),
    "bench": ("npc_brain.commands.bench", "print speed figures for the model or the sidecar"),
    "export": (
        "npc_brain.commands.export",
        "write model.npz and model.onnx, the torch-free runtimes' weights",
    ),
    "keys": ("npc_brain.commands.keys", "make key pairs and a token for serving beyond loopback"),
}


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the options of `command` (only its module is imported)."""
    # allow_abbrev=False: `--temp` is reported as unknown, never taken for `--temperature`.
    parser = argparse.ArgumentParser(
        prog="npc-brain",
        description=DESCRIPTION,
        epilog=EPILOG,
        allow_abbrev=False,
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"npc-brain {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    for name, (module, summary) in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            allow_abbrev=False,
            formatter_class=_formatter,
        )
        if name == command:
            importlib.import_module(module).PARSERS[name](p)
    return parser


def command_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The sub-parser of command `name` inside `parser`."""
    for action in parser._subparsers._group_actions:  # argparse keeps no public handle
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise KeyError(name)


def _chosen_command(argv: list[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _reject_unknown(parser: argparse.ArgumentParser, extra: list[str]) -> None:
    """Exit with a usage error naming each unknown option and the option it resembles."""
    known = [s for action in parser._actions for s in action.option_strings]
    flags = [arg.split("=", 1)[0] for arg in extra if arg.startswith("-")]
    if not flags:  # no unknown option: stray words, e.g. a second state file
        parser.error(f"unexpected argument(s): {' '.join(extra)}")
    problems = []
    for flag in flags:
        close = [k for k in known if k.startswith(flag)] or difflib.get_close_matches(flag, known)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(f"unknown option {flag}{hint}")
    parser.error("; ".join(problems))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _chosen_command(argv)
    parser = build_parser(command if command in COMMANDS else None)
    args, extra = parser.parse_known_args(argv)
    if extra:
        _reject_unknown(command_parser(parser, args.command), extra)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
