"""The prefix cache: an NPC thinking again reuses its prompt's keys and values, and decodes
exactly the tokens it would decode from scratch, on every runtime."""

from __future__ import annotations

import pytest

from npc_brain.npc.decision import plan_decision
from npc_brain.npc.state import NPCState
from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, load_model
from npc_brain.nrm.engine import Engine, GenRequest
from npc_brain.nrm.prefix_cache import MIN_SHARED, PrefixCache
from npc_brain.nrm.runtime_numpy import NumpyRuntime
from npc_brain.nrm.runtime_onnx import OnnxRuntime
from npc_brain.nrm.runtime_torch import TorchRuntime
from npc_brain.nrm.tokenizer import Tokenizer
from npc_brain.nrm.trace import prompt_ids
from npc_brain.workshop.bench_model import REQUEST


@pytest.fixture(scope="module")
def runtimes() -> tuple[dict, Tokenizer]:
    model, tok = load_model()
    found = {
        "onnx": OnnxRuntime(DEFAULT_MODEL_DIR),
        "numpy": NumpyRuntime(DEFAULT_MODEL_DIR),
        "torch": TorchRuntime(model),
    }
    return found, tok


def guard_request(tok: Tokenizer, wolf_m: int, key: str | None) -> GenRequest:
    """The guard's decide request, as the sidecar serves it, with the wolf `wolf_m` away."""
    wolf = {"name": "wolf", "kind": "animal", "distance": wolf_m, "hostile": True}
    guard = REQUEST["npc"] | {"perception": [wolf]}  # the benchmarks' guard at the gate
    plan = plan_decision(NPCState.model_validate(guard), list(REQUEST["actions"]))
    ids = prompt_ids(tok, plan.prompt)
    return GenRequest(
        ids, 160, answer_options=plan.options, thought_rules=plan.rules, prefix_key=key
    )


def step(engine: Engine, outs: dict[int, list[int]]) -> None:
    for ev in engine.step():
        if ev.token_id >= 0:
            outs.setdefault(ev.handle, []).append(ev.token_id)


@pytest.mark.parametrize("backend", ["onnx", "numpy", "torch"])
def test_thinking_again_reuses_the_prompt_and_decodes_the_same(
    runtimes: tuple, backend: str
) -> None:
    found, tok = runtimes
    runtime = found[backend]
    fresh = [
        Engine(runtime, tok, prefix_tokens=0).run(guard_request(tok, m, None))[0] for m in (9, 5, 3)
    ]
    engine = Engine(runtime, tok, max_batch=8)
    first = engine.run(guard_request(tok, 9, "guard"))[0]
    assert engine.prefixes.reused == 0
    # The guard again (the wolf closer) beside another NPC's whole prompt, in one prefill,
    # then the guard a third time joining while those two still decode.
    again = engine.submit(guard_request(tok, 5, "guard"))
    other = engine.submit(guard_request(tok, 3, "other"))
    outs: dict[int, list[int]] = {}
    step(engine, outs)
    reused = engine.prefixes.reused
    assert reused >= MIN_SHARED
    third = engine.submit(guard_request(tok, 3, "guard"))
    while engine.active:
        step(engine, outs)
    assert engine.prefixes.reused > reused
    assert [first, outs[again], outs[other], outs[third]] == [*fresh, fresh[2]]


def test_kept_prompts_stay_within_their_token_budget() -> None:
    cache = PrefixCache(max_tokens=30)
    for key in ("a", "b", "c"):
        cache.keep(key, list(range(12)), key)
    assert len(cache) == 2  # 36 tokens do not fit: the least recently used went
    assert cache.shared("a", list(range(12))) == (0, None)
    assert cache.shared("b", [*range(10), 99]) == (10, "b")  # touched: "c" goes next
    cache.keep("d", list(range(12)), "d")
    assert cache.shared("c", list(range(12))) == (0, None)
    # Never the whole prompt: its last token's logits are the prefill's to compute.
    assert cache.shared("b", list(range(12))) == (11, "b")
    assert cache.shared("d", [*range(MIN_SHARED - 1), 99]) == (0, None)
    cache.keep("huge", list(range(31)), "huge")
    assert cache.shared("huge", list(range(31))) == (0, None)
