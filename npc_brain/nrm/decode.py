"""Single-sequence decoding (the card's `model.generate`) and the sampling rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from npc_brain.nrm.digits import next_place, places
from npc_brain.nrm.kv_cache import KVCache, forward_rows

if TYPE_CHECKING:
    from npc_brain.nrm.model import NRMModel


def sample(logits: torch.Tensor, temperature: float, top_k: int, rng: torch.Generator) -> int:
    logits = logits / max(temperature, 1e-5)
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, -1)
    return int(torch.multinomial(probs, 1, generator=rng))


class Places:
    """Digit places of one sequence as it grows (None for a model without them)."""

    def __init__(self, model: NRMModel, prompt: list[int]) -> None:
        self.limit = model.cfg.digit_positions
        self.first: torch.Tensor | None = None
        if self.limit:
            self.kinds = model.digit_kind.numpy()
            placed = places(self.kinds, prompt, self.limit)
            self.prev = int(placed[-1])
            self.first = torch.from_numpy(placed).unsqueeze(0)

    def next(self, tid: int) -> torch.Tensor | None:
        if not self.limit:
            return None
        self.prev = next_place(int(self.kinds[tid]), self.prev, self.limit)
        return torch.tensor([[self.prev]])


@torch.inference_mode()
def generate_one(
    model: NRMModel,
    ids: list[int],
    max_new_tokens: int,
    temperature: float = 0.0,
    top_k: int = 0,
    seed: int | None = None,
    stop_id: int | None = None,
) -> list[int]:
    """Plain single-sequence decoding with a KV cache (no constraints)."""
    model.prepare_inference()
    cache = KVCache(model, 1)
    rng = torch.Generator().manual_seed(seed) if temperature > 0 and seed is not None else None
    if temperature > 0 and rng is None:
        rng = torch.Generator().manual_seed(torch.seed())
    limit = model.cfg.max_seq_len
    ids = ids[-(limit - 1) :]
    x = torch.tensor([ids])
    pos = torch.arange(len(ids)).unsqueeze(0)
    placer = Places(model, ids)
    logits = forward_rows(model, cache, 0, x, pos, torch.tensor([len(ids) - 1]), placer.first)[0]
    out: list[int] = []
    p = len(ids)
    while True:
        tid = int(logits.argmax()) if rng is None else sample(logits, temperature, top_k, rng)
        out.append(tid)
        if tid == stop_id or len(out) >= max_new_tokens or p >= limit:
            return out
        logits = forward_rows(
            model,
            cache,
            0,
            torch.tensor([[tid]]),
            torch.tensor([[p]]),
            torch.zeros(1, dtype=torch.long),
            placer.next(tid),
        )[0]
        p += 1
