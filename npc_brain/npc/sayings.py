"""What an NPC may say about its own stats, others' health and the things it sees, and when
it is true.

One table for the teacher (which writes these words into training data) and for the truth
rules (which hold served thoughts to them): "my health is 90, I am badly hurt" or "the scroll
looks tasty" can then neither be taught nor decoded. Thresholds are docs/teacher.md's.
"""

from __future__ import annotations

from collections.abc import Callable

LOW_HEALTH = 30  # at or below: too weak to fight, badly hurt
HUNGRY = 70  # at or above: needs food
TIRED = 20  # energy at or below: exhausted
LAZY_TIRED = 40  # ...or this, for a lazy NPC (and any NPC may want a break)
INJURED = 40  # someone else at or below this health is hurt


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


def untrue_sayings(kinds: set[str]) -> tuple[str, ...]:
    """The kind sayings that fit none of `kinds` (the kinds a name goes by)."""
    return tuple(s for s, fits in KIND_SAYINGS.items() if not kinds & set(fits))
