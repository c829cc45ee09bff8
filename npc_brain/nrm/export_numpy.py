"""`npc-brain export`: the trained weights as `model.npz` for the numpy runtime.

Every effective layer gets its own weights, stacked along a first axis: each loop of the
shared blocks has its LoRA delta folded in, as `NRMModel.prepare_inference` does, so the
runtime runs exactly the weights the torch model decodes with. Matrices are stored as
(in, out) for `x @ w`. The rotary tables are stored too, so positions match torch bit for
bit. Needs torch (the `train` extra); the runtime that reads the file needs only numpy.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import torch

from npc_brain.nrm.checkpoint import load_model, weights_hash
from npc_brain.nrm.model import NRMModel, rope_tables
from npc_brain.nrm.runtime_numpy import FORMAT, META_FILE, NPZ_FILE


def export(model_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write model.npz (+ model.npz.json) for the model in `model_dir`; returns its path."""
    src = Path(model_dir)
    out = Path(out_dir) if out_dir is not None else src
    model, _ = load_model(src)
    path = out / NPZ_FILE
    save_npz(path, weights(model.prepare_inference()))
    meta = {
        "format": FORMAT,
        "model_pt_sha256": weights_hash(src),
        "parameters": model.num_params(),
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return path


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez's format with a fixed timestamp: the same model.pt gives the same bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            entry = zipfile.ZipInfo(f"{name}.npy")  # dated 1980-01-01
            with archive.open(entry, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, array, allow_pickle=False)


def _t(x: torch.Tensor) -> np.ndarray:
    return x.detach().float().contiguous().numpy()


def weights(model: NRMModel) -> dict[str, np.ndarray]:
    """The arrays of model.npz, by name (see the runtime for how each is used)."""
    layers = model.layers()
    cos, sin = rope_tables(model.cfg)
    out = {
        "embed": _t(model.embed.weight),
        "norm": _t(model.norm.weight),
        "eps": np.float32(_eps([model.norm, *(n for b, _ in layers for n in (b.norm1, b.norm2))])),
        "rope_cos": _t(cos),
        "rope_sin": _t(sin),
        "norm1": np.stack([_t(b.norm1.weight) for b, _ in layers]),
        "norm2": np.stack([_t(b.norm2.weight) for b, _ in layers]),
    }
    for name in ("qkv", "proj", "up", "down"):
        out[name] = np.stack([_t(getattr(b, name).loop_weight(loop).T) for b, loop in layers])
    return out


def _eps(norms: list[torch.nn.RMSNorm]) -> float:
    """The one epsilon all RMSNorms share (None means float32's machine epsilon)."""
    found = {n.eps if n.eps is not None else float(torch.finfo(torch.float32).eps) for n in norms}
    if len(found) != 1:
        raise ValueError(f"the model's RMSNorms use different epsilons: {sorted(found)}")
    return found.pop()
