"""`npc-brain bench model`: decode throughput vs. this machine's compute ceiling."""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, load_model
from npc_brain.nrm.engine import Engine, GenRequest
from npc_brain.nrm.model import NRMConfig, NRMModel
from npc_brain.nrm.tokenizer import Tokenizer
from npc_brain.nrm.trace import Step, TraceParser, prompt_ids

BATCHES = (1, 16, 64, 256)
PROMPT = (
    "npc Bram role guard traits brave loyal hp 80 hunger 30 energy 60 gold 12 inv bread 2 "
    "time night loc gate sees wolf enemy 5m hostile str 40 actions attack flee hide eat"
)


def matmul_flops(repeats: int = 5) -> float:
    """Best-of FLOP/s for a large fp32 matmul: the ceiling arithmetic can reach here."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(4):
            torch.mm(a, b)
        best = min(best, (time.perf_counter() - t) / 4)
    return 2 * 1024**3 / best


def flops_per_token(cfg: NRMConfig, context: int) -> float:
    """Forward FLOPs for one decoded token: weight matmuls, attention, the output head."""
    d = cfg.d_model
    per_layer = 2 * (3 * d * d + d * d + 2 * d * cfg.d_ff) + 4 * d * context
    lora = (
        2
        * (cfg.n_loops - 1)
        * cfg.n_shared
        * cfg.lora_rank
        * (4 * d + d + d + cfg.d_ff + cfg.d_ff + d)
    )
    return cfg.n_layers * per_layer + lora + 2 * d * cfg.vocab_size


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


def first_step_ms(engine: Engine, prompt: list[int]) -> float:
    t = time.perf_counter()
    handle = engine.submit(
        GenRequest(prompt, max_new_tokens=160, answer_options=["flee", "attack wolf"])
    )
    parser, first = TraceParser(), None
    while engine.active:
        for ev in engine.step():
            if (
                ev.handle == handle
                and first is None
                and any(isinstance(e, Step) for e in parser.feed(ev.text))
            ):
                first = (time.perf_counter() - t) * 1000
    return first if first is not None else float("nan")


def run(args: argparse.Namespace) -> int:
    torch.set_num_threads(2)
    trained = args.model is not None or (DEFAULT_MODEL_DIR / "model.pt").is_file()
    if trained:
        model, tok = load_model(args.model)
    else:
        tok = Tokenizer([])
        model = NRMModel(NRMConfig(vocab_size=1024)).eval()
    cfg = model.cfg
    prompt = prompt_ids(tok, PROMPT)
    repeats = 2 if args.quick else 5
    new_tokens = 64
    kind = "trained" if trained else "random weights"
    print(f"model: {model.num_params():,} parameters ({kind}), {cfg.n_layers} effective layers,")
    print(f"prompt {len(prompt)} tokens, {new_tokens} new tokens per sequence")
    peak = matmul_flops()
    fpt = flops_per_token(cfg, len(prompt) + new_tokens // 2)
    ceiling = peak / fpt
    print(f"matmul peak {peak / 1e9:.0f} GFLOP/s; {fpt / 1e6:.2f} MFLOP/token", end="")
    print(f" -> ceiling {ceiling:,.0f} tokens/s")
    print(f"{'sequences':>9} | {'tokens/s (median)':>17} | {'min..max':>15} | {'of ceiling':>10}")
    for n in BATCHES:
        engine = Engine(model, tok, max_batch=max(BATCHES))
        rates = [decode_rate(engine, prompt, n, new_tokens) for _ in range(repeats)]
        med = statistics.median(rates)
        spread = f"{min(rates):>7,.0f}..{max(rates):<7,.0f}"
        print(f"{n:>9} | {med:>17,.0f} | {spread} | {med / ceiling:>9.1%}")
    if trained:
        engine = Engine(model, tok)
        times = [first_step_ms(engine, prompt) for _ in range(repeats * 2)]
        med = statistics.median(times)
        print(f"first STEP line: median {med:.1f} ms (min {min(times):.1f}, max {max(times):.1f})")
    else:
        print("first STEP line: needs a trained model (random weights write no sensible lines)")
    return 0
