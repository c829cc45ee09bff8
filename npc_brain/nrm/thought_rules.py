"""`ThoughtRules`: what a request's thoughts may say, for the decoding constraint
(npc_brain.nrm.constraints). Plain data, so callers build it without importing torch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ThoughtRules:
    """What thoughts may say (npc_brain.nrm.constraints). Texts carry their leading space."""

    decisions: dict[str, list[str]]  # " attack the wolf" -> ["attack wolf"]
    fillers: dict[str, tuple[str, ...]]  # " the" -> (" wolf", " bread"); () bans the trigger
    names: tuple[str, ...] = ()  # " Tom", " Sir Aldous": what a capitalised word may begin
    numbers: tuple[str, ...] = ()  # "80", "4": every number a thought may write
    # " wolf" -> ("4", "60"): once a thought names a thing, its numbers are the thing's own
    numbers_of: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # " scroll" -> (" looks tasty",): what a thought may not say once it names this thing
    untrue_of: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The lowercase words thoughts may use (one shared set; empty: any), and this request's own
    words: frozenset[str] = frozenset()
    state_words: tuple[str, ...] = ()
    # How a thought may begin: " so", " the", " my", ... or a name (" drunk Hobb"); empty: any
    openers: tuple[str, ...] = ()
