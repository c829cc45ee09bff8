"""NRM, the nano reasoning model: a decoder-only transformer with looped shared blocks.

Layout (the reference card's "entry + shared + exit"): `n_entry` blocks, then `n_shared`
blocks applied `n_loops` times where every pass adds its own low-rank (LoRA) update to the
shared weights ("relaxed recursive transformer"), then `n_exit` blocks. Input and output
embeddings are tied; positions use rotary embeddings (no parameters, and attention sees
relative offsets, which is what digit-by-digit working needs). With `digit_positions`, each
token also gets an embedding of its place in its number (npc_brain.nrm.digits).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from npc_brain.nrm.config import NRMConfig
from npc_brain.nrm.decode import generate_one
from npc_brain.nrm.digits import NOT_DIGIT, SPACED_DIGIT
from npc_brain.nrm.kv_cache import KVSlot
from npc_brain.nrm.tokenizer import ANS_END_ID


class LoRALinear(nn.Module):
    """A linear layer whose weight gets a different low-rank delta on each loop."""

    def __init__(self, d_in: int, d_out: int, rank: int, n_deltas: int) -> None:
        super().__init__()
        self.base = nn.Linear(d_in, d_out, bias=False)
        self.rank = rank
        if rank > 0 and n_deltas > 0:
            self.lora_a = nn.Parameter(torch.randn(n_deltas, d_in, rank) / math.sqrt(d_in))
            self.lora_b = nn.Parameter(torch.zeros(n_deltas, rank, d_out))

        self.merged: list[torch.Tensor] | None = None

    def merge(self) -> None:
        """Precompute W + A_i B_i per loop so inference does one matmul per layer."""
        if self.rank == 0 or not hasattr(self, "lora_a"):
            self.merged = None
            return
        w = self.base.weight
        deltas = (self.lora_a @ self.lora_b).transpose(1, 2)  # (loops-1, out, in)
        self.merged = [w.detach()] + [(w + dlt).detach() for dlt in deltas]

    def loop_weight(self, loop: int) -> torch.Tensor:
        """The (out, in) weight loop `loop` multiplies by once merged (what exports write)."""
        return self.merged[loop] if self.merged is not None else self.base.weight

    def forward(self, x: torch.Tensor, loop: int = 0) -> torch.Tensor:
        if self.merged is not None and not self.training:
            return F.linear(x, self.merged[loop])
        y = self.base(x)
        # Loop 0 uses the shared weight as is; later loops add their own delta.
        if loop > 0 and self.rank > 0:
            y = y + (x @ self.lora_a[loop - 1]) @ self.lora_b[loop - 1]
        return y


class Block(nn.Module):
    def __init__(self, cfg: NRMConfig, n_deltas: int = 0) -> None:
        super().__init__()
        d, r = cfg.d_model, cfg.lora_rank
        self.n_heads = cfg.n_heads
        self.norm1 = nn.RMSNorm(d)
        self.qkv = LoRALinear(d, 3 * d, r, n_deltas)
        self.proj = LoRALinear(d, d, r, n_deltas)
        self.norm2 = nn.RMSNorm(d)
        self.up = LoRALinear(d, cfg.d_ff, r, n_deltas)
        self.down = LoRALinear(cfg.d_ff, d, r, n_deltas)

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        loop: int = 0,
        cache: KVSlot | None = None,
    ) -> torch.Tensor:
        b, t, d = x.shape
        h = self.n_heads
        qkv = self.qkv(self.norm1(x), loop).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        qk = apply_rope(qkv[:2], *rope)  # q and k rotated in one go
        q, k, v = qk[0], qk[1], qkv[2]
        if cache is None:
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = cache.attend(q, k, v)
        x = x + self.proj(att.transpose(1, 2).reshape(b, t, d), loop)
        return x + self.down(F.gelu(self.up(self.norm2(x), loop), approximate="tanh"), loop)


def rope_tables(cfg: NRMConfig) -> tuple[torch.Tensor, torch.Tensor]:
    hd = cfg.d_model // cfg.n_heads
    inv = 1.0 / (cfg.rope_base ** (torch.arange(0, hd, 2).float() / hd))
    ang = torch.outer(torch.arange(cfg.max_seq_len).float(), inv)
    return ang.cos(), ang.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # x: (B, H, T, hd); cos/sin: (B or 1, 1, T, hd/2)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


class NRMModel(nn.Module):
    def __init__(self, cfg: NRMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.entry = nn.ModuleList(Block(cfg) for _ in range(cfg.n_entry))
        self.shared = nn.ModuleList(Block(cfg, cfg.n_loops - 1) for _ in range(cfg.n_shared))
        self.exit = nn.ModuleList(Block(cfg) for _ in range(cfg.n_exit))
        self.norm = nn.RMSNorm(cfg.d_model)
        cos, sin = rope_tables(cfg)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        if cfg.digit_positions:
            self.digit_embed = nn.Embedding(cfg.digit_positions + 1, cfg.d_model, padding_idx=0)
            # Each token id's digit kind (npc_brain.nrm.digits), saved with the weights so
            # the model places digits without its tokenizer; set by `set_digit_kinds`.
            self.register_buffer("digit_kind", torch.zeros(cfg.vocab_size, dtype=torch.long))
        self.apply(self._init)
        if cfg.digit_positions:
            with torch.no_grad():
                self.digit_embed.weight[0].zero_()  # place 0 (no digit) adds nothing

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    @classmethod
    def from_config(cls, path_or_cfg: str | Path | NRMConfig) -> NRMModel:
        cfg = path_or_cfg if isinstance(path_or_cfg, NRMConfig) else NRMConfig.load(path_or_cfg)
        return cls(cfg)

    def train(self, mode: bool = True) -> NRMModel:
        # Weights may change while training: drop merged LoRA copies.
        if mode:
            for m in self.modules():
                if isinstance(m, LoRALinear):
                    m.merged = None
        return super().train(mode)

    @torch.no_grad()
    def prepare_inference(self) -> NRMModel:
        """eval() and fold each loop's LoRA delta into a weight copy (faster decoding)."""
        self.eval()
        for m in self.modules():
            if isinstance(m, LoRALinear):
                m.merge()
        return self

    def set_digit_kinds(self, kinds: np.ndarray) -> None:
        """Which token ids are digits (npc_brain.nrm.digits.digit_kinds of the tokenizer)."""
        self.digit_kind.copy_(torch.from_numpy(kinds[: self.cfg.vocab_size]))

    def digit_places(self, idx: torch.Tensor, offset: torch.Tensor | None = None) -> torch.Tensor:
        """Place of every token of whole sequences (B, T), as npc_brain.nrm.digits.places
        computes it one token at a time; `offset` (B,) shifts each sequence's digits."""
        kind = self.digit_kind[idx]
        is_digit = kind != NOT_DIGIT
        after_digit = F.pad(is_digit[:, :-1], (1, 0), value=False)
        starts = (kind == SPACED_DIGIT) | (is_digit & ~after_digit)
        at = torch.arange(idx.shape[1], device=idx.device).expand_as(idx)
        last_start = torch.where(starts, at, -1).cummax(dim=1).values
        place = at - last_start + 1
        if offset is not None:
            place = place + offset[:, None]
        place = place.clamp(max=self.cfg.digit_positions)
        return torch.where(is_digit, place, 0)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def layers(self) -> list[tuple[Block, int]]:
        """(block, loop index) in the order a token passes through them."""
        seq = [(b, 0) for b in self.entry]
        seq += [(b, i) for i in range(self.cfg.n_loops) for b in self.shared]
        return seq + [(b, 0) for b in self.exit]

    def hidden(
        self,
        idx: torch.Tensor,
        pos: torch.Tensor | None = None,
        caches: list[KVSlot] | None = None,
        digits: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Final normalized states (B, T, d). With `caches`, `pos` (B, T) are positions.

        `digits` (B, T): each token's digit place; None places whole sequences from idx."""
        t = idx.shape[1]
        if pos is None:
            cos, sin = self.rope_cos[:t][None, None], self.rope_sin[:t][None, None]
        else:
            cos, sin = self.rope_cos[pos].unsqueeze(1), self.rope_sin[pos].unsqueeze(1)
        x = self.embed(idx)
        if self.cfg.digit_positions:
            x = x + self.digit_embed(self.digit_places(idx) if digits is None else digits)
        for i, (block, loop) in enumerate(self.layers()):
            x = block(x, (cos, sin), loop, caches[i] if caches is not None else None)
        return self.norm(x)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.embed.weight.T

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
        digit_offset: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Training/scoring pass over whole sequences; targets use -100 to skip a position,
        `weights` (same shape) weigh each target's loss (default: all alike);
        `digit_offset` (B,) shifts digit places (training only)."""
        digits = self.digit_places(idx, digit_offset) if self.cfg.digit_positions else None
        logits = self.logits(self.hidden(idx, digits=digits))
        if targets is None:
            return logits, None
        flat = logits.flatten(0, 1).float()
        if weights is None:
            return logits, F.cross_entropy(flat, targets.flatten(), ignore_index=-100)
        ce = F.cross_entropy(flat, targets.flatten(), ignore_index=-100, reduction="none")
        return logits, (ce * weights.flatten()).sum() / weights.sum()

    @torch.no_grad()
    def generate(
        self,
        idx: list[int] | torch.Tensor,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        top_k: int = 0,
        seed: int | None = None,
        stop_id: int = ANS_END_ID,
    ) -> list[int]:
        """Card-style one-sequence generation: returns prompt + completion token ids.

        stop_id defaults to `</ANS>`. The batched engine (generate.Engine) serves many.
        """
        ids = idx.tolist() if isinstance(idx, torch.Tensor) else list(idx)
        if ids and isinstance(ids[0], list):
            ids = ids[0]
        out = generate_one(self, ids, max_new_tokens, temperature, top_k, seed, stop_id)
        return ids + out
