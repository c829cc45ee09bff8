"""What an NPC may say: the teacher's wordings, and when a saying about its own stats,
others' health or the things it sees is true.

One table for the teacher (which writes these words into training data) and for the truth
rules (which hold served thoughts to them): "my health is 90, I am badly hurt" or "the scroll
looks tasty" can then neither be taught nor decoded. Thresholds are docs/teacher.md's.
"""

from __future__ import annotations

import re
from collections.abc import Callable

LOW_HEALTH = 30  # at or below: too weak to fight, badly hurt
HUNGRY = 70  # at or above: needs food
TIRED = 20  # energy at or below: exhausted
LAZY_TIRED = 40  # ...or this, for a lazy NPC (and any NPC may want a break)
INJURED = 40  # someone else at or below this health is hurt
NEAR = 15  # a hostile within this many meters is a danger
CLOSE = 5  # ...and this close, an ordinary NPC runs instead of hiding


def _low(v: int) -> bool:
    return v <= LOW_HEALTH


def _not_low(v: int) -> bool:
    return v > LOW_HEALTH


def _hungry(v: int) -> bool:
    return v >= HUNGRY


def _tired(v: int) -> bool:
    return v <= LAZY_TIRED


# Stat -> (what follows "my <stat> is N, ", the values it is true for).
STAT_SAYINGS: dict[str, tuple[tuple[str, Callable[[int], bool]], ...]] = {
    "health": (
        ("too weak to fight", _low),
        ("I am badly hurt", _low),
        ("it hurts so much", _low),
        ("I can fight", _not_low),
        ("I am ready", _not_low),
    ),
    "hunger": (
        ("I need food", _hungry),
        ("I am starving", _hungry),
        ("my stomach aches", _hungry),
    ),
    "energy": (
        ("I am exhausted", _tired),
        ("I can barely stand", _tired),
        ("time for a break", _tired),
    ),
}


def true_sayings(stat: str, value: int | None) -> tuple[str, ...]:
    """The sayings about `stat` that hold at `value` (none when the stat is unset)."""
    if value is None:
        return ()
    return tuple(text for text, holds in STAT_SAYINGS[stat] if holds(value))


def injured(health: int | None) -> bool:
    """Whether someone else with this health may be called hurt."""
    return health is not None and health <= INJURED


# What a thought may say of a thing it has just named, and the kinds it is true of.
KIND_SAYINGS: dict[str, tuple[str, ...]] = {
    "looks tasty": ("food",),
    "I could use a drink": ("water",),
    "good prey": ("animal",),
    "easy prey": ("animal",),
    "an easy victim": ("person",),
    "an easy mark": ("person",),
    "worth taking": ("item", "food"),
    "lies unattended": ("item", "food"),
}


def recall_sayings(cue: str) -> tuple[str, ...]:
    """The wordings that say the NPC recalls `cue` (npc_brain.npc.memory): true only when
    its memory holds it."""
    return tuple(THOUGHTS[f"recall_{cue}"].values())


def untrue_sayings(kinds: set[str]) -> tuple[str, ...]:
    """The kind sayings that fit none of `kinds` (the kinds a name goes by)."""
    return tuple(s for s, fits in KIND_SAYINGS.items() if not kinds & set(fits))


# fmt: off
# The teacher's thoughts (npc_brain.npc.teacher): key -> voice -> wording
# ("plain" when the voice has none). Every number follows the state's own words ("my health
# is 25", "4 m away"), every name is the state's, and "the" only ever precedes a perceived
# thing or a held item; their words are all a thought may use besides the state's. The
# sidecar's constraint relies on all of it.
THOUGHTS: dict[str, dict[str, str]] = {
    "threat_near": {
        "plain": "{threat} is only {threat_m} m away",
        "bold": "{threat} is {threat_m} m away and coming",
        "timid": "oh no, {threat} is only {threat_m} m away",
        "gruff": "{threat}, {threat_m} m away, of all things",
    },
    "threat_far": {
        "plain": "{threat} is out there, {threat_m} m away",
        "bold": "{threat} lurks {threat_m} m away",
        "timid": "I can see {threat} {threat_m} m away",
    },
    "weak": {"plain": "my health is {health}, too weak to fight"},
    "strong_enough": {
        "plain": "my health is {health}, I can fight",
        "bold": "my health is {health}, I am ready",
    },
    "cowardly": {"plain": "I am no fighter, I am scared"},
    "child": {"plain": "I am only a child", "timid": "I am just a child, I am scared"},
    "fighter": {
        "plain": "I am {a_role}, this is my job",
        "bold": "I am {a_role}, I do not back down",
        "gruff": "I am {a_role}, I will deal with it",
    },
    "brave": {"plain": "I am brave, I will face it", "bold": "I fear nothing"},
    "fierce": {"plain": "I am itching for a fight", "gruff": "it picked the wrong day"},
    "shout": {"plain": "this is trouble, I need help"},
    "stay_hidden": {"plain": "I had better not be seen"},
    "patch_up": {"plain": "I can still help before it gets here"},
    "alarm": {"plain": "the others must know about this"},
    "too_strong": {"plain": "it looks too strong for me alone"},
    "no_fighter": {
        "plain": "I am {a_role}, not a fighter",
        "timid": "I am {a_role}, I can't fight that",
    },
    "not_fighting": {"plain": "I am not a fighter"},
    "too_close": {"plain": "it is too close to hide", "timid": "too close, I have to run"},
    "time_to_hide": {"plain": "there is still time to get out of sight"},
    "hurt": {
        "plain": "my health is {health}, I am badly hurt",
        "timid": "my health is {health}, it hurts so much",
    },
    "recall_danger": {
        "plain": "it is not safe here any more",
        "timid": "I'm scared, it is not safe here",
        "bold": "no sense staying, it is not safe here",
        "gruff": "this place is done for",
    },
    "recall_retreat": {"plain": "we were told to fall back", "bold": "orders are to fall back"},
    "recall_storm": {"plain": "this weather is turning bad", "timid": "this weather scares me"},
    "need_cover": {"plain": "I need cover"},
    "recall_thirst": {"plain": "my throat is so dry"},
    "recall_noise": {
        "plain": "something is not right around here",
        "timid": "I heard something, what was that?",
        "bold": "something is going on, I'll see to it",
    },
    "recall_orders": {
        "plain": "I was told to get this done",
        "gruff": "orders are orders",
        "warm": "I promised to get this done",
    },
    "recall_curfew": {
        "plain": "I promised to be home in time",
        "timid": "I have to be home in time or I'm in trouble",
    },
    "have_potion": {"plain": "I have my {potion} with me"},
    "have_medicine": {"plain": "I have my {medicine} with me"},
    "need_rest": {"plain": "I need to recover"},
    "ally_hurt": {
        "plain": "{injured} is hurt, health {injured_health}",
        "warm": "{injured} is hurt, health {injured_health}, I must help",
    },
    "healer": {"plain": "I am {a_role}, I can help", "warm": "I am {a_role}, helping is what I do"},
    "kind": {"plain": "I cannot just walk past", "warm": "I cannot leave anyone like that"},
    "loyal": {"plain": "I won't leave anyone behind"},
    "someone_hurt": {"plain": "{injured} is hurt, health {injured_health}"},
    "get_help": {"plain": "someone has to help", "timid": "I don't know what to do"},
    "watchful": {"plain": "I should keep an eye on it", "bold": "I want a closer look"},
    "hungry": {
        "plain": "my hunger is {hunger}, I need food",
        "gruff": "my hunger is {hunger}, I am starving",
        "timid": "my hunger is {hunger}, my stomach aches",
    },
    "have_food": {"plain": "I have my {food_held} with me"},
    "food_there": {"plain": "{food_seen} is {food_seen_m} m away"},
    "prey_there": {"plain": "{prey} is {prey_m} m away, good prey"},
    "buy_food": {"plain": "I have {gold} gold to buy food from {person}"},
    "poor": {"plain": "with {gold} gold I cannot pay", "gruff": "{gold} gold, not enough to pay"},
    "beg": {"plain": "maybe {person} can spare something"},
    "take_it": {"plain": "nobody will notice", "gruff": "I will just take what I need"},
    "look_for_food": {"plain": "I should look for something to eat"},
    "tired": {
        "plain": "my energy is {energy}, I am exhausted",
        "timid": "my energy is {energy}, I can barely stand",
    },
    "lazy_tired": {"plain": "my energy is {energy}, time for a break"},
    "night": {"plain": "it is night"},
    "goal_person": {"plain": "{goal_person} is here, just who I came for"},
    "goal_give": {"plain": "I came to bring something to {goal_person}"},
    "goal_trade": {"plain": "I came here to trade"},
    "goal_fetch": {"plain": "{goal_item} is right there, just what I need"},
    "goal_thing": {"plain": "there is {goal_thing}, just what I was looking for"},
    "goal_hand": {"plain": "I have what {person} needs"},
    "goal_escape": {"plain": "{near_person} can get me out of here"},
    "watched": {
        "plain": "{near_person} is watching, better look busy",
        "gruff": "{near_person} is watching, back to work",
    },
    "dusk": {"plain": "it is getting dark", "timid": "it is getting dark, I want to go home"},
    "thirsty": {"plain": "{water_seen} is {water_seen_m} m away, I could use a drink"},
    "snack": {"plain": "{food_seen} is {food_seen_m} m away, looks tasty"},
    "visitor": {
        "plain": "{near_person} is right here",
        "warm": "{near_person} is right here, how nice",
        "gruff": "{near_person} is right here, what now",
    },
    "companion": {"plain": "{person} is here, I stay close"},
    "loyal_follow": {"plain": "{person} is here, I go where they go"},
    "prey_near": {"plain": "{prey} is {prey_m} m away, easy prey"},
    "victim": {"plain": "{person} is {person_m} m away, an easy victim"},
    "gather": {"plain": "{item_seen} is {item_seen_m} m away, worth taking"},
    "goal_watch": {"plain": "I have a post to keep"},
    "loot": {
        "plain": "{item_seen} is lying {item_seen_m} m away",
        "gruff": "{item_seen} lies unattended",
    },
    "thief": {"plain": "nobody is watching"},
    "night_watch": {"plain": "someone has to keep watch tonight"},
    "night_work": {"plain": "my work starts when it gets dark"},
    "mark": {"plain": "{person} looks like an easy mark"},
    "greedy_deal": {
        "plain": "{person} is {person_m} m away, there is money to be made",
        "gruff": "{person} is {person_m} m away, maybe I can get rich",
    },
    "shy": {
        "plain": "{person} is {person_m} m away, I would rather not be seen",
        "timid": "{person} is {person_m} m away, I don't want to be seen",
    },
    "at_home": {"plain": "I am home, time for bed"},
    "far_home": {"plain": "it is late, I should get indoors"},
    "curious": {
        "plain": "{curio} is {curio_m} m away, I wonder",
        "timid": "what is {curio} doing there?",
    },
    "friendly": {
        "plain": "{person} is here, a chat would be nice",
        "warm": "{person} is here, I should say hello",
    },
    "lazy": {"plain": "nothing is urgent, I can take it easy"},
    "duty_watch": {"plain": "I am {a_role}, I keep this place safe"},
    "duty_work": {
        "plain": "I am {a_role}, there is work to do",
        "gruff": "I am {a_role}, this work won't do itself",
        "warm": "I am {a_role}, I enjoy my work",
    },
    "duty_customer": {"plain": "{person} might want to buy something"},
    "duty_hunt": {"plain": "I am {a_role}, {prey} is fair game"},
    "duty_show": {"plain": "I am {a_role}, {person} could use some cheer"},
    "duty_play": {"plain": "it is a good time to play"},
    "quiet": {
        "plain": "all is quiet right now",
        "bold": "all quiet, nothing to worry about",
        "timid": "everything seems calm",
        "gruff": "nothing worth my time here",
        "warm": "what a calm moment",
    },
}
# fmt: on


def thought_words() -> frozenset[str]:
    """Every lowercase word of the wordings (a placeholder is the state's, not a word)."""
    text = " ".join(w for voices in THOUGHTS.values() for w in voices.values())
    # "are": a wording's "is" after a plural name (the teacher makes them agree).
    return frozenset(re.findall(r"[a-z']+", re.sub(r"\{\w+\}", " ", text))) | {"are"}
