"""`npc-brain keys`: CURVE key pairs and WebSocket tokens for a sidecar beyond loopback."""

from __future__ import annotations

import argparse
import sys

from npc_brain.sidecar.auth import make_key_pair, make_token


def add_keys(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Writes NAME.key (public: give it to the other side) and NAME.key_secret "
        "(private: keep it) for each name. Serve with --curve-secret DIR/server.key_secret "
        "--curve-clients DIR_OF_CLIENT_KEYS; connect with --server-key DIR/server.key "
        "--client-key DIR/client.key_secret."
    )
    p.add_argument("directory", help="where to write the files (created if missing)")
    p.add_argument(
        "--name",
        action="append",
        default=None,
        help="key pair name (repeatable; default: server and client)",
    )
    p.add_argument(
        "--ws-token",
        action="store_true",
        help="also write ws.token for --ws-token-file (default: off)",
    )
    p.set_defaults(func=keys)


PARSERS = {"keys": add_keys}


def keys(args: argparse.Namespace) -> int:
    names = args.name or ["server", "client"]
    try:
        for name in names:
            public, secret = make_key_pair(args.directory, name)
            print(f"{name}: public {public}, secret {secret}")
        if args.ws_token:
            print(f"WebSocket token: {make_token(f'{args.directory}/ws.token')}")
    except OSError as exc:
        print(f"npc-brain keys: {exc}", file=sys.stderr)
        return 2
    return 0
