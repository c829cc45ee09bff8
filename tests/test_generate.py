import random

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from npc_brain.nrm.decode import generate_one
from npc_brain.nrm.engine import Engine, GenRequest
from npc_brain.nrm.model import NRMConfig, NRMModel
from npc_brain.nrm.tokenizer import Tokenizer
from npc_brain.nrm.trace import Answer, parse_trace

TOK = Tokenizer([" wolf", " attack", " flee", "bread", " eat", " the"])


def model(seed: int = 0) -> NRMModel:
    torch.manual_seed(seed)
    cfg = NRMConfig(
        vocab_size=TOK.vocab_size, d_model=64, n_heads=4, d_ff=128, max_seq_len=256, lora_rank=4
    )
    return NRMModel(cfg).eval()


def prompt(n: int, rng: random.Random) -> list[int]:
    return [1] + [rng.randrange(8, TOK.vocab_size) for _ in range(n)] + [2]


def test_ragged_batch_decodes_like_each_alone() -> None:
    m = model()
    rng = random.Random(1)
    prompts = [prompt(n, rng) for n in (3, 17, 9, 30, 1)]
    alone = [generate_one(m, p, 24) for p in prompts]
    engine = Engine(m, TOK, max_batch=8)
    outs: dict[int, list[int]] = {}
    handles = []
    for i, p in enumerate(prompts):
        handles.append(engine.submit(GenRequest(p, max_new_tokens=24, enforce_format=False)))
        if i == 2:  # sequences join while others are mid-flight
            for ev in engine.step() + engine.step():
                outs.setdefault(ev.handle, []).append(ev.token_id)
    while engine.active:
        for ev in engine.step():
            outs.setdefault(ev.handle, []).append(ev.token_id)
    assert [outs[h] for h in handles] == alone


def test_cancel_stops_a_sequence() -> None:
    engine = Engine(model(), TOK, max_batch=4)
    rng = random.Random(2)
    a = engine.submit(GenRequest(prompt(5, rng), max_new_tokens=50, enforce_format=False))
    b = engine.submit(GenRequest(prompt(6, rng), max_new_tokens=50, enforce_format=False))
    engine.step()
    engine.cancel(a)
    events = engine.step()
    assert any(ev.handle == a and ev.done and ev.reason == "cancelled" for ev in events)
    reasons = {}
    while engine.active:
        for ev in engine.step():
            if ev.done:
                reasons[ev.handle] = ev.reason
    assert reasons == {b: "max_tokens"}


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 10_000),
    st.lists(st.text(alphabet="abcdefg xyz_é", min_size=1, max_size=12), min_size=1, max_size=6),
    st.sampled_from([0.0, 1.0]),
)
def test_constrained_answer_is_always_an_option(
    seed: int, options: list[str], temperature: float
) -> None:
    m = model(seed % 5)
    engine = Engine(m, TOK, max_batch=4)
    rng = random.Random(seed)
    req = GenRequest(
        prompt(rng.randrange(1, 20), rng),
        max_new_tokens=90,
        answer_options=options,
        temperature=temperature,
        seed=seed,
        max_steps=3,
    )
    ids, reason = engine.run(req)
    result = parse_trace(TOK.decode(ids))
    assert reason == "answer"
    assert isinstance(result, Answer) and result.text in [o.strip() for o in options]
    assert 1 <= len(result.steps) <= 3


def test_seeded_sampling_is_reproducible() -> None:
    m = model()
    rng = random.Random(3)
    p = prompt(8, rng)
    runs = [
        Engine(m, TOK).run(
            GenRequest(p, 30, temperature=0.9, top_k=20, seed=7, enforce_format=False)
        )
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_too_small_budget_is_rejected() -> None:
    engine = Engine(model(), TOK)
    try:
        engine.submit(GenRequest([1, 2], max_new_tokens=3, answer_options=["attack the wolf"]))
    except ValueError as e:
        assert "max_new_tokens" in str(e)
    else:
        raise AssertionError("expected ValueError")
