"""One generator per reasoning task: draw the numbers, word the question, write the steps.

Each generator takes (rng, split) and returns an Example; the split only decides the
number sizes ("hard" is longer) and the phrasing list ("heldout_phrasing"). Which items a
split may keep (train/test disjointness, the length budget) is decided in reasoning.py.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from itertools import pairwise, product

from faker.providers.lorem.en_US import Provider as _Lorem

from npc_brain.workshop.data.example import Example
from npc_brain.workshop.data.reasoning_columns import (
    compare_steps,
    digits_word,
    op_steps,
    sub_steps,
)
from npc_brain.workshop.data.reasoning_phrasings import pick
from npc_brain.workshop.data.reasoning_words import word_problem


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    """One name from a (name, weight) table."""
    return rng.choices([name for name, _ in table], weights=[w for _, w in table])[0]


def _number(rng: random.Random, min_digits: int, max_digits: int) -> int:
    """A number whose digit count is uniform in [min_digits, max_digits]."""
    n = rng.randint(min_digits, max_digits)
    return rng.randint(0, 9) if n == 1 else rng.randint(10 ** (n - 1), 10**n - 1)


# Share of lists, pairs and differences drawn to look alike: people testing an ordering or
# a subtraction pick 7, 70, 77, 707 or 4005 - 3998, which random draws almost never give.
LOOKALIKE = 0.3


def _lookalikes(rng: random.Random, count: int, digits: int) -> list[int]:
    """`count` distinct numbers of at most `digits` digits made of the same few digits, in
    random order (7, 70, 77, 707; 321, 312, 231)."""
    pool = rng.sample("0123456789", 2)
    while True:
        made = {int(s) for n in range(1, digits + 1) for s in map("".join, product(pool, repeat=n))}
        if len(made) >= count:
            return rng.sample(sorted(made), count)
        pool.append(rng.choice([d for d in "0123456789" if d not in pool]))


def _lookalike_pair(rng: random.Random, digits: int) -> tuple[int, int]:
    """A number and another of the same digits: reordered (605, 650), or one digit more or
    fewer (7, 70; 555, 55) when the digits allow no other order."""
    s = _number(rng, digits, digits)
    for _ in range(10):
        other = "".join(rng.sample(str(s), len(str(s))))
        if other[0] != "0" and int(other) != s:
            return s, int(other)
    cut = rng.randrange(len(str(s)))
    shorter = str(s)[:cut] + str(s)[cut + 1 :]
    return s, int(shorter or str(s) + "0")


def arithmetic(rng: random.Random, split: str) -> Example:
    """+ and - on 1-4 digit numbers (hard: 5-6), x of such a number by one digit; some
    differences of two close numbers (4005 - 3998)."""
    lo, hi = (5, 6) if split == "hard" else (1, 4)
    op = rng.choice("+-x")
    a = _number(rng, lo, hi)
    b = rng.randint(0, 9) if op == "x" else _number(rng, lo, hi)
    if op == "-" and rng.random() < LOOKALIKE:
        b = min(max(a + rng.randint(-30, 30), 10 ** (lo - 1)), 10**hi - 1)
    steps, result = op_steps(a, op, b)
    prompt = pick(rng, "arithmetic", op, split).format(a=a, b=b)
    return Example("arithmetic", prompt, steps, str(result))


_OP_WORDS = {"+": "add", "-": "subtract", "x": "multiply by"}
_FORMS = ("plus_minus", "paren", "paren_right", "mul_first", "precedence")
# Forms whose second operation takes `a op1 b` as its right operand: `c op2 (a op1 b)`.
_RIGHT_FORMS = ("paren_right", "precedence")
_TIMES_SIGNS = (" x ", " x ", " * ", " × ", "*")


def _apply(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b


def _two_step_numbers(rng: random.Random, hard: bool) -> tuple[str, int, str, int, str, int]:
    """(form, a, op1, b, op2, c): `a op1 b` is always computed first ("precedence" is
    written `c op2 a x b`, "paren_right" `c op2 (a op1 b)`); every intermediate and the
    result are non-negative."""
    # Hard items pair one 3-digit operand with 2-3 digit ones to stay within the budget.
    lo, hi = (2, 3) if hard else (1, 2)
    while True:
        form = rng.choice(_FORMS)
        if form == "plus_minus":
            op1, op2 = rng.choice("+-"), rng.choice("+-")
            a, b, c = (_number(rng, lo, hi) for _ in range(3))
        elif form == "paren":
            op1, op2 = rng.choice("+-"), "x"
            a, b, c = _number(rng, lo, hi), _number(rng, lo, hi), rng.randint(2, 9)
        elif form == "paren_right":
            op1, op2 = rng.choice("+-"), rng.choice("+-x")
            a, b = _number(rng, lo, hi), _number(rng, lo, hi)
            c = rng.randint(2, 9) if op2 == "x" else _number(rng, lo, hi)
        else:
            op1, op2 = "x", rng.choice("+-")
            a, b, c = _number(rng, lo, hi), rng.randint(2, 9), _number(rng, lo, hi)
        first = _apply(a, op1, b)
        final = _apply(c, op2, first) if form in _RIGHT_FORMS else _apply(first, op2, c)
        if first >= 0 and final >= 0 and (not hard or max(a, b, c) >= 100):
            return form, a, op1, b, op2, c


def two_step(rng: random.Random, split: str) -> Example:
    """Two operations; the steps do the first in full, then the second."""
    form, a, op1, b, op2, c = _two_step_numbers(rng, split == "hard")
    first_steps, r1 = op_steps(a, op1, b)
    if form == "precedence":
        expr = f"{c} {op2} {a} x {b}"
        lead = f"x comes before {op2}, so first {a} x {b}"
        second = f"then {c} {op2} {r1}"
        second_steps, result = op_steps(c, op2, r1)
    elif form == "paren_right":
        expr = f"{c} {op2} ({a} {op1} {b})"
        lead = f"first {a} {op1} {b}"
        # A product keeps its one-digit factor second, as every multiplication is worked.
        x, y = (r1, c) if op2 == "x" else (c, r1)
        second = f"then {x} {op2} {y}"
        second_steps, result = op_steps(x, op2, y)
    else:
        expr = f"({a} {op1} {b}) x {c}" if form == "paren" else f"{a} {op1} {b} {op2} {c}"
        lead = f"first {a} {op1} {b}"
        second = f"then {r1} {op2} {c}"
        second_steps, result = op_steps(r1, op2, c)
    if form not in _RIGHT_FORMS and rng.random() < 0.3:  # a chain reads left to right
        template = pick(rng, "two_step", "chain", split)
        prompt = template.format(a=a, b=b, c=c, op1=_OP_WORDS[op1], op2=_OP_WORDS[op2])
    else:
        sign = rng.choice(_TIMES_SIGNS)  # as people type it; the steps always write "x"
        prompt = pick(rng, "two_step", "expr", split).format(expr=expr.replace(" x ", sign))
    steps = [lead, *first_steps, second, *second_steps]
    return Example("two_step", prompt, steps, str(result))


_PARITY_FORMS = (("q", 6), ("yes_even", 2), ("yes_odd", 2))


def even_odd(rng: random.Random, split: str) -> Example:
    """Parity of a 1-4 digit number (hard: 7-10 digits) from its last digit; yes/no forms
    ("Is 37 even?") answer yes or no."""
    n = _number(rng, 7, 10) if split == "hard" else _number(rng, 1, 4)
    last = str(n)[-1]
    parity = "even" if int(last) % 2 == 0 else "odd"
    steps = [f"the last digit of {n} is {last}", f"{last} is {parity}"]
    form = _weighted(rng, _PARITY_FORMS)
    prompt = pick(rng, "even_odd", form, split).format(n=n)
    if form == "q":
        return Example("even_odd", prompt, steps, parity)
    asked = form.removeprefix("yes_")
    answer = "yes" if asked == parity else "no"
    steps.append(f"{n} is {parity}, the question asks if it is {asked}, so {answer}")
    return Example("even_odd", prompt, steps, answer)


def _close_pair(rng: random.Random, digits: int) -> tuple[int, int]:
    """Two different numbers of the same length sharing a random-length prefix."""
    s = str(_number(rng, digits, digits))
    at = rng.randint(0, digits - 1)
    low = 1 if at == 0 and digits > 1 else 0
    other = rng.choice([d for d in range(low, 10) if d != int(s[at])])
    tail = "".join(str(rng.randint(0, 9)) for _ in range(digits - at - 1))
    return int(s), int(s[:at] + str(other) + tail)


_COMPARE_FORMS = (("pair", 6), ("yes", 2), ("list", 2))


def comparison(rng: random.Random, split: str) -> Example:
    """Larger/smaller of two 1-4 digit numbers (hard: 5-7), most sharing a prefix or digits;
    yes/no forms ("Is 45 greater than 38?"), and the largest/smallest of 3-5 numbers."""
    lo, hi = (5, 7) if split == "hard" else (1, 4)
    form = _weighted(rng, _COMPARE_FORMS)
    which = rng.choice(("larger", "smaller"))
    if form == "list":
        return _extreme(rng, split, which)
    a = b = 0
    while a == b:
        draw = rng.random()
        if draw < 0.5:
            a, b = _close_pair(rng, rng.randint(lo, hi))
        elif draw < 0.5 + LOOKALIKE / 2:
            a, b = _lookalike_pair(rng, rng.randint(lo, hi))
        else:
            a, b = _number(rng, lo, hi), _number(rng, lo, hi)
    steps = compare_steps(a, b)
    if form == "yes":
        prompt = pick(rng, "comparison", f"yes_{which}", split).format(a=a, b=b)
        holds = (a > b) == (which == "larger")
        answer = "yes" if holds else "no"
        steps.append(f"the question asks if {a} is {which} than {b}, so {answer}")
        return Example("comparison", prompt, steps, answer)
    chosen = max(a, b) if which == "larger" else min(a, b)
    steps.append(f"the {which} is {chosen}")
    prompt = pick(rng, "comparison", which, split).format(a=a, b=b)
    return Example("comparison", prompt, steps, str(chosen))


def _extreme(rng: random.Random, split: str, which: str) -> Example:
    """The largest or smallest of 3-5 numbers (hard: 6-7), kept one comparison per step."""
    count = rng.randint(6, 7) if split == "hard" else rng.randint(3, 5)
    lookalike = rng.random() < LOOKALIKE
    nums = _lookalikes(rng, count, 3) if lookalike else rng.sample(range(1000), count)
    bigger = which == "larger"
    best, steps = nums[0], [f"start with {nums[0]}"]
    for x in nums[1:]:
        rel = ">" if best > x else "<"
        keep = max(best, x) if bigger else min(best, x)
        steps.append(f"{best} vs {x}: {best} {rel} {x}, keep {keep}")
        best = keep
    word = "largest" if bigger else "smallest"
    steps.append(f"the {word} is {best}")
    slot = "max" if bigger else "min"
    prompt = pick(rng, "comparison", slot, split).format(nums=", ".join(map(str, nums)))
    return Example("comparison", prompt, steps, str(best))


_REPEAT_POOLS = (
    ("red", "blue", "green", "yellow", "black", "white"),
    ("cat", "dog", "cow", "fox", "owl", "pig"),
    ("circle", "square", "star", "triangle"),
    ("A", "B", "C", "D", "E", "X", "Y", "Z"),
    tuple(str(d) for d in range(10)),
)
# Any common English word (Faker's list) and any letter too, so a block is copied, not
# recalled: people make patterns of whatever words come to mind.
_ANY_WORDS = tuple(w for w in _Lorem.word_list if w.isascii() and w.isalpha())
_LETTERS = (tuple(string.ascii_uppercase), tuple(string.ascii_lowercase))


def _repeat_block(rng: random.Random, period: int) -> list[str]:
    """`period` distinct items: from one fixed pool half the time, else words or letters."""
    draw = rng.random()
    if draw < 0.5:
        return rng.sample(rng.choice(_REPEAT_POOLS), period)
    return rng.sample(_ANY_WORDS if draw < 0.8 else rng.choice(_LETTERS), period)


_PATTERN_KINDS = (("up", 35), ("down", 20), ("double", 15), ("repeat", 30))


def _numeric_sequence(rng: random.Random, kind: str, hard: bool) -> list[int]:
    if kind == "double":
        start = rng.randint(13, 60) if hard else rng.randint(1, 12)
        return [start * 2**i for i in range(5 if hard else 4)]
    shown = rng.randint(5, 6) if hard else rng.randint(4, 5)
    k = rng.randint(11, 99) if hard else rng.randint(1, 15)
    if kind == "up":
        start = rng.randint(100, 900) if hard else rng.randint(0, 40)
        return [start + k * i for i in range(shown)]
    after = rng.randint(100, 400) if hard else rng.randint(0, 40)  # the answer
    return [after + k * (shown - i) for i in range(shown)]


def _repeat_steps(seq: list[str], period: int) -> tuple[list[str], str]:
    block, last = seq[:period], seq[-1]
    nxt = block[len(seq) % period]
    steps = [
        f"the block {', '.join(block)} repeats",
        f"the last item is {last}",
        f"after {last} comes {nxt}",
    ]
    return steps, nxt


def _numeric_steps(kind: str, values: list[int]) -> tuple[list[str], str]:
    """The first difference in columns, the later terms as checks against it, then the
    next term in columns. A failed check (`9, not 12`) is what reveals doubling."""
    first, second = values[0], values[1]
    k = abs(second - first)
    steps = sub_steps(max(first, second), min(first, second))
    if kind == "double":
        steps.append(f"{second} + {k} = {second + k}, not {values[2]}, so it is not add {k}")
        steps.append(", ".join(f"{x} x 2 = {y}" for x, y in pairwise(values)))
        steps.append("each term is double the one before, so the rule is multiply by 2")
        work, result = op_steps(values[-1], "x", 2)
        return steps + work, str(result)
    op, way, verb = ("+", "up", "add") if kind == "up" else ("-", "down", "subtract")
    steps.append(", ".join(f"{x} {op} {k} = {y}" for x, y in pairwise(values[1:])))
    steps.append(f"the terms go {way} by {k} each time, so the rule is {verb} {k}")
    work, result = op_steps(values[-1], op, k)
    return steps + work, str(result)


def pattern(rng: random.Random, split: str) -> Example:
    """Next term of +k, -k, x2 sequences, or of a repeating block of words/letters/digits;
    some +k/-k questions ask for a blank in the middle instead ("2, 5, __, 11, 14")."""
    hard = split == "hard"
    kind = _weighted(rng, _PATTERN_KINDS)
    if kind in ("up", "down") and rng.random() < 0.25:
        return _blank(rng, split, kind, _numeric_sequence(rng, kind, hard))
    if kind == "repeat":
        period = rng.randint(3, 4) if hard else rng.randint(2, 3)
        block = _repeat_block(rng, period)
        shown = rng.randint(8, 10) if hard else rng.randint(period + 2, 7)
        seq = [block[i % period] for i in range(shown)]
        steps, answer = _repeat_steps(seq, period)
    else:
        values = _numeric_sequence(rng, kind, hard)
        seq = [str(v) for v in values]
        steps, answer = _numeric_steps(kind, values)
    prompt = pick(rng, "pattern", "q", split).format(seq=", ".join(seq))
    return Example("pattern", prompt, steps, answer)


def _blank(rng: random.Random, split: str, kind: str, values: list[int]) -> Example:
    """A +k/-k sequence with one inner term shown as __: the rule from the first two terms,
    then the term before the gap plus (or minus) k."""
    values = [*values, values[-1] + values[1] - values[0]] if len(values) < 5 else values
    at = rng.randint(2, len(values) - 2)
    shown = [str(v) if i != at else "__" for i, v in enumerate(values)]
    first, second = values[0], values[1]
    k = abs(second - first)
    op, way, verb = ("+", "up", "add") if kind == "up" else ("-", "down", "subtract")
    steps = sub_steps(max(first, second), min(first, second))
    steps.append(f"the terms go {way} by {k} each time, so the rule is {verb} {k}")
    steps.append(f"the gap comes after {values[at - 1]}")
    work, result = op_steps(values[at - 1], op, k)
    steps += work
    steps.append(f"check: {result} {op} {k} = {values[at + 1]}")
    prompt = pick(rng, "pattern", "blank", split).format(seq=", ".join(shown))
    return Example("pattern", prompt, steps, str(result))


def word_problems(rng: random.Random, split: str) -> Example:
    """A short story with one or two operations (see reasoning_words.py)."""
    prompt, steps, answer = word_problem(rng, split)
    return Example("word_problem", prompt, steps, answer)


def sorting(rng: random.Random, split: str) -> Example:
    """3-6 distinct numbers below 100 (hard: 8-9), some alike (3, 30, 33), one selection
    per step."""
    lo, hi = (8, 9) if split == "hard" else (3, 6)
    order = rng.choice(("ascending", "descending"))
    count = rng.randint(lo, hi)
    lookalike = rng.random() < LOOKALIKE
    nums = _lookalikes(rng, count, 2) if lookalike else rng.sample(range(100), count)
    word, choose = ("smallest", min) if order == "ascending" else ("largest", max)
    left, steps = list(nums), []
    while len(left) > 1:
        chosen = choose(left)
        steps.append(f"{word} of {', '.join(map(str, left))} is {chosen}")
        left.remove(chosen)
    steps.append(f"{left[0]} is left")
    answer = ", ".join(map(str, sorted(nums, reverse=order == "descending")))
    prompt = pick(rng, "sorting", order, split).format(nums=", ".join(map(str, nums)))
    return Example("sorting", prompt, steps, answer)


_COT_KINDS = ("count", "first", "next", "prev", "double")


def _cot_steps(kind: str, n: int) -> tuple[list[str], str]:
    s = str(n)
    if kind == "count":
        listing = ", ".join(f"{d} is digit {i}" for i, d in enumerate(s, 1))
        return [listing, f"so {n} has {digits_word(n)}"], str(len(s))
    if kind == "first":
        return [f"the first digit of {n} is {s[0]}"], s[0]
    if kind == "next":
        work, result = op_steps(n, "+", 1)
        return [f"one more than {n} is {n} + 1", *work], str(result)
    if kind == "prev":
        work, result = op_steps(n, "-", 1)
        return [f"one less than {n} is {n} - 1", *work], str(result)
    work, result = op_steps(n, "+", n)
    return [f"double {n} is {n} + {n}", *work], str(result)


def cot_format(rng: random.Random, split: str) -> Example:
    """Novel digit questions (count, first digit, next, previous, double) in the format."""
    hard = split == "hard"
    kind = rng.choice(_COT_KINDS)
    if kind in ("count", "first"):
        n = _number(rng, 7, 9) if hard else _number(rng, 1, 4)
    else:
        n = _number(rng, 5, 6) if hard else _number(rng, 1, 4)
    if kind == "prev":
        n = max(n, 1)
    steps, answer = _cot_steps(kind, n)
    return Example("cot_format", pick(rng, "cot_format", kind, split).format(n=n), steps, answer)


GENERATORS: dict[str, Callable[[random.Random, str], Example]] = {
    "arithmetic": arithmetic,
    "two_step": two_step,
    "even_odd": even_odd,
    "comparison": comparison,
    "pattern": pattern,
    "word_problem": word_problems,
    "sorting": sorting,
    "cot_format": cot_format,
}
