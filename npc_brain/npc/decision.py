"""A decide request resolved once: the game's verbs to canonical ones, the prompt, the answers
it may take, what its thoughts may say, and the way back from an answer to the game's verbs.
The sidecar and the evaluation both build their engine requests from a `DecisionPlan`.
"""

from __future__ import annotations

from dataclasses import dataclass

from npc_brain.npc.actions import answer_options, resolve_actions, split_answer, to_game_answer
from npc_brain.npc.prompt import npc_prompt
from npc_brain.npc.roles import may_attack
from npc_brain.npc.state import NPCState
from npc_brain.npc.truth import thought_rules
from npc_brain.nrm.thought_rules import ThoughtRules


class NoDecision(ValueError):
    """The offered verbs admit no answer for this NPC (each needs a target it lacks)."""


@dataclass(frozen=True)
class DecisionPlan:
    actions: list[str]  # the offered verbs, canonical, in vocabulary order
    prompt: str  # the INST body
    options: list[str]  # every ANS it may be served (served_options)
    rules: ThoughtRules  # what the thoughts may say (the decoding constraint)
    back: dict[str, str]  # canonical verb -> the game's verb

    def read(self, answer: str) -> tuple[str, str | None]:
        """The game's (verb, target) for an answer; ValueError if it is not an option."""
        if answer not in self.options:
            raise ValueError(f"the answer {answer!r} is not allowed")
        return to_game_answer(answer, self.back)


def plan_decision(
    state: NPCState, actions: list[str], aliases: dict[str, str] | None = None
) -> DecisionPlan:
    """Resolve a decide request; ValueError (NoDecision included) explains what is wrong."""
    canonical, back = resolve_actions(actions, aliases)
    options = served_options(state, canonical)
    if not options:
        raise NoDecision(
            "none is possible for this NPC now (each needs a target that is not in its "
            "perception or inventory)"
        )
    prompt = npc_prompt(state, canonical)
    return DecisionPlan(canonical, prompt, options, thought_rules(state, prompt, options), back)


def served_options(state: NPCState, actions: list[str]) -> list[str]:
    """The answers an NPC may be served for canonical `actions`: answer_options() without an
    attack on someone peaceful unless its role preys on them (docs/teacher.md, "Roles"), so
    a villager never attacks a stranger; kept when nothing else is offered, since then it is
    what the game asks for."""
    options = answer_options(state, actions)
    peaceful = {p.name: p.kind for p in state.shown_entities() if not p.hostile}
    kept = [o for o in options if _fits_role(state, peaceful, *split_answer(o))]
    return kept or options


def _fits_role(state: NPCState, peaceful: dict[str, str], verb: str, target: str | None) -> bool:
    return verb != "attack" or may_attack(state.role, peaceful.get(target or ""))
