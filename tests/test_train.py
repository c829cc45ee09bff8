"""Training pipeline on the `tiny` preset: loss drops, deterministic runs, exact resume."""

import json
import random

import torch

from npc_brain.nrm.checkpoint import load_model
from npc_brain.nrm.digits import digit_kinds
from npc_brain.workshop.data.mixture import Mixture
from npc_brain.workshop.train import (
    BUDGET_MARGIN_S,
    DEFAULT_MIXTURE,
    Batcher,
    RunState,
    _fit_budget,
    load_config,
    lr_at,
    train,
)


def tiny(steps: int = 30):
    cfg = load_config("tiny")
    cfg.steps = steps
    return cfg


def weights(path) -> dict[str, torch.Tensor]:
    return torch.load(path / "model.pt", weights_only=True)


def test_tiny_model_learns(tmp_path) -> None:
    out = train(tiny(40), tmp_path / "m")
    info = json.loads((out / "train_info.json").read_text())
    assert info["steps"] == 40
    assert info["loss_last10"] < 0.75 * info["loss_first"]
    model, tok = load_model(out)
    assert model.num_params() == info["parameters"]
    assert tok.vocab_size == model.cfg.vocab_size


def test_same_seed_same_weights_and_resume_is_exact(tmp_path) -> None:
    straight = train(tiny(20), tmp_path / "a")
    again = train(tiny(20), tmp_path / "b")
    train(tiny(20), tmp_path / "c", stop_after=10)
    assert not (tmp_path / "c" / "model.pt").exists()
    resumed = train(tiny(20), tmp_path / "c", resume=True)
    a, b, c = weights(straight), weights(again), weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(torch.equal(a[k], c[k]) for k in a)


def test_batches_mask_the_prompt_and_cover_the_completion() -> None:
    cfg = tiny()
    from npc_brain.workshop.train import build_tokenizer

    tok = build_tokenizer(cfg)
    x, y, w = Batcher(cfg, tok, random.Random(0)).next()
    inst_end = tok.special_id("</INST>")
    for row_x, row_y, row_w in zip(x.tolist(), y.tolist(), w.tolist(), strict=True):
        cut = row_x.index(inst_end)
        assert all(t == -100 for t in row_y[:cut])  # no loss on the prompt
        assert row_y[cut] == tok.encode("\n")[0]  # the newline after </INST> is learned
        assert tok.special_id("</ANS>") in row_y
        assert [v > 0 for v in row_w] == [t != -100 for t in row_y]


def test_the_first_step_and_the_decision_weigh_more() -> None:
    cfg = tiny()
    cfg.key_weight = 3.0
    from npc_brain.workshop.train import build_tokenizer

    tok = build_tokenizer(cfg)
    _, y, w = Batcher(cfg, tok, random.Random(0)).next()
    step, close = tok.special_id("<STEP>"), tok.special_id("</THINK>")
    for row_y, row_w in zip(y.tolist(), w.tolist(), strict=True):
        steps = [j for j, t in enumerate(row_y) if t == step]
        weight_at = dict(zip(range(len(row_y)), row_w, strict=True))
        assert weight_at[steps[0]] == cfg.key_weight  # the first thought routes the rest
        assert weight_at[row_y.index(close)] == cfg.key_weight  # the last one decides
        assert weight_at[row_y.index(tok.special_id("</ANS>"))] == cfg.key_weight
        if len(steps) > 2:
            assert weight_at[steps[1] + 1] == 1.0  # a middle line weighs as usual


def test_mixture_covers_every_task() -> None:
    mix = Mixture(DEFAULT_MIXTURE)
    rng = random.Random(1)
    assert {mix.sample(rng).task for _ in range(600)} == set(DEFAULT_MIXTURE)


def test_periodic_eval_leaves_training_its_threads(tmp_path, monkeypatch) -> None:
    # The engine drops to one thread for small batches; training must get both back.
    seen: list[int] = []
    monkeypatch.setattr(torch.optim.AdamW, "step", _recording(torch.optim.AdamW.step, seen))
    cfg = tiny(6)
    cfg.threads, cfg.eval_every, cfg.eval_items = 2, 2, 1
    train(cfg, tmp_path / "m")
    assert seen == [2] * 6


def _recording(step, seen: list[int]):
    def wrapped(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return step(self, *args, **kwargs)

    return wrapped


def test_a_time_budget_fits_the_schedule_and_lengthens_it_only_early() -> None:
    cfg = load_config("default")
    assert cfg.minutes is not None and cfg.minutes <= 90
    planned = cfg.steps
    run = RunState(step=1000, elapsed=30 * 60)
    fast = cfg.model_copy(update={"minutes": 88})
    assert not _fit_budget(fast, run, 100, 10)  # 0.1 s a step: everything fits
    assert fast.steps == planned
    slow = cfg.model_copy(update={"minutes": 60})
    assert _fit_budget(slow, run, 100, 120)  # 1.2 s a step, 29 minutes left to spend
    assert slow.steps == run.planned == 1000 + (60 * 60 - 30 * 60 - BUDGET_MARGIN_S) // 1.2
    assert not _fit_budget(slow, run, 120, 144)  # the same pace: nothing to change
    late = RunState(step=2000, elapsed=50 * 60, planned=slow.steps, max_steps=run.max_steps)
    shortened = slow.steps
    assert not _fit_budget(slow, late, 150, 15)  # faster, but late: it stays as it is
    assert slow.steps == shortened
    early = RunState(step=300, elapsed=10 * 60, planned=slow.steps, max_steps=run.max_steps)
    assert _fit_budget(slow, early, 150, 15)  # faster early: it grows back...
    assert slow.steps == early.planned == planned  # ...up to the config's steps
    assert not _fit_budget(cfg.model_copy(update={"minutes": None}), run, 100, 1e6)
    assert lr_at(slow, slow.steps) == slow.min_lr  # the shortened schedule still anneals


def test_digit_places_train_with_shifts_and_resume_exactly(tmp_path) -> None:
    """The reasoning preset's digit places: the saved model knows its digit tokens, and the
    random shifts are part of the resumable state."""

    def placed():
        cfg = tiny(12)
        cfg.model.digit_positions, cfg.digit_offset = 16, 12
        return cfg

    straight = train(placed(), tmp_path / "a")
    train(placed(), tmp_path / "b", stop_after=6)
    resumed = train(placed(), tmp_path / "b", resume=True)
    a, b = weights(straight), weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    model, tok = load_model(straight)
    assert torch.equal(model.digit_kind, torch.from_numpy(digit_kinds(tok, model.cfg.vocab_size)))
    assert int((model.digit_kind > 0).sum()) >= 10  # at least the ten digit bytes
    assert model.digit_embed.weight[1:].abs().sum() > 0 and not model.digit_embed.weight[0].any()
