"""A hand-written, designer-style test set of NPC situations.

Each case is a `decide` request written the way a Godot game designer would write it after
reading only the public protocol (docs/protocol.md): many games, sparse states, short verb
lists, open-ended roles and names of every kind. `accept` lists the decisions a designer
would find sensible: a bare verb (any target is fine) or "verb target", with the game's verb
where an alias is declared.

The set measures how the model behaves on real designer requests. It is never used for
training, and it is not derived from the project's data generator.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from npc_brain.npc.state import NPCState

SITUATIONS = Path(__file__).parent / "situations.json"


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


def load_designer_set() -> list[DesignerCase]:
    """All cases in `situations.json`, in file order."""
    raw = json.loads(SITUATIONS.read_text(encoding="utf-8"))
    return [DesignerCase.model_validate(item) for item in raw]
