"""NPC decision data: random situations and the rule-based teacher (docs/teacher.md).

The teacher walks a fixed priority list of rules. Each rule reads a few facts that the
prompt shows with the same words and numbers, and proposes a chain of candidate answers;
the first candidate whose verb is allowed wins. When no candidate of a rule is allowed the
next rule is tried. The STEP lines name the facts the rule used (copying the prompt's
numbers and names) and end with the decision, so the ANS follows from the last step.
"""

from __future__ import annotations

import random
import sys
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from npc_brain.npc.actions import CREATURES, VOCABULARY, answer_options, check_actions
from npc_brain.npc.prompt import npc_prompt
from npc_brain.npc.state import NPCState, Perception
from npc_brain.workshop.data.example import Example

# Thresholds (docs/teacher.md). Steps state them as words ("health 25 is low").
NEAR = 15  # a hostile within this many meters is a danger
CLOSE = 5  # ...and this close, an ordinary NPC runs instead of hiding
LOW_HEALTH = 30
STRONG = 70
HUNGRY = 70
TIRED = 20
LAZY_TIRED = 40
INJURED = 30
BUY_GOLD = 10

FIGHTER_ROLES = ("guard", "soldier", "hunter")
WORK_ROLES = ("farmer", "blacksmith", "villager", "healer")
ROLES = (
    "guard",
    "soldier",
    "merchant",
    "farmer",
    "hunter",
    "healer",
    "thief",
    "villager",
    "child",
    "blacksmith",
    "bard",
)
DECISION_TRAITS = ("brave", "cowardly", "greedy", "loyal", "lazy", "curious", "kind", "friendly")
FLAVOR_TRAITS = ("calm", "grumpy", "honest", "shy", "proud", "old", "quiet", "clever")

FOOD = ("bread", "apple", "cheese", "meat", "fish", "berries", "carrot", "pie", "stew")
MEDICINE = ("herbs", "bandage")
POTION = "potion"
OTHER_ITEMS = ("rope", "knife", "cloth", "letter", "coin", "torch", "map", "key", "flute")
DRINKS = ("water", "ale", "milk")


# ---------------------------------------------------------------------------- the teacher


@dataclass(frozen=True)
class Candidate:
    """One possible answer with the facts that justify it and the closing phrase."""

    verb: str
    target: str | None
    facts: tuple[str, ...]
    phrase: str  # "attack the wolf" -> final step "so I attack the wolf"

    @property
    def answer(self) -> str:
        return self.verb if self.target is None else f"{self.verb} {self.target}"


def the(p: Perception) -> str:
    """Name with an article: "the wolf", but "Tom" for people and capitalised names."""
    if p.kind == "person" or p.name[:1].isupper():
        return p.name
    return f"the {p.name}"


def _a(noun: str) -> str:
    """ "a guard", "an innkeeper"."""
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def _variant(state: NPCState, key: str, options: tuple[str, ...]) -> str:
    # Deterministic phrasing choice: crc32 is stable across runs (unlike hash()).
    return options[zlib.crc32(f"{state.id}/{key}".encode()) % len(options)]


class Situation:
    """The facts the rules read, computed once from the prompt-visible view of a state."""

    def __init__(self, state: NPCState) -> None:
        self.state = state
        self.role = state.role
        self.traits = set(state.shown_traits())
        self.entities = state.shown_entities()
        self.items = [k for k, _ in state.shown_inventory()]
        creatures = [p for p in self.entities if p.kind in CREATURES]
        self.threat = next((p for p in creatures if p.hostile), None)
        self.people = [p for p in self.entities if p.kind == "person" and not p.hostile]
        self.person = self.people[0] if self.people else None
        self.injured = next(
            (p for p in self.people if p.health is not None and p.health <= INJURED), None
        )
        self.prey = next((p for p in creatures if p.kind == "animal" and not p.hostile), None)
        self.food_seen = next((p for p in self.entities if p.kind == "food"), None)
        self.item_seen = next((p for p in self.entities if p.kind == "item"), None)
        self.food_held = next((k for k in self.items if k in FOOD), None)
        self.curiosity = next(
            (p for p in self.entities if p.kind not in ("person", "enemy") and not p.hostile),
            None,
        )

    def has(self, trait: str) -> bool:
        return trait in self.traits

    @property
    def fighter(self) -> bool:
        return self.role in FIGHTER_ROLES or self.has("brave")

    def who_am_i(self) -> str:
        """The fact that makes this NPC a fighter: bravery wins over role."""
        return "I am brave" if self.has("brave") else f"I am {_a(self.role)}"


Rule = Callable[[Situation], list[Candidate]]


def _c(verb: str, target: Perception | str | None, facts: list[str], phrase: str) -> Candidate:
    name = target.name if isinstance(target, Perception) else target
    return Candidate(verb, name, tuple(facts), phrase)


def rule_danger(s: Situation) -> list[Candidate]:
    """1. A hostile creature within NEAR meters: fight, flee, hide or call for help."""
    t = s.threat
    if t is None or t.meters > NEAR:
        return []
    seen = _variant(
        s.state,
        "danger",
        (f"{t.name} is hostile and {t.meters} m away", f"hostile {t.name} only {t.meters} m away"),
    )
    moves = {
        "attack": (t, f"attack {the(t)}"),
        "flee": (None, f"flee from {the(t)}"),
        "hide": (None, f"hide from {the(t)}"),
        "call_for_help": (None, "call for help"),
    }

    def prefer(why: list[str], *verbs: str) -> list[Candidate]:
        return [_c(v, moves[v][0], [seen, *why], moves[v][1]) for v in verbs]

    health = s.state.health
    if health <= LOW_HEALTH:
        return prefer([f"health {health} is too low to fight"], "flee", "hide", "call_for_help")
    if s.has("cowardly"):
        return prefer(["I am cowardly"], "flee", "hide", "call_for_help")
    if s.role == "child":
        return prefer(["I am a child"], "call_for_help", "hide", "flee")
    if s.fighter:
        if not s.has("brave") and t.strength is not None and t.strength >= STRONG:
            why = [s.who_am_i(), f"strength {t.strength} is too strong for me alone"]
            return prefer(why, "call_for_help", "flee", "hide")
        why = [s.who_am_i(), f"health {health} is enough to fight"]
        return prefer(why, "attack", "call_for_help", "flee", "hide")
    me = f"I am {_a(s.role)}, not a fighter"
    if t.meters <= CLOSE:
        return prefer([me, f"{t.meters} m is too close to hide"], "flee", "hide", "call_for_help")
    why = [me, f"{t.meters} m gives me time to hide"]
    return prefer(why, "hide", "flee", "call_for_help")


def rule_wounded(s: Situation) -> list[Candidate]:
    """2. My own health <= LOW_HEALTH: drink a potion, use herbs or a bandage, else rest."""
    h = s.state.health
    if h > LOW_HEALTH:
        return []
    low = f"health {h} is low"
    out = []
    if POTION in s.items:
        out.append(_c("drink", POTION, [low, "I have a potion"], "drink the potion"))
    med = next((m for m in MEDICINE if m in s.items), None)
    if med:
        out.append(_c("heal", None, [low, f"I have {med}"], f"heal myself with the {med}"))
    nothing = [low, "I have nothing to heal with"] if not out else [low]
    out.append(_c("rest", None, nothing, "rest"))
    out.append(_c("sleep", None, nothing, "sleep"))
    return out


def rule_injured_ally(s: Situation) -> list[Candidate]:
    """3. A friendly person with health <= INJURED: healers and the kind heal, the loyal call."""
    p = s.injured
    if p is None:
        return []
    hurt = f"{p.name} is hurt with health {p.health}"
    if s.role == "healer" or s.has("kind"):
        why = [hurt, "I am a healer" if s.role == "healer" else "I am kind"]
        return [
            _c("heal", p, why, f"heal {p.name}"),
            _c("call_for_help", None, why, f"call for help for {p.name}"),
        ]
    if s.has("loyal"):
        return [_c("call_for_help", None, [hurt, "I am loyal"], f"call for help for {p.name}")]
    return []


def rule_far_threat(s: Situation) -> list[Candidate]:
    """4. A hostile creature further than NEAR: fighters investigate, cowards hide."""
    t = s.threat
    if t is None:
        return []
    far = f"{t.name} is hostile but {t.meters} m away"
    if s.has("cowardly"):
        return [_c("hide", None, [far, "I am cowardly"], f"hide from {the(t)}")]
    if s.fighter:
        why = [far, s.who_am_i()]
        return [
            _c("investigate", t, why, f"investigate {the(t)}"),
            _c("patrol", None, why, "patrol"),
        ]
    return []


def rule_hunger(s: Situation) -> list[Candidate]:
    """5. Hunger >= HUNGRY: eat held food, eat seen food, hunt, buy, steal, or go look."""
    hu = s.state.hunger
    if hu < HUNGRY:
        return []
    high = f"hunger {hu} is high"
    out = []
    if s.food_held:
        item = s.food_held
        out.append(_c("eat", item, [high, f"I have {item}"], f"eat the {item}"))
    none = [high, "I have no food"] if not s.food_held else [high]
    if s.food_seen:
        f = s.food_seen
        out.append(_c("eat", f, [*none, f"{f.name} is food I can eat"], f"eat {the(f)}"))
    if s.role == "hunter" and s.prey:
        a = s.prey
        why = [*none, f"I am a hunter and {a.name} is prey"]
        out.append(_c("hunt", a, why, f"hunt {the(a)}"))
    p = s.person
    gold = s.state.gold
    if p and gold >= BUY_GOLD:
        why = [*none, f"I have {gold} gold to buy food from {p.name}"]
        out.append(_c("trade", p, why, f"trade with {p.name}"))
    if p and gold < BUY_GOLD and (s.role == "thief" or s.has("greedy")):
        who = "I am a thief" if s.role == "thief" else "I am greedy"
        why = [*none, f"gold {gold} is not enough", who]
        out.append(_c("steal", p, why, f"steal from {p.name}"))
    out.append(_c("wander", None, none, "wander to find food"))
    return out


def rule_tired(s: Situation) -> list[Candidate]:
    """6. Energy <= TIRED (lazy: <= LAZY_TIRED): sleep at night, rest otherwise."""
    e = s.state.energy
    lazy = s.has("lazy")
    if e > (LAZY_TIRED if lazy else TIRED):
        return []
    why = [f"I am lazy and energy {e} is low" if lazy else f"energy {e} is low"]
    if s.state.time_of_day == "night":
        why.append("it is night")
        return [_c("sleep", None, why, "sleep"), _c("rest", None, why, "rest")]
    return [_c("rest", None, why, "rest"), _c("sleep", None, why, "sleep")]


def _person_named(s: Situation, name: str) -> Perception | None:
    return next((p for p in s.people if p.name == name), None)


def rule_goal(s: Situation) -> list[Candidate]:
    """7. A goal the NPC can act on here: follow/find/deliver to a seen person, trade, guard."""
    goal = s.state.goal
    if not goal:
        return []
    mine = f"my goal is to {goal}"
    verb, _, rest = goal.partition(" ")
    if verb == "follow" and (p := _person_named(s, rest)):
        return [_c("follow", p, [mine, f"{p.name} is here"], f"follow {p.name}")]
    if verb in ("find", "meet", "visit") and (p := _person_named(s, rest)):
        return [_c("talk", p, [mine, f"{p.name} is here"], f"talk to {p.name}")]
    if verb in ("deliver", "bring") and " to " in rest:
        item, _, who = rest.rpartition(" to ")
        p = _person_named(s, who)
        if p and item in s.items:
            why = [mine, f"I have {item} and {p.name} is here"]
            return [_c("give", p, why, f"give the {item} to {p.name}")]
    if verb in ("sell", "buy") and s.person:
        p = s.person
        return [_c("trade", p, [mine, f"{p.name} is here to trade with"], f"trade with {p.name}")]
    if verb in ("guard", "patrol"):
        return [
            _c(verb, None, [mine], "stand guard" if verb == "guard" else "patrol"),
        ]
    return []


def rule_loot(s: Situation) -> list[Candidate]:
    """8. An item lying around: thieves and the greedy pick it up."""
    i = s.item_seen
    if i is None or not (s.role == "thief" or s.has("greedy")):
        return []
    who = "I am a thief" if s.role == "thief" else "I am greedy"
    return [_c("pick_up", i, [f"{i.name} lies {i.meters} m away", who], f"pick up {the(i)}")]


def rule_night(s: Situation) -> list[Candidate]:
    """9. Night: guards patrol, thieves steal, others sleep at home or go home."""
    if s.state.time_of_day != "night":
        return []
    night = "it is night"
    if s.role in ("guard", "soldier"):
        why = [night, f"I am {_a(s.role)} on night watch"]
        return [_c("patrol", None, why, "patrol"), _c("guard", None, why, "stand guard")]
    if s.role == "thief" and s.person:
        p = s.person
        why = [night, f"I am a thief and {p.name} is near"]
        return [_c("steal", p, why, f"steal from {p.name}")]
    if "home" in s.state.location.split():
        return [
            _c("sleep", None, [night, "I am at home"], "sleep"),
            _c("rest", None, [night, "I am at home"], "rest"),
        ]
    return [_c("go_home", None, [night, "I am not at home"], "go home")]


def rule_curious(s: Situation) -> list[Candidate]:
    """10. Curious NPCs investigate the nearest non-person, non-hostile thing."""
    x = s.curiosity
    if x is None or not s.has("curious"):
        return []
    return [
        _c(
            "investigate",
            x,
            ["I am curious", f"{x.name} is {x.meters} m away"],
            f"investigate {the(x)}",
        )
    ]


def rule_social(s: Situation) -> list[Candidate]:
    """11. Friendly NPCs talk to the nearest person."""
    p = s.person
    if p is None or not s.has("friendly"):
        return []
    return [_c("talk", p, [f"I am friendly and {p.name} is here"], f"talk to {p.name}")]


def rule_lazy(s: Situation) -> list[Candidate]:
    """12. Lazy NPCs rest when nothing presses."""
    if not s.has("lazy"):
        return []
    why = ["nothing urgent is happening", "I am lazy"]
    return [_c("rest", None, why, "rest"), _c("wander", None, why, "wander")]


def rule_duty(s: Situation) -> list[Candidate]:
    """13. The role's daily duty."""
    role = s.role
    duty = f"I am {_a(role)}"
    p, a = s.person, s.prey
    # When the duty verb is not allowed the NPC idles instead.
    idle = [_c("wander", None, [duty], "wander"), _c("wait", None, [duty], "wait")]
    if role == "guard":
        return [_c("patrol", None, [duty, "my duty is to patrol"], "patrol"), *idle]
    if role == "soldier":
        return [_c("guard", None, [duty, "my duty is to stand guard"], "stand guard"), *idle]
    if role in WORK_ROLES:
        return [_c("work", None, [duty, "there is work to do"], "work"), *idle]
    if role == "merchant" and p:
        return [_c("trade", p, [duty, f"{p.name} is a customer"], f"trade with {p.name}"), *idle]
    if role == "merchant":
        return [_c("work", None, [duty, "no customer is here"], "work"), *idle]
    if role == "hunter" and a:
        return [_c("hunt", a, [duty, f"{a.name} is prey"], f"hunt {the(a)}"), *idle]
    if role == "thief" and p:
        return [_c("steal", p, [duty, f"{p.name} is near"], f"steal from {p.name}"), *idle]
    if role == "bard" and p:
        return [_c("talk", p, [duty, f"{p.name} is here to listen"], f"talk to {p.name}"), *idle]
    if role in ("child", "bard"):
        return [_c("play", None, [duty, "it is time to play"], "play"), *idle]
    return [_c(c.verb, None, [duty, "nothing needs me now"], c.phrase) for c in idle]


RULES: tuple[Rule, ...] = (
    rule_danger,
    rule_wounded,
    rule_injured_ally,
    rule_far_threat,
    rule_hunger,
    rule_tired,
    rule_goal,
    rule_loot,
    rule_night,
    rule_curious,
    rule_social,
    rule_lazy,
    rule_duty,
)


MAX_STEPS = 6


def _skipped(verbs: list[str]) -> str:
    names = [v.replace("_", " ") for v in dict.fromkeys(verbs)]
    if len(names) == 1:
        return f"{names[0]} is not an option"
    return f"{', '.join(names[:-1])} and {names[-1]} are not options"


def _decide(cands: list[Candidate], allowed: set[str]) -> tuple[list[str], str] | None:
    """First allowed candidate -> (steps, answer); None when the rule has none allowed."""
    for i, c in enumerate(cands):
        if c.verb in allowed:
            skipped = [d.verb for d in cands[:i]]
            final = f"so I {c.phrase}"
            if skipped:
                final = f"{_skipped(skipped)}, {final}"
            return [*c.facts, final], c.answer
    return None


def teacher(state: NPCState, actions: list[str]) -> tuple[list[str], str]:
    """Decide like the reference NPC: (STEP lines, ANS). The ANS is in answer_options().

    A rule that applies but offers no allowed verb is still said, with why it is passed
    over ("hunger 80 is high, but eat and wander are not options"), so the reasoning shows
    every check the decision rests on.
    """
    allowed = set(check_actions(actions))
    options = answer_options(state, actions)
    if not options:
        raise ValueError("no answer is possible: every allowed verb needs a target none offers")
    s = Situation(state)
    passed: list[str] = []
    for rule in RULES:
        cands = rule(s)
        picked = _decide(cands, allowed)
        if picked:
            return _with_passed(passed, picked[0]), picked[1]
        if cands:
            passed.append(f"{cands[0].facts[0]}, but {_skipped([c.verb for c in cands])}")
    # Nothing applies (no idle verb allowed): the first allowed bare verb, else any option.
    bare = [o for o in options if " " not in o]
    answer = bare[0] if bare else options[0]
    verb, _, target = answer.partition(" ")
    phrase = verb.replace("_", " ") + (f" {target}" if target else "")
    return _with_passed(passed, ["nothing else needs me now", f"so I {phrase}"]), answer


def _with_passed(passed: list[str], steps: list[str]) -> list[str]:
    """The passed-over rules (highest priority first) that fit in MAX_STEPS, then steps."""
    return [*passed[: max(0, MAX_STEPS - len(steps))], *steps]


# ------------------------------------------------------------------------ the generator

PEOPLE = (
    "Anna", "Tom", "Bram", "Mira", "Lena", "Oskar", "Greta", "Hugo", "Ida", "Jon", "Karl",
    "Lisa", "Marta", "Nils", "Olga", "Pia", "Rolf", "Sara", "Ulla", "Vera", "Will", "Edda",
    "Finn", "Gus", "Hanna", "Ivo", "Jana", "Kim", "Leo", "Maja", "Ned", "Otto", "Paul",
    "Rosa", "Sam", "Tilda", "Ben", "Cora", "Dag", "Elsa", "Fritz", "Hilde", "Ada", "Emil",
)  # fmt: skip
# A few unusual names exercise the tokenizer's byte fallback.
UNUSUAL_PEOPLE = ("Zoë", "Søren", "Ærwyn", "Łucja", "Émile", "Björn", "Ýr", "Аня", "Kōji", "Niño")
ENEMIES = ("bandit", "raider", "goblin", "orc", "cultist", "brigand")
MONSTERS = ("troll", "ogre", "skeleton", "giant spider", "ghoul", "wyvern")
HOSTILE_ANIMALS = ("wolf", "bear", "boar", "snake", "wild dog")
TAME_ANIMALS = ("deer", "rabbit", "fox", "dog", "cat", "chicken", "cow", "horse", "goat")
ADJECTIVES = ("grey", "old", "big", "young", "black", "red")
FOOD_SEEN = ("apple", "berries", "mushroom", "fish", "bread", "pie")
ITEMS_SEEN = ("sword", "purse", "axe", "lantern", "necklace", "gem", "shield", "ring", "chest")
SHELTERS = ("barn", "cave", "hut", "tower", "shed")
WATERS = ("well", "stream", "river", "pond")
LOCATIONS = (
    "home", "market", "gate", "farm", "forest", "tavern", "square", "road", "field", "mill",
    "bridge", "camp", "temple", "forge", "my home", "dock",
)  # fmt: skip
TIMES_WEIGHTED = ("dawn", "day", "day", "day", "dusk", "night", "night")
MEMORIES = (
    "a wolf was seen near the farm",
    "the market was busy",
    "I slept badly",
    "a stranger asked for directions",
    "bandits robbed a cart",
    "I sold some bread",
    "it rained all morning",
    "the guard captain shouted at me",
)
GOALS = ("follow", "find", "meet", "deliver", "sell", "buy", "guard", "patrol", "rest")
GOAL_WEIGHTS = (4, 1, 1, 4, 1, 1, 1, 1, 1)
PLACES = ("gate", "bridge", "mill", "square", "wall")

SCENARIOS = (
    ("danger", 22),
    ("far", 6),
    ("injured", 8),
    ("wounded", 7),
    ("hungry", 12),
    ("tired", 7),
    ("goal", 13),
    ("loot", 5),
    ("calm", 20),
)


class _Names:
    """Unique entity names within one situation."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def person(self) -> str:
        pool = UNUSUAL_PEOPLE if self.rng.random() < 0.04 else PEOPLE
        return self._unique(lambda: self.rng.choice(pool))

    def thing(self, pool: tuple[str, ...]) -> str:
        def make() -> str:
            base = self.rng.choice(pool)
            if base in self.used or self.rng.random() < 0.2:
                return f"{self.rng.choice(ADJECTIVES)} {base}"
            return base

        return self._unique(make)

    def _unique(self, make: Callable[[], str]) -> str:
        for _ in range(50):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        name = f"{make()} {len(self.used)}"
        self.used.add(name)
        return name


def _stat(rng: random.Random, lo: int, hi: int) -> int:
    return rng.randint(lo, hi)


def _threat(rng: random.Random, names: _Names, near: bool) -> Perception:
    kind = rng.choice(("enemy", "monster", "animal", "animal"))
    pool = {"enemy": ENEMIES, "monster": MONSTERS, "animal": HOSTILE_ANIMALS}[kind]
    dist = rng.randint(1, NEAR) if near else rng.randint(NEAR + 1, 60)
    strength = None
    if rng.random() < 0.8:
        strength = rng.randint(60, 100) if kind == "monster" else rng.randint(10, 95)
    return Perception(
        name=names.thing(pool), kind=kind, distance=dist, hostile=True, strength=strength
    )


def _person(rng: random.Random, names: _Names, injured: bool = False) -> Perception:
    health = None
    if injured:
        health = rng.randint(3, INJURED)
    elif rng.random() < 0.3:
        health = rng.randint(INJURED + 1, 100)
    return Perception(
        name=names.person(), kind="person", distance=rng.randint(1, 40), health=health
    )


def _extra(rng: random.Random, names: _Names) -> Perception:
    kind = rng.choice(("person", "person", "animal", "food", "item", "shelter", "water"))
    if kind == "person":
        return _person(rng, names)
    pool = {
        "animal": TAME_ANIMALS,
        "food": FOOD_SEEN,
        "item": ITEMS_SEEN,
        "shelter": SHELTERS,
        "water": WATERS,
    }[kind]
    return Perception(name=names.thing(pool), kind=kind, distance=rng.randint(1, 50))


def _traits(rng: random.Random) -> list[str]:
    n = rng.choices((0, 1, 2, 3), weights=(2, 4, 4, 2))[0]
    picked: list[str] = []
    while len(picked) < n:
        t = rng.choice(DECISION_TRAITS) if rng.random() < 0.75 else rng.choice(FLAVOR_TRAITS)
        clash = {"brave": "cowardly", "cowardly": "brave"}.get(t)
        if t not in picked and clash not in picked:
            picked.append(t)
    return picked


def _inventory(rng: random.Random, want_food: bool | None) -> dict[str, int]:
    inv: dict[str, int] = {}
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
        pool = rng.choice((FOOD, OTHER_ITEMS, OTHER_ITEMS, MEDICINE, (POTION,), DRINKS))
        inv[rng.choice(pool)] = rng.randint(1, 5)
    if want_food is True:
        inv[rng.choice(FOOD)] = rng.randint(1, 3)
    elif want_food is False:
        inv = {k: n for k, n in inv.items() if k not in FOOD}
    return inv


def _goal(rng: random.Random, people: list[Perception], inv: dict[str, int]) -> str:
    kind = rng.choices(GOALS, weights=GOAL_WEIGHTS)[0]
    # Usually about someone in view, sometimes about someone absent.
    who = rng.choice(people).name if people and rng.random() < 0.75 else rng.choice(PEOPLE)
    if kind in ("follow", "find", "meet"):
        return f"{kind} {who}"
    if kind == "deliver":
        item = rng.choice(list(inv)) if inv and rng.random() < 0.8 else rng.choice(OTHER_ITEMS)
        return f"deliver {item} to {who}"
    if kind in ("sell", "buy"):
        return f"{kind} {rng.choice(OTHER_ITEMS + FOOD)}"
    if kind in ("guard", "patrol"):
        return f"{kind} the {rng.choice(PLACES)}"
    return "rest after work"


def _scenario_state(rng: random.Random, scenario: str, uid: int) -> NPCState:
    names = _Names(rng)
    role = rng.choice(ROLES)
    traits = _traits(rng)
    health = _stat(rng, LOW_HEALTH + 1, 100)
    hunger = _stat(rng, 0, HUNGRY - 1) if rng.random() < 0.85 else _stat(rng, 0, 100)
    energy = _stat(rng, TIRED + 1, 100) if rng.random() < 0.85 else _stat(rng, 0, 100)
    seen: list[Perception] = []
    want_food: bool | None = None
    if scenario == "danger":
        seen.append(_threat(rng, names, near=True))
        if rng.random() < 0.25:
            health = _stat(rng, 5, 45)
    elif scenario == "far":
        seen.append(_threat(rng, names, near=False))
    elif scenario == "injured":
        seen.append(_person(rng, names, injured=True))
        if rng.random() < 0.4:
            role = "healer"
        elif rng.random() < 0.5:
            traits = [rng.choice(("kind", "loyal")), *traits][:3]
    elif scenario == "wounded":
        health = _stat(rng, 3, LOW_HEALTH + 10)
        want_food = None
    elif scenario == "hungry":
        hunger = _stat(rng, HUNGRY - 10, 100)
        want_food = rng.random() < 0.4
        if rng.random() < 0.4:
            seen.append(_extra(rng, names))
    elif scenario == "tired":
        energy = _stat(rng, 0, LAZY_TIRED + 5)
    elif scenario == "loot":
        seen.append(
            Perception(name=names.thing(ITEMS_SEEN), kind="item", distance=rng.randint(1, 30))
        )
        if rng.random() < 0.5:
            traits = ["greedy", *traits][:3] if "greedy" not in traits else traits
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
        seen.append(_extra(rng, names))
    # Role-typical company: prey for hunters, people for thieves, merchants and bards.
    if role == "hunter" and rng.random() < 0.6:
        seen.append(
            Perception(name=names.thing(TAME_ANIMALS), kind="animal", distance=rng.randint(2, 45))
        )
    if role in ("thief", "merchant", "bard") and rng.random() < 0.5:
        seen.append(_person(rng, names))
    if scenario == "goal" and not any(p.kind == "person" for p in seen):
        seen.append(_person(rng, names))
    inv = _inventory(rng, want_food)
    if scenario == "wounded" and rng.random() < 0.5:
        inv[rng.choice((POTION, *MEDICINE))] = rng.randint(1, 3)
    people = [p for p in seen if p.kind == "person"]
    goal = None
    if scenario == "goal" or rng.random() < 0.15:
        goal = _goal(rng, people, inv)
    rng.shuffle(seen)
    gold_hi = {"merchant": 300, "child": 8, "thief": 40}.get(role, 120)
    return NPCState(
        id=f"npc-{uid}",
        name=names.person(),
        role=role,
        traits=traits,
        health=health,
        hunger=hunger,
        energy=energy,
        gold=rng.randint(0, gold_hi),
        inventory=inv,
        perception=seen,
        time_of_day=rng.choice(TIMES_WEIGHTED),
        location=rng.choice(LOCATIONS),
        goal=goal,
        memory=rng.sample(MEMORIES, rng.randint(0, 3)),
    )


def _actions(rng: random.Random, state: NPCState) -> list[str]:
    """A per-request verb subset that often lacks the preferred verb: a model that reasons
    toward an action must learn to check it against the offered list."""
    if rng.random() < 0.1:
        return list(VOCABULARY)
    _, preferred = teacher(state, list(VOCABULARY))
    verb = preferred.split(" ")[0]
    keep = [v for v in VOCABULARY if rng.random() < 0.55]
    if rng.random() < 0.6:
        keep.append(verb)
    elif verb in keep:
        keep.remove(verb)
    if not any(v in keep for v in ("wander", "wait")):
        keep.append(rng.choice(("wander", "wait")))
    return check_actions(keep)


def random_situation(rng: random.Random) -> tuple[NPCState, list[str]]:
    """A plausible NPC state and the canonical verbs the game allows it now."""
    scenario = rng.choices([s for s, _ in SCENARIOS], weights=[w for _, w in SCENARIOS])[0]
    state = _scenario_state(rng, scenario, rng.randrange(1_000_000))
    return state, _actions(rng, state)


def generate(rng: random.Random) -> Example:
    """One NPC decision example: prompt, teacher steps and answer, allowed options."""
    state, actions = random_situation(rng)
    steps, answer = teacher(state, actions)
    return Example(
        task="npc",
        prompt=npc_prompt(state, actions),
        steps=steps,
        answer=answer,
        options=tuple(answer_options(state, actions)),
    )


# ---------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class DecisionStats:
    verbs: Counter[str]  # decision verb -> count
    steps: Counter[int]  # number of STEP lines -> count
    lengths: list[int]  # prompt+trace characters, sorted

    def percentile(self, q: float) -> int:
        return self.lengths[round(q * (len(self.lengths) - 1))]


def decision_stats(n: int, seed: int = 0) -> DecisionStats:
    """Verb distribution, step counts and prompt+trace lengths over n generated examples."""
    from tqdm import tqdm

    rng = random.Random(seed)
    verbs: Counter[str] = Counter()
    steps: Counter[int] = Counter()
    lengths: list[int] = []
    for _ in tqdm(range(n), desc="npc examples", disable=n < 5000, leave=False):
        ex = generate(rng)
        verbs[ex.answer.split(" ")[0]] += 1
        steps[len(ex.steps)] += 1
        lengths.append(len(ex.text()))
    return DecisionStats(verbs, steps, sorted(lengths))


def main(argv: list[str] | None = None) -> int:
    """`python -m npc_brain.workshop.data.npc [N] [SEED]`: print the decision distribution."""
    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 10_000
    stats = decision_stats(n, int(args[1]) if len(args) > 1 else 0)
    for verb, count in stats.verbs.most_common():
        print(f"{verb:14s} {count:6d} {100 * count / n:5.1f}%")
    print(f"verbs used: {len(stats.verbs)} of {len(VOCABULARY)}")
    print(f"steps per example: {dict(sorted(stats.steps.items()))}")
    print(
        f"prompt+trace chars: median {stats.percentile(0.5)}, "
        f"p95 {stats.percentile(0.95)}, max {stats.lengths[-1]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
