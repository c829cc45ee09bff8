"""What `npc-brain serve` and `npc-brain broker` share: both face games the same way (ZeroMQ
and, with --ws, the WebSocket relay), with the same limits and the same protections.

Declared once here, so an option added for one appears in both with the same name,
default and help, and turns into settings the same way. Light on purpose: the broker
imports it and must not load torch."""

from __future__ import annotations

import argparse
import logging
import signal
import ssl
import sys
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from npc_brain.sidecar.auth import is_loopback_host, read_token

if TYPE_CHECKING:
    from npc_brain.sidecar.ws_relay import WebSocketRelay

SECURITY_TITLE = "security (see `npc-brain keys`)"
# Settings whose option is not simply --FIELD-NAME.
OPTION_NAMES = {"max_wait_s": "--max-wait"}
Config = TypeVar("Config", bound=BaseModel)


class Limits(Protocol):
    """The defaults the shared limits show: a ServerConfig or a BrokerConfig."""

    max_in_flight: int
    max_queue: int
    max_message_bytes: int


class Serving(Protocol):
    def serve_forever(self) -> None: ...
    def stop(self) -> None: ...


# ------------------------------------------------------------------ declarations


def add_front_options(p: argparse.ArgumentParser, defaults: Limits) -> None:
    """--ws and the limits on what games may ask of the server."""
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
        help="requests waiting for a free slot, all games together"
        f" (default: {defaults.max_queue})",
    )
    p.add_argument(
        "--max-message-bytes",
        type=int,
        default=defaults.max_message_bytes,
        metavar="BYTES",
        help="largest request accepted; behind a broker, workers need at least the broker's"
        f" (default: {defaults.max_message_bytes})",
    )


def add_quiet_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--quiet",
        action="store_true",
        help="log warnings only, not each request or worker (default: off)",
    )


def security_group(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The group each command adds its own CURVE options to, before `add_access_options`."""
    return p.add_argument_group(SECURITY_TITLE)


def add_access_options(s: argparse._ArgumentGroup) -> None:
    """Who may use the WebSocket relay, and --insecure."""
    s.add_argument(
        "--ws-token-file",
        metavar="FILE",
        help="WebSocket: token required as the first message (default: none)",
    )
    s.add_argument(
        "--ws-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="WebSocket: also accept pages from ORIGIN, e.g. https://game.example (repeatable;"
        " default: pages on this machine only)",
    )
    s.add_argument(
        "--ws-cert", metavar="FILE", help="WebSocket: TLS certificate (PEM), for wss (default: off)"
    )
    s.add_argument("--ws-key", metavar="FILE", help="WebSocket: TLS private key (default: off)")
    s.add_argument(
        "--insecure",
        action="store_true",
        help="allow addresses beyond loopback without authentication (default: refused)",
    )


# ------------------------------------------------------------------ settings


def setup_logging(quiet: bool) -> None:
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


def front_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Config fields from the shared limits and --insecure."""
    return {
        "max_in_flight": args.max_in_flight,
        "max_queue": args.max_queue,
        "max_message_bytes": args.max_message_bytes,
        "insecure": args.insecure,
    }


# Options of the WebSocket relay: without --ws they would be silently ignored.
WS_ONLY = ("ws_token_file", "ws_origin", "ws_cert", "ws_key")


def ws_access(args: argparse.Namespace) -> tuple[str | None, bool]:
    """The relay's token, and whether `pong` must hide the server's facts: a relay open
    beyond loopback without a token lets anyone ask."""
    from npc_brain.sidecar.ws_relay import parse_host_port

    given = [f"--{o.replace('_', '-')}" for o in WS_ONLY if getattr(args, o)]
    if given and not args.ws:
        raise ValueError(f"{', '.join(given)} only apply with --ws")
    token = read_token(args.ws_token_file) if args.ws_token_file else None
    exposed = bool(args.ws) and not is_loopback_host(parse_host_port(args.ws)[0])
    return token, exposed and token is None


def make_config(cls: type[Config], **fields: Any) -> Config:
    """`cls(**fields)`, its range errors told in the options' words."""
    try:
        return cls(**fields)
    except ValidationError as exc:
        raise ValueError(option_error(exc)) from None


def option_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        field = str(err["loc"][0]) if err["loc"] else "option"
        name = OPTION_NAMES.get(field, "--" + field.replace("_", "-"))
        parts.append(f"{name}: {err['msg']}")
    return "; ".join(parts)


def make_relay(args: argparse.Namespace, target: str, token: str | None) -> WebSocketRelay:
    """The (unstarted) WebSocket relay from --ws and its options."""
    from npc_brain.sidecar.ws_relay import WebSocketRelay

    return WebSocketRelay(
        args.ws,
        target,
        origins=args.ws_origin,
        token=token,
        insecure=args.insecure,
        ssl_context=tls_context(args.ws_cert, args.ws_key),
    )


def start_relay(args: argparse.Namespace, relay: WebSocketRelay) -> str:
    """Start the relay; returns its part of the banner."""
    try:
        host, port = relay.start()
    except OSError as exc:
        raise OSError(f"--ws: {exc}") from None
    return f", WebSocket {'wss' if args.ws_cert else 'ws'}://{host}:{port}/"


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
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


def serve_until_stopped(server: Serving, relay: WebSocketRelay | None, banner: str) -> int:
    """Print the banner and serve until SIGINT or SIGTERM, then stop cleanly."""
    previous = {
        sig: signal.signal(sig, lambda *_: server.stop()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
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
