"""`npc-brain install-addon`, `addon-zip` and `demo`: the Godot side of npc-brain."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from npc_brain.godot.addon import AddonError, install_addon
from npc_brain.godot.asset_zip import build_asset_zip, default_zip_name

INSTALL_DESCRIPTION = """\
Copy the npc_brain addon into PATH/addons/npc_brain/ (PATH is the folder holding
project.godot), replacing an earlier copy. Then, in the Godot editor, enable it in
Project > Project Settings > Plugins, which registers the NPCBrain autoload.
"""

ZIP_DESCRIPTION = """\
Build the addon as a zip holding addons/npc_brain/ (code, README, LICENSE, icon; plugin.cfg
carries this package's version). Import it in the Godot editor's AssetLib tab ("Import..."),
or give it to the Godot Asset Library as the download.
"""

DEMO_DESCRIPTION = """\
Play the demo village in a browser: starts the brain with the bundled model and serves the
village on this machine with the Godot 4.6 web runtime (fetched once with npm), then prints
the address to open. Ctrl-C stops everything.
"""


def add_install(p: argparse.ArgumentParser) -> None:
    p.description = INSTALL_DESCRIPTION
    p.add_argument("path", type=Path, help="the Godot project folder (it holds project.godot)")
    p.set_defaults(func=_install)


def add_zip(p: argparse.ArgumentParser) -> None:
    p.description = ZIP_DESCRIPTION
    p.add_argument(
        "--out",
        type=Path,
        default=Path(default_zip_name()),
        metavar="PATH",
        help="the zip file, or a folder to put it in (default: ./%(default)s)",
    )
    p.set_defaults(func=_zip)


def add_demo(p: argparse.ArgumentParser) -> None:
    from npc_brain.godot.demo import DEFAULT_PAGE_PORT, DEFAULT_WS_PORT

    p.description = DEMO_DESCRIPTION
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PAGE_PORT,
        help=f"HTTP port of the page; 0 picks a free one (default: {DEFAULT_PAGE_PORT})",
    )
    p.add_argument(
        "--ws-port",
        type=int,
        default=DEFAULT_WS_PORT,
        help="port of the brain's WebSocket relay; 0 picks a free one "
        f"(default: {DEFAULT_WS_PORT})",
    )
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="DIR",
        help="model directory (default: the bundled model)",
    )
    p.add_argument(
        "--no-sidecar",
        action="store_true",
        help="start no brain; use one already running with `npc-brain serve --ws` "
        "(default: start one)",
    )
    p.add_argument(
        "--brain",
        default=None,
        metavar="URL",
        help="ws:// or wss:// address the page connects to (default: this demo's relay, or "
        "ws://127.0.0.1:<ws-port> with --no-sidecar)",
    )
    p.add_argument(
        "--open",
        action="store_true",
        help="also open the page in the default browser (default: only print the address)",
    )
    p.set_defaults(func=_demo)


PARSERS = {"install-addon": add_install, "addon-zip": add_zip, "demo": add_demo}


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


def _zip(args: argparse.Namespace) -> int:
    try:
        built = build_asset_zip(args.out)
    except (AddonError, OSError) as exc:
        print(f"npc-brain addon-zip: {exc}", file=sys.stderr)
        return 2
    summary = f"addon {built.version}, {len(built.files)} files, {built.size:,} bytes"
    print(f"Wrote {built.path} ({summary}).")
    print("Import it in the Godot editor: AssetLib tab > Import..., then enable the plugin.")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from npc_brain.godot.demo import DemoError, DemoOptions, run_demo
    from npc_brain.godot.web import PackError, RuntimeFetchError

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
