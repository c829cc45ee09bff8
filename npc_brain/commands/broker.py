"""`npc-brain broker`: many sidecars behind one address (docs/scaling.md).

Light on purpose: the broker never loads the model, so neither torch nor a runtime is
imported here."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

from npc_brain.commands.serve import add_ws_options, make_relay
from npc_brain.sidecar.auth import CurveKeys, is_loopback_host, read_token
from npc_brain.sidecar.broker import DEFAULT_BACK, DEFAULT_FRONT, Broker, BrokerConfig
from npc_brain.sidecar.fd_limit import raise_soft_limit

DESCRIPTION = """\
Put many sidecars behind one address. Games connect to --front exactly as to
`npc-brain serve` (same messages, same events); sidecars started with
`npc-brain serve --worker ADDRESS-OF-BACK` connect to --back, on this machine or others,
and may join and leave at any time. Each new request goes to the worker with the most free
room; a request whose worker dies is run again on another (its events then carry
`rerun`). Ctrl-C or SIGTERM stops it cleanly.
"""

EPILOG = """\
Example, one machine, two workers:
  npc-brain broker &
  npc-brain serve --worker tcp://127.0.0.1:5557 --threads 1 &
  npc-brain serve --worker tcp://127.0.0.1:5557 --threads 1 &
  npc-brain ask npc.json --actions attack flee

Workers on other machines: make keys (`npc-brain keys keys/ --name broker --name w1`), put
w1.key in a directory of worker keys, then
  npc-brain broker --back tcp://0.0.0.0:5557 --curve-secret keys/broker.key_secret \\
      --curve-workers worker_keys/
  npc-brain serve --worker tcp://BROKER-HOST:5557 --broker-key keys/broker.key \\
      --curve-secret keys/w1.key_secret
Sizing a deployment: docs/scaling.md in the npc-brain repository.
"""


def add_broker(p: argparse.ArgumentParser) -> None:
    d = BrokerConfig()
    p.description = DESCRIPTION
    p.epilog = EPILOG
    p.add_argument(
        "--front",
        default=DEFAULT_FRONT,
        metavar="ADDRESS",
        help=f"ZeroMQ address games connect to (default: {DEFAULT_FRONT})",
    )
    p.add_argument(
        "--back",
        default=DEFAULT_BACK,
        metavar="ADDRESS",
        help=f"ZeroMQ address workers connect to (default: {DEFAULT_BACK})",
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
        default=d.max_in_flight,
        metavar="N",
        help=f"requests one game may have open at once (default: {d.max_in_flight})",
    )
    p.add_argument(
        "--max-queue",
        type=int,
        default=d.max_queue,
        metavar="N",
        help=f"requests waiting for a free worker, all games together (default: {d.max_queue})",
    )
    p.add_argument(
        "--max-message-bytes",
        type=int,
        default=d.max_message_bytes,
        metavar="BYTES",
        help=f"largest request accepted; give workers the same (default: {d.max_message_bytes})",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=d.retries,
        metavar="N",
        help="times a request whose worker died is run again on another before it ends with"
        f" error worker_lost (default: {d.retries})",
    )
    p.add_argument(
        "--max-wait",
        type=float,
        default=d.max_wait_s,
        metavar="SECONDS",
        help="while no worker is connected, how long a request waits before error server_busy"
        f" (default: {d.max_wait_s:g})",
    )
    p.add_argument("--quiet", action="store_true", help="log warnings only (default: off)")
    s = p.add_argument_group("security (see `npc-brain keys`)")
    s.add_argument(
        "--curve-secret",
        metavar="FILE",
        help="CURVE: the broker's NAME.key_secret, for --front and --back (default: off)",
    )
    s.add_argument(
        "--curve-clients",
        metavar="DIR",
        help="CURVE on --front: directory of allowed games' *.key files (default: off)",
    )
    s.add_argument(
        "--curve-workers",
        metavar="DIR",
        help="CURVE on --back: directory of allowed workers' *.key files (default: off)",
    )
    add_ws_options(s)
    s.add_argument(
        "--insecure",
        action="store_true",
        help="allow addresses beyond loopback without authentication (default: refused)",
    )
    p.set_defaults(func=broker)


PARSERS = {"broker": add_broker}


def broker(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    raise_soft_limit()
    try:
        config, token = _configure(args)
        server = Broker(config)
        front, back = server.bind()
        relay = make_relay(args, server.relay_endpoint or front, token) if args.ws else None
        ws = ""
        if relay is not None:
            host, port = relay.start()
            ws = f", WebSocket {'wss' if args.ws_cert else 'ws'}://{host}:{port}/"
    except (OSError, ValueError) as exc:  # bad option or key, port in use
        if "server" in locals():
            server.close()
        print(f"npc-brain broker: {exc}", file=sys.stderr)
        return 2
    previous = {
        sig: signal.signal(sig, lambda *_: server.stop()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    print(f"broker: games connect to {front}{ws}, workers to {back}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        if relay is not None:
            relay.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", file=sys.stderr, flush=True)
    return 0


def _configure(args: argparse.Namespace) -> tuple[BrokerConfig, Any]:
    """Broker settings and the WebSocket token; every problem is a ValueError or OSError."""
    from npc_brain.sidecar.ws_relay import parse_host_port

    for name in ("max_in_flight", "max_queue", "retries"):
        if getattr(args, name) < (0 if name == "retries" else 1):
            raise ValueError(f"--{name.replace('_', '-')} is out of range: {getattr(args, name)}")
    if (args.curve_clients or args.curve_workers) and not args.curve_secret:
        raise ValueError("--curve-clients and --curve-workers need --curve-secret")
    if args.curve_secret and not (args.curve_clients or args.curve_workers):
        raise ValueError("--curve-secret needs --curve-clients, --curve-workers or both")
    secret = args.curve_secret
    curve = CurveKeys.load(secret, args.curve_clients) if args.curve_clients else None
    workers = CurveKeys.load(secret, args.curve_workers) if args.curve_workers else None
    token = read_token(args.ws_token_file) if args.ws_token_file else None
    ws_exposed = bool(args.ws) and not is_loopback_host(parse_host_port(args.ws)[0])
    try:
        config = BrokerConfig(
            front=args.front,
            back=args.back,
            max_in_flight=args.max_in_flight,
            max_queue=args.max_queue,
            max_message_bytes=args.max_message_bytes,
            retries=args.retries,
            max_wait_s=args.max_wait,
            curve=curve,
            worker_curve=workers,
            insecure=args.insecure,
            hide_facts=ws_exposed and token is None,
        )
    except ValueError as exc:  # pydantic's range checks, in the options' words
        raise ValueError(_option_error(exc)) from None
    config.check_exposure()
    return config, token


def _option_error(exc: Exception) -> str:
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return str(exc)
    names = {"max_wait_s": "--max-wait"}
    parts = []
    for err in exc.errors(include_url=False):
        field = str(err["loc"][0]) if err["loc"] else "option"
        parts.append(f"{names.get(field, '--' + field.replace('_', '-'))}: {err['msg']}")
    return "; ".join(parts)
