"""Decode runtimes: what the engine runs a batched forward on: ONNX Runtime, numpy or torch.

A runtime holds the weights; a cache it makes holds every layer's keys and values for many
rows. `forward(cache, start, ids, pos, last, digits)` runs token ids (B, T) at positions
`pos` through cache rows start..start+B-1 and returns float32 logits (B, vocab) at column
`last`; `digits` (B, T), the tokens' digit places, is given when the model's config has
digit positions (npc_brain.nrm.digits), else None.
Everything crosses as numpy arrays, so the engine, constraints and sidecar never import
torch. `load_runtime` picks one for a model directory:

- `onnx`: ONNX Runtime over `model.onnx` (`pip install npc-brain[fast]`), the fastest.
- `numpy`: numpy over `model.npz`: the plain install, nothing more to install.
- `torch`: the PyTorch model itself (`pip install npc-brain[train]`).
- `auto`: onnx when onnxruntime is installed and its export matches `model.pt`, else numpy
  when its export matches, else torch.

Both exports are written by `npc-brain export` and record the sha256 of the `model.pt` they
came from, so a stale one is never run.

A directory may hold an export alone (model.onnx or model.npz with its .json, config.json,
tokenizer.json, no model.pt), as the standalone sidecar does: then only that export runs it.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from npc_brain.nrm.config import NRMConfig

BACKENDS = ("auto", "onnx", "numpy", "torch")
log = logging.getLogger("npc_brain.nrm.runtime")


class RuntimeUnavailableError(ValueError):
    """The chosen backend cannot run here (a missing package or export)."""


class Cache(Protocol):
    def ensure(self, rows: int) -> None: ...

    def move(self, src: int, dst: int, length: int) -> None: ...

    def save(self, row: int, length: int) -> Any:
        """A copy of the row's first `length` positions (for `load`)."""

    def load(self, row: int, saved: Any, length: int) -> None:
        """Write the first `length` positions of a `save` into the row."""


class Runtime(Protocol):
    cfg: NRMConfig
    backend: str
    # Rows one forward takes well when they continue cached positions (None: any number).
    continued_rows: int | None

    def num_params(self) -> int: ...

    def new_cache(self, rows: int) -> Cache: ...

    def forward(
        self,
        cache: Any,
        start: int,
        ids: np.ndarray,
        pos: np.ndarray,
        last: np.ndarray,
        digits: np.ndarray | None = None,
    ) -> np.ndarray: ...

    def busy(self, rows: int) -> None:
        """Told how many rows are in flight (0 when idle) before each step."""


def is_runtime(obj: object) -> bool:
    return hasattr(obj, "new_cache") and hasattr(obj, "backend")


def as_runtime(model: Any) -> Runtime:
    """A runtime as is; a torch NRMModel wrapped in the torch runtime."""
    if is_runtime(model):
        return model
    from npc_brain.nrm.runtime_torch import TorchRuntime

    return TorchRuntime(model)


def has_torch() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a broken or blocked install counts as none
        return False


def load_runtime(
    model_dir: str | Path | None = None, backend: str = "auto", threads: int | None = None
) -> Runtime:
    """The runtime for a model directory (default: the bundled model).

    `threads`: decode threads (ONNX Runtime's pool, torch's); None keeps each runtime's
    own choice. numpy always decodes on one."""
    from npc_brain.nrm import runtime_numpy, runtime_onnx, weights
    from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, ModelNotFoundError

    d = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    found = any((d / f).is_file() for f in ("model.pt", runtime_onnx.ONNX_FILE, weights.NPZ_FILE))
    if not found or not (d / "config.json").is_file():
        hint = " (train one with `npc-brain train`)" if model_dir is None else ""
        raise ModelNotFoundError(f"{d} lacks config.json, or model.pt and any export of it{hint}")
    if backend == "torch":
        return _torch_runtime(d, threads)
    exported = {  # in the order auto tries them: fastest first
        "onnx": (runtime_onnx.problem, lambda d: runtime_onnx.OnnxRuntime(d, threads)),
        "numpy": (weights.problem, runtime_numpy.NumpyRuntime),
    }
    problems = []
    for name in exported if backend == "auto" else [backend]:
        problem_of, make = exported[name]
        problem = problem_of(d)
        if problem is None:
            return make(d)
        problems.append(problem)
    if backend != "auto":
        raise RuntimeUnavailableError(problems[0])
    if not has_torch():
        raise RuntimeUnavailableError(
            f"{'; '.join(problems)}; or install torch (`pip install npc-brain[train]`)"
        )
    log.warning("%s; running the torch model instead", "; ".join(problems))
    return _torch_runtime(d, threads)


def _torch_runtime(d: Path, threads: int | None = None) -> Runtime:
    if not has_torch():
        raise RuntimeUnavailableError(
            "the torch backend needs torch: `pip install npc-brain[train]`"
        )
    from npc_brain.nrm.checkpoint import load_model
    from npc_brain.nrm.runtime_torch import TorchRuntime

    if threads:
        import torch

        torch.set_num_threads(threads)
    model, _ = load_model(d)
    return TorchRuntime(model)
