"""Digit places (npc_brain.nrm.digits): the same places in training, the engine and every
runtime, so a model with digit positions decodes alike everywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from npc_brain.nrm import export_numpy, export_onnx
from npc_brain.nrm.checkpoint import save_model
from npc_brain.nrm.digits import digit_kinds, places
from npc_brain.nrm.engine import Engine, GenRequest
from npc_brain.nrm.model import NRMConfig, NRMModel
from npc_brain.nrm.runtime_numpy import NumpyRuntime
from npc_brain.nrm.runtime_onnx import OnnxRuntime
from npc_brain.nrm.tokenizer import Tokenizer
from npc_brain.nrm.trace import prompt_ids

LIMIT = 8
TEXTS = [
    "What is 1234567890123 + 25? Go",
    "7x 3 a1 (44) -905, 12,34",
    "<STEP> 4458 - 2740: 8 - 0 = 8, write 8, so far 18",
]


@pytest.fixture(scope="module")
def placed() -> tuple[NRMModel, Tokenizer]:
    """A random model that writes numbers (its digit tokens' embeddings scaled up), with
    digit-place embeddings loud enough to steer its choices."""
    tok = Tokenizer([*(f" {d}" for d in range(10)), " is", " What", " write", " so", " far"])
    torch.manual_seed(3)
    cfg = NRMConfig(
        vocab_size=tok.vocab_size, d_model=32, n_heads=2, d_ff=64, lora_rank=2,
        digit_positions=LIMIT,
    )  # fmt: skip
    model = NRMModel(cfg)
    kinds = digit_kinds(tok, cfg.vocab_size)
    model.set_digit_kinds(kinds)
    with torch.no_grad():
        model.embed.weight[torch.from_numpy(kinds > 0)] *= 4
        model.digit_embed.weight.mul_(30)
    return model.eval(), tok


def test_places_count_each_numbers_digits(placed: tuple) -> None:
    _, tok = placed
    got = places(digit_kinds(tok), tok.encode(" 1234567890 x7 (44) 5"), LIMIT)
    capped = [1, 2, 3, 4, 5, 6, 7, 8, 8, 8]  # " 1" "2" .. "0", the last two past LIMIT
    rest = [0, 0, 1, 0, 0, 1, 2, 0, 1]  # " " "x" "7" " " "(" "4" "4" ")" " 5"
    assert got.tolist() == capped + rest


@pytest.mark.parametrize("text", TEXTS)
def test_training_places_match_decoding_places(placed: tuple, text: str) -> None:
    model, tok = placed
    ids = tok.encode(text)
    one_by_one = places(digit_kinds(tok), ids, LIMIT)
    whole = model.digit_places(torch.tensor([ids, ids]), torch.tensor([0, 3]))
    assert whole[0].tolist() == one_by_one.tolist()
    shifted = np.where(one_by_one > 0, np.minimum(one_by_one + 3, LIMIT), 0)
    assert whole[1].tolist() == shifted.tolist()


def _greedy(model: NRMModel, ids: list[int], n: int) -> list[int]:
    """Greedy decoding with no cache: every step a full forward over the whole sequence."""
    seq = list(ids)
    with torch.no_grad():
        for _ in range(n):
            seq.append(int(model(torch.tensor([seq]))[0][0, -1].argmax()))
    return seq[len(ids) :]


def _prompts(tok: Tokenizer) -> list[list[int]]:
    return [prompt_ids(tok, t) for t in TEXTS]


def test_engine_decodes_as_whole_sequences_do(placed: tuple) -> None:
    model, tok = placed
    engine = Engine(model, tok)
    for ids in _prompts(tok):
        out, _ = engine.run(GenRequest(ids, 24, enforce_format=False))
        assert out == _greedy(model, ids, 24)
        assert model.generate(ids, 24, stop_id=-1)[len(ids) :] == out


def test_places_change_what_the_model_says(placed: tuple) -> None:
    """The check above could not pass by ignoring places: without them the tokens differ."""
    model, tok = placed
    ids = _prompts(tok)[0]
    with_places = _greedy(model, ids, 24)
    saved = model.digit_embed.weight.detach().clone()
    with torch.no_grad():
        model.digit_embed.weight.zero_()
    try:
        assert _greedy(model, ids, 24) != with_places
    finally:
        with torch.no_grad():
            model.digit_embed.weight.copy_(saved)


@pytest.mark.parametrize("runtime", [NumpyRuntime, OnnxRuntime])
def test_exported_runtimes_decode_alike(placed: tuple, tmp_path: Path, runtime: type) -> None:
    """Batched, joining mid-decode and continuing a kept prompt prefix (prefix cache)."""
    model, tok = placed
    d = save_model(model, tok, tmp_path / "placed")
    export_numpy.export(d)
    export_onnx.export(d)
    prompts = _prompts(tok)
    # The same NPC again: its prompt shares a prefix ending inside a number.
    prompts.append(prompts[0][:-4] + prompts[1][-6:])
    keys = ["a", "b", "c", "a"]

    def serve(backend: object) -> list[list[int]]:
        engine = Engine(backend, tok, max_batch=8)
        outs: dict[int, list[int]] = {}
        handles = []
        for i, (ids, key) in enumerate(zip(prompts, keys, strict=True)):
            handles.append(engine.submit(GenRequest(ids, 20, enforce_format=False, prefix_key=key)))
            for _ in range(3 if i < 2 else 40):  # the last joins after the first has left
                for ev in engine.step():
                    if ev.token_id >= 0:
                        outs.setdefault(ev.handle, []).append(ev.token_id)
        return [outs[h] for h in handles]

    assert serve(runtime(d)) == serve(model)
