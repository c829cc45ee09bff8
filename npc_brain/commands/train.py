"""`npc-brain train`: train a model directory from a preset or a JSON config."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Train a model of your own (the bundled one was made with `--config default`). Shows loss,
tokens/s and the time left; the output directory can be passed to serve, demo and eval.
"""


def add_train(p: argparse.ArgumentParser) -> None:
    p.description = DESCRIPTION
    p.add_argument(
        "--config",
        default="default",
        metavar="PRESET|FILE",
        help="a preset name (default or tiny) or a JSON config file (default: the preset "
        "named default, which made the bundled model)",
    )
    p.add_argument(
        "--out",
        default="runs/nrm",
        metavar="DIR",
        help="output model directory (default: runs/nrm)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in OUT (default: start afresh)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        metavar="N",
        help="training steps (default: the config's)",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the config's)")
    p.add_argument(
        "--device", default="cpu", help="cpu, cuda or another torch device name (default: cpu)"
    )
    p.add_argument(
        "--stop-after",
        type=int,
        default=None,
        metavar="N",
        help="stop after N steps, resumable with --resume (default: run to the end)",
    )
    p.set_defaults(func=_run)


PARSERS = {"train": add_train}


def _run(args: argparse.Namespace) -> int:
    from npc_brain.workshop.train import load_config, train

    cfg = load_config(args.config)
    if args.steps is not None:
        cfg.steps = args.steps
    if args.seed is not None:
        cfg.seed = args.seed
    train(cfg, args.out, resume=args.resume, device=args.device, stop_after=args.stop_after)
    return 0
