"""Word problems: short templated stories that map to one or two operations.

The STEP trace names the starting quantity, then for each event the quantity it brings
and the operation it means ("5 more, so add: 23 + 5"), then the digit-level working.
Division (sharing equally) is always exact and its divisor a single digit, so it is
stated as the times-table fact that undoes it.
"""

from __future__ import annotations

import random

from npc_brain.workshop.data.reasoning_columns import op_steps
from npc_brain.workshop.data.reasoning_phrasings import pick

NAMES = (
    "Tom", "Mia", "Sam", "Ana", "Leo", "Zoe", "Ben", "Ivy", "Max", "Eva",
    "Kai", "Lily", "Omar", "Nora", "Finn", "Ruby", "Hugo", "Maya", "Jack", "Ella",
    "Priya", "Chen", "Sofia", "Ahmed", "Yuki", "Olga", "Diego", "Amara", "Lars", "Fatima",
    "Liam", "Emma", "Noah", "Olivia", "Lucas", "Aria", "Ethan", "Chloe", "Mateo", "Hana",
    "Ravi", "Ines", "Tariq", "Greta", "Kofi", "Anya", "Pablo", "Mei", "Jonas", "Nia",
    "The farmer", "The baker", "A knight", "The wizard", "Grandma", "The merchant",
    "The king", "A pirate", "The teacher", "A shopkeeper", "The cook", "Grandpa",
)  # fmt: skip
ITEMS = (
    "apples", "pencils", "coins", "cookies", "marbles", "books", "stickers", "eggs",
    "cards", "shells", "stones", "arrows", "potions", "gems", "carrots", "candles",
    "fish", "flowers", "nails", "ropes", "pies", "rings", "scrolls", "toys", "buttons", "logs",
    "bottles", "oranges", "balloons", "crayons", "bananas", "tickets", "seeds", "feathers",
    "plates", "cupcakes", "socks", "gold coins", "red apples", "baseball cards", "muffins",
    "bricks", "letters", "keys", "beads", "bones", "nuts", "berries", "sweets", "pebbles",
)  # fmt: skip
# Who a name is after the first sentence ("Mia has 5 apples. She eats 2."); roles are either.
SHE = {"Mia", "Ana", "Zoe", "Ivy", "Eva", "Lily", "Nora", "Ruby", "Maya", "Ella", "Priya",
       "Sofia", "Yuki", "Olga", "Amara", "Fatima", "Grandma", "Emma", "Olivia", "Aria", "Chloe",
       "Hana", "Ines", "Greta", "Anya", "Mei", "Nia"}  # fmt: skip
HE = {"The king"}
PRONOUN_SHARE = 0.35  # of the sentences after the first
# When or where an event happens: words around the numbers that change nothing.
TAILS = (" at the market", " on the way home", " after school", " in the afternoon", " at the fair",
         " later that day", " at lunch", " over the weekend", " in the evening")  # fmt: skip
TAIL_SHARE = 0.25  # of the event sentences
CONTAINERS = (("bags", "bag"), ("boxes", "box"), ("packs", "pack"), ("baskets", "basket"),
              ("jars", "jar"), ("crates", "crate"))  # fmt: skip

# (kind, operations): the story shapes and how often each is drawn.
SHAPES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("start", ("+",), 3),
    ("start", ("-",), 3),
    ("start", ("+", "-"), 2),
    ("start", ("-", "+"), 2),
    ("start", ("+", "+"), 1),
    ("start", ("-", "-"), 1),
    ("mul", (), 2),
    ("mul", ("+",), 1),
    ("mul", ("-",), 1),
    ("share", (), 2),
    ("share", ("+",), 1),
    ("share", ("-",), 1),
)


class _Sizes:
    """Number ranges: train uses 1-2 digit quantities, "hard" 3-digit ones."""

    def __init__(self, hard: bool) -> None:
        self.start = (100, 999) if hard else (2, 99)
        self.change = (10, 999) if hard else (1, 99)
        self.per = (100, 999) if hard else (2, 99)


def _share_plan(
    rng: random.Random, ops: tuple[str, ...], sizes: _Sizes
) -> tuple[list[tuple[str, int]], int]:
    """Sharing comes last and is exact: pick divisor and quotient, then the events before."""
    k, q = rng.randint(2, 9), rng.randint(2, 12)
    total = k * q
    if not ops:
        return [("/", k)], total
    n = rng.randint(1, total - 1) if ops[0] == "+" else rng.randint(*sizes.change)
    base = total - n if ops[0] == "+" else total + n
    return [(ops[0], n), ("/", k)], base


def _plan(rng: random.Random, hard: bool) -> tuple[str, list[tuple[str, int]], int]:
    """Draw a story: kind, the events [(op, number), ...], and the opening amount (for
    "mul" stories the amount per container, the first event being `x containers`)."""
    sizes = _Sizes(hard)
    while True:
        kind, ops, _ = rng.choices(SHAPES, weights=[w for *_, w in SHAPES])[0]
        if kind == "share":
            events, base = _share_plan(rng, ops, sizes)
            return kind, events, base
        if kind == "mul":
            base, k = rng.randint(*sizes.per), rng.randint(2, 9)
            value, events = base * k, [("x", k)]
        else:
            base = value = rng.randint(*sizes.start)
            events = []
        for op in ops:
            if op == "-" and value < sizes.change[0]:
                break  # nothing left to take away: draw another story
            high = min(sizes.change[1], value) if op == "-" else sizes.change[1]
            n = rng.randint(sizes.change[0], high)
            value += n if op == "+" else -n
            events.append((op, n))
        else:
            return kind, events, base


def _story(
    rng: random.Random, split: str, kind: str, events: list[tuple[str, int]], base: int
) -> tuple[str, dict[str, str]]:
    name, other = rng.sample(NAMES, 2)
    other = other.lower() if " " in other else other  # mid-sentence: "to the baker"
    item = rng.choice(ITEMS)
    cont, one = rng.choice(CONTAINERS)
    ctx = {"name": name, "other": other, "item": item, "cont": cont, "one": one}
    if kind == "mul":
        first = _say(pick(rng, "word_problem", "x", split), ctx, k=events[0][1], n=base)
        rest = events[1:]
    else:
        first = _say(pick(rng, "word_problem", "start", split), ctx, n=base)
        rest = events
    sentences = [first]
    pronoun = _pronoun(rng, name)
    for op, n in rest:
        said = ctx | {"name": pronoun} if rng.random() < PRONOUN_SHARE else ctx
        sentence = _say(pick(rng, "word_problem", op, split), said, n=n, k=n)
        if rng.random() < TAIL_SHARE:
            sentence = sentence[:-1] + rng.choice(TAILS) + sentence[-1]
        sentences.append(_joined(rng, sentences.pop(), sentence, name))
    ask = pick(rng, "word_problem", "ask_share" if kind == "share" else "ask", split)
    sentences.append(_say(ask, ctx | {"name": pronoun} if rng.random() < PRONOUN_SHARE else ctx))
    if split == "heldout_phrasing" and rng.random() < 0.3:
        sentences.insert(0, sentences.pop())  # a held-out order: the question first
    return " ".join(sentences), ctx


def _pronoun(rng: random.Random, name: str) -> str:
    if " " in name and name not in HE:  # a role: "The baker"
        return rng.choice(("He", "She"))
    return "She" if name in SHE else "He"


def _say(frame: str, ctx: dict[str, str], **numbers: int) -> str:
    """The frame filled in, the actor capitalised only at a sentence start ("The baker buys
    ...", "Then the baker buys ...", "How many does the baker have?", "then she eats")."""
    spaced = " " in ctx["name"] or ctx["name"] in ("He", "She")
    mid = ctx["name"].lower() if spaced else ctx["name"]
    head, *rest = frame.split("{name}")
    for part in rest:
        at_start = head == "" or head.endswith(". ")
        head += (ctx["name"] if at_start else mid) + part
    return head.format(**ctx, **numbers)


def _joined(rng: random.Random, before: str, sentence: str, name: str) -> str:
    """Two sentences, or one joined with "and" when both are about the actor."""
    about = f"{name} "
    if rng.random() < 0.3 and sentence.startswith(about) and "." not in before[:-1]:
        return f"{before[:-1]} and {sentence[len(about) :]}"
    return f"{before} {sentence}"


def _op_line(op: str, n: int, value: int) -> str:
    if op == "+":
        return f"{n} more, so add: {value} + {n}"
    if op == "-":
        return f"{n} fewer, so subtract: {value} - {n}"
    return f"{value} shared by {n} friends, so divide: {value} / {n}"


def word_problem(rng: random.Random, split: str) -> tuple[str, list[str], str]:
    """(prompt, steps, answer) for one story; "hard" uses 3-digit quantities."""
    kind, events, base = _plan(rng, split == "hard")
    prompt, ctx = _story(rng, split, kind, events, base)
    item = ctx["item"]
    steps: list[str] = []
    if kind == "mul":
        k = events[0][1]
        steps.append(f"{k} {ctx['cont']} of {base} {item}, so multiply: {base} x {k}")
        work, value = op_steps(base, "x", k)
        steps += work
        rest = events[1:]
    else:
        actor = ctx["name"].lower() if " " in ctx["name"] else ctx["name"]  # "the baker"
        steps.append(f"{actor} starts with {base} {item}")
        value, rest = base, events
    for op, n in rest:
        steps.append(_op_line(op, n, value))
        if op == "/":
            quotient = value // n
            steps.append(f"{n} x {quotient} = {value}, so {value} / {n} = {quotient}")
            value = quotient
        else:
            work, value = op_steps(value, op, n)
            steps += work
    return prompt, steps, str(value)
