"""`npc-brain serve` (the sidecar) and `npc-brain ask` (one decision from the command line).

The server (and with it torch) loads only for `serve`: `ask` is a light client."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from npc_brain.commands.server_options import (
    add_access_options,
    add_front_options,
    add_quiet_option,
    front_settings,
    make_config,
    make_relay,
    security_group,
    serve_until_stopped,
    setup_logging,
    start_relay,
    ws_access,
)
from npc_brain.npc.actions import VOCABULARY, resolve_actions
from npc_brain.npc.state import KINDS
from npc_brain.nrm.runtime import BACKENDS
from npc_brain.sidecar.auth import CurveKeys
from npc_brain.sidecar.client import DEFAULT_ADDRESS, Client, CurveClientKeys, ServerError
from npc_brain.sidecar.fd_limit import raise_soft_limit
from npc_brain.sidecar.protocol import DecideRequest, DecisionEvent, StepEvent

SERVE_DESCRIPTION = """\
Run the brain for your game: load the model once and answer NPC decisions over ZeroMQ
(desktop games) and, with --ws, over WebSocket (web exports). Logs one line per request;
Ctrl-C or SIGTERM stops it cleanly.

With --worker ADDRESS it serves a broker (`npc-brain broker`) instead: it connects to the
broker's back end and takes the requests the broker hands it. Start as many workers as
you like, on this machine or others; they may join and leave at any time.
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
        default=None,
        metavar="ADDRESS",
        help=f"ZeroMQ address desktop games connect to (default: {DEFAULT_BIND})",
    )
    p.add_argument(
        "--worker",
        default=None,
        metavar="ADDRESS",
        help="serve the broker whose back end is at ADDRESS, e.g. tcp://127.0.0.1:5557,"
        " instead of binding --bind (default: off)",
    )
    add_front_options(p, defaults)
    p.add_argument(
        "--max-batch",
        type=int,
        default=defaults.max_batch,
        metavar="N",
        help=f"NPCs that think together in one batch (default: {defaults.max_batch})",
    )
    p.add_argument(
        "--prefix-cache",
        type=int,
        default=defaults.prefix_tokens,
        metavar="TOKENS",
        help="prompt tokens kept so an NPC that thinks again prefills only what changed"
        f" (about 6 KB each; 0: off; default: {defaults.prefix_tokens})",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="decode runtime: onnx (the `fast` extra), numpy, torch, or auto: the first of"
        " onnx, numpy whose export of model.pt is current, else torch (default: auto)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="threads one batch step may use (onnx, torch; numpy always uses one)"
        " (default: onnx up to 4, torch all cores)",
    )
    add_quiet_option(p)
    _add_security_options(p)
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
        default=30.0,
        metavar="SECONDS",
        help="how long the whole decision may take (default: 30)",
    )
    p.add_argument(
        "--server-key",
        default=None,
        metavar="FILE",
        help="CURVE: the sidecar's public NAME.key (default: none, plain loopback)",
    )
    p.add_argument(
        "--client-key",
        default=None,
        metavar="FILE",
        help="CURVE: this client's NAME.key_secret (default: none)",
    )
    p.set_defaults(func=ask)


def _add_security_options(p: argparse.ArgumentParser) -> None:
    s = security_group(p)
    s.add_argument(
        "--curve-secret", metavar="FILE", help="CURVE: the sidecar's NAME.key_secret (default: off)"
    )
    s.add_argument(
        "--curve-clients",
        metavar="DIR",
        help="CURVE: directory of allowed clients' *.key files (default: off)",
    )
    s.add_argument(
        "--broker-key",
        metavar="FILE",
        help="CURVE, with --worker: the broker's public NAME.key; --curve-secret is then this"
        " worker's own NAME.key_secret (default: off)",
    )
    add_access_options(s)


PARSERS = {"serve": add_serve, "ask": add_ask}


def serve(args: argparse.Namespace) -> int:
    from npc_brain.sidecar.server import Server

    setup_logging(args.quiet)
    raise_soft_limit()
    try:
        config, relay = _configure(args)
        server = Server.from_model_dir(args.model, config, args.backend, args.threads)
        endpoint = server.bind()
    except (OSError, ValueError) as exc:  # missing model, bad option or key, port in use
        print(f"npc-brain serve: {exc}", file=sys.stderr)
        return 2
    ws = ""
    if relay is not None:
        assert server.relay_endpoint is not None
        relay.target = server.relay_endpoint
        try:
            ws = start_relay(args, relay)
        except OSError as exc:
            server.close()
            print(f"npc-brain serve: {exc}", file=sys.stderr)
            return 2
    model = f"model {server.model_name}, {server.params:,} parameters, {server.backend}"
    role = f"working for the broker at {endpoint}" if args.worker else f"serving {endpoint}"
    return serve_until_stopped(server, relay, f"{role}{ws} ({model})")


def _configure(args: argparse.Namespace) -> tuple[Any, Any]:
    """Server settings and the (unstarted) relay; every problem is a ValueError or OSError."""
    from npc_brain.sidecar.server import DEFAULT_BIND, ServerConfig

    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be at least 1, not {args.threads}")
    if args.worker:
        return _configure_worker(args), None
    if args.broker_key:
        raise ValueError("--broker-key goes with --worker")
    if bool(args.curve_secret) != bool(args.curve_clients):
        raise ValueError("--curve-secret and --curve-clients go together")
    curve = CurveKeys.load(args.curve_secret, args.curve_clients) if args.curve_secret else None
    token, hide_facts = ws_access(args)
    config = make_config(
        ServerConfig,
        bind=args.bind or DEFAULT_BIND,
        max_batch=args.max_batch,
        prefix_tokens=args.prefix_cache,
        curve=curve,
        hide_facts=hide_facts,
        **front_settings(args),
    )
    config.check_exposure()  # before the model loads
    if not args.ws:
        return config, None
    return config, make_relay(args, config.bind, token)


def _configure_worker(args: argparse.Namespace) -> Any:
    """Settings of a worker: it connects to a broker, so nothing of its own is exposed."""
    from npc_brain.sidecar.server import ServerConfig

    clashes = {"--bind": args.bind, "--ws": args.ws, "--curve-clients": args.curve_clients}
    clashes |= {"--ws-token-file": args.ws_token_file, "--ws-cert": args.ws_cert}
    given = [name for name, value in clashes.items() if value]
    if given:
        verb = "does" if len(given) == 1 else "do"
        raise ValueError(f"--worker connects to a broker: {', '.join(given)} {verb} not apply")
    if bool(args.broker_key) != bool(args.curve_secret):
        raise ValueError("with --worker, --broker-key and --curve-secret go together")
    curve = None
    if args.broker_key:
        curve = CurveClientKeys.from_files(args.broker_key, args.curve_secret)
    config = make_config(
        ServerConfig,
        worker=args.worker,
        max_batch=args.max_batch,
        prefix_tokens=args.prefix_cache,
        worker_curve=curve,
        **front_settings(args),
    )
    config.check_exposure()  # before the model loads
    return config


def _client_keys(server_key: str | None, client_key: str | None) -> CurveClientKeys | None:
    if not server_key and not client_key:
        return None
    if not (server_key and client_key):
        raise ValueError("--server-key and --client-key go together")
    return CurveClientKeys.from_files(server_key, client_key)


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
    try:
        curve = _client_keys(args.server_key, args.client_key)
    except ValueError as exc:
        print(f"npc-brain ask: {exc}", file=sys.stderr)
        return 2
    with Client(args.address, timeout=args.timeout, curve=curve) as client:
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
