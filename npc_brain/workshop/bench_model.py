"""`npc-brain bench model`: decode throughput of every backend vs. this machine's ceiling.

The ceiling (a large fp32 matmul's FLOP/s over the model's FLOPs per token) is measured in
the same run, and each backend (ONNX Runtime, numpy, torch: whichever is installed and
exported) decodes the same prompt: the one the sidecar builds for a real decide request.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from npc_brain.npc.decision import DecisionPlan, plan_decision
from npc_brain.npc.state import NPCState
from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, has_weights, load_tokenizer
from npc_brain.nrm.config import NRMConfig
from npc_brain.nrm.engine import Engine, GenRequest
from npc_brain.nrm.runtime import Runtime, RuntimeUnavailableError, load_runtime
from npc_brain.nrm.trace import Step, TraceParser, prompt_ids

BATCHES = (1, 16, 64, 256)
# A decide request as a game sends it; the sidecar turns it into the prompt benchmarked here.
REQUEST = {
    "npc": {
        "id": "guard-1",
        "name": "Bram",
        "role": "guard",
        "traits": ["brave"],
        "health": 80,
        "hunger": 30,
        "inventory": {"bread": 2},
        "perception": [{"name": "wolf", "kind": "animal", "distance": 5, "hostile": True}],
        "time_of_day": "night",
        "location": "gate",
    },
    "actions": ["attack", "flee", "hide", "eat"],
}


def served_plan() -> DecisionPlan:
    return plan_decision(NPCState.model_validate(REQUEST["npc"]), list(REQUEST["actions"]))


def matmul_flops(repeats: int = 5) -> float:
    """Best-of FLOP/s for a large fp32 matmul: the ceiling arithmetic can reach here."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024), dtype=np.float32)
    b = rng.standard_normal((1024, 1024), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(4):
            a @ b
        best = min(best, (time.perf_counter() - t) / 4)
    return 2 * 1024**3 / best


def flops_per_token(cfg: NRMConfig, context: int) -> float:
    """Forward FLOPs for one decoded token: weight matmuls, attention, the output head."""
    d = cfg.d_model
    per_layer = 2 * (3 * d * d + d * d + 2 * d * cfg.d_ff) + 4 * d * context
    return cfg.n_layers * per_layer + 2 * d * cfg.vocab_size


def decode_rate(engine: Engine, prompt: list[int], n: int, new_tokens: int) -> float:
    """Tokens/s while n sequences decode together (prefill excluded)."""
    for _ in range(n):
        engine.submit(GenRequest(prompt, max_new_tokens=new_tokens, enforce_format=False))
    engine.step()  # prefill all
    t = time.perf_counter()
    produced = 0
    while engine.active:
        produced += sum(1 for ev in engine.step() if ev.token_id >= 0)
    return produced / (time.perf_counter() - t)


def first_step_ms(engine: Engine, plan: DecisionPlan, prompt: list[int]) -> float:
    """Submit to the first STEP line, decoded as the sidecar serves (constraints on)."""
    t = time.perf_counter()
    req = GenRequest(
        prompt, max_new_tokens=160, answer_options=plan.options, thought_rules=plan.rules
    )
    handle = engine.submit(req)
    parser, first = TraceParser(), None
    while engine.active:
        for ev in engine.step():
            if ev.handle != handle or first is not None:
                continue
            if any(isinstance(e, Step) for e in parser.feed(ev.text)):
                first = (time.perf_counter() - t) * 1000
    return first if first is not None else float("nan")


def available_backends(model_dir: Path) -> dict[str, Runtime]:
    found = {}
    for name in ("onnx", "numpy", "torch"):
        try:
            found[name] = load_runtime(model_dir, name)
        except RuntimeUnavailableError as exc:
            print(f"{name}: not measured ({exc})")
    return found


def run(args: argparse.Namespace) -> int:
    model_dir = Path(args.model) if args.model else DEFAULT_MODEL_DIR
    if not has_weights(model_dir):
        print(f"no model at {model_dir}; pass --model DIR (e.g. one made by `npc-brain train`)")
        return 2
    runtimes = available_backends(model_dir)
    if not runtimes:
        return 2
    tok = load_tokenizer(model_dir)
    cfg = next(iter(runtimes.values())).cfg
    plan = served_plan()
    prompt = prompt_ids(tok, plan.prompt)
    repeats = 2 if args.quick else 5
    new_tokens = 64
    print(f"model {model_dir}: {cfg.n_layers} effective layers; the sidecar's prompt for a")
    print(f"guard seeing a wolf ({len(prompt)} tokens), {new_tokens} new tokens per sequence,")
    print(f"medians of {repeats} runs")
    peak = matmul_flops()
    fpt = flops_per_token(cfg, len(prompt) + new_tokens // 2)
    ceiling = peak / fpt
    print(f"matmul peak {peak / 1e9:.0f} GFLOP/s; {fpt / 1e6:.2f} MFLOP/token", end="")
    print(f" -> ceiling {ceiling:,.0f} tokens/s")
    names = list(runtimes)
    head = " | ".join(f"{n + ' tokens/s':>15} | {'of ceiling':>10}" for n in names)
    print(f"{'sequences':>9} | {head}")
    for n in BATCHES:
        cells = []
        for name in names:
            engine = Engine(runtimes[name], tok, max_batch=max(BATCHES))
            med = statistics.median(
                decode_rate(engine, prompt, n, new_tokens) for _ in range(repeats)
            )
            cells.append(f"{med:>15,.0f} | {med / ceiling:>10.1%}")
        print(f"{n:>9} | {' | '.join(cells)}")
    for name in names:
        for jump in (True, False):
            engine = Engine(runtimes[name], tok, jump=jump)
            times = [first_step_ms(engine, plan, prompt) for _ in range(repeats * 2)]
            med = statistics.median(times)
            print(
                f"{name}{'' if jump else ' without jump-forward'}: first STEP line of a lone"
                f" decision, median {med:.1f} ms (min {min(times):.1f}, max {max(times):.1f})"
            )
    return 0
