"""Paraphrase augmentation: reworded training prompts keep what decides the answer."""

from __future__ import annotations

import random
import re

import pytest

from npc_brain.workshop.data.mixture import GENERATORS, TRAINING
from npc_brain.workshop.data.paraphrase import augment
from npc_brain.workshop.data.reasoning import ALL_TASKS, generate, item_key
from npc_brain.workshop.data.reasoning_phrasings import heldout_hits

N = 400


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+", text)


@pytest.mark.parametrize("task", ALL_TASKS)
def test_augmented_prompts_keep_numbers_operators_and_key(task: str) -> None:
    rng = random.Random(task)
    changed = 0
    for _ in range(N):
        ex = generate(task, rng, "train")
        new = augment(rng, ex.prompt)
        changed += new != ex.prompt
        assert _numbers(new) == _numbers(ex.prompt), (ex.prompt, new)
        assert re.findall(r" [-+x] ", new) == re.findall(r" [-+x] ", ex.prompt)
        assert item_key(type(ex)(task, new)) == item_key(ex)
        # Names and sequence items stay as written: the steps copy them.
        for word in re.findall(r"\b[A-Z][a-z]+\b", ex.prompt)[1:]:
            assert word in new, (ex.prompt, new)
    assert 0.25 * N < changed < 0.55 * N


@pytest.mark.parametrize("task", ALL_TASKS)
def test_augmentation_never_produces_heldout_wording(task: str) -> None:
    rng = random.Random(f"held/{task}")
    for _ in range(N):
        new = augment(rng, generate(task, rng, "train").prompt)
        assert heldout_hits(task, new)[1] == 0, new


def test_only_training_draws_are_augmented() -> None:
    seen_new = False
    for task in ALL_TASKS:
        for split in ("test", "heldout_phrasing", "hard"):
            a, b = random.Random(split), random.Random(split)
            assert [GENERATORS[task](a, split) for _ in range(30)] == [
                TRAINING[task](b, split) for _ in range(30)
            ]
        a, b = random.Random(1), random.Random(1)
        plain = [GENERATORS[task](a, "train").prompt for _ in range(30)]
        trained = [TRAINING[task](b, "train").prompt for _ in range(30)]
        seen_new |= plain != trained
    assert seen_new


def test_augmentation_is_deterministic() -> None:
    def run(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [augment(rng, "What is 12 + 7?") for _ in range(50)]

    assert run(5) == run(5)
    assert len(set(run(5))) > 5
