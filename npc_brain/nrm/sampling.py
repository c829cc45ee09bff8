"""Temperature / top-k sampling over numpy logits (the engine's; no torch)."""

from __future__ import annotations

import numpy as np


def sample(logits: np.ndarray, temperature: float, top_k: int, rng: np.random.Generator) -> int:
    z = logits.astype(np.float64) / max(temperature, 1e-5)
    if 0 < top_k < z.shape[-1]:
        kth = np.partition(z, -top_k)[-top_k]
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max())
    return int(rng.choice(p.shape[-1], p=p / p.sum()))
