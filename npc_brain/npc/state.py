"""`NPCState` and `Perception`: one NPC's situation as the game sends it.

The sidecar validates every `decide` request against these models, so the limits here are
the contract: oversize or malformed states are rejected with a clear pydantic error instead
of producing a prompt longer than the model's context. Unknown fields are ignored so games
can send richer state than the brain uses.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

# Perceived entity kinds the teacher and prompt understand.
KINDS: tuple[str, ...] = (
    "enemy",
    "monster",
    "animal",
    "person",
    "food",
    "water",
    "item",
    "shelter",
)
# Kinds whose `hostile` defaults to true when the game leaves it unset ("monster" does not:
# a boss's own minions are monsters too).
HOSTILE_KINDS = ("enemy",)
TIMES: tuple[str, ...] = ("dawn", "day", "dusk", "night")

MAX_NAME = 40
MAX_TRAITS = 8
MAX_INVENTORY = 32
MAX_PERCEPTION = 32
MAX_MEMORY = 16
MAX_MEMORY_ITEM = 120
MAX_GOAL = 80
MAX_LOCATION = 40
# How much of the state the prompt shows (the model's context is small); the teacher and
# the answer options use exactly this view.
SHOWN_ENTITIES = 6
SHOWN_ITEMS = 6
SHOWN_TRAITS = 4

# Names end up inside the INST prompt and the ANS answer: tag brackets or line breaks in
# them would let a game's data forge trace structure.
_FORBIDDEN = re.compile(r"[<>\x00-\x1f\x7f]")
_TIME_WORDS = {
    "dawn": "dawn",
    "sunrise": "dawn",
    "day": "day",
    "morning": "day",
    "noon": "day",
    "midday": "day",
    "afternoon": "day",
    "dusk": "dusk",
    "evening": "dusk",
    "sunset": "dusk",
    "night": "night",
    "midnight": "night",
}


def _clean_text(value: Any, what: str) -> Any:
    """Collapse whitespace and reject characters that would break the trace format."""
    if not isinstance(value, str):
        return value
    if _FORBIDDEN.search(value):
        raise ValueError(f"{what} must not contain '<', '>' or control characters")
    return " ".join(value.split())


def hour_to_time(hour: float) -> str:
    """Map an hour of the day (0-24) to one of TIMES."""
    if not 0 <= hour <= 24:
        raise ValueError(f"hour must be between 0 and 24, got {hour}")
    h = int(hour) % 24
    if 5 <= h < 7:
        return "dawn"
    if 7 <= h < 18:
        return "day"
    if 18 <= h < 20:
        return "dusk"
    return "night"


def _bounded(value: Any, limit: int, what: str) -> Any:
    # Checked before cleaning so an oversize list costs nothing to reject.
    if isinstance(value, (list, dict)) and len(value) > limit:
        raise ValueError(f"at most {limit} {what}, got {len(value)}")
    return value


def _to_int(value: Any) -> Any:
    # Games often keep stats as floats; the prompt shows whole numbers.
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return round(value)
    return value


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
Stat = Annotated[int, Field(ge=0, le=100)]


class Perception(BaseModel):
    """Something the NPC currently perceives. `distance` is in meters."""

    model_config = ConfigDict(extra="ignore")

    name: Name
    kind: str
    distance: float = Field(ge=0, le=100_000)
    # Unset: an enemy is hostile (HOSTILE_KINDS). Validated after `kind`, so it reads the
    # kind already normalised.
    hostile: bool = Field(default=None, validate_default=True)
    health: Stat | None = None
    strength: Stat | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> Any:
        return _clean_text(v, "perception name")

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.strip().lower()
            if v not in KINDS:
                raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {v!r}")
        return v

    @field_validator("hostile", mode="before")
    @classmethod
    def _hostile(cls, v: Any, info: ValidationInfo) -> Any:
        """A designer who writes kind "enemy" and says no more means a foe."""
        return info.data.get("kind") in HOSTILE_KINDS if v is None else v

    @field_validator("health", "strength", mode="before")
    @classmethod
    def _stat(cls, v: Any) -> Any:
        return _to_int(v)

    @property
    def meters(self) -> int:
        """Distance as the prompt shows it (whole meters)."""
        return round(self.distance)


class NPCState(BaseModel):
    """One NPC's state: identity, needs (0-100), possessions, perception and context.

    Only `id` and `name` are required; every other field may be left out and is then unknown.
    The model never reads `name` or `id`; of `memory` it sees only the cues its newest lines
    hold (npc_brain.npc.memory, docs/protocol.md).
    """

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Name
    role: Annotated[str, Field(min_length=1, max_length=24)] | None = None
    traits: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=24)]], Field(max_length=MAX_TRAITS)
    ] = []
    # Unset (None) means the game did not say: the prompt leaves it out, nothing assumes it.
    health: Stat | None = None
    hunger: Stat | None = None
    energy: Stat | None = None
    gold: Annotated[int, Field(ge=0, le=1_000_000_000)] | None = None
    inventory: Annotated[
        dict[Name, Annotated[int, Field(ge=0, le=1_000_000)]], Field(max_length=MAX_INVENTORY)
    ] = {}
    perception: Annotated[list[Perception], Field(max_length=MAX_PERCEPTION)] = []
    time_of_day: str | None = None
    location: Annotated[str, Field(max_length=MAX_LOCATION)] = ""
    goal: Annotated[str, Field(max_length=MAX_GOAL)] | None = None
    memory: Annotated[
        list[Annotated[str, Field(max_length=MAX_MEMORY_ITEM)]], Field(max_length=MAX_MEMORY)
    ] = []

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> Any:
        # Game engines often use integer ids.
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        return v

    @field_validator("name", "location", "goal", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return _clean_text(v, "text fields")

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, v: Any) -> Any:
        v = _clean_text(v, "role")
        return v.lower() if isinstance(v, str) else v

    @field_validator("traits", mode="before")
    @classmethod
    def _traits(cls, v: Any) -> Any:
        if not isinstance(_bounded(v, MAX_TRAITS, "traits"), list):
            return v
        out: list[Any] = []
        for t in v:
            t = _clean_text(t, "traits")
            t = t.lower() if isinstance(t, str) else t
            if t not in out:
                out.append(t)
        return out

    @field_validator("inventory", mode="before")
    @classmethod
    def _inventory(cls, v: Any) -> Any:
        if not isinstance(_bounded(v, MAX_INVENTORY, "inventory items"), dict):
            return v
        return {_clean_text(k, "inventory item names"): _to_int(n) for k, n in v.items()}

    @field_validator("memory", mode="before")
    @classmethod
    def _memory(cls, v: Any) -> Any:
        if not isinstance(_bounded(v, MAX_MEMORY, "memory entries"), list):
            return v
        return [_clean_text(m, "memory entries") for m in v]

    @field_validator("perception", mode="before")
    @classmethod
    def _perception(cls, v: Any) -> Any:
        return _bounded(v, MAX_PERCEPTION, "perceived entities")

    @field_validator("health", "hunger", "energy", "gold", mode="before")
    @classmethod
    def _stat(cls, v: Any) -> Any:
        return _to_int(v)

    @field_validator("time_of_day", mode="before")
    @classmethod
    def _time(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError("time_of_day must be a word or an hour")
        if isinstance(v, (int, float)):
            return hour_to_time(v)
        if not isinstance(v, str):
            return v
        word = v.strip().lower()
        if word in _TIME_WORDS:
            return _TIME_WORDS[word]
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", word)
        if m and int(m.group(2)) < 60:
            return hour_to_time(int(m.group(1)))
        allowed = ", ".join(sorted(_TIME_WORDS))
        raise ValueError(f"time_of_day must be an hour (0-24), 'HH:MM' or one of {allowed}")

    def shown_traits(self) -> list[str]:
        """Traits the prompt shows: the first SHOWN_TRAITS, sorted."""
        return sorted(self.traits[:SHOWN_TRAITS])

    def shown_entities(self) -> list[Perception]:
        """The SHOWN_ENTITIES nearest perceived entities, nearest first (ties by name)."""
        ranked = sorted(self.perception, key=lambda p: (p.meters, p.name))
        return ranked[:SHOWN_ENTITIES]

    def shown_inventory(self) -> list[tuple[str, int]]:
        """Up to SHOWN_ITEMS held items (count > 0), sorted by name."""
        held = sorted((k, n) for k, n in self.inventory.items() if n > 0)
        return held[:SHOWN_ITEMS]
