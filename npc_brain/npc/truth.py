"""The truth checker: `false_claims(...)` reads a finished trace against the state and lists
every claim the state does not support (numbers, stats, names, kinds, role, the decision).
Evaluation and tests use it on served and unconstrained traces alike; served thoughts are
the teacher's own lines for the state (npc_brain.npc.decision), which tests hold to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from npc_brain.npc.actions import (
    answer_options,
    check_actions,
    closing_phrase,
    decision_phrases,
)
from npc_brain.npc.memory import CUES, recalled
from npc_brain.npc.prompt import npc_prompt
from npc_brain.npc.roles import FIGHTING_CATEGORIES, category
from npc_brain.npc.sayings import (
    KIND_SAYINGS,
    STAT_SAYINGS,
    injured,
    recall_sayings,
    thought_words,
    true_sayings,
    untrue_sayings,
)
from npc_brain.npc.state import NPCState, Perception

OWN_STATS = ("health", "hunger", "energy")
# The words the teacher's thoughts begin with besides a name or a number.
OPENERS = ("I", "all", "everything", "it", "maybe", "my", "nobody", "nothing", "oh", "poor",
           "so", "someone", "the", "there", "this", "too", "what", "with")  # fmt: skip
I_WORDS = {"I", "I'm", "I'll", "I'd", "I've"}
# The lowercase words a thought may use besides the state's own: the teacher's and openers'.
WORDS = thought_words() | {w.lower() for w in OPENERS}
_LOWER_WORD = re.compile(r"(?<![\w'])[a-z']+(?![\w'])")
_CAPITAL_WORD = re.compile(r"(?<![\w'])([^\W\d_][\w'-]*)")
_ARITHMETIC = re.compile(r"[=+×]|\b(?:write|carry|column|digit)\b")
_NO_FIGHTER = re.compile(r"\bnot a fighter\b|\bcan't fight\b")
_MENU = re.compile(r"\boptions?\b|\bnot (?:allowed|available)\b|\bmenu\b")


def state_names(state: NPCState) -> list[str]:
    """Every name a thought may use: perceived things and held items, as the prompt shows."""
    names = [p.name for p in state.shown_entities()] + [k for k, _ in state.shown_inventory()]
    return list(dict.fromkeys(names))


def state_numbers(state: NPCState, actions: list[str]) -> set[str]:
    return set(re.findall(r"\d+", npc_prompt(state, actions)))


def _fights(state: NPCState) -> bool:
    return bool(state.role) and category(state.role) in FIGHTING_CATEGORIES


def _untrue_sayings_of(state: NPCState) -> list[str]:
    out = []
    for stat, sayings in STAT_SAYINGS.items():
        true = true_sayings(stat, getattr(state, stat))
        out += [text for text, _ in sayings if text not in true]
    return out


def _untrue_recalls_of(state: NPCState) -> list[str]:
    """Sayings of what the NPC recalls ("it is not safe here any more") that its memory
    does not hold."""
    cues = recalled(state.memory)
    return [text for cue in CUES if cue not in cues for text in recall_sayings(cue)]


def _hurt_names(state: NPCState) -> list[str]:
    """Perceived names of those whose health says they are hurt."""
    return [p.name for p in state.shown_entities() if injured(p.health)]


def _entity_numbers(p: Perception) -> tuple[str, ...]:
    return tuple(str(n) for n in (p.meters, p.health, p.strength) if n is not None)


def _numbers_by_name(state: NPCState) -> dict[str, tuple[str, ...]]:
    """Each perceived name's numbers; two entities of one name ("wolf", "wolf") share them.
    A held item has none: it is not some meters away ("the letter is 1 m away")."""
    out: dict[str, tuple[str, ...]] = {k: () for k, _ in state.shown_inventory()}
    for p in state.shown_entities():
        out[p.name] = tuple(dict.fromkeys((*out.get(p.name, ()), *_entity_numbers(p))))
    return out


def _kinds_by_name(state: NPCState) -> dict[str, set[str]]:
    """Each perceived name's kinds ("wolf" may be an animal and an enemy); a held item is of
    kind "held", which no kind saying fits ("the letter looks tasty", "lies unattended")."""
    out: dict[str, set[str]] = {k: {"held"} for k, _ in state.shown_inventory()}
    for p in state.shown_entities():
        out.setdefault(p.name, set()).add(p.kind)
    return out


def _state_words(state: NPCState, options: list[str]) -> tuple[str, ...]:
    """The request's own lowercase words a thought may use: of its names, role, place, goal,
    and the closing phrases of its options."""
    phrases = decision_phrases(options) if options else {}
    text = " ".join([*state_names(state), state.role or "", state.location or "", *phrases])
    text += " " + (state.goal or "")
    return tuple(sorted(set(_LOWER_WORD.findall(text)) - WORDS))


def _context_words(state: NPCState) -> list[str]:
    """Words of the state's free text (goal, location, role) a thought may repeat."""
    text = " ".join(x for x in (state.goal, state.location, state.role) if x)
    return _CAPITAL_WORD.findall(text)


@dataclass(frozen=True)
class FalseClaim:
    """A thought that says something the state does not support."""

    step: int  # index of the thought
    # number, stat, memory, hurt, kind, name, word, item, role, menu, arithmetic, decision
    kind: str
    text: str  # the offending part

    def __str__(self) -> str:
        return f"thought {self.step}: {self.kind}: {self.text!r}"


def false_claims(
    state: NPCState, actions: list[str], steps: list[str] | tuple[str, ...], answer: str
) -> list[FalseClaim]:
    """Every claim in the thoughts that the state does not support (empty when true)."""
    actions = check_actions(actions)
    known = _Known.of(state, actions)
    out = [
        FalseClaim(i, kind, text)
        for i, said in enumerate(steps)
        for kind, text in _thought_claims(state, known, said)
    ]
    return out + _decision_claims(state, actions, list(steps), answer)


@dataclass(frozen=True)
class _Known:
    """What a thought may mention, read from the state once per trace."""

    names: list[str]
    words: set[str]  # words of names and free text a capitalised word may be
    items: list[str]
    numbers: set[str]
    hurt: set[str]  # perceived names someone hurt goes by
    lower: set[str]  # the lowercase words a thought may use
    untrue_sayings: list[str]  # stat sayings the state's values do not support
    untrue_recalls: list[str]  # sayings of memories the state does not hold

    @classmethod
    def of(cls, state: NPCState, actions: list[str]) -> _Known:
        names = state_names(state)
        words = {w for n in names for w in n.split()} | set(_context_words(state))
        items = [k for k, _ in state.shown_inventory()]
        hurt = set(_hurt_names(state))
        lower = WORDS | set(_state_words(state, answer_options(state, actions)))
        numbers = state_numbers(state, actions)
        untrue = _untrue_sayings_of(state)
        return cls(names, words, items, numbers, hurt, lower, untrue, _untrue_recalls_of(state))


def _thought_claims(state: NPCState, known: _Known, said: str) -> list[tuple[str, str]]:
    """(kind, text) of every unsupported claim in one thought."""
    step = _without_names(said, known.names)
    out = [("number", n) for n in re.findall(r"\d+", step) if n not in known.numbers]
    for stat in OWN_STATS:
        for n in re.findall(rf"\bmy {stat} is (\d+)", step):
            if str(getattr(state, stat)) != n:
                out.append(("stat", f"my {stat} is {n}"))
    # A saying about a stat anywhere in the thought must hold at the state's own value.
    out += [("stat", text) for text in known.untrue_sayings
            if re.search(rf"(?<![\w']){re.escape(text)}(?![\w'])", step)]  # fmt: skip
    out += [("memory", text) for text in known.untrue_recalls if text in step]
    out += [("hurt", n) for n in _said_hurt(said, known.names) if n not in known.hurt]
    for word in _CAPITAL_WORD.findall(step):
        if word[:1].isupper() and word not in I_WORDS | {"NAME"} and word not in known.words:
            out.append(("name", word))
    for rest in re.findall(r"\bthe (.+)", step):
        if not rest.startswith("NAME"):
            out.append(("name", f"the {rest.split(',')[0]}"))
    for held in re.findall(r"\bI have (?:an? |my )?(.+?) with me", said):
        if held not in known.items:
            out.append(("item", f"I have {held}"))
    out += [("number", n) for n in _misplaced_numbers(state, said)]
    out += [("kind", s) for s in _untrue_of_named(state, said)]
    for rest in re.findall(r"\bI am an? (.+)", said):
        if not state.role or not _starts_with_word(rest, state.role):
            out.append(("role", rest.split(",")[0]))
    if _fights(state):
        out += [("role", m) for m in _NO_FIGHTER.findall(said)]
    out += [("word", w) for w in _LOWER_WORD.findall(said) if w not in known.lower]
    if _MENU.search(step):
        out.append(("menu", step))
    if _ARITHMETIC.search(step):
        out.append(("arithmetic", step))
    return out


def _said_hurt(said: str, names: list[str]) -> list[str]:
    """The perceived names a thought calls hurt ("Gorm is hurt", "poor the calf")."""
    out = []
    for name in names:
        n = re.escape(name)
        # "poor Tom" may itself be a name beside "Tom": a longer name says nothing.
        text = _without_names(said, [m for m in names if name in m and m != name])
        if re.search(rf"(?<![\w']){n} is hurt\b|\bpoor (?:the )?{n}(?![\w'])", text):
            out.append(name)
    return out


def _starts_with_word(text: str, word: str) -> bool:
    """`text` begins with `word` as a whole word (roles may end in punctuation)."""
    return text.startswith(word) and not text[len(word) : len(word) + 1].isalnum()


def _misplaced_numbers(state: NPCState, step: str) -> list[str]:
    """Numbers said after naming a perceived entity that are not that entity's own."""
    entities = _numbers_by_name(state)
    if not entities:
        return []
    names = "|".join(re.escape(n) for n in sorted(entities, key=len, reverse=True))
    current, out = None, []
    # "my health is 40" speaks of the NPC again: its number is checked as a stat.
    own = "|".join(OWN_STATS)
    for m in re.finditer(rf"(?<![\w'])({names})(?![\w'])|\b(\d+)\b|\bmy (?:{own})\b", step):
        if m.group(1):
            current = m.group(1)
        elif m.group(2) is None:
            current = None
        elif current is not None and m.group(2) not in entities[current]:
            out.append(f"{m.group(2)} (said of {current})")
    return out


def _untrue_of_named(state: NPCState, step: str) -> list[str]:
    """Sayings that do not fit the kind of the thing the thought last named ("the scroll is
    2 m away, looks tasty")."""
    kinds = _kinds_by_name(state)
    if not kinds:
        return []
    names = "|".join(re.escape(n) for n in sorted(kinds, key=len, reverse=True))
    sayings = "|".join(re.escape(s) for s in KIND_SAYINGS)
    current, out = None, []
    for m in re.finditer(rf"(?<![\w'])(?:({names})|({sayings}))(?![\w'])", step):
        if m.group(1):
            current = m.group(1)
        elif current is not None and m.group(2) in untrue_sayings(kinds[current]):
            out.append(f"{current}: {m.group(2)}")
    return out


def _without_names(step: str, names: list[str]) -> str:
    """The thought with every state name blanked, so words inside names are not read as claims
    ("cook from the inn" is a name, not a claim about an inn)."""
    for name in sorted(names, key=len, reverse=True):
        step = re.sub(rf"(?<![\w']){re.escape(name)}(?![\w'])", "NAME", step)
    return step


def _decision_claims(
    state: NPCState, actions: list[str], steps: list[str], answer: str
) -> list[FalseClaim]:
    """The last thought ends with "so I" + the decision's own closing phrase."""
    last = len(steps) - 1
    if last < 0:
        return [FalseClaim(0, "decision", "no thoughts")]
    if answer not in answer_options(state, actions):
        return [FalseClaim(last, "decision", f"the answer {answer!r} is not an option")]
    said = steps[last].rpartition("so I ")
    if not said[1]:
        return [FalseClaim(last, "decision", "the last thought does not say what I do")]
    if said[2] != closing_phrase(answer):
        return [FalseClaim(last, "decision", f"says {said[2]!r} but does {answer!r}")]
    return []
