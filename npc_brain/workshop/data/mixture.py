"""The training mixture: which task each example comes from, by weight."""

from __future__ import annotations

import random
from collections.abc import Callable

from npc_brain.workshop.data import npc, reasoning
from npc_brain.workshop.data.example import Example
from npc_brain.workshop.data.reasoning import ALL_TASKS

Generator = Callable[[random.Random, str], Example]


def _reasoning(task: str) -> Generator:
    def gen(rng: random.Random, split: str) -> Example:
        return reasoning.generate(task, rng, split)

    return gen


def _npc(rng: random.Random, split: str) -> Example:
    return npc.generate(rng, split)


GENERATORS: dict[str, Generator] = {t: _reasoning(t) for t in ALL_TASKS} | {"npc": _npc}


class Mixture:
    """Draws examples task by task with the configured weights (deterministic per rng)."""

    def __init__(self, weights: dict[str, float]) -> None:
        unknown = set(weights) - set(GENERATORS)
        if unknown:
            raise ValueError(f"unknown tasks in mixture: {sorted(unknown)}")
        self.tasks = [t for t, w in weights.items() if w > 0]
        self.weights = [weights[t] for t in self.tasks]

    def sample(self, rng: random.Random, split: str = "train") -> Example:
        task = rng.choices(self.tasks, self.weights)[0]
        return GENERATORS[task](rng, split)
