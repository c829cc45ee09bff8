"""`npc-brain export`: the trained parameters of model.pt as `model.npz` (see
npc_brain.nrm.weights), the one weights file the numpy and ONNX runtimes read.

Each parameter is stored once under its state-dict name, as trained: the runtimes fold each
loop's LoRA delta in when they start, so the file is no bigger than model.pt. The rotary
tables are stored too, so positions match torch bit for bit. Needs torch (the `train`
extra); the runtimes that read the file do not.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from npc_brain.nrm.checkpoint import ModelNotFoundError, load_model, weights_hash
from npc_brain.nrm.model import NRMModel, rope_tables
from npc_brain.nrm.weights import FORMAT, META_FILE, NPZ_FILE, save_npz


def export(model_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write model.npz (+ model.npz.json) for the model in `model_dir`; returns its path."""
    src = Path(model_dir)
    out = Path(out_dir) if out_dir is not None else src
    if not (src / "model.pt").is_file():
        raise ModelNotFoundError(f"{src} lacks model.pt, which the export is made from")
    model, _ = load_model(src)
    path = out / NPZ_FILE
    save_npz(path, weights(model))
    meta = {
        "format": FORMAT,
        "model_pt_sha256": weights_hash(src),
        "parameters": model.num_params(),
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return path


def _t(x: torch.Tensor) -> np.ndarray:
    return x.detach().float().contiguous().numpy()


def weights(model: NRMModel) -> dict[str, np.ndarray]:
    """The arrays of model.npz, by name: the state dict, then the EXTRA_ARRAYS."""
    out = {name: _t(value) for name, value in model.state_dict().items()}
    cos, sin = rope_tables(model.cfg)
    blocks = [*model.entry, *model.shared, *model.exit]
    norms = [model.norm, *(n for b in blocks for n in (b.norm1, b.norm2))]
    return {**out, "eps": np.float32(_eps(norms)), "rope_cos": _t(cos), "rope_sin": _t(sin)}


def _eps(norms: list[torch.nn.RMSNorm]) -> float:
    """The one epsilon all RMSNorms share (None means float32's machine epsilon)."""
    found = {n.eps if n.eps is not None else float(torch.finfo(torch.float32).eps) for n in norms}
    if len(found) != 1:
        raise ValueError(f"the model's RMSNorms use different epsilons: {sorted(found)}")
    return found.pop()
