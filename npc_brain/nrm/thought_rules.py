"""`ThoughtRules`: what a request's thoughts may say, for the decoding constraint
(npc_brain.nrm.constraints). Plain data, so callers build it without importing torch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ThoughtRules:
    """What thoughts may say (npc_brain.nrm.constraints). Texts carry their leading space."""

    decisions: dict[str, list[str]]  # closing phrases: " attack the wolf" -> ["attack wolf"]
    # The only thoughts there may be besides a closing one ("so I" + a closing phrase), each
    # whole and at most once ("my health is 80, I can fight"), with the answers each leads
    # to: once a line is said, the closing thought names one of them, so the thoughts and
    # the decision agree. None: only a closing one.
    leads: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self.leads)
