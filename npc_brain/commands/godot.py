"""`npc-brain install-addon PATH` and `npc-brain demo`: the Godot side of npc-brain."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from npc_brain.godot.addon import AddonError, install_addon
from npc_brain.godot.demo import (
    DEFAULT_PAGE_PORT,
    DEFAULT_WS_PORT,
    DemoError,
    DemoOptions,
    run_demo,
)
from npc_brain.godot.web import PackError, RuntimeFetchError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "install-addon",
        help="copy the Godot addon into a Godot project's addons/npc_brain/",
        description="Copy the npc_brain addon into PATH/addons/npc_brain/ (PATH holds "
        "project.godot), replacing an earlier copy. Then enable it in Project > Project "
        "Settings > Plugins, which registers the NPCBrain autoload.",
    )
    p.add_argument("path", type=Path, help="the Godot project folder (holds project.godot)")
    p.set_defaults(func=_install)

    d = sub.add_parser(
        "demo",
        help="play the demo village in a browser, thinking with the bundled model",
        description="Start the sidecar with the bundled model and serve the demo village on "
        "loopback with the Godot 4.6 web runtime; prints the URL. Ctrl-C stops everything.",
    )
    d.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PAGE_PORT,
        help=f"HTTP port of the page (default {DEFAULT_PAGE_PORT}; 0 picks a free one)",
    )
    d.add_argument(
        "--ws-port",
        type=int,
        default=DEFAULT_WS_PORT,
        help=f"WebSocket relay port (default {DEFAULT_WS_PORT}; 0 picks a free one)",
    )
    d.add_argument("--model", type=Path, default=None, help="model directory (default: bundled)")
    d.add_argument(
        "--no-sidecar",
        action="store_true",
        help="start no sidecar: use one already running with `npc-brain serve --ws`",
    )
    d.add_argument(
        "--brain",
        default=None,
        metavar="URL",
        help="address the page connects to (default: this demo's relay, or "
        "ws://127.0.0.1:<ws-port> with --no-sidecar)",
    )
    d.add_argument("--open", action="store_true", help="also open the page in the default browser")
    d.set_defaults(func=_demo)


def _install(args: argparse.Namespace) -> int:
    try:
        result = install_addon(args.path)
    except (AddonError, OSError) as exc:
        print(f"npc-brain install-addon: {exc}", file=sys.stderr)
        return 2
    if result.linked:
        print(f"{result.destination} already links to {result.source}; nothing to copy")
        return 0
    verb = "Replaced" if result.replaced else "Installed"
    print(f"{verb} {result.destination} ({result.files} files from {result.source}).")
    print("Enable it in Project > Project Settings > Plugins (this registers NPCBrain).")
    return 0


def _demo(args: argparse.Namespace) -> int:
    if args.brain is not None and not args.brain.startswith(("ws://", "wss://")):
        print("npc-brain demo: --brain must be a ws:// or wss:// URL", file=sys.stderr)
        return 2
    try:
        options = DemoOptions(
            page_port=args.port,
            ws_port=args.ws_port,
            model_dir=args.model,
            sidecar=not args.no_sidecar,
            brain_address=args.brain,
            open_browser=args.open,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        print(f"npc-brain demo: {problems}", file=sys.stderr)
        return 2
    try:
        return run_demo(options)
    except (DemoError, AddonError, PackError, RuntimeFetchError, OSError) as exc:
        print(f"npc-brain demo: {exc}", file=sys.stderr)
        return 1
