"""The torch runtime: the PyTorch model behind the engine (see npc_brain.nrm.runtime)."""

from __future__ import annotations

import numpy as np
import torch

from npc_brain.nrm.config import NRMConfig
from npc_brain.nrm.kv_cache import KVCache, forward_rows
from npc_brain.nrm.model import NRMModel

SMALL_BATCH = 16  # below this many sequences, decode on one thread


class TorchRuntime:
    backend = "torch"
    continued_rows: int | None = None

    def __init__(self, model: NRMModel) -> None:
        self.model = model.prepare_inference()
        self.cfg: NRMConfig = model.cfg
        self._max_threads = torch.get_num_threads()
        self._threads = self._max_threads

    def num_params(self) -> int:
        return self.model.num_params()

    def new_cache(self, rows: int) -> KVCache:
        return KVCache(self.model, rows)

    @torch.inference_mode()
    def forward(
        self,
        cache: KVCache,
        start: int,
        ids: np.ndarray,
        pos: np.ndarray,
        last: np.ndarray,
        digits: np.ndarray | None = None,
    ) -> np.ndarray:
        logits = forward_rows(
            self.model,
            cache,
            start,
            torch.from_numpy(ids),
            torch.from_numpy(pos),
            torch.from_numpy(last),
            None if digits is None else torch.from_numpy(digits),
        )
        return logits.numpy()

    def busy(self, rows: int) -> None:
        # Small batches are a chain of tiny ops where waking a second thread costs more than
        # it saves (measured: 1 sequence decodes ~1.3x faster on one thread); big batches
        # have enough arithmetic to split.
        # An idle engine (rows == 0) hands the process all its threads back: the setting is
        # process-wide, and training runs its periodic evaluation through an engine.
        want = 1 if 0 < rows < SMALL_BATCH else self._max_threads
        if want != self._threads:
            torch.set_num_threads(want)
            self._threads = want
