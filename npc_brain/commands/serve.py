"""`npc-brain serve` (the sidecar) and `npc-brain ask` (one decision from the command line)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import ssl
import sys
from pathlib import Path
from typing import Any

from npc_brain.sidecar.auth import CurveKeys, is_loopback_host, read_token
from npc_brain.sidecar.client import DEFAULT_ADDRESS, Client, CurveClientKeys, ServerError
from npc_brain.sidecar.fd_limit import raise_soft_limit
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
    p.add_argument("--quiet", action="store_true", help="log warnings only, not every request")
    _add_security_options(p)
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
    a.add_argument("--timeout", type=float, default=30.0, help="seconds for the whole decision")
    a.add_argument("--server-key", default=None, help="CURVE: the sidecar's public NAME.key")
    a.add_argument("--client-key", default=None, help="CURVE: this client's NAME.key_secret")
    a.set_defaults(func=ask)


def _add_security_options(p: argparse.ArgumentParser) -> None:
    s = p.add_argument_group("security (see `npc-brain keys`)")
    s.add_argument("--curve-secret", metavar="FILE", help="CURVE: the sidecar's NAME.key_secret")
    s.add_argument(
        "--curve-clients", metavar="DIR", help="CURVE: directory of allowed clients' *.key files"
    )
    s.add_argument(
        "--ws-token-file", metavar="FILE", help="WebSocket: token required as the first message"
    )
    s.add_argument(
        "--ws-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="WebSocket: also accept pages from ORIGIN, e.g. https://game.example (repeatable)",
    )
    s.add_argument("--ws-cert", metavar="FILE", help="WebSocket: TLS certificate (PEM), for wss")
    s.add_argument("--ws-key", metavar="FILE", help="WebSocket: TLS private key (PEM)")
    s.add_argument(
        "--insecure",
        action="store_true",
        help="allow addresses beyond loopback without authentication",
    )


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    raise_soft_limit()
    try:
        config, relay = _configure(args)
        server = Server.from_model_dir(args.model, config)
        endpoint = server.bind()
    except (OSError, ValueError) as exc:  # missing model, bad option or key, port in use
        print(f"npc-brain serve: {exc}", file=sys.stderr)
        return 2
    if relay is not None:
        assert server.relay_endpoint is not None
        relay.target = server.relay_endpoint
        try:
            ws_host, ws_port = relay.start()
        except OSError as exc:
            server.close()
            print(f"npc-brain serve: --ws: {exc}", file=sys.stderr)
            return 2
    previous = {
        sig: signal.signal(sig, lambda *_: server.stop()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    scheme = "wss" if args.ws_cert else "ws"
    ws = f", WebSocket {scheme}://{ws_host}:{ws_port}/" if relay else ""
    banner = f"serving {endpoint}{ws} (model {server.model_name}, {server.params:,} parameters)"
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


def _configure(args: argparse.Namespace) -> tuple[ServerConfig, WebSocketRelay | None]:
    """Server settings and the (unstarted) relay; every problem is a ValueError or OSError."""
    if bool(args.curve_secret) != bool(args.curve_clients):
        raise ValueError("--curve-secret and --curve-clients go together")
    curve = CurveKeys.load(args.curve_secret, args.curve_clients) if args.curve_secret else None
    token = read_token(args.ws_token_file) if args.ws_token_file else None
    ws_exposed = bool(args.ws) and not is_loopback_host(parse_host_port(args.ws)[0])
    config = ServerConfig(
        bind=args.bind,
        max_in_flight=args.max_in_flight,
        max_queue=args.max_queue,
        max_batch=args.max_batch,
        max_message_bytes=args.max_message_bytes,
        curve=curve,
        insecure=args.insecure,
        hide_facts=ws_exposed and token is None,
    )
    config.check_exposure()  # before the model loads
    if not args.ws:
        return config, None
    relay = WebSocketRelay(
        args.ws,
        config.bind,
        origins=args.ws_origin,
        token=token,
        insecure=args.insecure,
        ssl_context=_tls(args.ws_cert, args.ws_key),
    )
    return config, relay


def _tls(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if not cert and not key:
        return None
    if not (cert and key):
        raise ValueError("--ws-cert and --ws-key go together")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load the TLS certificate {cert} / key {key}: {exc}") from None
    return context


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


def _client_keys(server_key: str | None, client_key: str | None) -> CurveClientKeys | None:
    if not server_key and not client_key:
        return None
    if not (server_key and client_key):
        raise ValueError("--server-key and --client-key go together")
    return CurveClientKeys.from_files(server_key, client_key)


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
