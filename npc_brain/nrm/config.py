"""`NRMConfig`: the model's shape (`config.json`), readable without torch."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class NRMConfig:
    vocab_size: int = 1024
    d_model: int = 128
    n_heads: int = 4
    d_ff: int = 512
    max_seq_len: int = 512
    n_entry: int = 1
    n_shared: int = 2
    n_loops: int = 2
    n_exit: int = 1
    lora_rank: int = 8
    rope_base: float = 10000.0
    # Places a digit-position embedding tells apart (npc_brain.nrm.digits); 0: none.
    digit_positions: int = 0

    @property
    def n_layers(self) -> int:
        """Effective depth: blocks applied per token."""
        return self.n_entry + self.n_shared * self.n_loops + self.n_exit

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> NRMConfig:
        return cls(**json.loads(Path(path).read_text()))
