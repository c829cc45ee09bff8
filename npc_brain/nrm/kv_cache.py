"""The generation cache: keys and values of every effective layer for many rows at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from npc_brain.nrm.model import NRMModel


class KVSlot:
    """One layer's part of the generation cache (see KVCache).

    k_all/v_all: the layer's whole cache (rows, H, max_len, hd); new keys are written with
    one index_copy_ at flat positions `index`, then rows start..start+B attend over their
    first n positions under `mask` (B, 1, T, n).
    """

    def __init__(
        self,
        k_all: torch.Tensor,
        v_all: torch.Tensor,
        index: torch.Tensor,
        rows: slice,
        mask: torch.Tensor,
    ) -> None:
        self.k_all, self.v_all, self.index, self.rows, self.mask = k_all, v_all, index, rows, mask

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        hd = q.shape[-1]
        self.k_all.view(-1, hd).index_copy_(0, self.index, k.reshape(-1, hd))
        self.v_all.view(-1, hd).index_copy_(0, self.index, v.reshape(-1, hd))
        n = self.mask.shape[-1]
        keys = self.k_all[self.rows, :, :n]
        values = self.v_all[self.rows, :, :n]
        # Plain attention: for one query row per sequence this beats the fused CPU kernel
        # (which is tuned for long queries) by a wide margin.
        scores = (q @ keys.transpose(-1, -2)) * (hd**-0.5)
        scores = scores.masked_fill(~self.mask, float("-inf"))
        return torch.softmax(scores, dim=-1) @ values


class KVCache:
    """Keys/values for every effective layer: (layers, rows, heads, max_len, head_dim)."""

    def __init__(self, model: NRMModel, rows: int) -> None:
        cfg = model.cfg
        self.shape = (cfg.n_layers, 0, cfg.n_heads, cfg.max_seq_len, cfg.d_model // cfg.n_heads)
        self.dtype = model.embed.weight.dtype
        self.device = model.embed.weight.device
        self.k = self.v = torch.empty(0)
        self.rows = 0
        self.ensure(rows)

    def ensure(self, rows: int) -> None:
        if rows <= self.rows:
            return
        new_rows = max(rows, 2 * self.rows)
        shape = (self.shape[0], new_rows, *self.shape[2:])
        k = torch.zeros(shape, dtype=self.dtype, device=self.device)
        v = torch.zeros(shape, dtype=self.dtype, device=self.device)
        if self.rows:
            k[:, : self.rows] = self.k
            v[:, : self.rows] = self.v
        self.k, self.v, self.rows = k, v, new_rows

    def move(self, src: int, dst: int, length: int) -> None:
        self.k[:, dst, :, :length] = self.k[:, src, :, :length]
        self.v[:, dst, :, :length] = self.v[:, src, :, :length]

    def save(self, row: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.k[:, row, :, :length].clone(), self.v[:, row, :, :length].clone()

    def load(self, row: int, saved: tuple[torch.Tensor, torch.Tensor], length: int) -> None:
        self.k[:, row, :, :length] = saved[0][:, :, :length]
        self.v[:, row, :, :length] = saved[1][:, :, :length]

    def slots(self, start: int, pos: torch.Tensor) -> list[KVSlot]:
        """Views for rows start..start+B-1 writing at `pos` (B, T), attending causally."""
        b = pos.shape[0]
        _, _, heads, max_len, _ = self.shape
        n = int(pos.max()) + 1
        mask = (torch.arange(n) <= pos.unsqueeze(-1)).unsqueeze(1)
        # Flat row index of (row, head, position) in a layer's (rows*H*max_len, hd) view,
        # ordered like the keys (B, H, T, hd) the model produces.
        row = torch.arange(start, start + b).view(b, 1, 1)
        head = torch.arange(heads).view(1, heads, 1)
        index = ((row * heads + head) * max_len + pos.unsqueeze(1)).reshape(-1)
        rows = slice(start, start + b)
        return [KVSlot(self.k[i], self.v[i], index, rows, mask) for i in range(self.shape[0])]


def forward_rows(
    model: NRMModel,
    cache: KVCache,
    start: int,
    ids: torch.Tensor,
    pos: torch.Tensor,
    last: torch.Tensor,
    digits: torch.Tensor | None = None,
) -> torch.Tensor:
    """Run ids (B, T) at positions pos through the cache rows; logits at column `last` (B,).

    `digits` (B, T): the tokens' digit places, for a model with digit positions."""
    if model.cfg.digit_positions and digits is None:
        raise ValueError("this model embeds digit places: pass each token's (digits)")
    h = model.hidden(ids, pos, cache.slots(start, pos), digits)
    h_last = h[torch.arange(h.shape[0]), last]
    return model.logits(h_last).float()
