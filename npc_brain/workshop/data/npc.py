"""NPC decision examples: a designer-like situation (npc_situations) labelled by the teacher
(npc_brain.npc.teacher), split into training and evaluation by the prompt's hash, so no evaluation
situation can ever be drawn for training.
"""

from __future__ import annotations

import random
import sys
import zlib
from collections import Counter
from dataclasses import dataclass

from npc_brain.npc.actions import VOCABULARY, served_options
from npc_brain.npc.prompt import npc_prompt
from npc_brain.npc.teacher import teacher
from npc_brain.workshop.data.example import Example
from npc_brain.workshop.data.npc_situations import random_situation

HELD_OUT = 20  # one prompt in HELD_OUT (by crc32) belongs to evaluation only


def in_split(prompt: str, split: str) -> bool:
    held_out = zlib.crc32(prompt.encode()) % HELD_OUT == 0
    return held_out if split != "train" else not held_out


def generate(rng: random.Random, split: str = "train") -> Example:
    """One NPC decision example of `split` ("train", or any evaluation split)."""
    while True:
        state, actions = random_situation(rng)
        prompt = npc_prompt(state, actions)
        if in_split(prompt, split):
            break
    steps, answer = teacher(state, actions)
    return Example(
        task="npc",
        prompt=prompt,
        steps=steps,
        answer=answer,
        options=tuple(served_options(state, actions)),
        situation=(state, tuple(actions)),
    )


# ---------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class DecisionStats:
    verbs: Counter[str]  # decision verb -> count
    steps: Counter[int]  # number of STEP lines -> count
    offered: list[int]  # verbs offered per request, sorted
    lengths: list[int]  # prompt+trace characters, sorted

    @staticmethod
    def percentile(values: list[int], q: float) -> int:
        return values[round(q * (len(values) - 1))]


def decision_stats(n: int, seed: int = 0) -> DecisionStats:
    """Verb distribution, step counts, offered verbs and prompt+trace lengths over n examples."""
    from tqdm import tqdm

    rng = random.Random(seed)
    verbs: Counter[str] = Counter()
    steps: Counter[int] = Counter()
    offered: list[int] = []
    lengths: list[int] = []
    for _ in tqdm(range(n), desc="npc examples", disable=n < 5000, leave=False):
        ex = generate(rng)
        assert ex.situation is not None
        verbs[ex.answer.split(" ")[0]] += 1
        steps[len(ex.steps)] += 1
        offered.append(len(ex.situation[1]))
        lengths.append(len(ex.text()))
    return DecisionStats(verbs, steps, sorted(offered), sorted(lengths))


def main(argv: list[str] | None = None) -> int:
    """`python -m npc_brain.workshop.data.npc [N] [SEED]`: print the decision distribution."""
    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 10_000
    stats = decision_stats(n, int(args[1]) if len(args) > 1 else 0)
    for verb, count in stats.verbs.most_common():
        print(f"{verb:14s} {count:6d} {100 * count / n:5.1f}%")
    print(f"verbs used: {len(stats.verbs)} of {len(VOCABULARY)}")
    print(f"steps per example: {dict(sorted(stats.steps.items()))}")
    pct = DecisionStats.percentile
    print(
        f"verbs offered: median {pct(stats.offered, 0.5)}, p10 {pct(stats.offered, 0.1)}, "
        f"p90 {pct(stats.offered, 0.9)}"
    )
    print(
        f"prompt+trace chars: median {pct(stats.lengths, 0.5)}, "
        f"p95 {pct(stats.lengths, 0.95)}, max {stats.lengths[-1]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
