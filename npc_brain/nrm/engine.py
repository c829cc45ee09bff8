"""Batched generation with a KV cache: many sequences decoded in one forward per token.

Sequences join and leave between steps. Active sequences occupy cache rows 0..n-1; when
one leaves, the last row moves into its place so every forward reads one contiguous view
of the cache (no gathers). Newcomers are prefilled together, right-padded; a newcomer
whose prompt begins like its key's last one (an NPC thinking again) copies that part's
keys and values from the prefix cache and prefills only the rest.

The forward itself is a runtime's (npc_brain.nrm.runtime: ONNX Runtime or torch); here
everything is numpy, so serving needs no torch.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from npc_brain.nrm.constraints import TraceConstraint, Vocab
from npc_brain.nrm.digits import digit_kinds, next_place, places
from npc_brain.nrm.prefix_cache import PrefixCache
from npc_brain.nrm.runtime import Runtime, as_runtime
from npc_brain.nrm.sampling import sample
from npc_brain.nrm.thought_rules import ThoughtRules
from npc_brain.nrm.tokenizer import StreamDecoder, Tokenizer


@dataclass
class GenRequest:
    prompt_ids: list[int]
    max_new_tokens: int = 160
    temperature: float = 0.0
    top_k: int = 0
    seed: int | None = None
    answer_options: list[str] | None = None
    enforce_format: bool = True
    max_steps: int = 16
    # What the thoughts may say (NPC decisions: npc_brain.npc.decision.plan_decision).
    thought_rules: ThoughtRules | None = None
    # Requests with the same key (one NPC's) share prompt prefixes (npc_brain.nrm.prefix_cache).
    prefix_key: str | None = None


@dataclass(frozen=True)
class TokenEvent:
    handle: int
    token_id: int
    text: str
    done: bool
    reason: str | None = None  # answer | max_tokens | max_len | cancelled


@dataclass
class _Seq:
    handle: int
    req: GenRequest
    constraint: TraceConstraint
    decoder: StreamDecoder
    rng: np.random.Generator | None
    pos: int = 0  # position the next fed token is written at
    feed: list[int] = field(default_factory=list)  # tokens said, to feed next forward
    place: int = 0  # digit place of the token fed last (npc_brain.nrm.digits)
    n_new: int = 0
    cancelled: bool = False


# About 6 KB of keys and values per token for the shipped model: 8,192 tokens is ~50 MB,
# the prompts of ~150 NPCs.
PREFIX_TOKENS = 8192


# A prefill group's longest prompt is at most this many times its shortest.
PREFILL_SPREAD = 1.3


def like_lengths(lengths: list[int], spread: float = PREFILL_SPREAD) -> list[tuple[int, int]]:
    """Spans (lo, hi) of sorted `lengths` whose longest is within `spread` of their shortest."""
    spans: list[tuple[int, int]] = []
    lo = 0
    for i, n in enumerate(lengths):
        if n > spread * lengths[lo]:
            spans.append((lo, i))
            lo = i
    return [*spans, (lo, len(lengths))] if lengths else []


class Engine:
    """Continuous batching over one model. Not thread-safe: drive it from one thread."""

    def __init__(
        self,
        model: Runtime | Any,
        tokenizer: Tokenizer,
        max_batch: int = 256,
        prefix_tokens: int = PREFIX_TOKENS,
        jump: bool = True,
    ) -> None:
        """`model`: a runtime (npc_brain.nrm.runtime) or a torch NRMModel; `prefix_tokens`:
        the prompt tokens the prefix cache may keep (0: none); `jump`: feed forced tokens
        together (jump-forward decoding, see _emit)."""
        self.runtime = runtime = as_runtime(model)
        cfg = runtime.cfg
        self.tok = tokenizer
        self.vocab = Vocab(tokenizer, cfg.vocab_size)
        self.max_batch = max_batch
        self.jump = jump
        self.max_len = cfg.max_seq_len
        self.cache = runtime.new_cache(min(16, max_batch))
        self._rows: list[_Seq] = []  # active, index == cache row
        self._pending: list[_Seq] = []
        self._handles = itertools.count(1)
        self._by_handle: dict[int, _Seq] = {}
        self._extra_ids = cfg.vocab_size > tokenizer.vocab_size
        self.prefixes = PrefixCache(prefix_tokens)
        self.place_limit = cfg.digit_positions  # 0: the model embeds no digit places
        self.kinds = digit_kinds(tokenizer, cfg.vocab_size) if self.place_limit else None

    @property
    def active(self) -> int:
        return len(self._rows) + len(self._pending)

    def submit(self, req: GenRequest) -> int:
        if not req.prompt_ids:
            raise ValueError("empty prompt")
        if len(req.prompt_ids) >= self.max_len:
            raise ValueError(
                f"prompt is {len(req.prompt_ids)} tokens; the model's limit is {self.max_len - 1}"
            )
        rng = None
        if req.temperature > 0:
            rng = np.random.default_rng(req.seed)
        constraint = TraceConstraint(
            self.vocab,
            req.answer_options,
            req.enforce_format,
            req.max_steps,
            req.max_new_tokens,
            rules=req.thought_rules,
        )
        if req.enforce_format and req.max_new_tokens < constraint.min_budget():
            raise ValueError(
                f"max_new_tokens={req.max_new_tokens} cannot fit a trace with these answers;"
                f" need at least {constraint.min_budget()}"
            )
        seq = _Seq(next(self._handles), req, constraint, self.tok.stream_decoder(), rng)
        self._pending.append(seq)
        self._by_handle[seq.handle] = seq
        return seq.handle

    def cancel(self, handle: int) -> bool:
        seq = self._by_handle.get(handle)
        if seq is None:
            return False
        seq.cancelled = True
        return True

    def step(self) -> list[TokenEvent]:
        """One decode forward for running sequences plus a prefill for newcomers."""
        events = self._drop_cancelled()
        self.runtime.busy(len(self._rows) + len(self._pending))
        if self._rows:
            events += self._decode()
        if self._pending:
            events += self._prefill()
        if not self.active:
            self.runtime.busy(0)
        return events

    def _drop_cancelled(self) -> list[TokenEvent]:
        events = []
        for seq in [s for s in self._pending if s.cancelled]:
            self._pending.remove(seq)
            events.append(self._finish(seq, "cancelled"))
        for seq in [s for s in self._rows if s.cancelled]:
            self._remove(seq)
            events.append(self._finish(seq, "cancelled"))
        return events

    def _decode(self) -> list[TokenEvent]:
        """Every running row's said tokens through one forward (right-padded): one token, or
        several where the constraint forced them (see _emit)."""
        rows = list(self._rows)
        width = max(len(s.feed) for s in rows)
        if max(s.pos for s in rows) + width > self.max_len:  # padding would pass the context
            logits = np.concatenate([self._feed(i, i + 1) for i in range(len(rows))])
        else:
            logits = self._feed(0, len(rows))
        return self._emit(rows, logits)

    def _feed(self, lo: int, hi: int) -> np.ndarray:
        """Rows lo..hi-1's said tokens through the model: the logits after each row's last."""
        rows = self._rows[lo:hi]
        lengths = np.array([len(s.feed) for s in rows], dtype=np.int64)
        ids = np.zeros((len(rows), int(lengths.max())), dtype=np.int64)
        digits = np.zeros_like(ids) if self.place_limit else None
        for i, s in enumerate(rows):
            ids[i, : lengths[i]] = s.feed
            if digits is not None:
                for j, tid in enumerate(s.feed):
                    s.place = next_place(int(self.kinds[tid]), s.place, self.place_limit)
                    digits[i, j] = s.place
        pos = np.array([s.pos for s in rows], dtype=np.int64)[:, None] + np.arange(ids.shape[1])
        logits = self.runtime.forward(self.cache, lo, ids, pos, lengths - 1, digits)
        for s in rows:
            s.pos += len(s.feed)
            s.feed = []
        return logits

    def _prefill(self) -> list[TokenEvent]:
        room = self.max_batch - len(self._rows)
        joining, self._pending = self._pending[:room], self._pending[room:]
        if not joining:
            return []
        start = len(self._rows)
        self.cache.ensure(start + len(joining))
        reuse = self._reuse(joining)
        # Whole prompts first, shortest first, in groups of like length (padding to the
        # longest of a group is wasted work); then those continuing a kept prefix (a runtime
        # may run those row by row). One forward per group.
        order = sorted(
            range(len(joining)), key=lambda i: (reuse[i][0] > 0, len(joining[i].req.prompt_ids))
        )
        joining, reuse = [joining[i] for i in order], [reuse[i] for i in order]
        whole = sum(1 for n, _ in reuse if n == 0)
        spans = like_lengths([len(s.req.prompt_ids) for s in joining[:whole]])
        logits = [
            self._prefill_rows(start + lo, joining[lo:hi], reuse[lo:hi])
            for lo, hi in (*spans, (whole, len(joining)))
            if lo < hi
        ]
        self._rows.extend(joining)
        return self._emit(joining, np.concatenate(logits))

    def _reuse(self, joining: list[_Seq]) -> list[tuple[int, Any]]:
        """Each newcomer's kept prefix (0, None: none), for as many rows as the runtime
        continues well in one step (ONNX Runtime runs them one by one)."""
        room = self.runtime.continued_rows or len(joining)
        reuse = []
        for s in joining:
            found = self.prefixes.shared(s.req.prefix_key, s.req.prompt_ids) if room else (0, None)
            room -= found[0] > 0
            reuse.append(found)
        return reuse

    def _prefill_rows(self, start: int, seqs: list[_Seq], reuse: list[tuple[int, Any]]) -> Any:
        """Prompts into rows start..: each past its reused prefix, right-padded."""
        for i, (n, saved) in enumerate(reuse):
            if n:
                self.cache.load(start + i, saved, n)
        shared = np.array([n for n, _ in reuse], dtype=np.int64)
        lengths = np.array([len(s.req.prompt_ids) for s in seqs], dtype=np.int64) - shared
        ids = np.zeros((len(seqs), int(lengths.max())), dtype=np.int64)
        digits = np.zeros_like(ids) if self.place_limit else None
        for i, s in enumerate(seqs):
            ids[i, : lengths[i]] = s.req.prompt_ids[shared[i] :]
            s.pos = len(s.req.prompt_ids)
            if digits is not None:
                placed = places(self.kinds, s.req.prompt_ids, self.place_limit)
                digits[i, : lengths[i]] = placed[shared[i] :]
                s.place = int(placed[-1])
        # Padding that would run past the context stays at its last position (never read).
        pos = np.minimum(shared[:, None] + np.arange(ids.shape[1]), self.max_len - 1)
        return self.runtime.forward(self.cache, start, ids, pos, lengths - 1, digits)

    def _emit(self, seqs: list[_Seq], logits: np.ndarray) -> list[TokenEvent]:
        """Each row's chosen token, then, jumping forward, every token the constraint
        forces after it (the rest of a line once its words are settled): they are said
        now and fed together next step, so a forced token costs no forward of its own."""
        tokens = self._choose(seqs, logits)
        events = []
        for s, tid in zip(seqs, tokens, strict=True):
            while True:
                event = self._say(s, tid)
                events.append(event)
                forced = None if event.done or not self.jump else s.constraint.forced()
                if forced is None:
                    break
                tid = forced
        return events

    def _say(self, s: _Seq, tid: int) -> TokenEvent:
        s.constraint.advance(tid)
        s.feed.append(tid)
        s.n_new += 1
        text = s.decoder.feed(tid)
        reason = self._stop_reason(s, tid)
        if reason is not None:
            self._remove(s)
            text += s.decoder.flush()
            self._by_handle.pop(s.handle, None)
        return TokenEvent(s.handle, tid, text, reason is not None, reason)

    def _stop_reason(self, s: _Seq, tid: int) -> str | None:
        if tid == self.vocab.ans_end or s.constraint.state == "done":
            return "answer"
        if s.n_new >= s.req.max_new_tokens:
            return "max_tokens"
        if s.pos + len(s.feed) > self.max_len:  # the token said last would not fit
            return "max_len"
        return None

    def _choose(self, seqs: list[_Seq], logits: np.ndarray) -> list[int]:
        masks = [s.constraint.allowed() for s in seqs]
        if any(m is not None for m in masks) or self._extra_ids:
            valid = self.vocab.valid
            allowed = np.stack([valid if m is None else m for m in masks])
            logits = np.where(allowed, logits, np.float32(-np.inf))
        tokens = logits.argmax(-1).tolist()
        for i, s in enumerate(seqs):
            if s.rng is not None:
                tokens[i] = sample(logits[i], s.req.temperature, s.req.top_k, s.rng)
        return tokens

    def _remove(self, seq: _Seq) -> None:
        row = self._rows.index(seq)
        key, prompt = seq.req.prefix_key, seq.req.prompt_ids
        if self.prefixes.wants(key):
            self.prefixes.keep(key, prompt, self.cache.save(row, len(prompt)))
        last = len(self._rows) - 1
        if row != last:
            moved = self._rows[last]
            self.cache.move(last, row, moved.pos + 1)
            self._rows[row] = moved
        self._rows.pop()

    def _finish(self, seq: _Seq, reason: str) -> TokenEvent:
        self._by_handle.pop(seq.handle, None)
        return TokenEvent(seq.handle, -1, seq.decoder.flush(), True, reason)

    def run(self, req: GenRequest) -> tuple[list[int], str | None]:
        """Generate one request to completion (convenience for tools and tests)."""
        handle = self.submit(req)
        out: list[int] = []
        while True:
            for ev in self.step():
                if ev.handle != handle:
                    continue
                if ev.token_id >= 0:
                    out.append(ev.token_id)
                if ev.done:
                    return out, ev.reason
