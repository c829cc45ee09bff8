"""Training: config, batching, the loop with progress, periodic eval, checkpoints, resume."""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from pydantic import BaseModel, Field
from tqdm import tqdm

from npc_brain.nrm.checkpoint import save_model
from npc_brain.nrm.digits import digit_kinds
from npc_brain.nrm.model import NRMConfig, NRMModel
from npc_brain.nrm.tokenizer import PAD_ID, Tokenizer
from npc_brain.nrm.trace import format_completion, prompt_ids
from npc_brain.workshop.data.example import Example
from npc_brain.workshop.data.mixture import Mixture

DEFAULT_MIXTURE = {
    "npc": 0.46,
    "arithmetic": 0.085,
    "two_step": 0.067,
    "even_odd": 0.036,
    "comparison": 0.063,
    "pattern": 0.09,
    "word_problem": 0.085,
    "sorting": 0.09,
    "cot_format": 0.024,
}
# The reasoning tasks alone, in the same proportions.
_REASONING_SHARE = sum(w for t, w in DEFAULT_MIXTURE.items() if t != "npc")
REASONING_MIXTURE = {
    t: round(w / _REASONING_SHARE, 4) for t, w in DEFAULT_MIXTURE.items() if t != "npc"
}


# Seconds a time budget keeps in hand for saving the model at the end.
BUDGET_MARGIN_S = 60
# Steps a time budget leaves out of its pace: the first ones run slower (warm-up).
WARM_STEPS = 20


class TrainConfig(BaseModel):
    model: NRMConfig = Field(default_factory=NRMConfig)
    mixture: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_MIXTURE))
    steps: int = 6200
    batch_size: int = 48
    pool_batches: int = 8  # examples are drawn this many batches at a time, sorted by length
    lr: float = 3e-3
    min_lr: float = 1e-4
    warmup: int = 200
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    # Loss weight of the key lines (the first STEP, the last STEP and the answer) against
    # 1 for every other trained token: they route the procedure and carry the decision.
    # One default-preset run at 3 did worse on the designer set (docs/model_card.md), so off
    # by default; the reasoning preset uses 3 (better routing on held-out wordings, ibid.).
    key_weight: float = 1.0
    seed: int = 1234
    tokenizer_samples: int = 30000
    eval_every: int = 1000
    eval_items: int = 16
    ckpt_every: int = 250
    threads: int = 2
    # Largest random shift of a sequence's digit places (npc_brain.nrm.digits), so places
    # past the trained number lengths are learnt too; needs model.digit_positions.
    digit_offset: int = 0
    compile: bool = False  # torch.compile the training forward (faster on long runs)
    # Wall-time budget in minutes (None: none). A machine slower than planned (a shared CPU)
    # shortens the cosine schedule as the run goes, so it still ends, annealed, in time.
    minutes: float | None = None

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
    # One model for everything: the project's limit is 90 minutes of training on its 2-core CPU.
    "default": {"minutes": 88},
    # Two specialists, each trained alone on both cores (each within the limit): the
    # sidecar's `decide` model, and the `generate` model it keeps in the first's generate/.
    # Steps are what a whole budget can hold; the time budget shortens them on a slower CPU.
    "npc": {"minutes": 88, "steps": 7000, "eval_every": 0, "mixture": {"npc": 1.0}},
    "reasoning": {
        "minutes": 88,
        "steps": 7000,
        "key_weight": 3.0,
        "eval_every": 0,
        "mixture": REASONING_MIXTURE,
    },
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
    prompt = prompt_ids(tok, ex.prompt)
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
        self.queue: list[list[tuple[list[int], int]]] = []

    def next(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not self.queue:
            self._refill()
        return self._collate(self.queue.pop())

    def _refill(self) -> None:
        limit = self.cfg.model.max_seq_len
        n = self.cfg.batch_size * self.cfg.pool_batches
        items = [encode_example(self.tok, self.mix.sample(self.rng)) for _ in range(n)]
        items = [(ids[:limit], start) for ids, start in items]
        items.sort(key=lambda it: len(it[0]))
        bs = self.cfg.batch_size
        self.queue = [items[i : i + bs] for i in range(0, n, bs)]
        self.rng.shuffle(self.queue)

    def _collate(
        self, items: list[tuple[list[int], int]]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Inputs, targets (-100: no loss) and each target's loss weight."""
        width = max(len(ids) for ids, _ in items) - 1
        x = torch.full((len(items), width), PAD_ID, dtype=torch.long)
        y = torch.full((len(items), width), -100, dtype=torch.long)
        w = torch.zeros((len(items), width))
        step_id = self.tok.special_id("<STEP>")
        for i, (ids, start) in enumerate(items):
            t = torch.tensor(ids)
            x[i, : len(ids) - 1] = t[:-1]
            y[i, start - 1 : len(ids) - 1] = t[start:]
            w[i, start - 1 : len(ids) - 1] = 1.0
            for lo, hi in key_spans(ids, start, step_id) if self.cfg.key_weight != 1 else ():
                w[i, lo - 1 : hi - 1] = self.cfg.key_weight
        return x, y, w


def key_spans(ids: list[int], start: int, step_id: int) -> list[tuple[int, int]]:
    """Token ranges of the key lines: the first STEP line, and the last STEP to the end."""
    steps = [k for k in range(start, len(ids)) if ids[k] == step_id]
    if not steps:
        return [(start, len(ids))]
    first_end = steps[1] if len(steps) > 1 else len(ids)
    return [(steps[0], first_end), (steps[-1], len(ids))]


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


@dataclass
class RunState:
    """Everything a checkpoint holds besides the weights, so a resumed run continues exactly."""

    step: int = 0
    planned: int = 0  # the schedule's length, once a time budget has changed it
    max_steps: int = 0  # the config's steps, the most a time budget may plan
    elapsed: float = 0.0
    tokens: int = 0
    losses: list[float] = field(default_factory=list)


def train(
    cfg: TrainConfig,
    out_dir: str | Path,
    resume: bool = False,
    device: str = "cpu",
    stop_after: int | None = None,
) -> Path:
    """Train and write a model directory to out_dir (checkpoints under out_dir/ckpt.pt).

    stop_after ends this run after that many steps (a checkpoint is written), as an
    interruption would; `resume=True` continues it exactly.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    ckpt_path = out / "ckpt.pt"
    saved = torch.load(ckpt_path, weights_only=False) if resume and ckpt_path.is_file() else None
    tok = Tokenizer(saved["pieces"]) if saved else build_tokenizer(cfg)
    cfg.model.vocab_size = tok.vocab_size
    model = NRMModel(cfg.model).to(device)
    if cfg.model.digit_positions:
        model.set_digit_kinds(digit_kinds(tok, cfg.model.vocab_size))
    opt = make_optimizer(model, cfg)
    rng = random.Random(cfg.seed)
    batcher = Batcher(cfg, tok, rng)
    run = RunState()
    if saved:
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        rng.setstate(saved["rng"])
        torch.set_rng_state(saved["torch_rng"])
        batcher.queue = saved["queue"]
        run = RunState(**saved["run"])
        cfg.steps = min(cfg.steps, run.planned or cfg.steps)
    print(f"model: {model.num_params():,} parameters, vocab {tok.vocab_size}, {cfg.steps} steps")
    _loop(cfg, model, opt, batcher, run, device, ckpt_path, stop_after)
    if run.step < cfg.steps:
        _save_ckpt(ckpt_path, model, opt, batcher, run)
        print(f"stopped at step {run.step}; continue with --resume")
        return out
    info = {
        "steps": run.step,
        "wall_seconds": round(run.elapsed, 1),
        "tokens": run.tokens,
        "parameters": model.num_params(),
        "loss_first": run.losses[0] if run.losses else None,
        "loss_last10": round(sum(run.losses[-10:]) / max(1, len(run.losses[-10:])), 4),
        "config": cfg.model_dump(mode="json"),
        "torch": torch.__version__,
        "device": device,
    }
    save_model(model.cpu(), tok, out, info)
    print(f"saved {out} after {run.step} steps, {run.elapsed / 60:.1f} min, {run.tokens:,} tokens")
    return out


def _loop(
    cfg: TrainConfig,
    model: NRMModel,
    opt: torch.optim.Optimizer,
    batcher: Batcher,
    run: RunState,
    device: str,
    ckpt_path: Path,
    stop_after: int | None,
) -> None:
    bar = tqdm(total=cfg.steps, initial=run.step, desc="train", unit="step", dynamic_ncols=True)
    t0 = time.perf_counter() - run.elapsed
    tokens_at_start, t_start = run.tokens, time.perf_counter()
    # The budget's pace is measured after the first steps, which are slow (warm-up).
    paced_from, t_paced = run.step + WARM_STEPS, t_start
    stop = run.step + stop_after if stop_after is not None else None
    bar_steps = cfg.steps
    loss_ema = None
    forward = torch.compile(model, dynamic=True) if cfg.compile else model
    while run.step < (cfg.steps if stop is None else min(cfg.steps, stop)):
        model.train()
        x, y, w = (t.to(device) for t in batcher.next())
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, run.step)
        _, loss = forward(x, y, w, _digit_offsets(cfg, len(x), device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        run.step += 1
        run.tokens += int((x != PAD_ID).sum())
        run.losses.append(round(loss.item(), 4))
        run.elapsed = time.perf_counter() - t0
        loss_ema = run.losses[-1] if loss_ema is None else 0.95 * loss_ema + 0.05 * run.losses[-1]
        rate = (run.tokens - tokens_at_start) / max(1e-6, time.perf_counter() - t_start)
        bar.set_postfix(
            loss=f"{loss_ema:.3f}", tok_s=f"{rate:,.0f}", lr=f"{lr_at(cfg, run.step):.1e}"
        )
        bar.update(1)
        if run.step == paced_from:
            t_paced = time.perf_counter()
        paced = run.step - paced_from
        if _fit_budget(cfg, run, paced, time.perf_counter() - t_paced):
            if bar.total - cfg.steps >= 100 or bar.total == bar_steps:  # not every 50 steps
                bar.write(f"time budget: the schedule now ends at step {cfg.steps}")
            bar.total = cfg.steps
        if cfg.eval_every and run.step % cfg.eval_every == 0 and run.step < cfg.steps:
            _quick_eval(model, batcher.tok, cfg, bar)
        if cfg.ckpt_every and (run.step % cfg.ckpt_every == 0 or run.step == cfg.steps):
            _save_ckpt(ckpt_path, model, opt, batcher, run)
    bar.close()


def _digit_offsets(cfg: TrainConfig, rows: int, device: str) -> torch.Tensor | None:
    """One random shift of digit places per sequence (None: the model has no places)."""
    if not cfg.model.digit_positions:
        return None
    return torch.randint(0, cfg.digit_offset + 1, (rows,), device=device)


def _fit_budget(cfg: TrainConfig, run: RunState, done: int, seconds: float) -> bool:
    """Fit the schedule to `cfg.minutes` at the pace of `done` steps in `seconds` (checked
    every 50 steps): shorten it when the steps left would overrun, lengthen it back (up to
    the config's steps) while in its first third, where the learning rate is still high,
    when the pace turns out faster than first measured. True when it changed."""
    if cfg.minutes is None or done < 50 or done % 50:
        return False
    run.max_steps = run.max_steps or cfg.steps
    left = cfg.minutes * 60 - run.elapsed - BUDGET_MARGIN_S
    fits = min(run.max_steps, run.step + max(0, int(left / (seconds / done))))
    if fits == cfg.steps or (fits > cfg.steps and run.step > cfg.steps // 3):
        return False
    cfg.steps = run.planned = max(run.step + 1, fits)
    return True


def _save_ckpt(path: Path, model: NRMModel, opt, batcher: Batcher, run: RunState) -> None:
    state = {
        "model": model.state_dict(),
        "opt": opt.state_dict(),
        "rng": batcher.rng.getstate(),
        "torch_rng": torch.get_rng_state(),
        "queue": batcher.queue,
        "pieces": batcher.tok.pieces,
        "run": asdict(run),
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def _quick_eval(model: NRMModel, tok: Tokenizer, cfg: TrainConfig, bar: tqdm) -> None:
    from npc_brain.workshop.evaluate import quick_scores

    scores = quick_scores(model, tok, cfg.eval_items)
    bar.write("eval " + " ".join(f"{k}={v:.0%}" for k, v in scores.items()))
