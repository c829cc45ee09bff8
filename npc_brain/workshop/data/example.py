"""One training/eval item: an instruction, its reasoning steps and the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from npc_brain.npc.state import NPCState


@dataclass(frozen=True)
class Example:
    """`prompt` is the INST body (no tags); `steps` are STEP lines without the tag."""

    task: str
    prompt: str
    steps: list[str] = field(default_factory=list)
    answer: str = ""
    # Options the answer was chosen from (NPC decisions); None for free answers.
    options: tuple[str, ...] | None = None
    # The NPC situation the prompt was built from (NPC decisions): what the truth checker and
    # the served decoding constraint read.
    situation: tuple[NPCState, tuple[str, ...]] | None = None

    def text(self) -> str:
        from npc_brain.nrm.trace import format_trace

        return format_trace(self.prompt, self.steps, self.answer)
