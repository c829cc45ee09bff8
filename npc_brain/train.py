"""Training: config, batching, the loop with progress, periodic eval, checkpoints, resume."""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

import torch
from pydantic import BaseModel, Field
from tqdm import tqdm

from npc_brain.checkpoint import save_model
from npc_brain.data.example import Example
from npc_brain.data.mixture import Mixture
from npc_brain.model import NRMConfig, NRMModel
from npc_brain.tokenizer import PAD_ID, Tokenizer
from npc_brain.trace import format_completion, format_prompt

DEFAULT_MIXTURE = {
    "npc": 0.34,
    "arithmetic": 0.12,
    "two_step": 0.10,
    "even_odd": 0.05,
    "comparison": 0.07,
    "pattern": 0.08,
    "word_problem": 0.09,
    "sorting": 0.11,
    "cot_format": 0.04,
}


class TrainConfig(BaseModel):
    model: NRMConfig = Field(default_factory=NRMConfig)
    mixture: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_MIXTURE))
    steps: int = 5000
    batch_size: int = 48
    pool_batches: int = 8  # examples are drawn this many batches at a time, sorted by length
    lr: float = 3e-3
    min_lr: float = 1e-4
    warmup: int = 200
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    seed: int = 1234
    tokenizer_samples: int = 30000
    eval_every: int = 1000
    eval_items: int = 16
    ckpt_every: int = 250
    threads: int = 2

    model_config = {"arbitrary_types_allowed": True}


PRESETS: dict[str, dict] = {
    # A few seconds: the pipeline test and smoke runs.
    "tiny": {
        "model": {"d_model": 64, "n_heads": 2, "d_ff": 128, "max_seq_len": 512, "lora_rank": 4},
        "steps": 30,
        "batch_size": 8,
        "tokenizer_samples": 2000,
        "eval_every": 0,
        "ckpt_every": 10,
        "warmup": 5,
        "lr": 3e-3,
    },
    # The shipped model.
    "default": {},
}


def load_config(name_or_path: str) -> TrainConfig:
    if name_or_path in PRESETS:
        raw = dict(PRESETS[name_or_path])
    else:
        raw = json.loads(Path(name_or_path).read_text())
    model = NRMConfig(**raw.pop("model", {}))
    return TrainConfig(model=model, **raw)


def encode_example(tok: Tokenizer, ex: Example) -> tuple[list[int], int]:
    """Token ids and the index where the trained part starts.

    Loss starts right after `</INST>` (its newline included), so a prompt given without
    the trailing newline, as in the card's quick start, still continues correctly.
    """
    prompt = tok.encode(format_prompt(ex.prompt))
    return prompt + tok.encode(format_completion(ex.steps, ex.answer)), len(prompt) - 1


def build_tokenizer(cfg: TrainConfig) -> Tokenizer:
    rng = random.Random(cfg.seed ^ 0x70C)
    mix = Mixture(cfg.mixture)
    texts = (mix.sample(rng).text() for _ in range(cfg.tokenizer_samples))
    return Tokenizer.train(texts, cfg.model.vocab_size)


class Batcher:
    """Draws pools of examples, sorts by length (less padding), yields shuffled batches."""

    def __init__(self, cfg: TrainConfig, tok: Tokenizer, rng: random.Random) -> None:
        self.cfg, self.tok, self.rng = cfg, tok, rng
        self.mix = Mixture(cfg.mixture)
        self._queue: list[list[tuple[list[int], int]]] = []

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self._queue:
            self._refill()
        return self._collate(self._queue.pop())

    def _refill(self) -> None:
        limit = self.cfg.model.max_seq_len
        n = self.cfg.batch_size * self.cfg.pool_batches
        items = [encode_example(self.tok, self.mix.sample(self.rng)) for _ in range(n)]
        items = [(ids[:limit], start) for ids, start in items]
        items.sort(key=lambda it: len(it[0]))
        bs = self.cfg.batch_size
        self._queue = [items[i : i + bs] for i in range(0, n, bs)]
        self.rng.shuffle(self._queue)

    def _collate(self, items: list[tuple[list[int], int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(ids) for ids, _ in items) - 1
        x = torch.full((len(items), width), PAD_ID, dtype=torch.long)
        y = torch.full((len(items), width), -100, dtype=torch.long)
        for i, (ids, start) in enumerate(items):
            t = torch.tensor(ids)
            x[i, : len(ids) - 1] = t[:-1]
            y[i, start - 1 : len(ids) - 1] = t[start:]
        return x, y


def lr_at(cfg: TrainConfig, step: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    frac = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, frac)))


def make_optimizer(model: NRMModel, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": rest, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98))


def train(cfg: TrainConfig, out_dir: str | Path, resume: bool = False, device: str = "cpu") -> Path:
    """Train and write a model directory to out_dir (checkpoints under out_dir/ckpt.pt)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    ckpt_path = out / "ckpt.pt"
    if resume and ckpt_path.is_file():
        state = torch.load(ckpt_path, weights_only=False)
        tok = Tokenizer(state["pieces"])
    else:
        state = None
        tok = build_tokenizer(cfg)
    cfg.model.vocab_size = tok.vocab_size
    model = NRMModel(cfg.model).to(device)
    opt = make_optimizer(model, cfg)
    rng = random.Random(cfg.seed)
    step, elapsed, tokens_seen = 0, 0.0, 0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        step, elapsed, tokens_seen = state["step"], state["elapsed"], state["tokens"]
    batcher = Batcher(cfg, tok, rng)
    if state is not None:
        batcher._queue = state["queue"]
    print(f"model: {model.num_params():,} parameters, vocab {tok.vocab_size}, {cfg.steps} steps")
    bar = tqdm(total=cfg.steps, initial=step, desc="train", unit="step", dynamic_ncols=True)
    t0 = time.perf_counter() - elapsed
    tokens_at_start, t_start = tokens_seen, time.perf_counter()
    loss_ema = None
    while step < cfg.steps:
        model.train()
        x, y = batcher.next()
        x, y = x.to(device), y.to(device)
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, step)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        tokens_seen += int((x != PAD_ID).sum())
        loss_ema = loss.item() if loss_ema is None else 0.95 * loss_ema + 0.05 * loss.item()
        rate = (tokens_seen - tokens_at_start) / max(1e-6, time.perf_counter() - t_start)
        bar.set_postfix(loss=f"{loss_ema:.3f}", tok_s=f"{rate:,.0f}", lr=f"{lr_at(cfg, step):.1e}")
        bar.update(1)
        if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.steps:
            _quick_eval(model, tok, cfg, bar)
        if cfg.ckpt_every and (step % cfg.ckpt_every == 0 or step == cfg.steps):
            _save_ckpt(
                ckpt_path,
                model,
                opt,
                rng,
                batcher,
                tok,
                step,
                time.perf_counter() - t0,
                tokens_seen,
            )
    bar.close()
    wall = time.perf_counter() - t0
    info = {
        "steps": step,
        "wall_seconds": round(wall, 1),
        "tokens": tokens_seen,
        "parameters": model.num_params(),
        "config": cfg.model_dump(mode="json"),
        "torch": torch.__version__,
        "device": device,
    }
    save_model(model.cpu(), tok, out, info)
    print(f"saved {out} after {step} steps, {wall / 60:.1f} min, {tokens_seen:,} tokens")
    return out


def _save_ckpt(path: Path, model, opt, rng, batcher, tok, step, elapsed, tokens) -> None:
    state = {
        "model": model.state_dict(),
        "opt": opt.state_dict(),
        "rng": rng.getstate(),
        "torch_rng": torch.get_rng_state(),
        "queue": batcher._queue,
        "pieces": tok.pieces,
        "step": step,
        "elapsed": elapsed,
        "tokens": tokens,
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def _quick_eval(model: NRMModel, tok: Tokenizer, cfg: TrainConfig, bar: tqdm) -> None:
    from npc_brain.evaluate import quick_scores

    scores = quick_scores(model, tok, cfg.eval_items)
    bar.write("eval " + " ".join(f"{k}={v:.0%}" for k, v in scores.items()))
