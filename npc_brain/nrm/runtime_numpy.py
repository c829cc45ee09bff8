"""The numpy backend: `model.npz` (from `npc-brain export`) decoded with numpy alone.

At start-up each loop's LoRA delta is folded into its own weight copy (npc_brain.nrm.weights),
the same sums the torch model makes in `prepare_inference`.

The smallest serving install: no torch, no ONNX Runtime. A forward runs all its rows at
once: one matmul per weight for every row and token, one batched matmul per attention
product, and the KV cache is one preallocated float32 array each for keys and values,
(rows, layers, heads, max_len, head_dim), written in place. Python loops only over layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from npc_brain.nrm.checkpoint import read_meta
from npc_brain.nrm.config import NRMConfig
from npc_brain.nrm.weights import META_FILE, NPZ_FILE, load_arrays, stacked

GELU_C = math.sqrt(2.0 / math.pi)


class NumpyCache:
    """Keys and values for every row and layer: (rows, layers, heads, max_len, head_dim)."""

    def __init__(self, cfg: NRMConfig, rows: int) -> None:
        hd = cfg.d_model // cfg.n_heads
        self.tail = (cfg.n_layers, cfg.n_heads, cfg.max_seq_len, hd)
        self.k = self.v = np.zeros((0, *self.tail), dtype=np.float32)
        self.rows = 0
        self.ensure(rows)

    def ensure(self, rows: int) -> None:
        if rows <= self.rows:
            return
        new_rows = max(rows, 2 * self.rows)  # doubling: few regrowths as a batch fills up
        k = np.zeros((new_rows, *self.tail), dtype=np.float32)
        v = np.zeros_like(k)
        k[: self.rows], v[: self.rows] = self.k, self.v
        self.k, self.v, self.rows = k, v, new_rows

    def move(self, src: int, dst: int, length: int) -> None:
        self.k[dst, :, :, :length] = self.k[src, :, :, :length]
        self.v[dst, :, :, :length] = self.v[src, :, :, :length]

    def save(self, row: int, length: int) -> tuple[np.ndarray, np.ndarray]:
        return self.k[row, :, :, :length].copy(), self.v[row, :, :, :length].copy()

    def load(self, row: int, saved: tuple[np.ndarray, np.ndarray], length: int) -> None:
        self.k[row, :, :, :length] = saved[0][:, :, :length]
        self.v[row, :, :, :length] = saved[1][:, :, :length]


@dataclass
class _Step:
    """What every layer of one forward shares: where rows write and what they may see."""

    rows: slice  # cache rows of the batch
    slots: np.ndarray  # (b*t*heads,): flat (row, layer 0, head, position) cache index
    cos: np.ndarray  # (b*t, 2*heads, hd): rotary factors for q and k at each position
    sin: np.ndarray
    bias: np.ndarray  # (b, 1, t, n): 0 where a position may be attended, else -inf


class NumpyRuntime:
    backend = "numpy"
    continued_rows: int | None = None

    def __init__(self, model_dir: str | Path) -> None:
        d = Path(model_dir)
        cfg = self.cfg = NRMConfig.load(d / "config.json")
        self._params = int(read_meta(d, META_FILE).get("parameters", 0))
        self._threads = ThreadpoolController()
        self._one_thread: Any = None
        raw = load_arrays(d / NPZ_FILE)
        w = {**raw, **stacked(raw, cfg)}
        self.heads, self.hd = cfg.n_heads, cfg.d_model // cfg.n_heads
        self.eps = np.float32(w["eps"])
        self.embed = w["embed.weight"]
        self.digit_embed = w.get("digit_embed.weight")  # digit places (nrm.digits), if any
        # Constant factors are folded into the matrices that follow them, which saves a pass
        # over the activations each: RMSNorm weights into the rows of the next matmul, the
        # attention scale into q's columns, GELU's 1/2 into `down`.
        self.head = np.ascontiguousarray(w["norm.weight"][:, None] * self.embed.T)
        qkv = w["norm1"][:, :, None] * w["qkv"]
        qkv[:, :, : cfg.d_model] *= np.float32(self.hd**-0.5)
        self.qkv = self._halves_layout(qkv)
        self.proj = w["proj"]
        self.up = np.ascontiguousarray(w["norm2"][:, :, None] * w["up"])
        self.down = w["down"] * np.float32(0.5)
        # Rotary in the halves layout: x * cos + swap_halves(x) * sin, with sin = (-sin, sin).
        cos, sin = w["rope_cos"], w["rope_sin"]
        self.cos = np.concatenate((cos, cos), axis=-1)
        self.sin = np.concatenate((-sin, sin), axis=-1)

    def _halves_layout(self, qkv: np.ndarray) -> np.ndarray:
        """Reorder each q and k head from interleaved pairs (x0 x1 x2 x3 ..) to halves
        (x0 x2 .. x1 x3 ..): rotating then swaps two contiguous halves instead of every pair
        (much faster in numpy). Scores are unchanged, as q and k are reordered alike."""
        d, hd = self.cfg.d_model, self.hd
        head = np.concatenate((np.arange(0, hd, 2), np.arange(1, hd, 2)))
        order = np.concatenate([h * hd + head for h in range(2 * self.heads)])
        return np.ascontiguousarray(qkv[..., np.concatenate((order, np.arange(2 * d, 3 * d)))])

    def num_params(self) -> int:
        return self._params

    def new_cache(self, rows: int) -> NumpyCache:
        return NumpyCache(self.cfg, rows)

    def busy(self, rows: int) -> None:
        # BLAS on one thread while decoding: this model's matmuls are too small to split
        # well, and BLAS's idle threads spin on cores the game needs (measured on a busy
        # 2-core machine: ten times slower with two threads). The setting is process-wide,
        # so an idle engine (rows == 0) gives the original back.
        if rows and self._one_thread is None:
            self._one_thread = self._threads.limit(limits=1, user_api="blas")
        elif not rows and self._one_thread is not None:
            self._one_thread.restore_original_limits()
            self._one_thread = None

    def forward(
        self,
        cache: NumpyCache,
        start: int,
        ids: np.ndarray,
        pos: np.ndarray,
        last: np.ndarray,
        digits: np.ndarray | None = None,
    ) -> np.ndarray:
        b, t = ids.shape
        step = self._step(cache, start, pos)
        x = self.embed[ids.reshape(-1)]  # (b*t, d): every token of every row, one matmul
        if self.digit_embed is not None:
            x += self.digit_embed[digits.reshape(-1)]
        for i in range(self.cfg.n_layers):
            x += self._attention(i, x, cache, step)
            x += self._mlp(i, x)
        return self._rmsnorm(x.reshape(b, t, -1)[np.arange(b), last]) @ self.head

    def _step(self, cache: NumpyCache, start: int, pos: np.ndarray) -> _Step:
        b, t = pos.shape
        _, heads, max_len, _ = cache.tail
        n = int(pos.max()) + 1  # attend over the first n cached positions
        row = np.arange(start, start + b).reshape(b, 1, 1)
        head = np.arange(heads).reshape(1, 1, heads)
        slots = (row * cache.tail[0] * heads + head) * max_len + pos[:, :, None]
        flat = pos.reshape(-1)
        shape = (b * t, 2 * heads, self.hd)  # rotary tables broadcast once, used by all layers
        allowed = np.arange(n) <= pos[:, None, :, None]
        return _Step(
            rows=slice(start, start + b),
            slots=slots.reshape(-1),
            cos=np.broadcast_to(self.cos[flat][:, None], shape).copy(),
            sin=np.broadcast_to(self.sin[flat][:, None], shape).copy(),
            bias=np.where(allowed, np.float32(0), np.float32(-np.inf)),
        )

    def _attention(self, i: int, x: np.ndarray, cache: NumpyCache, step: _Step) -> np.ndarray:
        b, _, t, n = step.bias.shape
        heads, hd = self.heads, self.hd
        qkv = self._rmsnorm(x) @ self.qkv[i]  # (b*t, 3d)
        qk = self._rope(qkv[:, : 2 * heads * hd].reshape(b * t, 2 * heads, hd), step)
        # New keys and values go straight into the cache, each at its token's position.
        layer = i * heads * cache.tail[2]
        k_flat, v_flat = cache.k.reshape(-1, hd), cache.v.reshape(-1, hd)
        k_flat[step.slots + layer] = qk[:, heads:].reshape(-1, hd)
        v_flat[step.slots + layer] = qkv[:, 2 * heads * hd :].reshape(-1, hd)
        keys = cache.k[step.rows, i, :, :n]  # (b, heads, n, hd)
        values = cache.v[step.rows, i, :, :n]
        q = qk[:, :heads].reshape(b, t, heads, hd).transpose(0, 2, 1, 3)
        scores = q @ keys.transpose(0, 1, 3, 2)  # (b, heads, t, n), already scaled
        scores += step.bias
        att = _softmax(scores) @ values  # (b, heads, t, hd)
        return att.transpose(0, 2, 1, 3).reshape(b * t, -1) @ self.proj[i]

    def _mlp(self, i: int, x: np.ndarray) -> np.ndarray:
        return _twice_gelu_tanh(self._rmsnorm(x) @ self.up[i]) @ self.down[i]

    def _rmsnorm(self, x: np.ndarray) -> np.ndarray:
        """x / rms(x); the weight is folded into the next matmul."""
        ms = np.square(x).sum(axis=-1, keepdims=True)
        ms *= np.float32(1 / x.shape[-1])
        ms += self.eps
        return x * (1 / np.sqrt(ms))

    def _rope(self, x: np.ndarray, step: _Step) -> np.ndarray:
        """Rotate q and k (b*t, 2*heads, hd), each head in the halves layout."""
        half = self.hd // 2
        swapped = np.concatenate((x[..., half:], x[..., :half]), axis=-1)
        swapped *= step.sin
        out = x * step.cos
        out += swapped
        return out


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores


def _twice_gelu_tanh(x: np.ndarray) -> np.ndarray:
    """2 * gelu(x), tanh form: x * (1 + tanh(c * x * (1 + 0.044715 x^2)))."""
    inner = x * x
    inner *= np.float32(GELU_C * 0.044715)
    inner += np.float32(GELU_C)
    inner *= x
    np.tanh(inner, out=inner)
    inner += np.float32(1)
    inner *= x
    return inner
