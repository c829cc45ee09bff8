"""`npc-brain train`: train a model directory from a preset or a JSON config."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the NRM (CPU by default; CUDA when --device cuda)")
    p.add_argument("--config", default="default", help="preset (default, tiny) or a JSON file")
    p.add_argument("--out", default="runs/nrm", help="output model directory")
    p.add_argument("--resume", action="store_true", help="continue from OUT/ckpt.pt")
    p.add_argument("--steps", type=int, default=None, help="override the number of steps")
    p.add_argument("--seed", type=int, default=None, help="override the seed")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--stop-after", type=int, default=None, help="stop after N steps (resumable)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from npc_brain.workshop.train import load_config, train

    cfg = load_config(args.config)
    if args.steps is not None:
        cfg.steps = args.steps
    if args.seed is not None:
        cfg.seed = args.seed
    train(cfg, args.out, resume=args.resume, device=args.device, stop_after=args.stop_after)
    return 0
