"""The canonical verb vocabulary, game aliases, and the answers a decision may take.

An ANS is `verb` or `verb target`. A verb either takes no target, needs one, or may take
one (`heal` alone means "heal myself"). Targets are perceived entities of given kinds or
items in the NPC's inventory, exactly as the prompt shows them (`NPCState.shown_*`): the model
can only name what it was shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from npc_brain.npc.edible import can_take, drunk_whole
from npc_brain.npc.roles import may_attack
from npc_brain.npc.sayings import LAZY_TIRED, LOW_HEALTH, NEAR
from npc_brain.npc.state import NPCState

CREATURES = ("enemy", "monster", "animal", "person")


@dataclass(frozen=True)
class Verb:
    """A canonical verb and what it may target."""

    name: str
    kinds: tuple[str, ...] = ()  # perceived entity kinds it may target
    inventory: bool = False  # may target an inventory item
    optional: bool = False  # the bare verb is also a valid answer

    @property
    def takes_target(self) -> bool:
        return bool(self.kinds) or self.inventory


# Order matters: prompts and answer options list verbs in this order.
VERBS: tuple[Verb, ...] = (
    Verb("attack", kinds=CREATURES),
    Verb("flee"),
    Verb("hide"),
    Verb("call_for_help"),
    Verb("eat", kinds=("food",), inventory=True),
    Verb("drink", kinds=("water",), inventory=True),
    Verb("sleep"),
    Verb("rest"),
    Verb("heal", kinds=("person", "animal"), optional=True),
    Verb("trade", kinds=("person",)),
    Verb("talk", kinds=("person",)),
    Verb("patrol"),
    Verb("guard"),
    Verb("follow", kinds=("person",)),
    Verb("investigate", kinds=(*CREATURES, "food", "water", "item", "shelter")),
    Verb("pick_up", kinds=("food", "item")),
    Verb("give", kinds=("person",)),
    Verb("work"),
    Verb("wander"),
    Verb("steal", kinds=("person",)),
    Verb("hunt", kinds=("animal",)),
    Verb("go_home"),
    Verb("play"),
    Verb("wait"),
)
VERB_BY_NAME: dict[str, Verb] = {v.name: v for v in VERBS}
VOCABULARY: tuple[str, ...] = tuple(v.name for v in VERBS)
MAX_ACTIONS = 64


def check_actions(actions: list[str]) -> list[str]:
    """Canonical verbs in vocabulary order, duplicates dropped; unknown verbs are an error."""
    if not actions:
        raise ValueError("actions must list at least one verb")
    if len(actions) > MAX_ACTIONS:
        raise ValueError(f"at most {MAX_ACTIONS} actions, got {len(actions)}")
    unknown = [a for a in actions if a not in VERB_BY_NAME]
    if unknown:
        raise ValueError(
            f"unknown action(s) {unknown}; use canonical verbs ({', '.join(VOCABULARY)}) "
            "or declare them as aliases"
        )
    wanted = set(actions)
    return [v for v in VOCABULARY if v in wanted]


def resolve_actions(
    actions: list[str], aliases: dict[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """Map a game's verbs to canonical ones.

    `aliases` maps a game verb to a canonical verb. Returns the canonical verbs (vocabulary
    order) and a back-mapping canonical -> the game verb to report decisions in. When two
    game verbs map to the same canonical verb, the first listed one is reported.
    """
    aliases = aliases or {}
    for game_verb, canonical in aliases.items():
        if canonical not in VERB_BY_NAME:
            raise ValueError(
                f"alias {game_verb!r} points to unknown verb {canonical!r}; "
                f"the verbs are {', '.join(VOCABULARY)}"
            )
    back: dict[str, str] = {}
    canonical_list: list[str] = []
    for verb in actions:
        canonical = aliases.get(verb, verb)
        if canonical not in VERB_BY_NAME:
            raise ValueError(
                f"unknown action {verb!r}: not a canonical verb and not declared as an alias; "
                f"the verbs are {', '.join(VOCABULARY)}"
            )
        back.setdefault(canonical, verb)
        canonical_list.append(canonical)
    return check_actions(canonical_list), back


def split_answer(answer: str) -> tuple[str, str | None]:
    """`"attack grey wolf"` -> `("attack", "grey wolf")`; `"flee"` -> `("flee", None)`."""
    verb, _, target = answer.partition(" ")
    if verb not in VERB_BY_NAME:
        raise ValueError(f"answer {answer!r} does not start with a known verb")
    return verb, (target or None)


def to_game_answer(answer: str, back: dict[str, str]) -> tuple[str, str | None]:
    """The decision as (game verb, target), using the back-mapping from `resolve_actions`."""
    verb, target = split_answer(answer)
    return back.get(verb, verb), target


def verb_targets(state: NPCState, verb: Verb) -> list[str]:
    """Targets `verb` may take in `state`: visible entities first (nearest first), then items."""
    out: list[str] = []
    if verb.kinds:
        out += [p.name for p in state.shown_entities() if p.kind in verb.kinds]
    if verb.inventory:  # eat and drink: not the letter, nor the rope (npc.edible)
        out += [item for item, _ in state.shown_inventory() if can_take(verb.name, item)]
    return list(dict.fromkeys(out))


# How a thought says each verb, and the word joining it to a target ("talk to Anna").
SPOKEN: dict[str, tuple[str, str]] = {
    "call_for_help": ("call for help", ""),
    "trade": ("trade", "with"),
    "talk": ("talk", "to"),
    "pick_up": ("pick up", ""),
    "give": ("give it", "to"),
    "steal": ("steal", "from"),
    "guard": ("stand guard", ""),
    "go_home": ("go home", ""),
}


def spoken(verb: str) -> str:
    """The words a thought uses for a canonical verb ("call for help", "stand guard")."""
    return SPOKEN.get(verb, (verb, ""))[0]


def refer(name: str) -> str:
    """How a thought names a target: a capitalised name bare ("Anna", "Vermithrax"), any
    other with "the" ("the wolf", "the old man") unless it has its own ("the thing")."""
    return f"the {name}" if name[:1].islower() and not name.startswith("the ") else name


def closing_phrase(option: str) -> str:
    """What the last thought says after "so I" for an answer option: "attack the wolf",
    "talk to Anna", "drink from the well", "heal myself". One table for the teacher and the
    decoding constraint."""
    verb, target = split_answer(option)
    words, joiner = SPOKEN.get(verb, (verb, ""))
    if target is None:
        return "heal myself" if verb == "heal" else words
    if verb == "drink" and not drunk_whole(target):
        joiner = "from"  # "drink from the well", but "drink the ale"
    return " ".join(w for w in (words, joiner, refer(target)) if w)


def decision_phrases(options: list[str]) -> dict[str, list[str]]:
    """Closing phrase -> the answer options it commits to (one each, in practice)."""
    phrases: dict[str, list[str]] = {}
    for option in options:
        phrases.setdefault(closing_phrase(option), []).append(option)
    return phrases


def answer_options(state: NPCState, actions: list[str]) -> list[str]:
    """Every allowed ANS string for `state` and canonical `actions` (as check_actions gives).

    Deterministic: verbs in the order given (vocabulary order), targets in prompt order. A
    verb that needs a target contributes nothing when no suitable target is visible.
    """
    options: list[str] = []
    for name in actions:
        verb = VERB_BY_NAME[name]
        if not verb.takes_target or verb.optional:
            options.append(name)
        if verb.takes_target:
            options += [f"{name} {t}" for t in verb_targets(state, verb)]
    return options


def served_options(state: NPCState, actions: list[str]) -> list[str]:
    """The answers an NPC may be served for canonical `actions`: answer_options() without
    the absurd ones (docs/teacher.md, "The rules"): an attack on someone peaceful unless
    its role preys on them, so a villager never attacks a stranger; sleep when it is well
    rested by day or a foe is near. Kept when nothing else is offered, since then they are
    what the game asks for."""
    options = answer_options(state, actions)
    peaceful = {p.name: p.kind for p in state.shown_entities() if not p.hostile}
    sleep_ok = may_sleep(state)
    kept = [
        o
        for o in options
        if _fits_role(state, peaceful, *split_answer(o)) and (sleep_ok or o != "sleep")
    ]
    return kept or options


def _fits_role(state: NPCState, peaceful: dict[str, str], verb: str, target: str | None) -> bool:
    return verb != "attack" or may_attack(state.role, peaceful.get(target or ""))


def may_sleep(state: NPCState) -> bool:
    """Whether going to sleep fits: never with a foe near; when hurt, tired or at night;
    and, what the game does not say being unknown, anywhere but in broad daylight."""
    if any(p.hostile and p.meters <= NEAR for p in state.shown_entities()):
        return False
    if state.health is not None and state.health <= LOW_HEALTH:
        return True
    if state.energy is not None:
        return state.energy <= LAZY_TIRED or state.time_of_day in ("night", "dusk")
    return state.time_of_day not in ("day", "dawn")
