"""Question wordings for the reasoning suite, composed from independent parts.

A wording is a frame ("What is [X]?", "[X] = ?", "Can you work out [X]?") whose parts
([X], [N], [P], ...) are filled from their own lists ("{a} + {b}", "{a} plus {b}", "the sum
of {a} and {b}"); the values ({a}, {n}, ...) are filled by the task generator afterwards.
`dress` then adds a lead-in, a closing remark, lower case or a missing final mark. The space
of wordings is the product of all of these, far larger than any list of templates.

Held out ("heldout_phrasing" split, never trained): whole frames marked with a leading "!",
and about one in five combinations of a trained frame with its trained parts (a fixed hash of
the combination), plus the held-out lead-ins and closings. Training and "test" use the rest.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import random
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Slot:
    """Frames (a leading "!" marks a held-out frame) and the lists their [PARTS] draw from."""

    frames: tuple[str, ...]
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)


HELD_MODULUS = 5  # one combination in five of trained frames and parts is held out
_PART = re.compile(r"\[([A-Z]+)\]")

_ASK = ("What is [X]?", "What's [X]?", "Compute [X].", "Calculate [X].", "[X] = ?", "[X] =",
        "[X]?", "Tell me [X].", "Work out [X].", "Solve [X].", "Give me [X].",
        "Please calculate [X].", "Can you compute [X]?", "I need [X].", "Evaluate [X].",
        "What does [X] make?", "What's the answer to [X]?", "Figure out [X].",
        "Help me with [X].", "I want to know [X].", "What is the value of [X]?",
        "Result of [X]?", "Do [X] for me.", "Answer this: [X]",
        "What is [X] equal to?", "[X] equals?", "[X] equals what?", "Can you do [X]?",
        "Please work out [X].", "What would [X] be?", "How about [X]?", "So what's [X]?",
        "What do I get for [X]?", "Work this out: [X]",
        "What's [X] equal to?", "Find the value of [X].", "[X] is what?", "Whats [X]?",
        "Could you calculate [X]?", "Please solve [X].", "Do you know [X]?",
        "Tell me what [X] is.", "I need to know [X].", "What is the result of [X]?",
        "How much do you get for [X]?", "Calculate the value of [X].", "[X], what is it?",
        "What is [X] then?", "Can you tell me [X]?", "What do you get from [X]?",
        "!Find [X].", "!How much is [X]?", "!Could you figure out [X]?", "!Quick: [X]")  # fmt: skip


def _arith(symbols: tuple[str, ...], words: tuple[str, ...], commands: tuple[str, ...]) -> Slot:
    return Slot(frames=(*_ASK, *commands), parts={"X": (*symbols, *words)})


# Comparison frames shared by "larger"/"smaller" and "max"/"min"; [W] is the word's part.
_PAIR_FRAMES = ("Which is [W], {a} or {b}?", "Which number is [W]: {a} or {b}?",
                "What is the [W] of {a} and {b}?", "Pick the [W] number: {a}, {b}",
                "Between {a} and {b}, which is [W]?", "{a} or {b}: which is [W]?",
                "Tell me which is [W], {a} or {b}.", "Which one is [W]: {a} or {b}?",
                "Compare {a} and {b}. Which is [W]?", "{a} vs {b}: which is [W]?",
                "Which of {a} and {b} is [W]?", "Is {a} or {b} [W]?",
                "Which number is [W], {a} or {b}?", "What's [W], {a} or {b}?",
                "Which of these is [W]: {a} or {b}?", "{a} and {b} - which is [W]?",
                "Out of {a} and {b}, which is [W]?", "Find the [W] of {a} and {b}.",
                "!Name the [W] of {a} and {b}.", "!Of {a} and {b}, which one is [W]?")  # fmt: skip
_LIST_FRAMES = ("What is the [W] of {nums}?", "Which is the [W]: {nums}?",
                "Find the [W] number in {nums}.", "Pick the [W] of {nums}.",
                "Which number is the [W] in {nums}?", "Tell me the [W] of {nums}.",
                "Among {nums}, which is the [W]?", "{nums}: which is the [W]?",
                "Which is the [W] number: {nums}?", "Find the [W] of {nums}.",
                "What's the [W] number in {nums}?", "Of these numbers, which is the [W]: {nums}?",
                "!Out of {nums}, which is the [W]?")  # fmt: skip


def _which(frames: tuple[str, ...], part: str, words: tuple[str, ...]) -> Slot:
    return Slot(frames=tuple(f.replace("[W]", f"[{part}]") for f in frames), parts={part: words})


# fmt: off
PHRASES: dict[str, dict[str, Slot]] = {
    "arithmetic": {
        "+": _arith(
            ("{a} + {b}", "{a}+{b}"),
            ("{a} plus {b}", "the sum of {a} and {b}", "{a} and {b} added together",
             "{a} added to {b}", "the total of {a} and {b}", "{a} and {b} combined",
             "{a} increased by {b}", "{a} and {b} more", "{a} with {b} added",
             "{a} plus {b} more", "{a} and {b} put together", "{a} raised by {b}",
             "!{a} more than {b}"),
            ("Add {a} and {b}.", "Add {a} to {b}.", "What do you get when you add {a} and {b}?",
             "Add up {a} and {b}.", "If you add {a} and {b}, what do you get?",
             "Increase {a} by {b}.", "Find the sum of {a} and {b}.", "Add together {a} and {b}.",
             "Total up {a} and {b}.", "Add {b} onto {a}.",
             "!Sum up {a} and {b}.", "!Put {a} and {b} together. How many?"),
        ),
        "-": _arith(
            ("{a} - {b}", "{a}-{b}"),
            ("{a} minus {b}", "{a} take away {b}", "{b} taken away from {a}",
             "{b} subtracted from {a}", "{a} subtract {b}",
             "{a} with {b} taken away", "{a} decreased by {b}", "{a} reduced by {b}",
             "{b} less than {a}", "{b} fewer than {a}", "{a} without {b}",
             "the difference between {a} and {b}", "{a} take {b}", "{a} lowered by {b}",
             "!{a} less {b}", "!the difference of {a} and {b}"),
            ("Subtract {b} from {a}.", "Take {b} away from {a}.",
             "What do you get when you subtract {b} from {a}?",
             "If you subtract {b} from {a}, what is left?", "Take {b} from {a}.",
             "Decrease {a} by {b}.", "Reduce {a} by {b}.", "Deduct {b} from {a}.",
             "Find the difference between {a} and {b}.", "Minus {b} from {a}.",
             "!Take away {b} from {a}.",
             "!Remove {b} from {a}. What is left?"),
        ),
        "x": _arith(
            ("{a} x {b}", "{a} * {b}", "{a}*{b}", "{a} × {b}", "{b} x {a}"),
            ("{a} times {b}", "{b} times {a}", "the product of {a} and {b}",
             "{a} multiplied by {b}", "the product of {b} and {a}", "{a} multiplied with {b}",
             "{b} groups of {a}", "{b} sets of {a}",
             "!{b} lots of {a}",
             "!{a} taken {b} times"),
            ("Multiply {a} by {b}.", "What do you get when you multiply {a} by {b}?",
             "If you multiply {a} by {b}, what do you get?", "Multiply {a} with {b}.",
             "Find the product of {a} and {b}.", "Multiply together {a} and {b}.",
             "!Multiply {b} and {a}.", "!Times {a} by {b}."),
        ),
    },
    "two_step": {
        "expr": Slot(frames=_ASK, parts={"X": ("{expr}",)}),
        "chain": Slot(
            frames=("Start with {a}, [FIRST] {b}, then {op2} {c}.",
                    "Take {a}, [FIRST] {b} and then {op2} {c}.",
                    "Begin at {a}. First [FIRST] {b}, then {op2} {c}.",
                    "{a}: [FIRST] {b}, then {op2} {c}.",
                    "!From {a}, [FIRST] {b}; after that, {op2} {c}.",
                    "!Think of {a}. Now [FIRST] {b}, and {op2} {c}. What do you have?"),
            parts={"FIRST": ("{op1}",)},
        ),
    },
    "even_odd": {
        "q": Slot(
            frames=("Is [N] [P]?", "Tell me if [N] is [P].", "Decide if [N] is [P].",
                    "Say whether [N] is [P].", "Can you tell me if [N] is [P]?",
                    "[PC]: [N]", "[N]: [P]?", "Is [N] [P]", "Check if [N] is [P].",
                    "[PC]? [N]", "[N] is [P]?", "Which is [N], [P]?", "Is [N] even or is it odd?",
                    "Is [N] an even or an odd number?", "Determine whether [N] is [P].",
                    "What kind of number is [N], [P]?", "[PC] number: [N]", "Parity of [N]?",
                    "Is [N] [P], please?", "Tell me whether [N] is [P].",
                    "!Would you call [N] [P]?", "![N] - [P]?", "!Find out whether [N] is [P]."),
            parts={"N": ("{n}", "the number {n}", "number {n}", "!the value {n}"),
                   "P": ("even or odd", "odd or even"), "PC": ("Even or odd", "Odd or even")},
        ),
        "yes_even": Slot(
            frames=("Is [N] even?", "Is [N] an even number?", "Tell me if [N] is even.",
                    "Is it true that [N] is even?", "Is [N] divisible by 2?", "Is [N] even or not?",
                    "Can you tell me if [N] is even?", "[N] is even, right?",
                    "Is [N] even, yes or no?", "Does [N] divide by 2?",
                    "Is [N] an even number or not?",
                    "!Would you say [N] is even?", "!Check: is [N] even?"),
            parts={"N": ("{n}", "the number {n}")},
        ),
        "yes_odd": Slot(
            frames=("Is [N] odd?", "Is [N] an odd number?", "Tell me if [N] is odd.",
                    "Is it true that [N] is odd?", "Is [N] odd or not?",
                    "Can you tell me if [N] is odd?", "[N] is odd, right?",
                    "Is [N] odd, yes or no?", "Is [N] an odd number or not?",
                    "!Would you say [N] is odd?",
                    "!Check: is [N] odd?"),
            parts={"N": ("{n}", "the number {n}")},
        ),
    },
    "comparison": {
        "larger": _which(_PAIR_FRAMES, "BIG", ("larger", "bigger", "greater", "!higher")),
        "smaller": _which(_PAIR_FRAMES, "SMALL", ("smaller", "less", "lower", "!lesser")),
        "yes_larger": Slot(
            frames=("Is {a} [BIG] than {b}?", "Is {a} > {b}?",
                    "Is {a} [BIG] than {b}, yes or no?", "Is it true that {a} > {b}?",
                    "Check if {a} is [BIG] than {b}.", "Can you tell me if {a} is [BIG] than {b}?",
                    "True or false: {a} is [BIG] than {b}.",
                    "Tell me if {a} is [BIG] than {b}.", "Is it true that {a} is [BIG] than {b}?",
                    "Is {a} [BIG] than {b} or not?", "{a} is [BIG] than {b}, right?",
                    "!Would you say {a} is [BIG] than {b}?"),
            parts={"BIG": ("larger", "bigger", "greater", "more", "!higher")},
        ),
        "yes_smaller": Slot(
            frames=("Is {a} [SMALL] than {b}?", "Is {a} < {b}?",
                    "Is {a} [SMALL] than {b}, yes or no?", "Is it true that {a} < {b}?",
                    "Check if {a} is [SMALL] than {b}.",
                    "Can you tell me if {a} is [SMALL] than {b}?",
                    "True or false: {a} is [SMALL] than {b}.",
                    "Tell me if {a} is [SMALL] than {b}.",
                    "Is it true that {a} is [SMALL] than {b}?",
                    "Is {a} [SMALL] than {b} or not?", "{a} is [SMALL] than {b}, right?",
                    "!Would you say {a} is [SMALL] than {b}?"),
            parts={"SMALL": ("smaller", "less", "lower", "!fewer")},
        ),
        "max": _which(_LIST_FRAMES, "BIG", ("largest", "biggest", "greatest", "!highest")),
        "min": _which(_LIST_FRAMES, "SMALL", ("smallest", "least", "lowest", "!tiniest")),
    },
    "pattern": {
        "q": Slot(
            frames=("What comes next: {seq}, ?", "Continue the pattern: {seq}, ...",
                    "What is the next [ITEM] in {seq}?", "{seq}, ... what comes next?",
                    "Complete the sequence: {seq}, ?", "Find the next [ITEM] of {seq}.",
                    "{seq}, __", "Next [ITEM]: {seq}, ?", "What follows {seq}?",
                    "What should come next in {seq}?", "Extend the sequence {seq}.",
                    "Keep going: {seq}, ?", "What's after {seq}?",
                    "Give the next [ITEM] in {seq}.", "Predict the next [ITEM]: {seq}",
                    "{seq}, ?", "Sequence: {seq}. Next?",
                    "What is the next [ITEM]: {seq}?", "Next up after {seq}?",
                    "What [ITEM] comes next: {seq}?", "Finish the pattern: {seq}, ?",
                    "{seq}. What's next?", "What comes after {seq}?",
                    "What is the next [ITEM] after {seq}?", "Continue: {seq}, ?",
                    "{seq} ... next?", "Find the pattern and the next [ITEM]: {seq}",
                    "!Guess the [ITEM] after {seq}.", "!Which [ITEM] follows {seq}?",
                    "!{seq} and then?"),
            parts={"ITEM": ("item", "term", "number", "one", "!entry")},
        ),
        "blank": Slot(
            frames=("Fill in the blank: {seq}", "What is the missing [ITEM]: {seq}?",
                    "{seq} - what goes in the gap?", "Find the missing [ITEM] in {seq}.",
                    "Which [ITEM] is missing in {seq}?", "Fill the gap: {seq}",
                    "What goes in the blank: {seq}?", "Complete: {seq}",
                    "Fill in the missing [ITEM]: {seq}", "What's missing: {seq}?",
                    "{seq} - fill in the blank", "What [ITEM] goes in the gap: {seq}?",
                    "!What replaces the __ in {seq}?"),
            parts={"ITEM": ("number", "term", "!value")},
        ),
    },
    "sorting": {
        "ascending": Slot(
            frames=("Sort {nums} [ORD].", "Sort these numbers [ORD]: {nums}",
                    "Put {nums} [ORD].", "Arrange [ORD]: {nums}", "Order {nums} [ORD].",
                    "Can you sort {nums} [ORD]?", "[ORDC]: {nums}", "{nums} sorted [ORD]?",
                    "Reorder {nums} [ORD].", "Write {nums} [ORD].", "Line up {nums} [ORD].",
                    "Please sort {nums} [ORD].", "Place these [ORD]: {nums}",
                    "Rearrange {nums} [ORD].", "Could you put {nums} [ORD]?",
                    "Give me {nums} [ORD].", "Sort the numbers {nums} [ORD].",
                    "Put these numbers [ORD]: {nums}", "Sort the list {nums} [ORD].",
                    "{nums} - sort them [ORD]", "Sort {nums} [ORD], please.",
                    "Can you order these [ORD]: {nums}?",
                    "Sort {nums}.", "Sort: {nums}",
                    "!List {nums} [ORD].", "!Rank {nums} [ORD]."),
            parts={"ORD": ("in ascending order", "from smallest to largest", "from low to high",
                           "from least to greatest", "smallest first", "in increasing order",
                           "going up", "from the smallest to the biggest", "small to big",
                           "from least to most", "in numerical order", "lowest to highest",
                           "from lowest to highest", "least to greatest", "smallest to largest",
                           "in order from smallest to largest",
                           "!lowest first"),
                   "ORDC": ("Ascending order", "Smallest to largest", "Low to high")},
        ),
        "descending": Slot(
            frames=("Sort {nums} [ORD].", "Sort these numbers [ORD]: {nums}",
                    "Put {nums} [ORD].", "Arrange [ORD]: {nums}", "Order {nums} [ORD].",
                    "Can you sort {nums} [ORD]?", "[ORDC]: {nums}", "{nums} sorted [ORD]?",
                    "Reorder {nums} [ORD].", "Write {nums} [ORD].", "Line up {nums} [ORD].",
                    "Please sort {nums} [ORD].", "Place these [ORD]: {nums}",
                    "Rearrange {nums} [ORD].", "Could you put {nums} [ORD]?",
                    "Give me {nums} [ORD].", "Sort the numbers {nums} [ORD].",
                    "Put these numbers [ORD]: {nums}", "Sort the list {nums} [ORD].",
                    "{nums} - sort them [ORD]", "Sort {nums} [ORD], please.",
                    "Can you order these [ORD]: {nums}?",
                    "!List {nums} [ORD].", "!Rank {nums} [ORD]."),
            parts={"ORD": ("in descending order", "from largest to smallest", "from high to low",
                           "from greatest to least", "largest first", "in decreasing order",
                           "going down", "from the biggest to the smallest", "big to small",
                           "from most to least", "highest to lowest", "from highest to lowest",
                           "greatest to least", "largest to smallest",
                           "in order from largest to smallest",
                           "!highest first"),
                   "ORDC": ("Descending order", "Largest to smallest", "High to low")},
        ),
    },
    "word_problem": {
        "start": Slot(frames=("{name} has {n} {item}.", "{name} starts with {n} {item}.",
                              "{name} had {n} {item}.", "{name} collected {n} {item}.",
                              "{name} is holding {n} {item}.", "{name} begins with {n} {item}.",
                              "{name} saved {n} {item}.", "{name} found {n} {item}.",
                              "At first {name} has {n} {item}.",
                              "There are {n} {item} in {name}'s {one}.",
                              "{name} bought {n} {item}.", "{name} was given {n} {item}.",
                              "{name} has a {one} of {n} {item}.", "{name} counts {n} {item}.",
                              "{name} got {n} {item}.", "{name} picked {n} {item}.",
                              "{name} had a {one} with {n} {item} in it.",
                              "In the morning, {name} has {n} {item}.",
                              "{name}'s {one} holds {n} {item}.", "{name} started with {n} {item}.",
                              "!{name} owns {n} {item}.", "!{name} keeps {n} {item}.")),
        "+": Slot(frames=("{name} [GAIN] {n} more.", "{name} [GAIN] another {n}.",
                          "Then {name} [GAIN] {n} more.", "After that, {name} [GAIN] {n} more.",
                          "Next {name} [GAIN] {n} new ones.", "{name} also [GAIN] {n} more.",
                          "{name} gets {n} more from {other}.", "{name} [GAIN] {n} more {item}.",
                          "Then {name} [GAIN] {n} more {item}.", "{name} [GAINED] {n} more.",
                          "Then {name} [GAINED] {n} more {item}.",
                          "After that, {name} [GAINED] another {n}.", "!{name} [GAIN] {n} extra.",
                          "!Later, {name} [GAIN] {n} more."),
                  parts={"GAIN": ("buys", "finds", "gets", "is given", "collects", "earns",
                                  "receives", "makes", "bakes", "grows", "catches", "borrows",
                                  "brings home", "digs up", "orders", "is sent", "takes",
                                  "adds", "harvests", "crafts", "mines", "brews", "fetches",
                                  "is paid", "inherits", "scoops up", "buys back", "gains",
                                  "saves up", "knits", "paints", "builds", "prints", "hatches",
                                  "adopts", "rescues", "grabs",
                                  "!picks up", "!wins", "!gathers"),
                         "GAINED": ("bought", "found", "got", "was given", "collected", "earned",
                                    "received", "made", "baked", "grew", "caught", "borrowed",
                                    "brought home", "dug up", "ordered", "took", "added",
                                    "harvested", "crafted", "fetched", "gained", "saved up",
                                    "knitted", "painted", "built", "printed", "hatched", "adopted",
                                    "rescued", "grabbed")}),
        "-": Slot(frames=("{name} [LOSE] {n}.", "Then {name} [LOSE] {n}.",
                          "After that, {name} [LOSE] {n}.", "{name} [LOSE] {n} of them.",
                          "Next {name} [LOSE] {n} of the {item}.",
                          "{name} gives {n} to {other}.", "{name} lets {other} have {n}.",
                          "{name} [LOSE] {n} {item}.", "Then {name} [LOSE] {n} {item}.",
                          "{name} [LOST] {n}.", "Then {name} [LOST] {n} of them.",
                          "{name} [LOST] {n} {item}.",
                          "!{name} hands {n} to {other}.", "!Later, {name} [LOSE] {n}."),
                  parts={"LOSE": ("loses", "gives away", "sells", "uses", "drops", "eats",
                                  "spends", "breaks", "donates", "misplaces", "gives up",
                                  "sends off", "wastes", "burns", "lends out", "uses up",
                                  "pays", "shoots", "plants", "returns", "leaves behind",
                                  "feeds", "spills", "sells off", "gives back", "hands out",
                                  "gives out", "mails", "releases", "gobbles", "ships", "crushes",
                                  "tosses",
                                  "!throws away", "!fires", "!trades away"),
                         "LOST": ("lost", "gave away", "sold", "used", "dropped", "ate", "spent",
                                  "broke", "donated", "misplaced", "gave up", "wasted", "burned",
                                  "lent out", "used up", "shot", "planted", "returned",
                                  "left behind", "fed", "spilled", "handed out", "gave out",
                                  "mailed", "released", "gobbled", "shipped", "crushed",
                                  "tossed")}),
        "x": Slot(frames=("{name} buys {k} {cont} of {item}. Each {one} has {n} {item}.",
                          "{name} has {k} {cont} with {n} {item} in each.",
                          "{name} fills {k} {cont} with {n} {item} each.",
                          "There are {k} {cont}. Each {one} holds {n} {item}. "
                          "{name} takes them all.",
                          "{name} has {k} {cont}, with {n} {item} in every {one}.",
                          "{name} gets {k} {cont}, each with {n} {item}.",
                          "!{name} carries {k} {cont}, and every {one} holds {n} {item}.",
                          "!{name} makes {k} groups of {n} {item}.")),
        "/": Slot(frames=("{name} shares them equally among {k} friends.",
                          "{name} splits them equally between {k} friends.",
                          "{name} divides them evenly among {k} friends.",
                          "{name} parcels them out equally among {k} friends.",
                          "{k} friends share them equally.",
                          "!{name} deals them out evenly to {k} friends.")),
        "ask": Slot(frames=("How many {item} does {name} have now?",
                            "How many {item} does {name} have in the end?",
                            "How many {item} are left?", "How many {item} now?",
                            "How many {item} does {name} end with?",
                            "How many {item} are there at the end?",
                            "How many {item} does {name} have left?", "How many {item} remain?",
                            "How many {item} are there now?",
                            "How many {item} does {name} have altogether?",
                            "How many {item} does {name} have in total?",
                            "How many {item} did {name} end up with?",
                            "How many {item} does {name} have at the end?",
                            "How many {item} are left now?", "How many {item} in total?",
                            "How many does {name} have now?", "How many are left?",
                            "!What is the number of {item} {name} has now?",
                            "!Count the {item} {name} ends up with.")),
        "ask_share": Slot(frames=("How many {item} does each friend get?",
                                  "How many {item} does each friend receive?",
                                  "How many {item} for each friend?",
                                  "!What share of {item} does one friend end up with?")),
    },
    "cot_format": {
        "count": Slot(frames=("How many digits does {n} have?", "Count the digits in {n}.",
                              "How many digits are in {n}?",
                              "!What is the number of digits of {n}?")),
        "first": Slot(frames=("What is the first digit of {n}?", "Which digit does {n} start with?",
                              "First digit of {n}?", "!Tell me the leading digit of {n}.")),
        "next": Slot(frames=("What number comes after {n}?", "What is one more than {n}?",
                             "What is {n} plus one?", "!Which number follows {n}?")),
        "prev": Slot(frames=("What number comes before {n}?", "What is one less than {n}?",
                             "What is {n} minus one?", "!Which number precedes {n}?")),
        "double": Slot(frames=("What is double {n}?", "What is twice {n}?", "Double {n}.",
                               "!How much is {n} doubled?")),
    },
}
# fmt: on


def _held(text: str) -> bool:
    return text.startswith("!")


def _combo_held(task: str, slot: str, frame: str, parts: tuple[str, ...]) -> bool:
    key = "|".join((task, slot, frame, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % HELD_MODULUS == 0


def _fill(frame: str, chosen: dict[str, str]) -> tuple[str, bool]:
    """The frame with its parts filled (held-out marks dropped), and whether any was held."""
    held = _held(frame) or any(_held(p) for p in chosen.values())
    return _PART.sub(lambda m: chosen[m.group(1)].lstrip("!"), frame.lstrip("!")), held


def _compose(rng: random.Random, slot: Slot) -> tuple[str, tuple[str, ...], bool]:
    """A random frame with its parts filled: (template, chosen parts, any whole form held)."""
    frame = rng.choice(slot.frames)
    chosen = {name: rng.choice(slot.parts[name]) for name in _PART.findall(frame)}
    text, held = _fill(frame, chosen)
    return text, tuple(chosen.values()), held


def pick(rng: random.Random, task: str, slot: str, split: str) -> str:
    """One wording for a slot: held-out forms for "heldout_phrasing", trained otherwise.

    A held-out wording must also read differently from every trained one ("{b} times {a}"
    reads like the trained "{a} times {b}" once numbers are in)."""
    want_held = split == "heldout_phrasing"
    for _ in range(1000):
        text, parts, held = _compose(rng, PHRASES[task][slot])
        if held or (parts and _combo_held(task, slot, text, parts)):
            held = True
        if held and want_held and surface(text) in _trained_surfaces(task, slot):
            continue
        if held == want_held:
            return text
    raise RuntimeError(f"no {'held-out' if want_held else 'trained'} wording for {task}/{slot}")


def wordings(task: str, slot: str) -> dict[str, bool]:
    """Every wording of a slot (values still as {placeholders}) -> whether it is held out."""
    out: dict[str, bool] = {}
    for frame in PHRASES[task][slot].frames:
        names = _PART.findall(frame)
        for parts in itertools.product(*(PHRASES[task][slot].parts[n] for n in names)):
            text, held = _fill(frame, dict(zip(names, parts, strict=True)))
            out[text] = held or (bool(parts) and _combo_held(task, slot, text, parts))
    return out


def surface(wording: str) -> str:
    """How a wording reads once filled: any number alike, first letter and final mark free."""
    text = re.sub(r"\{[abcnk]\}", "{v}", wording).rstrip(".?")
    return text[:1].lower() + text[1:]


@functools.cache
def _trained_surfaces(task: str, slot: str) -> frozenset[str]:
    return frozenset(surface(w) for w, held in wordings(task, slot).items() if not held)


# Surface dressing: lead-ins and closings (trained and held-out), case and final mark.
# No lead-in ends in a comma or holds a digit: those would change a question's numbers
# or be read as part of a sequence.
LEAD_INS = (
    ("Quick question: ", "Question: ", "Please help. ", "Hey! ", "Can you tell me: ",
     "Try this one. ", "Math time! ", "I wonder: ", "Here is a puzzle. ", "OK. ",
     "Teacher asks: ", "Help me out: ", "Hi. ", "Next one. ", "Puzzle: ",
     "Next question: ", "Solve this: ", "Here's one: ", "A quick one: ", "Help! ",
     "Hello! ", "Hey there. ", "Math question: ", "I have a question. ", "Hi there! ",
     "Question for you: ", "Please solve: ", "Homework: ", "Can you help? ", "Simple one: "),
    ("Riddle me this: ", "Homework help! ", "Hmm. ", "Be honest: "),
)  # fmt: skip
CLOSINGS = (
    (" Thanks!", " Show your steps.", " Please answer.", " Think it through.", " Be careful.",
     " Explain.", " Thank you.", " Go!", " Thanks in advance.", " Please.", " Thx.",
     " Quickly please.", " Thanks a lot!", " Please show your work.", " Step by step please.",
     " Thank you!", " Ty.", " I'm stuck.", " Need help.", " Thanks!!", " Please help."),
    (" Cheers!", " Take your time.", " Much appreciated."),
)  # fmt: skip


def _plain_first_word(prompt: str) -> bool:
    """Whether the prompt opens with a word of the frame, not a sequence's item ("B, Z, B")."""
    first = prompt.split(" ", 1)[0]
    return len(first) > 1 and first.isalpha()


def dress(rng: random.Random, prompt: str, split: str, lower_ok: bool = True) -> str:
    """The prompt with optional lead-in, closing, lower-case start or no final mark.

    `lower_ok` is False where the first word is a name (word problems)."""
    which = 1 if split == "heldout_phrasing" and rng.random() < 0.5 else 0
    if rng.random() < 0.25 and prompt[-1] in ".?":
        prompt = prompt[:-1]
    if rng.random() < 0.3:
        prompt = rng.choice(LEAD_INS[which]) + prompt
    elif lower_ok and _plain_first_word(prompt) and rng.random() < 0.25:
        prompt = prompt[:1].lower() + prompt[1:]
    if rng.random() < 0.25:
        prompt += rng.choice(CLOSINGS[which])
    return prompt
