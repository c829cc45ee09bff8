"""`npc-brain serve` (the sidecar) and `npc-brain ask` (one decision from the command line).

The server (and with it torch) loads only for `serve`: `ask` is a light client."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

from npc_brain.npc.actions import VOCABULARY, resolve_actions
from npc_brain.npc.state import KINDS
from npc_brain.nrm.runtime import BACKENDS
from npc_brain.sidecar.client import DEFAULT_ADDRESS, Client, ServerError
from npc_brain.sidecar.protocol import DecideRequest, DecisionEvent, StepEvent

SERVE_DESCRIPTION = """\
Run the brain for your game: load the model once and answer NPC decisions over ZeroMQ
(desktop games) and, with --ws, over WebSocket (web exports). Logs one line per request;
Ctrl-C or SIGTERM stops it cleanly.
"""

ASK_DESCRIPTION = """\
Ask a running sidecar (`npc-brain serve`) for one NPC decision and print each thought as it
streams in, then the decision. Handy to try states before wiring them into a game.
"""

EXAMPLE_STATE = """\
{"id": "guard-1", "name": "Bram", "role": "guard", "traits": ["brave"],
 "health": 80, "hunger": 20, "energy": 60, "gold": 12, "inventory": {"bread": 2},
 "perception": [{"name": "wolf", "kind": "animal", "distance": 4, "hostile": true}],
 "time_of_day": "night", "location": "village gate", "goal": "keep the gate safe"}"""

ASK_EPILOG = f"""\
The state file holds one JSON object: the NPC as your game sees it. Only "id" and "name"
are required; leave out anything the game does not know. For example:

{EXAMPLE_STATE}

  health, hunger, energy   0-100
  perception               what the NPC notices: name, kind, distance in meters, and
                           optionally hostile, health, strength; kind is one of
                           {", ".join(KINDS)}
  time_of_day              dawn, day, dusk, night, an hour (0-24) or "HH:MM"
  inventory                item name -> count

Verbs for --actions:
{textwrap.fill(", ".join(VOCABULARY), 88, initial_indent="  ", subsequent_indent="  ")}
A game verb of your own can stand for one of these: --actions strike --alias strike=attack.
The full format is the protocol specification (docs/protocol.md in the npc-brain repository).

Example: npc-brain ask npc.json --actions attack flee call_for_help
"""


def add_serve(p: argparse.ArgumentParser) -> None:
    from npc_brain.sidecar.server import DEFAULT_BIND, ServerConfig

    defaults = ServerConfig()
    p.description = SERVE_DESCRIPTION
    p.add_argument(
        "--model", default=None, metavar="DIR", help="model directory (default: the bundled model)"
    )
    p.add_argument(
        "--bind",
        default=DEFAULT_BIND,
        metavar="ADDRESS",
        help=f"ZeroMQ address desktop games connect to (default: {DEFAULT_BIND})",
    )
    p.add_argument(
        "--ws",
        default=None,
        metavar="HOST:PORT",
        help="also serve WebSocket for web exports, e.g. 127.0.0.1:5556 (default: off)",
    )
    p.add_argument(
        "--max-in-flight",
        type=int,
        default=defaults.max_in_flight,
        metavar="N",
        help=f"requests one game may have open at once (default: {defaults.max_in_flight})",
    )
    p.add_argument(
        "--max-queue",
        type=int,
        default=defaults.max_queue,
        metavar="N",
        help=f"requests waiting, all games together (default: {defaults.max_queue})",
    )
    p.add_argument(
        "--max-batch",
        type=int,
        default=defaults.max_batch,
        metavar="N",
        help=f"NPCs that think together in one batch (default: {defaults.max_batch})",
    )
    p.add_argument(
        "--max-message-bytes",
        type=int,
        default=defaults.max_message_bytes,
        metavar="BYTES",
        help=f"largest request accepted (default: {defaults.max_message_bytes})",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="decode runtime: onnx (no torch), torch, or auto: onnx when its export is current"
        " (default: auto)",
    )
    p.add_argument(
        "--quiet", action="store_true", help="log warnings only, not every request (default: off)"
    )
    p.set_defaults(func=serve)


def add_ask(p: argparse.ArgumentParser) -> None:
    p.description = ASK_DESCRIPTION
    p.epilog = ASK_EPILOG
    p.add_argument("state", help="the NPC state as a JSON file ('-' reads it from stdin)")
    p.add_argument(
        "--actions",
        nargs="+",
        required=True,
        metavar="VERB",
        help="verbs the NPC may choose from now (required; listed below)",
    )
    p.add_argument(
        "--alias",
        action="append",
        default=[],
        metavar="GAME=CANONICAL",
        help="let a game verb stand for a canonical verb; repeatable (default: none)",
    )
    p.add_argument(
        "--address",
        default=DEFAULT_ADDRESS,
        help=f"where the sidecar listens (default: {DEFAULT_ADDRESS})",
    )
    sampling = {name: f.default for name, f in DecideRequest.model_fields.items()}
    p.add_argument(
        "--temperature",
        type=float,
        default=None,
        metavar="T",
        help="0 always picks the likeliest words; up to 2 varies the thoughts more "
        f"(default: {sampling['temperature']})",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="sampling seed, to repeat a run with temperature above 0 (default: a fresh one)",
    )
    p.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        metavar="N",
        help=f"longest trace in tokens (default: {sampling['max_tokens']})",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        metavar="N",
        help=f"most thoughts before the decision (default: {sampling['max_steps']})",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for each thought or the decision (default: 10)",
    )
    p.set_defaults(func=ask)


PARSERS = {"serve": add_serve, "ask": add_ask}


def serve(args: argparse.Namespace) -> int:
    from npc_brain.sidecar.server import Server, ServerConfig
    from npc_brain.sidecar.ws_relay import WebSocketRelay, parse_host_port

    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        config = ServerConfig(
            bind=args.bind,
            max_in_flight=args.max_in_flight,
            max_queue=args.max_queue,
            max_batch=args.max_batch,
            max_message_bytes=args.max_message_bytes,
        )
        if args.ws:
            parse_host_port(args.ws)  # a typo should fail before the model loads
        server = Server.from_model_dir(args.model, config, backend=args.backend)
        endpoint = server.bind()
    except (OSError, ValueError) as exc:  # missing model, bad option, port in use
        print(f"npc-brain serve: {exc}", file=sys.stderr)
        return 2
    relay = None
    if args.ws:
        relay = WebSocketRelay(args.ws, endpoint)
        try:
            ws_host, ws_port = relay.start()
        except OSError as exc:
            server.close()
            print(f"npc-brain serve: --ws: {exc}", file=sys.stderr)
            return 2
    previous = {
        sig: signal.signal(sig, lambda *_: server.stop()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    ws = f", WebSocket ws://{ws_host}:{ws_port}/" if relay else ""
    model = f"model {server.model_name}, {server.params:,} parameters, {server.backend}"
    banner = f"serving {endpoint}{ws} ({model})"
    print(banner, file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        if relay is not None:
            relay.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", file=sys.stderr, flush=True)
    return 0


def ask(args: argparse.Namespace) -> int:
    try:
        state = _load_state(args.state)
        aliases = dict(_split_alias(a) for a in args.alias)
        resolve_actions(args.actions, aliases)  # a typo is caught before anything is sent
    except ValueError as exc:
        print(f"npc-brain ask: {exc}", file=sys.stderr)
        return 2
    options = {
        "temperature": args.temperature,
        "seed": args.seed,
        "max_tokens": args.max_tokens,
        "max_steps": args.max_steps,
    }
    with Client(args.address, timeout=args.timeout) as client:
        try:
            for event in client.decide(state, args.actions, aliases, **options):
                _print_event(event)
        except ServerError as exc:
            print(f"error [{exc.code}]: {exc.message}", file=sys.stderr)
            return 1
        except TimeoutError:
            hint = "is `npc-brain serve` running?"
            print(f"no reply from {args.address} within {args.timeout} s; {hint}", file=sys.stderr)
            return 1
    return 0


def _print_event(event: StepEvent | DecisionEvent) -> None:
    if isinstance(event, StepEvent):
        print(f"  thought {event.index + 1}: {event.text}", flush=True)
        return
    target = f" {event.target}" if event.target else ""
    print(f"decision: {event.action}{target}  ({event.tokens} tokens, {event.latency_ms:.0f} ms)")


def _load_state(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} must hold a JSON object (the NPC state)")
    return state


def _split_alias(text: str) -> tuple[str, str]:
    game, sep, canonical = text.partition("=")
    if not sep or not game or not canonical:
        raise ValueError(f"--alias expects GAME=CANONICAL, got {text!r}")
    return game, canonical
