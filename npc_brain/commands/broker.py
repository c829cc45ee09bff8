"""`npc-brain broker`: many sidecars behind one address (docs/scaling.md).

Light on purpose: the broker never loads the model, so neither torch nor a runtime is
imported here."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

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
from npc_brain.sidecar.auth import CurveKeys
from npc_brain.sidecar.broker import DEFAULT_BACK, DEFAULT_FRONT, Broker, BrokerConfig
from npc_brain.sidecar.fd_limit import raise_soft_limit

if TYPE_CHECKING:
    from npc_brain.sidecar.ws_relay import WebSocketRelay

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
    add_front_options(p, d)
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
    add_quiet_option(p)
    s = security_group(p)
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
    add_access_options(s)
    p.set_defaults(func=broker)


PARSERS = {"broker": add_broker}


def broker(args: argparse.Namespace) -> int:
    setup_logging(args.quiet)
    raise_soft_limit()
    server: Broker | None = None
    relay: WebSocketRelay | None = None
    try:
        config, token = _configure(args)
        server = Broker(config)
        front, back = server.bind()
        ws = ""
        if args.ws:
            relay = make_relay(args, server.relay_endpoint or front, token)
            ws = start_relay(args, relay)
    except (OSError, ValueError) as exc:  # bad option or key, port in use
        if server is not None:
            server.close()
        print(f"npc-brain broker: {exc}", file=sys.stderr)
        return 2
    banner = f"broker: games connect to {front}{ws}, workers to {back}"
    return serve_until_stopped(server, relay, banner)


def _configure(args: argparse.Namespace) -> tuple[BrokerConfig, str | None]:
    """Broker settings and the WebSocket token; every problem is a ValueError or OSError."""
    if (args.curve_clients or args.curve_workers) and not args.curve_secret:
        raise ValueError("--curve-clients and --curve-workers need --curve-secret")
    if args.curve_secret and not (args.curve_clients or args.curve_workers):
        raise ValueError("--curve-secret needs --curve-clients, --curve-workers or both")
    secret = args.curve_secret
    curve = CurveKeys.load(secret, args.curve_clients) if args.curve_clients else None
    workers = CurveKeys.load(secret, args.curve_workers) if args.curve_workers else None
    token, hide_facts = ws_access(args)
    config = make_config(
        BrokerConfig,
        front=args.front,
        back=args.back,
        retries=args.retries,
        max_wait_s=args.max_wait,
        curve=curve,
        worker_curve=workers,
        hide_facts=hide_facts,
        **front_settings(args),
    )
    config.check_exposure()
    return config, token
