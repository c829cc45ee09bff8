"""A hand-written, designer-style test set of NPC situations.

Each case is a `decide` request written the way a Godot game designer would write it after
reading only the public protocol (docs/protocol.md): many games, sparse states, short verb
lists, open-ended roles and names of every kind. `accept` lists the decisions a designer
would find sensible: a bare verb (any target is fine) or "verb target", with the game's verb
where an alias is declared.

The set measures how the model behaves on real designer requests. It is never used for
training, and it is not derived from the project's data generator. It comes in three parts:

- "dev" (situations.json): a teacher gap found here may become a teacher row;
- "holdout" (holdout.json): written later, in other genres, and only ever scored as a whole,
  never read case by case to shape the teacher or the generator, so it shows whether gains
  on "dev" carry over to situations nobody tuned for;
- "recall" (recall.json): situations whose `memory` should, or deliberately should not,
  change the decision, written from docs/protocol.md alone after the memory cue table
  (npc_brain.npc.memory) by someone who never saw it; scored as a whole, like "holdout".
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from npc_brain.npc.state import NPCState

SETS = {"dev": "situations.json", "holdout": "holdout.json", "recall": "recall.json"}
PARTS = tuple(SETS)


class DesignerCase(BaseModel):
    """One situation: the request a designer sends and the decisions they would accept."""

    case: str
    note: str
    npc: NPCState
    actions: list[str]
    aliases: dict[str, str] = {}
    accept: list[str]

    def sensible(self, action: str, target: str | None) -> bool:
        """Whether a designer accepts this decision (the game's verb and target)."""
        for entry in self.accept:
            verb, _, wanted = entry.partition(" ")
            if verb == action and (not wanted or wanted == target):
                return True
        return False


def load_designer_set(part: str = "dev") -> list[DesignerCase]:
    """All cases of one part (one of PARTS), in file order."""
    raw = json.loads((Path(__file__).parent / SETS[part]).read_text(encoding="utf-8"))
    return [DesignerCase.model_validate(item) for item in raw]
