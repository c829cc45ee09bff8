"""`npc-brain serve` (the sidecar) and `npc-brain ask` (one decision from the command line)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from npc_brain.nrm.runtime import BACKENDS
from npc_brain.sidecar.client import DEFAULT_ADDRESS, Client, ServerError
from npc_brain.sidecar.protocol import DecisionEvent, StepEvent
from npc_brain.sidecar.server import DEFAULT_BIND, Server, ServerConfig
from npc_brain.sidecar.ws_relay import WebSocketRelay, parse_host_port


def register(sub: argparse._SubParsersAction) -> None:
    defaults = ServerConfig()
    p = sub.add_parser("serve", help="run the sidecar: ZeroMQ (and WebSocket) NPC decisions")
    p.add_argument("--model", default=None, help="model directory (default: bundled)")
    p.add_argument("--bind", default=DEFAULT_BIND, help=f"ZeroMQ endpoint (default {DEFAULT_BIND})")
    p.add_argument(
        "--ws", default=None, metavar="HOST:PORT", help="also serve WebSocket, e.g. 127.0.0.1:5556"
    )
    p.add_argument(
        "--max-in-flight", type=int, default=defaults.max_in_flight, help="requests per client"
    )
    p.add_argument(
        "--max-queue", type=int, default=defaults.max_queue, help="waiting requests, all clients"
    )
    p.add_argument(
        "--max-batch", type=int, default=defaults.max_batch, help="sequences decoded together"
    )
    p.add_argument("--max-message-bytes", type=int, default=defaults.max_message_bytes)
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="decode runtime: onnx (no torch), torch, or auto (onnx when its export is current)",
    )
    p.add_argument("--quiet", action="store_true", help="log warnings only, not every request")
    p.set_defaults(func=serve)

    a = sub.add_parser("ask", help="ask a running sidecar for one NPC decision, streaming thoughts")
    a.add_argument("state", help="NPC state as a JSON file ('-' reads stdin)")
    a.add_argument("--actions", nargs="+", required=True, help="verbs the NPC may use now")
    a.add_argument(
        "--alias",
        action="append",
        default=[],
        metavar="GAME=CANONICAL",
        help="declare a game verb as an alias of a canonical verb (repeatable)",
    )
    a.add_argument(
        "--address", default=DEFAULT_ADDRESS, help=f"sidecar endpoint (default {DEFAULT_ADDRESS})"
    )
    a.add_argument("--temperature", type=float, default=None)
    a.add_argument("--seed", type=int, default=None)
    a.add_argument("--max-tokens", type=int, default=None)
    a.add_argument("--max-steps", type=int, default=None)
    a.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each event")
    a.set_defaults(func=ask)


def serve(args: argparse.Namespace) -> int:
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
