"""Random NPC situations shaped like what designers send (../docs/teacher.md, "Situations").

Designers send short action lists of verbs that make sense in the scene (no always-present
fallback), sparse states (any field may be unset), any role, and names of every kind. The
generator follows those habits so the model learns to copy what it is given rather than
recall a pool: names of every kind come from npc_names.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

from npc_brain.npc.actions import CREATURES, VOCABULARY, answer_options
from npc_brain.npc.memory import CUES, RECENT, line_cues
from npc_brain.npc.roles import (
    DECISION_TRAITS,
    FOOD,
    HUNTING_CATEGORIES,
    MEDICINE,
    NIGHT_ROLES,
    PEOPLE,
    POTIONS,
    ROLE_CATEGORIES,
    VOICE_TRAITS,
)
from npc_brain.npc.sayings import HUNGRY, INJURED, LAZY_TIRED, LOW_HEALTH, TIRED
from npc_brain.npc.state import MAX_NAME, NPCState, Perception
from npc_brain.npc.teacher import (
    BUY_GOLD,
    CLOSE,
    ESCAPE_VERBS,
    NEAR,
    RULES,
    Facts,
)
from npc_brain.workshop.data.npc_names import (
    FIRST_NAMES,
    JOBS,
    LOOKS,
    ROLES,
    person_name,
    thing_name,
    word,
)

T = TypeVar("T")
HUNTERS = tuple(r for c in HUNTING_CATEGORIES for r in ROLE_CATEGORIES[c])
FLAVOR_TRAITS = tuple(
    sorted({t for ts in VOICE_TRAITS.values() for t in ts} - set(DECISION_TRAITS))
)
FLAVOR_TRAITS += ("old", "quiet", "clever", "pious", "superstitious", "stubborn", "young")
ENEMIES = ("bandit", "raider", "goblin", "orc", "cultist", "brigand", "pirate", "assassin",
           "highwayman", "deserter", "mercenary", "drunk", "smuggler", "thug")  # fmt: skip
MONSTERS = ("troll", "ogre", "skeleton", "giant spider", "ghoul", "wyvern", "dragon", "zombie",
            "wraith", "slime", "golem", "harpy", "basilisk", "imp", "ghost")  # fmt: skip
WILD_ANIMALS = ("wolf", "bear", "boar", "snake", "wild dog", "lion", "crocodile", "shark",
                "hornets", "rat swarm", "panther")  # fmt: skip
TAME_ANIMALS = ("deer", "rabbit", "fox", "dog", "cat", "chicken", "cow", "horse", "goat",
                "sheep", "pig", "duck", "mule", "pheasant", "hare")  # fmt: skip
FOOD_SEEN = ("apple", "berries", "mushrooms", "fish", "bread", "pie", "apple tree", "cheese",
             "bread basket", "stew pot", "pear", "sausages", "meat pie")  # fmt: skip
ITEMS = ("sword", "purse", "axe", "lantern", "necklace", "gem", "shield", "ring", "chest",
         "letter", "key", "map", "crate", "barrel", "scroll", "bow", "coin pouch",
         "amulet")  # fmt: skip
OTHER_HELD = ("rope", "knife", "cloth", "letter", "coin", "torch", "map", "key", "flute",
              "hammer", "fishing rod", "candle", "book", "pipe", "dagger", "arrows")  # fmt: skip
SHELTERS = ("barn", "cave", "hut", "tower", "shed", "chapel", "inn", "ruins", "tent")
WATERS = ("well", "stream", "river", "pond", "fountain", "lake", "spring")
LOCATIONS = ("home", "market", "gate", "farm", "forest", "tavern", "square", "road", "field",
             "mill", "bridge", "camp", "temple", "forge", "my home", "dock", "harbor",
             "dungeon", "castle", "library", "mine", "swamp", "chapel", "cellar")  # fmt: skip
GOAL_VERBS = ("follow", "find", "meet", "visit", "deliver", "bring", "give", "give", "take",
              "sell", "buy", "guard", "patrol", "protect", "see", "escape", "leave")  # fmt: skip
# Real-word roles the role table does not know (their words are not in it either): the
# teacher's commoner policy applies, as it does to invented ones.
OTHER_ROLES = ("assassin", "camp leader", "mimic", "enchanted broom", "cartographer",
               "astronomer", "navigator", "tax collector", "town crier", "executioner",
               "herald", "diplomat", "spy", "warden", "jailer", "clockmaker", "glassblower",
               "inventor", "engineer", "pilot", "mechanic", "robot", "android", "scientist",
               "detective", "reporter", "teacher", "student", "nanny", "butler", "ghost",
               "statue", "scarecrow", "hermit", "pilgrim", "refugee", "castaway", "explorer",
               "archaeologist", "gambler", "cook's helper",
               "slime", "sphinx", "dwarf", "elf", "gnome", "fairy", "spirit")  # fmt: skip
# Words around a known role that leave its category alone ("old fisherman", "goblin chief").
ROLE_PREFIXES = ("old", "young", "head", "royal", "village", "town", "wandering", "retired",
                 "veteran", "court", "temple", "castle", "ship", "army")  # fmt: skip
ROLE_SUFFIXES = ("chief", "leader", "captain", "elder")
FOOD_PARTS = ("rind", "bush", "basket", "slice", "crumbs", "scraps", "jar", "heap", "pile",
              "tray", "crate", "sack", "core", "crust", "patch", "bowl")  # fmt: skip
ITEM_PARTS = ("case", "box", "pile", "bundle", "shard", "fragment", "pouch", "stash", "set",
              "chest", "rack")  # fmt: skip
CREATURE_PARTS = ("pack", "swarm", "brute", "scout", "leader", "pup", "cub", "mother",
                  "matriarch", "whelp", "spawn", "hatchling")  # fmt: skip
GROUP_PARTS = ("rider", "archer", "captain", "mage", "shaman", "scout", "leader", "brute", "pup")
# Memory lines as games log them, per cue and neutral (memory_lines.json): each cue's lines
# are those the cue table reads as that cue; neutral ones hold no cue.
_LINES = json.loads((Path(__file__).parent / "memory_lines.json").read_text(encoding="utf-8"))
CUE_LINES = {cue: tuple(x for x in _LINES[cue] if cue in line_cues(x)) for cue in CUES}
IDLE_LINES = tuple(x for x in _LINES["neutral"] if not line_cues(x))
MEMORY = 0.25  # share of states with a memory of everyday things
STRAY_CUE = 0.06  # ...and of states whose memory holds a cue, whatever the scene
KIN = 0.15  # share of scenes with two of one group ("bandit", "bandit 2")
OWNED = 0.08  # share of things named by their owner ("farmer's cart", "Anna's basket")
FREE_GOALS = ("get the medicine to the chapel", "earn enough for a new roof", "stay out of trouble",
              "finish the harvest", "win the fair", "learn the old songs", "keep the lamp lit",
              "find a cure", "pay off my debt", "reach the capital")  # fmt: skip


class _Scene:
    """The things one situation holds, with unique names."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: list[Perception] = []
        self.used: set[str] = set()

    def add(self, kind: str, name: str, dist: int, **extra: object) -> Perception:
        while name in self.used or len(name) > MAX_NAME:
            numbered = f"{name} {self.rng.randint(2, 9)}"
            fits = self.rng.random() < 0.5 and len(numbered) <= MAX_NAME
            name = numbered if fits else word(self.rng)
        self.used.add(name)
        p = Perception(name=name, kind=kind, distance=dist, **extra)
        self.seen.append(p)
        return p

    def threat(self, near: bool) -> Perception:
        rng = self.rng
        kind = rng.choice(("enemy", "monster", "animal", "animal", "person"))
        pool = {"enemy": ENEMIES, "monster": MONSTERS, "animal": WILD_ANIMALS, "person": ()}[kind]
        name = person_name(rng) if kind == "person" else thing_name(rng, pool, CREATURE_PARTS)
        dist = rng.randint(1, NEAR) if near else rng.randint(NEAR + 1, 80)
        if near and rng.random() < 0.3:
            dist = rng.randint(1, CLOSE)
        strength = None
        if rng.random() < 0.6:
            strength = _num(rng, 55, 100) if kind == "monster" else _num(rng, 10, 95)
        health = _num(rng, 20, 100) if rng.random() < 0.15 else None
        return self.add(kind, name, dist, hostile=True, strength=strength, health=health)

    def person(self, injured: bool = False) -> Perception:
        health = _health(self.rng, injured)
        return self.add("person", person_name(self.rng), self.rng.randint(1, 40), health=health)

    def animal(self, injured: bool = False) -> Perception:
        health = _health(self.rng, injured)
        name = thing_name(self.rng, TAME_ANIMALS, CREATURE_PARTS)
        return self.add("animal", name, self.rng.randint(1, 45), health=health)

    def extra(self) -> Perception:
        rng = self.rng
        kind = rng.choice(("person", "person", "animal", "food", "item", "shelter", "water"))
        if kind == "person":
            return self.person()
        if kind == "animal":
            return self.animal()
        pool = {"food": FOOD_SEEN, "item": ITEMS, "shelter": SHELTERS, "water": WATERS}[kind]
        parts = {"food": FOOD_PARTS, "item": ITEM_PARTS}.get(kind, ())
        name = thing_name(rng, pool, parts)
        if rng.random() < OWNED:  # the name says a person, the kind says a thing
            owner = rng.choice(PEOPLE) if rng.random() < 0.6 else rng.choice(FIRST_NAMES)
            name = f"{owner}'s {rng.choice(pool)}"
        return self.add(kind, name, rng.randint(1, 50))

    def kin(self, p: Perception) -> Perception:
        """Another of `p`'s group, named as games name spawned copies ("bandit 2",
        "Goblin3", "bandit rider", "old wolf") at another distance: each number must stay
        with its own name."""
        rng = self.rng
        r = rng.random()
        if r < 0.45 or len(p.name) > MAX_NAME - 12:  # a long name is only numbered
            name = f"{p.name} {rng.randint(2, 6)}"
        elif r < 0.6 and " " not in p.name:
            name = f"{p.name}{rng.randint(2, 6)}"
        elif r < 0.8 and p.kind != "person":
            name = f"{p.name} {rng.choice(GROUP_PARTS)}"
        else:
            name = f"{rng.choice(LOOKS)} {p.name}"
        dist = max(1, round(p.distance) + rng.choice((-1, 1)) * rng.randint(1, 15))
        strength = _num(rng, 10, 95) if p.strength is not None else None
        health = _num(rng, 20, 100) if p.health is not None else None
        return self.add(p.kind, name, dist, hostile=p.hostile, strength=strength, health=health)


def _health(rng: random.Random, injured: bool) -> int | None:
    if injured:
        return _num(rng, 3, INJURED)
    return _num(rng, INJURED + 1, 100) if rng.random() < 0.2 else None


def _num(rng: random.Random, lo: int, hi: int) -> int:
    """A stat as designers write it: mostly round (tens, fives), often the top of its range
    ("health 100"), sometimes any number."""
    r = rng.random()
    if r < 0.2 and hi == 100:
        return 100
    step = 10 if r < 0.6 else 5 if r < 0.75 else 1
    values = range(-(-lo // step) * step, hi + 1, step)
    return rng.choice(values) if values else rng.randint(lo, hi)


def _gold(rng: random.Random) -> int:
    """Coins from a beggar's few to a rich merchant's thousands."""
    hi = rng.choice((20, 200, 200, 2000))
    return _num(rng, 0, hi) if hi < 2000 else rng.choice(range(200, 2001, 50))


def _maybe(rng: random.Random, p: float, value: T) -> T | None:
    """`value` with probability p, else unset (designers leave most fields out)."""
    return value if rng.random() < p else None


def _role(rng: random.Random) -> str | None:
    r = rng.random()
    if r < 0.12:
        return None
    if r < 0.22:
        return (
            word(rng)
            if rng.random() < 0.5
            else f"{word(rng)} {rng.choice(('keeper', 'maker', 'master', 'hand'))}"
        )
    if r < 0.28:
        return rng.choice(OTHER_ROLES)
    if r < 0.36:
        return rng.choice(JOBS)
    role = rng.choice(ROLES)
    r = rng.random()  # "old fisherman", "goblin chief": the role's word decides its category
    shaped = role
    if r < 0.12:
        shaped = f"{rng.choice(ROLE_PREFIXES)} {role}"
    elif r < 0.18:
        shaped = f"{role} {rng.choice(ROLE_SUFFIXES)}"
    return shaped if len(shaped) <= 24 else role


def _traits(rng: random.Random) -> list[str]:
    n = rng.choices((0, 1, 2, 3), weights=(4, 4, 3, 1))[0]
    picked: list[str] = []
    while len(picked) < n:
        t = rng.choice(DECISION_TRAITS) if rng.random() < 0.65 else rng.choice(FLAVOR_TRAITS)
        clash = {"brave": "cowardly", "cowardly": "brave"}.get(t)
        if t not in picked and clash not in picked:
            picked.append(t)
    return picked


def _inventory(rng: random.Random, scenario: str) -> dict[str, int]:
    inv: dict[str, int] = {}
    if rng.random() < 0.3 or scenario in ("hungry", "wounded"):
        for _ in range(rng.choice((1, 1, 2, 3))):
            pool = rng.choice((FOOD, FOOD, OTHER_HELD, OTHER_HELD, MEDICINE, POTIONS))
            inv[rng.choice(pool)] = rng.randint(1, 5)
    if scenario == "hungry" and rng.random() < 0.5:
        inv = {k: n for k, n in inv.items() if k not in FOOD}
    return inv


def _goal(rng: random.Random, scene: _Scene) -> str:
    people = [p.name for p in scene.seen if p.kind == "person" and not p.hostile]
    things = [p for p in scene.seen if p.kind not in ("person", "enemy") and not p.hostile]
    verb = rng.choice(GOAL_VERBS)
    who = rng.choice(people) if people and rng.random() < 0.7 else person_name(rng)
    if rng.random() < 0.25:
        return rng.choice(FREE_GOALS)
    if things and rng.random() < 0.35:  # a goal about something in sight
        return _goal_thing(rng, rng.choice(things), who)
    if verb in ("deliver", "bring", "take"):
        to = who if rng.random() < 0.8 else f"the {rng.choice(LOCATIONS[1:])}"
        return f"{verb} the {rng.choice(OTHER_HELD)} to {to}"
    if verb == "give":
        return f"give {who} {rng.choice(('the', 'her', 'his', 'their'))} {rng.choice(OTHER_HELD)}"
    if verb in ("sell", "buy"):
        return f"{verb} {rng.choice(OTHER_HELD + FOOD)}"
    if verb in ("guard", "patrol", "protect"):
        return f"{verb} the {rng.choice(LOCATIONS[1:])}"
    if verb in ESCAPE_VERBS:
        return f"{verb} the {rng.choice(LOCATIONS[1:])}"
    return f"{verb} {who}"


def _goal_thing(rng: random.Random, thing: Perception, who: str) -> str:
    """ "fetch the lance", "bring Sir Aldous his lance", "find my lost goat Pepper"."""
    name = thing.name
    if thing.kind in ("item", "food"):
        return rng.choice((f"fetch the {name}", f"find the {name}", f"get the {name}",
                           f"bring {who} {rng.choice(('his', 'her', 'the'))} {name}"))  # fmt: skip
    return rng.choice((f"find {name}", f"find my lost {name}", f"look for {name}",
                       f"check on {name}", f"go to {name}"))  # fmt: skip


@dataclass
class _Draft:
    """A situation's fields while a scenario shapes them."""

    role: str | None
    traits: list[str]
    health: int | None = None
    hunger: int | None = None
    energy: int | None = None
    gold: int | None = None
    time_of_day: str | None = None
    goal: str | None = None
    memory: list[str] = field(default_factory=list)


def _with_trait(traits: list[str], trait: str) -> list[str]:
    """`traits` with `trait` first, at most three (unchanged when it is there already)."""
    return traits if trait in traits else [trait, *traits][:3]


def _danger(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    scene.threat(near=True)
    if rng.random() < 0.2:
        d.health = _num(rng, 3, 45)


def _ally_in_danger(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    """A hurt friend with a threat closing in: a healer patches them up first."""
    scene.threat(near=True)
    scene.person(injured=True) if rng.random() < 0.8 else scene.animal(injured=True)
    if rng.random() < 0.6:
        d.role = rng.choice(ROLE_CATEGORIES["healer"])
    elif rng.random() < 0.5:
        d.traits = ["kind", *d.traits][:3]


def _injured(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    scene.person(injured=True) if rng.random() < 0.75 else scene.animal(injured=True)
    if rng.random() < 0.4:
        d.role = rng.choice(("healer", "priest", "herbalist", "doctor", "nun", "druid"))
    elif rng.random() < 0.5:
        d.traits = [rng.choice(("kind", "loyal")), *d.traits][:3]


def _hungry(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    d.hunger = _num(rng, HUNGRY - 10, 100)
    if rng.random() < 0.5:
        d.gold = _num(rng, 0, 40)


def _food(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    scene.add("food", thing_name(rng, FOOD_SEEN, FOOD_PARTS), rng.randint(1, 30))
    d.hunger = _num(rng, HUNGRY, 100) if rng.random() < 0.6 else d.hunger


def _prey(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    scene.animal()
    d.role = rng.choice(HUNTERS) if rng.random() < 0.6 else d.role
    d.hunger = _num(rng, HUNGRY, 100) if rng.random() < 0.4 else d.hunger


def _mark(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    scene.person()
    if rng.random() < 0.6:
        d.role = rng.choice(ROLE_CATEGORIES["thief"])
    else:
        d.traits = _with_trait(d.traits, "greedy")
    d.gold = _num(rng, 0, BUY_GOLD - 1) if rng.random() < 0.3 else d.gold


def _loot(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    scene.add("item", thing_name(rng, ITEMS, ITEM_PARTS), rng.randint(1, 30))
    if rng.random() < 0.5:
        d.traits = _with_trait(d.traits, "greedy")


def _night_work(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    """A lamplighter at dusk, a bard at night: their work starts when others go home."""
    d.role = rng.choice(NIGHT_ROLES)
    d.time_of_day = rng.choice(("dusk", "dusk", "night"))


def _graze(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    """A grazing beast keeps eating while a threat is still far off."""
    d.role = rng.choice(ROLE_CATEGORIES["beast"])
    scene.add("food", thing_name(rng, FOOD_SEEN, FOOD_PARTS), rng.randint(1, 20))
    scene.threat(near=False)


def _watched(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    """A lazy worker with someone right beside them."""
    d.role = rng.choice(ROLE_CATEGORIES["worker"]) if rng.random() < 0.7 else _role(rng)
    d.traits = _with_trait(d.traits, "lazy")
    scene.add("person", person_name(rng), rng.randint(1, CLOSE))


def _escape(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    """A prisoner or a lost traveller, and someone who can lead them out."""
    d.goal = f"{rng.choice(ESCAPE_VERBS)} the {rng.choice(LOCATIONS[1:])}"
    if rng.random() < 0.7:
        scene.add("person", person_name(rng), rng.randint(1, CLOSE))
    if rng.random() < 0.4:
        scene.threat(near=False)


def _set(key: str, lo: int, hi: int) -> Callable[[random.Random, _Scene, _Draft], None]:
    """A scenario that only draws one stat from a range ("tired": low energy)."""

    def shape(rng: random.Random, scene: _Scene, d: _Draft) -> None:
        setattr(d, key, _num(rng, lo, hi))

    return shape


def _far(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    scene.threat(near=False)


def _water(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    scene.add("water", thing_name(rng, WATERS), rng.randint(1, 40))


def _recall(rng: random.Random, d: _Draft, cue: str) -> None:
    """Log a line of `cue` among the newest RECENT lines of the memory."""
    line = rng.choice(CUE_LINES[cue])
    d.memory.insert(len(d.memory) - rng.randint(0, min(RECENT - 1, len(d.memory))), line)


def _recalled(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    """Something the game logged that calls for action: a fire, a storm, an order, a
    noise, a promise to be home, days without water; and what the scene needs for it."""
    cue = rng.choice(tuple(CUES))
    _recall(rng, d, cue)
    if cue == "retreat" and rng.random() < 0.5:
        d.role = rng.choice(ROLE_CATEGORIES["fighter"])
    elif cue == "storm" and rng.random() < 0.4:
        scene.add("shelter", thing_name(rng, SHELTERS), rng.randint(1, 40))
    elif cue == "thirst" and rng.random() < 0.8:
        _water(rng, scene, d)
    elif cue == "noise":
        if rng.random() < 0.8:
            kind = rng.choice(("shelter", "shelter", "item", "animal"))
            pool = {"shelter": SHELTERS, "item": ITEMS, "animal": TAME_ANIMALS}[kind]
            scene.add(kind, thing_name(rng, pool), rng.randint(1, 40))
        d.time_of_day = "night" if rng.random() < 0.4 else d.time_of_day
    elif cue == "orders" and rng.random() < 0.6:
        d.role = rng.choice(ROLE_CATEGORIES["worker"])
        d.traits = _with_trait(d.traits, "lazy") if rng.random() < 0.3 else d.traits
    elif cue == "curfew" and rng.random() < 0.4:
        d.role = rng.choice(ROLE_CATEGORIES["child"])


def _nothing(rng: random.Random, scene: _Scene, d: _Draft) -> None:
    return None


# Scenario -> (weight, how it shapes the situation). "food", "prey", "mark" and "water" put
# the thing a rule needs in sight (food for the hungry, a deer for the hunter, a traveller
# for the thief), which random extras seldom do; the small ones exercise rare teacher rows.
SCENARIOS: dict[str, tuple[int, Callable[[random.Random, _Scene, _Draft], None]]] = {
    "danger": (21, _danger),
    "far": (5, _far),
    "ally_danger": (3, _ally_in_danger),
    "injured": (8, _injured),
    "wounded": (7, _set("health", 3, LOW_HEALTH + 10)),
    "hungry": (9, _hungry),
    "food": (5, _food),
    "prey": (5, _prey),
    "mark": (4, _mark),
    "water": (2, _water),
    "tired": (7, _set("energy", 0, LAZY_TIRED + 5)),
    "goal": (10, _nothing),
    "escape": (2, _escape),
    "loot": (5, _loot),
    "night_work": (3, _night_work),
    "graze": (2, _graze),
    "watched": (3, _watched),
    "recalled": (10, _recalled),
    "calm": (18, _nothing),
}  # fmt: skip


def _draft(rng: random.Random) -> _Draft:
    d = _Draft(role=_role(rng), traits=_traits(rng))
    if rng.random() > 0.33:  # a third of designers set no stats at all
        d.health = _maybe(rng, 0.7, _num(rng, LOW_HEALTH + 1, 100))
        d.hunger = _maybe(rng, 0.6, _num(rng, 0, HUNGRY - 1))
        d.energy = _maybe(rng, 0.6, _num(rng, TIRED + 1, 100))
        d.gold = _maybe(rng, 0.4, _gold(rng))
    d.time_of_day = _maybe(rng, 0.6, rng.choice(("dawn", "day", "day", "dusk", "night", "night")))
    if rng.random() < MEMORY:
        d.memory = rng.sample(IDLE_LINES, rng.choice((1, 1, 2, 3, 5)))
    return d


def _state(rng: random.Random, scenario: str) -> NPCState:
    scene, d = _Scene(rng), _draft(rng)
    SCENARIOS[scenario][1](rng, scene, d)
    if rng.random() < STRAY_CUE:
        _recall(rng, d, rng.choice(tuple(CUES)))
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        scene.extra()
    creatures = [p for p in scene.seen if p.kind in CREATURES]
    if creatures and rng.random() < KIN:
        scene.kin(rng.choice(creatures))
    if scenario == "goal" and not any(p.kind == "person" for p in scene.seen):
        scene.person()
    if scenario == "goal" and rng.random() < 0.35:
        scene.extra()
    inventory = _inventory(rng, scenario)
    if d.goal is None and (scenario == "goal" or rng.random() < 0.1):
        d.goal = _goal(rng, scene)
    held = [w for w in OTHER_HELD if f" {w} " in f" {d.goal} "]
    if held and rng.random() < 0.6:  # the thing to hand over, in the bag
        inventory[held[0]] = rng.randint(1, 3)
    rng.shuffle(scene.seen)
    return NPCState(
        id=f"npc-{rng.randrange(1_000_000)}",
        name=person_name(rng),
        inventory=inventory,
        perception=scene.seen,
        location=_maybe(rng, 0.4, rng.choice(LOCATIONS)) or "",
        **asdict(d),
    )


def _relevant(state: NPCState) -> list[str]:
    """Verbs a designer would think of for this scene: every move of every row that applies."""
    facts = Facts(state)
    verbs: list[str] = []
    for rule in RULES:
        if all(facts.has(f) for f in rule.when):
            verbs += [m.partition(":")[0] for m in rule.moves]
    return list(dict.fromkeys(verbs))


ACTION_COUNTS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 14)
ACTION_WEIGHTS = (3, 10, 20, 20, 15, 11, 7, 5, 5, 4)
UNUSABLE = 0.1  # share of lists with a verb that has nothing to act on


# The state with one kind of fact taken away: what the NPC would do without it.
WITHOUT = (
    {"inventory": {}},
    {"perception": []},
    {"traits": []},
    {"goal": None},
    {"role": None},
    {"health": None, "hunger": None, "energy": None},
    {"time_of_day": None},
    {"memory": []},
)


def _what_else(rng: random.Random, state: NPCState) -> list[str]:
    """The verbs the NPC would pick were one of its facts missing (no food held, nobody in
    sight, no greedy streak...). Offered beside the right one, they make the model read the
    fact that decides ("hungry, has bread, can eat, wander": eat, not wander)."""
    out = []
    for change in rng.sample(WITHOUT, 3):
        other = _relevant(state.model_copy(update=change))
        if other:
            out.append(other[0])
    return list(dict.fromkeys(out))


def _actions(rng: random.Random, state: NPCState) -> list[str]:
    """A designer's short list: mostly verbs that fit the scene, often without the teacher's
    first choice (so the model learns to pick among what is offered), often with what the NPC
    would do were one fact different, rarely the whole menu."""
    possible = [v for v in VOCABULARY if answer_options(state, [v])]
    relevant = [v for v in _relevant(state) if v in possible]
    n = min(rng.choices(ACTION_COUNTS, ACTION_WEIGHTS)[0], len(possible))
    keep: list[str] = []
    if relevant and rng.random() < 0.7:
        keep.append(relevant[0])
    if rng.random() < 0.5:
        keep += [v for v in _what_else(rng, state) if v in possible and v not in keep][
            : max(1, n - len(keep))
        ]
    pool = [v for v in relevant if v not in keep]
    rng.shuffle(pool)
    keep += pool[: rng.randint(0, max(0, n - len(keep)))]
    rest = [v for v in possible if v not in keep]
    rng.shuffle(rest)
    keep += rest[: max(0, n - len(keep))]
    if rng.random() < UNUSABLE:  # "attack" with nobody to attack: the model must pass it by
        keep += rng.sample([v for v in VOCABULARY if v not in possible] or [keep[0]], 1)
    return [v for v in VOCABULARY if v in keep]


def random_situation(rng: random.Random) -> tuple[NPCState, list[str]]:
    """A designer-like NPC state and the canonical verbs the game allows it now."""
    scenario = rng.choices(list(SCENARIOS), weights=[w for w, _ in SCENARIOS.values()])[0]
    state = _state(rng, scenario)
    return state, _actions(rng, state)
