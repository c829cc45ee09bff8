"""The reference card's reasoning suite: eight tasks with STEP traces that show the work.

`generate(task, rng, split)` returns one `Example`. Splits:

- "train": trained phrasings; never emits an item whose number key is test-only.
- "test": the same distribution and phrasings, restricted to test-only number keys
  (`is_test_key`: the key's blake2b hash is 0 mod 10), so no test question occurs in training.
- "heldout_phrasing": test-only keys worded with phrasings never used in training.
- "hard": test-only keys with longer numbers or lists than trained.

The generators live in reasoning_tasks.py (digit-level working in reasoning_columns.py,
wordings in reasoning_phrasings.py, stories in reasoning_words.py); docs/reasoning_suite.md
documents every task's trace.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import replace
from functools import cache

from npc_brain.workshop.data.example import Example
from npc_brain.workshop.data.reasoning_phrasings import dress
from npc_brain.workshop.data.reasoning_tasks import GENERATORS
from npc_brain.workshop.question_set import PARTS, load_questions

TASKS: tuple[str, ...] = (
    "arithmetic",
    "two_step",
    "even_odd",
    "comparison",
    "pattern",
    "word_problem",
    "sorting",
)
ALL_TASKS: tuple[str, ...] = (*TASKS, "cot_format")
CARD_NAMES: dict[str, str] = {
    "arithmetic": "Arithmetic",
    "two_step": "Two-step arithmetic",
    "even_odd": "Even/odd",
    "comparison": "Comparison",
    "pattern": "Pattern completion",
    "word_problem": "Word problems",
    "sorting": "Sorting",
    "cot_format": "CoT format",
}
SPLITS: tuple[str, ...] = ("train", "test", "heldout_phrasing", "hard")
TEST_MODULUS = 10
# Upper bound on approx_tokens(trace_text(example)) for every item of every split.
MAX_TOKENS = 300

_INT = re.compile(r"-?\d+")
# A comma-separated run of at least two items (a gap is "__"): a pattern question's sequence.
_SEQUENCE = re.compile(r"[A-Za-z0-9_]+(?:, [A-Za-z0-9_]+)+")


def item_key(example: Example) -> str:
    """What makes two questions "the same" for train/test disjointness.

    The task plus the prompt's numbers as a sorted multiset (so "Subtract 5 from 12" and
    "12 - 5", or any order of a sorting list, share a key); pattern questions use their
    sequence in order, since repeating patterns may hold no numbers at all.
    """
    if example.task == "pattern":
        runs = _SEQUENCE.findall(example.prompt)
        content = max(runs, key=len) if runs else example.prompt
    else:
        content = ",".join(str(n) for n in sorted(int(x) for x in _INT.findall(example.prompt)))
    return f"{example.task}|{content}"


@cache
def typed_keys() -> frozenset[str]:
    """The keys of the hand-typed questions (workshop.question_set, every part): training
    never draws them, so those questions, and their numbers in any wording, stay unseen."""
    return frozenset(item_key(q.example()) for part in PARTS for q in load_questions(part))


def is_test_key(key: str) -> bool:
    """The fixed disjointness rule: keys hashing to 0 mod 10 belong to evaluation only.

    blake2b rather than crc32: crc32 is linear, so similar short keys hash alike."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % TEST_MODULUS == 0


_TOKEN = re.compile(r"</?[A-Z]+>|\d|[A-Za-z]+|\n|[^\sA-Za-z\d]")


def approx_tokens(text: str) -> int:
    """Rough token count: a tag, a digit, a word, a newline or a punctuation mark each."""
    return len(_TOKEN.findall(text))


def trace_text(example: Example) -> str:
    """The full training text of an example in the project's trace format."""
    body = "".join(f"<STEP> {s}\n" for s in example.steps)
    return f"<INST>{example.prompt}</INST>\n<THINK>\n{body}</THINK>\n<ANS>{example.answer}</ANS>"


def generate(task: str, rng: random.Random, split: str = "train") -> Example:
    """One example of `task` for `split`, drawn only from `rng` (deterministic per seed).

    Items are redrawn until their key belongs to the split (train: neither a test key nor a
    hand-typed question's; every other split: a test key) and the whole trace fits in
    MAX_TOKENS. Every split's prompt is dressed (lead-in, closing, case;
    reasoning_phrasings.dress), held-out ones in held-out dress.
    """
    if task not in GENERATORS:
        raise ValueError(f"unknown reasoning task {task!r}; expected one of {ALL_TASKS}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    make, want_test = GENERATORS[task], split != "train"
    while True:
        example = make(rng, split)
        key = item_key(example)
        if is_test_key(key) != want_test or (not want_test and key in typed_keys()):
            continue
        example = replace(example, prompt=dress(rng, example.prompt, split, task != "word_problem"))
        if approx_tokens(trace_text(example)) <= MAX_TOKENS:
            return example


_INT_LIST = re.compile(r"-?\d+(?:\s*,\s*-?\d+)*")


def _normalize(text: str) -> str:
    return " ".join(text.split()).casefold()


def check(task: str, predicted: str, expected: str) -> bool:
    """Whether `predicted` answers like `expected`: whitespace and case do not matter,
    numbers compare by value, and sorting compares the number lists."""
    if task not in GENERATORS:
        raise ValueError(f"unknown reasoning task {task!r}; expected one of {ALL_TASKS}")
    got, want = _normalize(predicted), _normalize(expected)
    if task == "sorting":
        if not (_INT_LIST.fullmatch(got) and _INT_LIST.fullmatch(want)):
            return False
        return [int(x) for x in _INT.findall(got)] == [int(x) for x in _INT.findall(want)]
    if _INT.fullmatch(want):
        return _INT.fullmatch(got) is not None and int(got) == int(want)
    return got == want
