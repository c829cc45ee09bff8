"""A decide request resolved once: the game's verbs to canonical ones, the prompt, the answers
it may take, what its thoughts may say, and the way back from an answer to the game's verbs.
The sidecar and the evaluation both build their engine requests from a `DecisionPlan`.
"""

from __future__ import annotations

from dataclasses import dataclass

from npc_brain.npc.actions import (
    decision_phrases,
    resolve_actions,
    served_options,
    to_game_answer,
)
from npc_brain.npc.prompt import npc_prompt
from npc_brain.npc.state import NPCState
from npc_brain.npc.teacher import said_lines
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
    # Served thoughts: the teacher's sayings that hold for this state, then a closing one.
    rules = ThoughtRules(
        decisions={f" {p}": opts for p, opts in decision_phrases(options).items()},
        leads=said_lines(state, canonical, options),
    )
    return DecisionPlan(canonical, prompt, options, rules, back)
