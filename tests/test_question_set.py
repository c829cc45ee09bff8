"""The hand-typed reasoning questions: well formed, answers that follow from the question,
never in training (the shipped model's score: tests/test_shipped_model.py)."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from npc_brain.workshop.data.reasoning import TASKS, check, generate, item_key
from npc_brain.workshop.question_set import PARTS, load_questions

QUESTIONS = [q for part in PARTS for q in load_questions(part)]
NUMBERS = re.compile(r"-?\d+")


def _numbers(text: str) -> list[int]:
    return [int(x) for x in NUMBERS.findall(text)]


@pytest.mark.parametrize("part", PARTS)
def test_thirty_distinct_questions_per_task(part: str) -> None:
    questions = load_questions(part)
    assert Counter(q.task for q in questions) == dict.fromkeys(TASKS, 30)
    assert len({q.question.casefold() for q in QUESTIONS}) == len(QUESTIONS)  # both parts


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q.question[:40])
def test_answer_follows_from_the_question(q) -> None:
    """What can be checked without parsing the wording: the answer's shape, and for
    sorting, parity and comparison its truth."""
    nums = _numbers(q.question)
    assert check(q.task, q.answer, q.answer)
    if q.task == "sorting":
        got = _numbers(q.answer)
        assert sorted(got) == sorted(nums) and got in (sorted(got), sorted(got, reverse=True))
    elif q.task == "even_odd":
        assert q.answer in ("even", "odd", "yes", "no") and nums  # "is 136 divisible by 2?"
        if q.answer in ("even", "odd"):
            assert (nums[0] % 2 == 0) == (q.answer == "even")
    elif q.task == "comparison":
        assert q.answer in ("yes", "no") or int(q.answer) in (min(nums), max(nums))
    else:
        assert NUMBERS.fullmatch(q.answer) or q.task == "pattern"


def test_questions_are_not_training_items() -> None:
    """The set is never trained on: no generated training prompt is one of its questions,
    nor holds the same numbers in another wording (as the test split is kept apart)."""
    asked = {q.question.casefold().rstrip("?. ") for q in QUESTIONS}
    keys = {item_key(q.example()) for q in QUESTIONS}
    rng = random.Random(5)
    for task in TASKS:
        for _ in range(300):
            example = generate(task, rng, "train")
            assert example.prompt.casefold().rstrip("?. ") not in asked
            assert item_key(example) not in keys
