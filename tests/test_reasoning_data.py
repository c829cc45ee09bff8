"""The reasoning suite: every trace recomputed independently of the generators."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from functools import cache
from itertools import pairwise

import pytest

from npc_brain.workshop.data.example import Example
from npc_brain.workshop.data.reasoning import (
    ALL_TASKS,
    CARD_NAMES,
    MAX_TOKENS,
    SPLITS,
    TASKS,
    approx_tokens,
    check,
    generate,
    is_test_key,
    item_key,
    trace_text,
)
from npc_brain.workshop.data.reasoning_phrasings import CLOSINGS, LEAD_INS, PHRASES, wordings
from npc_brain.workshop.data.reasoning_words import TAILS

N = 250  # items per task and split; the whole file runs in a few seconds


@cache
def sample(task: str, split: str, seed: int = 7) -> tuple[Example, ...]:
    rng = random.Random(f"{task}/{split}/{seed}")
    return tuple(generate(task, rng, split) for _ in range(N))


# --- independent recomputation of the digit-level working ---------------------------

ADD = re.compile(
    r"(\d+) \+ (\d+)(?: carry (\d))?: (\d) \+ (\d)(?: \+ (\d))? = (\d+), "
    r"write (\d)(?: carry (\d))?, so far (\d+)"
)
SUB = re.compile(
    r"(\d+) - (\d+)( borrow 1)?: (\d+) - (\d)( - 1)? = (\d), write (\d)( borrow 1)?, so far (\d+)"
)
MUL = re.compile(
    r"(\d+) x (\d)(?: carry (\d))?: (\d) x (\d) = (\d+)(?:, (\d+) \+ (\d) = (\d+))?, "
    r"write (\d)(?: carry (\d))?, so far (\d+)"
)
CARRY = re.compile(r"carry (\d): write (\d), so far (\d+)")
FINAL = re.compile(r"(\d+) ([-+x]) (\d+) = (-?\d+)")
SWAP = re.compile(r"(\d+) < (\d+), so \1 - \2 = -\(\2 - \1\)")
EQUATION = re.compile(r"(?<![\d(])(\d+) ([-+x/]) (\d+)(?: ([-+]) (\d+))? = (-?\d+)(?![\d)])")
RELATION = re.compile(r"(?<![\d(])(\d+) ([<>]) (\d+)(?!\d)")


def _int(s: str | None) -> int:
    return int(s) if s else 0


def _strip(s: str) -> str:
    return s[:-1] or "0"


class ColumnChecker:
    """Walks STEP lines, checking each column against its predecessor in the block."""

    def __init__(self) -> None:
        self.block: list[tuple] = []  # (op, a, b, carry_out, so_far) per column so far

    def step(self, line: str) -> None:
        if m := ADD.fullmatch(line):
            a, b, cin, da, db, c2, total, w, cout, sf = m.groups()
            assert (int(da), int(db)) == (int(a[-1]), int(b[-1])), line
            assert _int(cin) == _int(c2) and int(total) == int(da) + int(db) + _int(cin), line
            self._column("+", a, b, _int(cin), int(total), w, cout, sf, line)
        elif m := SUB.fullmatch(line):
            a, b, bin_, top, db, b2, r, w, bout, sf = m.groups()
            da, borrow = int(a[-1]), 1 if bin_ else 0
            assert int(db) == int(b[-1]) and bool(b2) == bool(bin_), line
            needs = da - borrow < int(db)
            assert int(top) == da + (10 if needs else 0) and bool(bout) == needs, line
            assert int(r) == int(top) - int(db) - borrow == int(w), line
            self._column("-", a, b, borrow, None, w, "1" if bout else None, sf, line)
        elif m := MUL.fullmatch(line):
            a, d, cin, da, d2, p, p2, c2, t, w, cout, sf = m.groups()
            assert int(da) == int(a[-1]) and d == d2 and int(p) == int(da) * int(d), line
            total = int(p)
            if cin:
                assert (p2, c2) == (p, cin) and int(t) == int(p) + int(cin), line
                total = int(t)
            self._column("x", a, d, _int(cin), total, w, cout, sf, line)
        elif m := CARRY.fullmatch(line):
            carry, w, sf = m.groups()
            op, *_, prev_cout, prev_sf = self.block[-1]
            assert op in "+x" and carry == w == str(prev_cout) and sf == w + prev_sf, line
            self.block.append((op, "0", "0", 0, sf))
        elif m := FINAL.fullmatch(line):
            self._final(*m.groups(), line=line)

    def _column(self, op, a, b, cin, total, w, cout, sf, line) -> None:
        if total is not None:
            assert int(w) == total % 10 and _int(cout) == total // 10, line
        if self.block:
            _, pa, pb, pcout, psf = self.block[-1]
            expect_b = pb if op == "x" else _strip(pb)
            assert (a, b) == (_strip(pa), expect_b), f"operands not stripped: {line}"
            assert cin == pcout and sf == w + psf, line
        else:
            assert cin == 0 and sf == w, line
        self.block.append((op, a, b, _int(cout), sf))

    def _final(self, a: str, op: str, b: str, r: str, line: str) -> None:
        expect = {"+": int(a) + int(b), "-": int(a) - int(b), "x": int(a) * int(b)}[op]
        assert int(r) == expect, line
        if self.block:
            first = self.block[0]
            assert first[0] == op and (first[1], first[2]) == (a, b), line
            assert self.block[-1][3] == 0 and int(self.block[-1][4]) == expect, line
            self.block = []


class Facts:
    """What the prompt states and what the steps have established so far."""

    def __init__(self, example: Example) -> None:
        self.prompt = example.prompt
        self.numbers = [int(x) for x in re.findall(r"\d+", example.prompt)]
        runs = re.findall(r"[A-Za-z0-9_]+(?:, [A-Za-z0-9_]+)+", example.prompt)
        self.sequence = max(runs, key=len).split(", ") if runs else []
        if self.sequence[-1:] == ["__"]:  # "2, 4, 6, __": the next term is asked
            self.sequence.pop()
        self.left = list(self.numbers)  # sorting: what is not yet selected
        self.value: int | None = None  # the running result
        self.step = ""  # the line being checked
        self.compared = 0  # comparison: leading digits already compared

    def has(self, *nums: str) -> bool:
        return all(int(n) in self.numbers for n in nums)


def _listing(f: Facts, text: str) -> bool:
    pairs = re.findall(r"(\d) is digit (\d+)", text)
    digits = "".join(d for d, _ in pairs)
    return [int(i) for _, i in pairs] == list(range(1, len(pairs) + 1)) and f.has(digits)


def _select(f: Facts, word: str, listed: str, chosen: str) -> bool:
    nums = [int(x) for x in listed.split(", ")]
    ok = nums == f.left and int(chosen) == (min if word == "smallest" else max)(nums)
    f.left.remove(int(chosen))
    return ok


def _vs(f: Facts, sa: str, sb: str) -> bool:
    """`sa vs sb` compares what is left of the prompt's two numbers, one digit less each time."""
    a, b = (str(n) for n in f.numbers)
    ok = len(sa) == len(sb) == len(a) - f.compared and a.endswith(sa) and b.endswith(sb)
    f.compared += 1
    return ok


def _rule(f: Facts, way: str, k: str, op: str) -> bool:
    """The rule holds between every two neighbouring terms shown (a gap "__" skipped)."""
    pairs = [(int(a), int(b)) for a, b in pairwise(f.sequence) if a.isdigit() and b.isdigit()]
    sign = 1 if way == "up" else -1
    return (op == "add") == (way == "up") and all(b - a == sign * int(k) for a, b in pairs)


def _gap_after(f: Facts, n: str) -> bool:
    return n in f.sequence and f.sequence[f.sequence.index(n) + 1] == "__"


def _yes_parity(f: Facts, n: str, parity: str, asked: str, answer: str) -> bool:
    true_parity = "even" if int(n) % 2 == 0 else "odd"
    return f.has(n) and parity == true_parity and (answer == "yes") == (asked == parity)


def _yes_compare(f: Facts, a: str, which: str, b: str, answer: str) -> bool:
    holds = (int(a) > int(b)) == (which == "larger")
    return f.numbers == [int(a), int(b)] and (answer == "yes") == holds


def _set(f: Facts, value: str) -> bool:
    f.value = int(value)
    return True


def _uses_value(f: Facts, value: str, n: str) -> bool:
    return int(value) == f.value and f.has(n)


def _after(f: Facts, last: str, nxt: str) -> bool:
    period = next(p for p in range(1, len(f.sequence)) if f.sequence[p:] == f.sequence[:-p])
    block = f.sequence[:period]
    return nxt == block[(block.index(last) + 1) % period]


def _checks(f: Facts) -> bool:
    """`12 + 5 = 17, 17 + 5 = 22`: each equation steps from one term to the next."""
    pairs = re.findall(r"(\d+) [-+x] \d+ = (\d+)", f.step)
    return all(pair in pairwise(f.sequence) for pair in pairs)


# Every non-column STEP must be one of these statements, and the statement must be true.
STATEMENTS: list[tuple[re.Pattern[str], Callable[..., bool]]] = [
    (r"the last digit of (\d+) is (\d)", lambda f, n, d: f.has(n) and n[-1] == d),
    (r"(\d) is (even|odd)", lambda f, d, p: (int(d) % 2 == 0) == (p == "even")),
    (r"(\d+) has (\d+) digits?, (\d+) has (\d+) digits?",
     lambda f, a, la, b, lb: f.has(a, b) and (len(a), len(b)) == (int(la), int(lb)) != (0, 0)
     and la != lb),
    (r"(\d+) has (more|fewer) digits, so \1 [<>] (\d+)",
     lambda f, a, mf, b: sorted(f.numbers) == sorted((int(a), int(b)))
     and (len(a) > len(b)) == (mf == "more") and len(a) != len(b)),
    (r"(\d+) and (\d+) both have (\d+) digits?",
     lambda f, a, b, n: f.numbers == [int(a), int(b)] and len(a) == len(b) == int(n)),
    (r"(\d+) vs (\d+): (\d) = (\d)",
     lambda f, sa, sb, x, y: _vs(f, sa, sb) and sa[0] == x == y == sb[0]),
    (r"(\d+) vs (\d+): (\d) [<>] (\d), so (\d+) [<>] (\d+)",
     lambda f, sa, sb, x, y, a, b: _vs(f, sa, sb) and (sa[0], sb[0]) == (x, y)
     and f.numbers == [int(a), int(b)]),
    (r"the (larger|smaller) is (\d+)",
     lambda f, w, n: int(n) == (max if w == "larger" else min)(f.numbers)),
    (r"\d+ [-+x] \d+ = \d+(?:, \d+ [-+x] \d+ = \d+)*", _checks),  # pattern term checks
    (r"(\d+) \+ (\d+) = (\d+), not (\d+), so it is not add \2",
     lambda f, a, k, s, b: (a, b) in pairwise(f.sequence) and s != b),
    (r"(\d+) - (\d+) = -(\d+)", lambda f, a, b, d: f.value == int(d) and f.has(a, b)),
    (r"the terms go (up|down) by (\d+) each time, so the rule is (add|subtract) \2", _rule),
    (r"each term is double the one before, so the rule is multiply by 2",
     lambda f: all(int(b) == 2 * int(a) for a, b in pairwise(f.sequence))),
    (r"the block (.+) repeats",
     lambda f, block: f.sequence[: len(block.split(", "))] == block.split(", ")),
    (r"the last item is (\S+)", lambda f, x: x == f.sequence[-1]),
    (r"after (\S+) comes (\S+)", _after),
    (r"(smallest|largest) of (.+) is (\d+)", _select),
    (r"(\d+) is left", lambda f, n: f.left == [int(n)]),
    (r"[\w ]+? starts with (\d+) [\w ]+", lambda f, n: f.has(n) and _set(f, n)),
    (r"(\d+) more, so add: (\d+) \+ \1", lambda f, n, v: _uses_value(f, v, n)),
    (r"(\d+) fewer, so subtract: (\d+) - \1", lambda f, n, v: _uses_value(f, v, n)),
    (r"(\d+) shared by (\d+) friends, so divide: \1 / \2",
     lambda f, v, k: _uses_value(f, v, k)),
    (r"(\d+) x (\d+) = (\d+), so \3 / \1 = \2", lambda f, k, q, v: _set(f, q)),
    (r"(\d+) \w+ of (\d+) [\w ]+, so multiply: \2 x \1", lambda f, k, n: f.has(k, n)),
    (r"first (\d+) [-+x] (\d+)", lambda f, a, b: f.has(a, b)),
    (r"(\d+) is (even|odd), the question asks if it is (even|odd), so (yes|no)", _yes_parity),
    (r"the question asks if (\d+) is (larger|smaller) than (\d+), so (yes|no)", _yes_compare),
    (r"start with (\d+)", lambda f, n: f.numbers[0] == int(n)),
    (r"(\d+) vs (\d+): \1 [<>] \2, keep (\d+)",
     lambda f, a, b, k: f.has(a, b) and k in (a, b)),
    (r"the (largest|smallest) is (\d+)",
     lambda f, w, n: int(n) == (max if w == "largest" else min)(f.numbers)),
    (r"the gap comes after (\d+)", _gap_after),
    (r"check: \d+ [-+] \d+ = (\d+)", lambda f, n: n in f.sequence),
    (r"x comes before [-+], so first (\d+) x (\d+)", lambda f, a, b: f.has(a, b)),
    (r"then (\d+) [-+x] (\d+)",
     lambda f, a, b: f.value in (int(a), int(b)) and f.has(b if f.value == int(a) else a)),
    (r"(?:\d is digit \d+, )*\d is digit \d+", lambda f: _listing(f, f.step)),
    (r"so (\d+) has (\d+) digits?", lambda f, n, k: f.has(n) and len(n) == int(k)),
    (r"the first digit of (\d+) is (\d)", lambda f, n, d: f.has(n) and n[0] == d),
    (r"one more than (\d+) is \1 \+ 1", lambda f, n: f.has(n)),
    (r"one less than (\d+) is \1 - 1", lambda f, n: f.has(n)),
    (r"double (\d+) is \1 \+ \1", lambda f, n: f.has(n)),
]  # fmt: skip
STATEMENTS = [(re.compile(rx), fn) for rx, fn in STATEMENTS]


def check_steps(example: Example) -> None:
    """Every STEP is a known kind of line and true: equations and relations recomputed,
    column work consistent column to column, statements checked against the prompt."""
    columns, facts = ColumnChecker(), Facts(example)
    for line in example.steps:
        for m in EQUATION.finditer(line):
            a, op, b, op2, c, r = m.groups()
            value = {"+": lambda x, y: x + y, "-": lambda x, y: x - y,
                     "x": lambda x, y: x * y, "/": lambda x, y: x / y}  # fmt: skip
            got = value[op](int(a), int(b))
            if op2:
                got = value[op2](got, int(c))
            assert got == int(r), f"{line!r} in {example.prompt!r}"
        for m in RELATION.finditer(line):
            a, rel, b = m.groups()
            assert (int(a) < int(b)) == (rel == "<"), line
        final = FINAL.fullmatch(line) if columns.block else None
        if final or any(p.fullmatch(line) for p in (ADD, SUB, MUL, CARRY, SWAP)):
            if final:
                facts.value = int(final.group(4))
            if SWAP.fullmatch(line) is None:
                columns.step(line)
            continue
        facts.step = line
        matched = [(rx, fn) for rx, fn in STATEMENTS if rx.fullmatch(line)]
        assert matched, f"unrecognised step {line!r} in {example.prompt!r}"
        rx, fn = matched[0]
        assert fn(facts, *rx.fullmatch(line).groups()), f"false step {line!r} in {example.prompt!r}"
    assert columns.block == [], f"unfinished column work in {example.steps}"


# --- independent answers from the prompt ------------------------------------------------


def arithmetic_value(expr: str) -> int:
    """Evaluates + - x and parentheses on integers (Python's precedence is the same)."""
    python = expr.replace("x", "*").replace("×", "*")
    assert re.fullmatch(r"[\d ()+*-]+", python), expr
    return eval(python, {"__builtins__": {}})


VALUE = {
    **dict.fromkeys("abcnk", r"\d+"),
    "expr": r"[\d ()+x*×-]+",
    "seq": r"\w+(?:, \w+)+",
    "nums": r"\d+(?:, \d+)+",
    "op1": "add|subtract|multiply by",
    "op2": "add|subtract|multiply by",
}


def _wording_rx(wording: str) -> str:
    """A regex for one wording: values as groups, first letter in either case, the final
    mark optional (dress may drop it)."""
    out, seen = [], set()
    for i, piece in enumerate(re.split(r"\{([a-z0-9_]+)\}", wording)):
        if i % 2 == 0:
            out.append(re.escape(piece))
        elif piece in seen:
            out.append(f"(?P={piece})")
        else:
            seen.add(piece)
            out.append(f"(?P<{piece}>{VALUE.get(piece, '.+?')})")
    rx = "".join(out)
    if wording[:1].isalpha():
        rx = f"[{wording[0].upper()}{wording[0].lower()}]{rx[1:]}"
    if wording[-1:] in ".?":
        rx = rx[: -len(re.escape(wording[-1]))] + f"(?:{re.escape(wording[-1])})?"
    return rx


def _alternatives(items: tuple[str, ...]) -> str:
    return "|".join(re.escape(x) for x in items)


@cache
def full_patterns(task: str) -> list[tuple[str, bool, re.Pattern[str]]]:
    """(slot, held out, regex of a whole dressed prompt) for every wording of the task."""
    lead = f"(?P<lead>{_alternatives(LEAD_INS[0] + LEAD_INS[1])})?"
    close = f"(?P<close>{_alternatives(CLOSINGS[0] + CLOSINGS[1])})?"
    return [
        (slot, held, re.compile(lead + _wording_rx(w) + close))
        for slot in PHRASES[task]
        for w, held in wordings(task, slot).items()
    ]


def parse_all(task: str, prompt: str) -> list[tuple[str, bool, dict[str, str]]]:
    """Every (slot, held out, values) reading of a prompt; dress counts as held out when its
    lead-in or closing is a held-out one."""
    out = []
    for slot, held, rx in full_patterns(task):
        if m := rx.fullmatch(prompt):
            dress = (m.group("lead") in LEAD_INS[1]) or (m.group("close") in CLOSINGS[1])
            values = {k: v for k, v in m.groupdict().items() if k not in ("lead", "close")}
            out.append((slot, held or dress, values))
    return out


def parse(task: str, prompt: str) -> tuple[str, dict[str, str]]:
    matches = parse_all(task, prompt)
    assert matches, f"prompt matches no {task} wording: {prompt!r}"
    return matches[0][0], matches[0][2]


def next_in_sequence(items: list[str]) -> str:
    if all(x.isdigit() for x in items):
        v = [int(x) for x in items]
        diffs = {b - a for a, b in pairwise(v)}
        if len(diffs) == 1:
            return str(v[-1] + diffs.pop())
        if all(b == 2 * a for a, b in pairwise(v)):
            return str(2 * v[-1])
    period = next(p for p in range(1, len(items)) if items[p:] == items[:-p])
    return items[len(items) - period]


WORD_OPS = {" more": "+", " another ": "+", " extra": "+", " gives ": "-", " loses ": "-",
            " sells ": "-", " uses ": "-", " drops ": "-", " eats ": "-", " spends ": "-",
            " breaks ": "-", " throws ": "-", " fires ": "-", " trades ": "-", " hands ": "-",
            " donates ": "-", " misplaces ": "-", " sends ": "-", " wastes ": "-",
            " burns ": "-", " lends ": "-", " lets ": "-", " new ones": "+", " pays ": "-",
            " shoots ": "-", " plants ": "-", " returns ": "-", " leaves ": "-", " feeds ": "-",
            " spills ": "-", " lost ": "-", " sold ": "-", " gave ": "-", " used ": "-",
            " dropped ": "-", " ate ": "-", " spent ": "-", " broke ": "-", " donated ": "-",
            " misplaced ": "-", " wasted ": "-", " burned ": "-", " lent ": "-", " shot ": "-",
            " planted ": "-", " returned ": "-", " left behind": "-", " fed ": "-",
            " spilled ": "-", " mails ": "-", " releases ": "-", " gobbles ": "-", " ships ": "-",
            " crushes ": "-", " tosses ": "-", " handed ": "-", " mailed ": "-",
            " released ": "-", " gobbled ": "-", " shipped ": "-", " crushed ": "-",
            " tossed ": "-",
            " shares ": "/", " splits ": "/", " divides ": "/", " deals ": "/", " share them": "/",
            " parcels ": "/"}  # fmt: skip


def word_problem_answer(ex: Example) -> int:
    """Replays the story: numbers before the first event multiply into the opening amount
    ("has 12", or "4 bags ... 6 in each"), then each event applies its verb's operation."""
    opening: list[int] = []
    value = None
    for sentence in re.split(r"(?<=[.?])\s| and ", ex.prompt):
        nums = [int(x) for x in re.findall(r"\d+", sentence)]
        ops = [op for word, op in WORD_OPS.items() if word in f" {sentence}"]
        if not ops:
            opening += nums
            continue
        assert len(ops) == 1 and len(nums) == 1, sentence
        value = math.prod(opening) if value is None else value
        if ops[0] == "/":
            assert value % nums[0] == 0, f"inexact share: {ex.prompt}"
        value = {"+": value + nums[0], "-": value - nums[0], "/": value // nums[0]}[ops[0]]
        assert value >= 0, ex.prompt
    return math.prod(opening) if value is None else value


def expected_answer(ex: Example) -> str:
    task, prompt = ex.task, ex.prompt
    if task == "word_problem":
        return str(word_problem_answer(ex))
    slot, g = parse(task, prompt)
    if task == "arithmetic":
        a, b = int(g["a"]), int(g["b"])
        return str({"+": a + b, "-": a - b, "x": a * b}[slot])
    if task == "two_step":
        if slot == "expr":
            return str(arithmetic_value(g["expr"]))
        words = {"add": "+", "subtract": "-", "multiply by": "x"}
        inner = f"{g['a']} {words[g['op1']]} {g['b']}"
        return str(arithmetic_value(f"({inner}) {words[g['op2']]} {g['c']}"))
    if task == "even_odd":
        parity = "even" if int(g["n"]) % 2 == 0 else "odd"
        return parity if slot == "q" else "yes" if slot == f"yes_{parity}" else "no"
    if task == "comparison":
        if slot in ("max", "min"):
            nums = [int(x) for x in g["nums"].split(", ")]
            return str(max(nums) if slot == "max" else min(nums))
        a, b = int(g["a"]), int(g["b"])
        if slot.startswith("yes_"):
            return "yes" if (a > b) == (slot == "yes_larger") else "no"
        return str(max(a, b) if slot == "larger" else min(a, b))
    if task == "pattern":
        items = g["seq"].split(", ")
        if slot == "blank":
            at = items.index("__")
            k = int(items[1]) - int(items[0])
            return str(int(items[at - 1]) + k)
        return next_in_sequence(items)
    if task == "sorting":
        nums = sorted((int(x) for x in g["nums"].split(", ")), reverse=slot == "descending")
        return ", ".join(map(str, nums))
    n = int(g["n"])
    return str({"count": len(str(n)), "first": str(n)[0], "next": n + 1, "prev": n - 1,
                "double": 2 * n}[slot])  # fmt: skip


# --- tests ----------------------------------------------------------------------------


def test_task_names_follow_the_card() -> None:
    assert TASKS == ("arithmetic", "two_step", "even_odd", "comparison", "pattern",
                     "word_problem", "sorting")  # fmt: skip
    assert set(CARD_NAMES) == set(ALL_TASKS)
    assert CARD_NAMES["cot_format"] == "CoT format"
    assert CARD_NAMES["two_step"] == "Two-step arithmetic"


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("task", ALL_TASKS)
def test_steps_are_correct_and_answer_follows(task: str, split: str) -> None:
    for ex in sample(task, split):
        assert ex.task == task and ex.answer and ex.steps and ex.options is None
        for text in (ex.prompt, ex.answer, *ex.steps):
            assert "\n" not in text and "<" not in text.replace(" < ", ""), text
        check_steps(ex)
        want = expected_answer(ex)
        assert ex.answer == want, f"{ex.prompt!r}: {ex.answer!r} != {want!r}"
        assert check(task, ex.answer, want)


@pytest.mark.parametrize("task", ALL_TASKS)
def test_test_items_never_appear_in_training(task: str) -> None:
    train_keys = {item_key(ex) for ex in sample(task, "train")}
    assert not any(is_test_key(k) for k in train_keys)
    for split in SPLITS[1:]:
        keys = {item_key(ex) for ex in sample(task, split)}
        assert all(is_test_key(k) for k in keys)
        assert not keys & train_keys


def test_item_key_ignores_wording_and_order() -> None:
    a = Example("arithmetic", "Subtract 5 from 12.", ["x"], "7")
    b = Example("arithmetic", "What is 12 - 5?", ["x"], "7")
    assert item_key(a) == item_key(b)
    p = Example("pattern", "What comes next: red, blue, red, ?", ["x"], "blue")
    q = Example("pattern", "Which term follows red, blue, red?", ["x"], "blue")
    assert item_key(p) == item_key(q) == "pattern|red, blue, red"


def readings(task: str, prompt: str) -> list[bool]:
    """Whether each reading of a prompt is held out (word problems: sentence by sentence,
    a prompt being held out when any of its sentences or its order is)."""
    if task != "word_problem":
        return [held for _, held, _ in parse_all(task, prompt)]
    lead = next((x for x in LEAD_INS[0] + LEAD_INS[1] if prompt.startswith(x)), "")
    close = next((x for x in CLOSINGS[0] + CLOSINGS[1] if prompt.endswith(x)), "")
    if lead in LEAD_INS[1] or close in CLOSINGS[1]:
        return [True]
    body = prompt[len(lead) : len(prompt) - len(close)]
    for tail in TAILS:  # when or where an event happens: not part of any wording
        body = body.replace(tail, "")
    fragments = re.split(r"(?<=[.?])\s|(?<!,) and ", body)
    asks = ("ask", "ask_share")
    flags, i = [], 0
    while i < len(fragments):
        # A wording may span up to three sentences ("There are 4 bags. Each bag ...").
        for size in (1, 2, 3):
            fragment = " ".join(fragments[i : i + size])
            matched = [(slot, held) for slot, held, _ in parse_all(task, fragment)]
            matched += [(s, h) for s, h, _ in parse_all(task, f"X {fragment}")]  # after "and"
            if matched:
                break
        assert matched, f"unknown sentence {fragments[i]!r} in {prompt!r}"
        first_is_ask = i == 0 and any(slot in asks for slot, _ in matched)
        flags.append(all(held for _, held in matched) or first_is_ask)
        i += size
    return [any(flags)]


@pytest.mark.parametrize("task", ALL_TASKS)
def test_heldout_phrasings_are_never_trained(task: str) -> None:
    for split in ("train", "test", "hard"):
        for ex in sample(task, split):
            held = readings(task, ex.prompt)
            assert held and not all(held), ex.prompt  # some reading is a trained wording
    for ex in sample(task, "heldout_phrasing"):
        held = readings(task, ex.prompt)
        assert held and all(held), ex.prompt


@pytest.mark.parametrize("task", ALL_TASKS)
def test_same_seed_same_items(task: str) -> None:
    def run(seed: int) -> list[Example]:
        rng = random.Random(seed)
        return [generate(task, rng, split) for split in SPLITS for _ in range(20)]

    assert run(3) == run(3)
    assert run(3) != run(4)


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("task", ALL_TASKS)
def test_traces_fit_the_length_budget(task: str, split: str) -> None:
    lengths = [approx_tokens(trace_text(ex)) for ex in sample(task, split)]
    assert max(lengths) <= MAX_TOKENS


def test_hard_split_is_longer_than_training() -> None:
    def longest_number(split: str, task: str) -> int:
        return max(len(x) for ex in sample(task, split) for x in re.findall(r"\d+", ex.prompt))

    for task in ("arithmetic", "even_odd", "comparison", "cot_format"):
        assert longest_number("hard", task) > longest_number("train", task)
    lengths = {len(ex.answer.split(", ")) for ex in sample("sorting", "hard")}
    assert min(lengths) > max(len(ex.answer.split(", ")) for ex in sample("sorting", "train"))


def test_every_slot_is_asked_trained_and_held_out() -> None:
    for task in ALL_TASKS:
        if task == "word_problem":
            continue  # its slots are sentences, checked by the held-out test above
        for split in ("train", "heldout_phrasing"):
            used = {slot for ex in sample(task, split) for slot, _, _ in parse_all(task, ex.prompt)}
            assert used == set(PHRASES[task]), (task, split, set(PHRASES[task]) - used)
    wordings_count = sum(len(wordings(t, s)) for t in PHRASES for s in PHRASES[t])
    assert wordings_count > 1000  # composed, not listed


def test_every_trace_shape_is_used() -> None:
    steps = " | ".join(s for t in ALL_TASKS for ex in sample(t, "train") for s in ex.steps)
    for shape in ("borrow 1", "carry 1:", "so first", "-(", "the rule is multiply by 2",
                  "the rule is subtract", "after", "divide", "has more digits"):  # fmt: skip
        assert shape in steps, shape


def test_questions_people_test_with_are_drawn() -> None:
    """Look-alike lists (3, 30, 33), blocks of any word, brackets on the right."""

    def alike(nums: list[str]) -> bool:
        return len(set("".join(nums))) <= 3 and len(nums) >= 3

    lists = [re.findall(r"\d+", ex.answer) for ex in sample("sorting", "train")]
    assert 0.2 < sum(map(alike, lists)) / len(lists) < 0.45
    fixed = {"red", "cat", "circle", "A", "0", "blue", "dog", "square", "B", "1"}
    firsts = [ex.steps[0] for ex in sample("pattern", "train")]
    blocks = [step for step in firsts if step.startswith("the block")]
    new_words = [b for b in blocks if re.search(r"[a-z]{4,}", b) and not set(b.split()) & fixed]
    assert len(new_words) > len(blocks) / 5
    right = [ex for ex in sample("two_step", "train") if re.search(r"[-+x*×] ?\(", ex.prompt)]
    assert len(right) > N / 10
    finals = [FINAL.fullmatch(ex.steps[-1]) for ex in sample("arithmetic", "train")]
    close = [m for m in finals if m and m[2] == "-" and len(m[1]) >= 3 and abs(int(m[4])) <= 30]
    assert len(close) >= 5  # 4005 - 3998: random draws of 3-4 digits almost never give them


def test_trace_text_is_the_documented_format() -> None:
    ex = Example("even_odd", "Is 7 even or odd?", ["the last digit of 7 is 7", "7 is odd"], "odd")
    assert trace_text(ex) == (
        "<INST>Is 7 even or odd?</INST>\n<THINK>\n<STEP> the last digit of 7 is 7\n"
        "<STEP> 7 is odd\n</THINK>\n<ANS>odd</ANS>"
    )
    assert approx_tokens("<STEP> 47 + 38 = 85\n") == 10


@pytest.mark.parametrize(
    ("task", "predicted", "expected", "ok"),
    [
        ("arithmetic", " 85 ", "85", True),
        ("arithmetic", "86", "85", False),
        ("arithmetic", "-9", "-9", True),
        ("arithmetic", "9", "-9", False),
        ("arithmetic", "eighty", "85", False),
        ("even_odd", "Odd", "odd", True),
        ("even_odd", "even", "odd", False),
        ("pattern", "green", "green", True),
        ("sorting", "1,3, 5,  9", "1, 3, 5, 9", True),
        ("sorting", "1, 5, 3, 9", "1, 3, 5, 9", False),
        ("sorting", "1, 3, 5", "1, 3, 5, 9", False),
        ("sorting", "1, 3, five, 9", "1, 3, 5, 9", False),
        ("word_problem", "", "12", False),
    ],
)
def test_check(task: str, predicted: str, expected: str, ok: bool) -> None:
    assert check(task, predicted, expected) is ok


def test_bad_task_or_split_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown reasoning task"):
        generate("chess", random.Random(0))
    with pytest.raises(ValueError, match="unknown split"):
        generate("arithmetic", random.Random(0), "validation")
    with pytest.raises(ValueError, match="unknown reasoning task"):
        check("chess", "1", "1")


@pytest.mark.parametrize("task", ALL_TASKS)
def test_eval_names_the_procedure_every_trace_runs(task: str) -> None:
    from npc_brain.workshop.evaluate import procedure

    for split in SPLITS:
        for ex in sample(task, split):
            assert procedure(trace_text(ex)) == task, trace_text(ex)
    assert procedure("<THINK>\n</THINK>\n<ANS>7</ANS>") == "none"
