"""`npc_prompt(state, actions)`: the compact single-line INST body for one decision.

The model is tiny (context ~384 tokens, one token per digit), so the prompt keeps only what
the decision rules read (docs/teacher.md), in a fixed order with fixed words, and only what
the game sent: a field left out is not shown, so no thought can state it as a fact.

    role guard; traits brave, loyal; health 80 hunger 20 energy 60 gold 35; time night;
    at gate; has bread 2, potion 1; sees wolf (animal hostile 4 m strength 60),
    Tom (person 10 m health 20); goal find Anna; recalls noise; can attack, flee, hide, eat

(one line in practice). The NPC's own name and id are left out: no rule uses them. Its memory
is shown as the cues its newest lines hold (npc_brain.npc.memory), not as prose.
Entities are the nearest few, nearest first; items are sorted by name; verbs follow the
vocabulary order and are written as thoughts say them ("call for help"), so the same state
and the same set of actions always give the same text.
"""

from __future__ import annotations

from npc_brain.npc.memory import recalled
from npc_brain.npc.state import NPCState, Perception

STATS = ("health", "hunger", "energy", "gold")


def describe_entity(p: Perception) -> str:
    """`wolf (animal hostile 4 m strength 60)`."""
    parts = [p.kind]
    if p.hostile:
        parts.append("hostile")
    parts.append(f"{p.meters} m")
    if p.health is not None:
        parts.append(f"health {p.health}")
    if p.strength is not None:
        parts.append(f"strength {p.strength}")
    return f"{p.name} ({' '.join(parts)})"


def npc_prompt(state: NPCState, actions: list[str]) -> str:
    """The INST body (no tags) for `state` choosing among canonical `actions` (in vocabulary
    order, as check_actions gives them)."""
    sections = []
    if state.role:
        sections.append(f"role {state.role}")
    traits = state.shown_traits()
    if traits:
        sections.append("traits " + ", ".join(traits))
    stats = [f"{s} {getattr(state, s)}" for s in STATS if getattr(state, s) is not None]
    if stats:
        sections.append(" ".join(stats))
    if state.time_of_day:
        sections.append(f"time {state.time_of_day}")
    if state.location:
        sections.append(f"at {state.location}")
    items = state.shown_inventory()
    if items:
        sections.append("has " + ", ".join(f"{k} {n}" for k, n in items))
    seen = state.shown_entities()
    if seen:
        sections.append("sees " + ", ".join(map(describe_entity, seen)))
    if state.goal:
        sections.append(f"goal {state.goal}")
    cues = recalled(state.memory)
    if cues:
        sections.append("recalls " + ", ".join(cues))
    sections.append("can " + ", ".join(v.replace("_", " ") for v in actions))
    return "; ".join(sections)
