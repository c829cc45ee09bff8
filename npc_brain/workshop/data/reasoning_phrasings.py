"""Question wordings for the reasoning suite, split into trained and held-out phrasings.

Each slot maps to (train templates, held-out templates). Train and test draw from the
first list only; the "heldout_phrasing" split draws from the second only, so those
wordings are never seen in training. Held-out wordings keep the cue words that decide the
operation (plus, more, away, ...) but change the sentence around them.
"""

from __future__ import annotations

import random
import re

Slot = tuple[tuple[str, ...], tuple[str, ...]]

PHRASES: dict[str, dict[str, Slot]] = {
    "arithmetic": {
        "+": (
            (
                "What is {a} + {b}?",
                "Compute {a} + {b}.",
                "Add {a} and {b}.",
                "{a} plus {b} equals?",
                "Calculate {a} + {b}.",
                "What is the sum of {a} and {b}?",
                "{a} + {b} = ?",
                "What do you get when you add {a} and {b}?",
            ),
            ("Find {a} + {b}.", "How much is {a} plus {b}?", "Work out {a} added to {b}."),
        ),
        "-": (
            (
                "What is {a} - {b}?",
                "Compute {a} - {b}.",
                "Subtract {b} from {a}.",
                "{a} minus {b} equals?",
                "Calculate {a} - {b}.",
                "What is {a} take away {b}?",
                "{a} - {b} = ?",
                "What do you get when you subtract {b} from {a}?",
            ),
            ("Find {a} - {b}.", "How much is {a} minus {b}?", "Work out {b} taken from {a}."),
        ),
        "x": (
            (
                "What is {a} x {b}?",
                "Compute {a} x {b}.",
                "Multiply {a} by {b}.",
                "{a} times {b} equals?",
                "Calculate {a} x {b}.",
                "What is the product of {a} and {b}?",
                "{a} x {b} = ?",
                "What do you get when you multiply {a} by {b}?",
            ),
            ("Find {a} x {b}.", "How much is {a} times {b}?", "Work out {a} multiplied by {b}."),
        ),
    },
    "two_step": {
        "expr": (
            (
                "What is {expr}?",
                "Compute {expr}.",
                "Calculate {expr}.",
                "{expr} = ?",
                "Evaluate {expr}.",
                "Solve {expr}.",
            ),
            ("Find the value of {expr}.", "How much is {expr}?"),
        ),
        "chain": (
            (
                "Start with {a}, {op1} {b}, then {op2} {c}.",
                "Take {a}, {op1} {b} and then {op2} {c}.",
                "Begin at {a}. First {op1} {b}, then {op2} {c}.",
            ),
            ("From {a}, {op1} {b}; after that, {op2} {c}.",),
        ),
    },
    "even_odd": {
        "q": (
            (
                "Is {n} even or odd?",
                "Is {n} odd or even?",
                "Even or odd: {n}",
                "Tell me whether {n} is even or odd.",
                "Is the number {n} even or odd?",
                "Decide if {n} is odd or even.",
            ),
            (
                "{n}: odd or even?",
                "Say if {n} is even or odd, please.",
                "Would you call {n} even or odd?",
            ),
        ),
    },
    "comparison": {
        "larger": (
            (
                "Which is larger, {a} or {b}?",
                "Which number is bigger: {a} or {b}?",
                "What is the larger of {a} and {b}?",
                "Which is greater, {a} or {b}?",
                "Pick the larger number: {a}, {b}",
                "Between {a} and {b}, which is more?",
            ),
            ("Name the greater of {a} and {b}.", "Of {a} and {b}, which one is larger?"),
        ),
        "smaller": (
            (
                "Which is smaller, {a} or {b}?",
                "Which number is less: {a} or {b}?",
                "What is the smaller of {a} and {b}?",
                "Which is lower, {a} or {b}?",
                "Pick the smaller number: {a}, {b}",
                "Between {a} and {b}, which is less?",
            ),
            ("Name the lesser of {a} and {b}.", "Of {a} and {b}, which one is smaller?"),
        ),
    },
    "pattern": {
        "q": (
            (
                "What comes next: {seq}, ?",
                "Continue the pattern: {seq}, ...",
                "What is the next item in {seq}?",
                "{seq}, ... what comes next?",
                "Complete the sequence: {seq}, ?",
                "Find the next term of {seq}.",
            ),
            ("Guess the item after {seq}.", "Which term follows {seq}?"),
        ),
    },
    "sorting": {
        "ascending": (
            (
                "Sort {nums} in ascending order.",
                "Sort these numbers from smallest to largest: {nums}",
                "Put {nums} in order from least to greatest.",
                "Arrange in ascending order: {nums}",
                "Order {nums} from low to high.",
            ),
            ("List {nums} in increasing order.", "Rank {nums} with the smallest first."),
        ),
        "descending": (
            (
                "Sort {nums} in descending order.",
                "Sort these numbers from largest to smallest: {nums}",
                "Put {nums} in order from greatest to least.",
                "Arrange in descending order: {nums}",
                "Order {nums} from high to low.",
            ),
            ("List {nums} in decreasing order.", "Rank {nums} with the largest first."),
        ),
    },
    "word_problem": {
        "start": (
            ("{name} has {n} {item}.", "{name} starts with {n} {item}."),
            ("{name} owns {n} {item}.",),
        ),
        "+": (
            (
                "{name} buys {n} more.",
                "{name} finds {n} more.",
                "{name} gets {n} more.",
                "{name} is given {n} more.",
            ),
            ("{name} picks up {n} more.", "{name} wins {n} more."),
        ),
        "-": (
            (
                "{name} gives {n} to {other}.",
                "{name} loses {n}.",
                "{name} gives away {n}.",
                "{name} sells {n}.",
            ),
            ("{name} throws away {n}.", "{name} hands {n} to {other}."),
        ),
        "x": (
            (
                "{name} buys {k} {cont} of {item}. Each {one} has {n} {item}.",
                "{name} has {k} {cont} with {n} {item} in each.",
                "{name} fills {k} {cont} with {n} {item} each.",
            ),
            ("{name} carries {k} {cont}, and every {one} holds {n} {item}.",),
        ),
        "/": (
            (
                "{name} shares them equally among {k} friends.",
                "{name} splits them equally between {k} friends.",
            ),
            ("{name} deals them out evenly to {k} friends.",),
        ),
        "ask": (
            (
                "How many {item} does {name} have now?",
                "How many {item} does {name} have in the end?",
            ),
            ("What is the number of {item} {name} has now?",),
        ),
        "ask_share": (
            ("How many {item} does each friend get?", "How many {item} does each friend receive?"),
            ("What share of {item} does one friend end up with?",),
        ),
    },
    "cot_format": {
        "count": (
            ("How many digits does {n} have?", "Count the digits in {n}."),
            ("What is the number of digits of {n}?",),
        ),
        "first": (
            ("What is the first digit of {n}?", "Which digit does {n} start with?"),
            ("Tell me the leading digit of {n}.",),
        ),
        "next": (
            ("What number comes after {n}?", "What is one more than {n}?"),
            ("Which number follows {n}?",),
        ),
        "prev": (
            ("What number comes before {n}?", "What is one less than {n}?"),
            ("Which number precedes {n}?",),
        ),
        "double": (
            ("What is double {n}?", "What is twice {n}?"),
            ("How much is {n} doubled?",),
        ),
    },
}


def pick(rng: random.Random, task: str, slot: str, split: str) -> str:
    """One template for a slot: held-out wordings for "heldout_phrasing", trained otherwise."""
    train, heldout = PHRASES[task][slot]
    return rng.choice(heldout if split == "heldout_phrasing" else train)


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex that finds the template's fixed text around any slot values."""
    parts = re.split(r"\{[a-z0-9_]+\}", template)
    return re.compile(".+?".join(re.escape(p) for p in parts))


def heldout_hits(task: str, prompt: str) -> tuple[int, int]:
    """How many (trained, held-out) templates of `task` occur in `prompt` (for tests/eval)."""
    trained = held = 0
    for train, heldout in PHRASES[task].values():
        trained += sum(bool(template_pattern(t).search(prompt)) for t in train)
        held += sum(bool(template_pattern(t).search(prompt)) for t in heldout)
    return trained, held
