"""The ONNX Runtime backend: `model.onnx` (from `npc-brain export`) with numpy KV caches.

The graph's weights are the arrays of `model.npz` beside it (ONNX external data), so both
files are needed; ONNX Runtime folds each loop's LoRA delta into its weight copy when the
session starts.

The graph's attention (ONNX Runtime's GroupQueryAttention) shares each layer's past and
present key/value buffer, so a step writes its new keys in place and reads only each row's
own length: the cache lives in numpy arrays that are bound to the graph without copies.
No torch anywhere.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from npc_brain.nrm import weights
from npc_brain.nrm.checkpoint import EXPORT_HINT, export_problem, read_meta
from npc_brain.nrm.config import NRMConfig

ONNX_FILE = "model.onnx"
META_FILE = "model.onnx.json"
FORMAT = 2  # 1 held its own copy of every layer's merged weights
DIGITS = "digit_places"  # the input a model with digit positions takes (nrm.digits)


def problem(model_dir: Path) -> str | None:
    """Why this model directory cannot run on ONNX Runtime, or None when it can."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "onnxruntime is not installed (`pip install npc-brain[fast]`)"
    found = export_problem(model_dir, ONNX_FILE, META_FILE, FORMAT) or weights.problem(model_dir)
    return found or _other_npz(model_dir)


def _other_npz(model_dir: Path) -> str | None:
    """The graph reads its weights at byte offsets into the model.npz it was exported with."""
    npz = (model_dir / weights.NPZ_FILE).read_bytes()
    if read_meta(model_dir, META_FILE).get("model_npz_sha256") != hashlib.sha256(npz).hexdigest():
        return f"{model_dir / ONNX_FILE} was exported with another model.npz; {EXPORT_HINT}"
    return None


# Graph bindings an OnnxCache keeps for reuse; past this many it starts afresh.
MAX_BINDINGS = 1024


class OnnxCache:
    """Per layer, keys and values (rows, heads, max_len, head_dim) as numpy arrays, and the
    graph bindings that point into them (binding a step's 24 buffers costs about a third of
    a one-row step, so each run of rows keeps its binding until the arrays grow)."""

    def __init__(self, cfg: NRMConfig, rows: int) -> None:
        hd = cfg.d_model // cfg.n_heads
        self.tail = (cfg.n_heads, cfg.max_seq_len, hd)
        self.n_layers = cfg.n_layers
        self.k: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.rows = 0
        self.bindings: dict[tuple[int, int, int], Any] = {}  # (session id, start, rows)
        self.ensure(rows)

    def ensure(self, rows: int) -> None:
        if rows <= self.rows:
            return
        new_rows = max(rows, 2 * self.rows)
        grown = []
        for old in (*self.k, *self.v) or [None] * (2 * self.n_layers):
            arr = np.zeros((new_rows, *self.tail), dtype=np.float32)
            if old is not None:
                arr[: self.rows] = old
            grown.append(arr)
        self.k, self.v = grown[: self.n_layers], grown[self.n_layers :]
        self.rows = new_rows
        self.bindings.clear()  # they point into the old arrays

    def binding(self, session: Any, start: int, rows: int) -> Any:
        """A binding of rows start..start+rows-1 as the graph's past and present buffers."""
        key = (id(session), start, rows)
        io = self.bindings.get(key)
        if io is None:
            if len(self.bindings) >= MAX_BINDINGS:
                self.bindings.clear()
            io = self.bindings[key] = session.io_binding()
            for i in range(self.n_layers):
                for part, arr in (("key", self.k[i]), ("value", self.v[i])):
                    view = arr[start : start + rows]  # leading rows: one contiguous block
                    shape, ptr = list(view.shape), view.ctypes.data
                    io.bind_input(f"past_{part}.{i}", "cpu", 0, np.float32, shape, ptr)
                    io.bind_output(f"present_{part}.{i}", "cpu", 0, np.float32, shape, ptr)
        return io

    def move(self, src: int, dst: int, length: int) -> None:
        for arr in (*self.k, *self.v):
            arr[dst, :, :length] = arr[src, :, :length]

    def save(self, row: int, length: int) -> np.ndarray:
        """(2 * layers, heads, length, head_dim): keys then values."""
        return np.stack([arr[row, :, :length] for arr in (*self.k, *self.v)])

    def load(self, row: int, saved: np.ndarray, length: int) -> None:
        for arr, kept in zip((*self.k, *self.v), saved, strict=True):
            arr[row, :, :length] = kept[:, :length]


SMALL_BATCH = 16  # below this many rows, a step runs on one thread


class OnnxRuntime:
    backend = "onnx"
    continued_rows: int | None = 1  # each runs alone (see forward)

    def __init__(self, model_dir: str | Path, threads: int | None = None) -> None:
        d = Path(model_dir)
        self.cfg = NRMConfig.load(d / "config.json")
        self._params = int(read_meta(d, META_FILE).get("parameters", 0))
        many = threads or min(os.cpu_count() or 1, 4)
        # A small batch is a chain of tiny ops where handing each to a second thread costs
        # more than it saves, so it runs on a one-thread session of the same graph.
        self._wide = _session(d / ONNX_FILE, many)
        self._narrow = self._wide if many == 1 else _session(d / ONNX_FILE, 1)
        self.session = self._narrow

    def num_params(self) -> int:
        return self._params

    def new_cache(self, rows: int) -> OnnxCache:
        return OnnxCache(self.cfg, rows)

    def busy(self, rows: int) -> None:
        self.session = self._wide if rows >= SMALL_BATCH else self._narrow

    def forward(
        self,
        cache: OnnxCache,
        start: int,
        ids: np.ndarray,
        pos: np.ndarray,
        last: np.ndarray,
        digits: np.ndarray | None = None,
    ) -> np.ndarray:
        if ids.shape[1] == 1 or len(ids) == 1 or not pos[:, 0].any():
            return self._run(cache, start, ids, pos, last, digits)
        # Tokens continuing cached positions: the graph's attention takes several only in a
        # batch of one, so the first of each row runs batched and each row's rest alone.
        first = np.zeros_like(last)
        head = None if digits is None else digits[:, :1]
        logits = self._run(cache, start, ids[:, :1], pos[:, :1], first, head)
        for r in np.flatnonzero(last):
            row, n = slice(r, r + 1), int(last[r]) + 1
            rest = None if digits is None else digits[row, 1:n]
            logits[r] = self._run(
                cache, start + r, ids[row, 1:n], pos[row, 1:n], last[row] - 1, rest
            )[0]
        return logits

    def _run(
        self,
        cache: OnnxCache,
        start: int,
        ids: np.ndarray,
        pos: np.ndarray,
        last: np.ndarray,
        digits: np.ndarray | None,
    ) -> np.ndarray:
        b, t = ids.shape
        rows = np.arange(b)
        logits = np.empty((b, self.cfg.vocab_size), dtype=np.float32)
        feeds = {  # kept referenced until the run is over
            "input_ids": np.ascontiguousarray(ids, dtype=np.int64),
            "seqlens_k": pos[rows, last].astype(np.int32),
            "total_seq_len": np.array(int(pos.max()) + 1, dtype=np.int32),
            "last_index": (rows * t + last).astype(np.int64),
        }
        if self.cfg.digit_positions:
            feeds[DIGITS] = np.ascontiguousarray(digits, dtype=np.int64)
        io = cache.binding(self.session, start, b)
        for name, value in feeds.items():
            io.bind_cpu_input(name, value)
        io.bind_output("logits", "cpu", 0, np.float32, list(logits.shape), logits.ctypes.data)
        self.session.run_with_iobinding(io)
        return logits


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    # Between steps the sidecar waits on its socket: idle worker threads should sleep,
    # not spin on cores the game needs.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
