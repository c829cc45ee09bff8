"""`model.npz`: the trained parameters once, as `npc-brain export` writes them from model.pt.

The one weights file every runtime reads: numpy loads it and folds each loop's LoRA delta
into its own weight copy at start-up; `model.onnx` points into it (ONNX external data) and
ONNX Runtime folds the same deltas when its session starts; the torch model loads it where
model.pt is not shipped (an installed wheel). Arrays are stored under their state-dict names,
in torch's layout (a linear weight is (out, in)), plus the rotary tables and the RMSNorm
epsilon, uncompressed and each 64-byte aligned in the file so another reader can use the
bytes in place. Needs numpy alone.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np

from npc_brain.nrm.checkpoint import export_problem
from npc_brain.nrm.config import NRMConfig

NPZ_FILE = "model.npz"
META_FILE = "model.npz.json"
FORMAT = 2  # 1 held every effective layer's merged weights (three times the bytes)
EXTRA_ARRAYS = ("eps", "rope_cos", "rope_sin")  # stored beside the state dict
LINEARS = ("qkv", "proj", "up", "down")
ALIGN = 64  # .npy pads its header to 64 bytes too, so the data lands aligned
_LOCAL_HEADER = 30  # a zip local file header before its name and extra field
_PADDING_ID = 0xD935  # the extra-field id zipalign uses for padding


def problem(model_dir: Path) -> str | None:
    """Why `model_dir` has no usable model.npz, or None."""
    return export_problem(model_dir, NPZ_FILE, META_FILE, FORMAT)


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez's format, uncompressed, dated 1980-01-01 (the same model.pt gives the same
    bytes), each array's data starting at a multiple of ALIGN in the file."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            entry = zipfile.ZipInfo(f"{name}.npy")
            entry.extra = _padding(archive.fp.tell(), entry.filename)
            data = np.require(array, requirements="C")
            with archive.open(entry, "w") as f:
                np.lib.format.write_array(f, data, allow_pickle=False)


def _padding(offset: int, filename: str) -> bytes:
    """An extra field that puts the member's data (after its local header) on ALIGN."""
    fixed = _LOCAL_HEADER + len(filename.encode()) + 4
    pad = -(offset + fixed) % ALIGN
    return struct.pack("<HH", _PADDING_ID, pad) + bytes(pad)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as f:
        return {name: f[name] for name in f.files}


def data_layout(path: Path) -> dict[str, tuple[int, int, tuple[int, ...]]]:
    """Each array's (byte offset of its data in the file, byte length, shape)."""
    out = {}
    with path.open("rb") as raw, zipfile.ZipFile(raw) as archive:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{path}: {info.filename} is compressed")
            raw.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack("<HH", raw.read(4))
            start = info.header_offset + _LOCAL_HEADER + name_len + extra_len
            with archive.open(info) as f:
                np.lib.format.read_magic(f)
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                if fortran or dtype != np.dtype("<f4"):
                    raise ValueError(f"{path}: {info.filename} is not C-order float32")
                nbytes = int(np.prod(shape)) * dtype.itemsize
                out[info.filename.removesuffix(".npy")] = (start + f.tell(), nbytes, shape)
    return out


def block_layers(cfg: NRMConfig) -> list[tuple[str, int]]:
    """(block's state-dict prefix, loop index) in the order a token passes through them, as
    `NRMModel.layers` runs them."""
    seq = [(f"entry.{i}", 0) for i in range(cfg.n_entry)]
    seq += [(f"shared.{j}", loop) for loop in range(cfg.n_loops) for j in range(cfg.n_shared)]
    return seq + [(f"exit.{i}", 0) for i in range(cfg.n_exit)]


def loop_matrix(w: dict[str, np.ndarray], linear: str, loop: int) -> np.ndarray:
    """The (in, out) matrix loop `loop` multiplies by: the shared weight plus that loop's
    LoRA delta, the bits `NRMModel.prepare_inference` computes (W + (A B)^T, transposed)."""
    base = w[f"{linear}.base.weight"].T
    if loop == 0 or f"{linear}.lora_a" not in w:
        return np.ascontiguousarray(base)
    return base + w[f"{linear}.lora_a"][loop - 1] @ w[f"{linear}.lora_b"][loop - 1]


def stacked(w: dict[str, np.ndarray], cfg: NRMConfig) -> dict[str, np.ndarray]:
    """Every effective layer's norms and merged (in, out) matrices, stacked on a first axis."""
    layers = block_layers(cfg)
    out = {f"norm{i}": np.stack([w[f"{p}.norm{i}.weight"] for p, _ in layers]) for i in (1, 2)}
    for name in LINEARS:
        out[name] = np.stack([loop_matrix(w, f"{p}.{name}", loop) for p, loop in layers])
    return out
