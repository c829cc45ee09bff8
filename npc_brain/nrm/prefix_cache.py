"""Prompt prefixes kept per key: an NPC that thinks again mostly sends the same prompt.

When a sequence with a key leaves the engine, its prompt's keys and values are copied out
of its cache row and kept under the key (one entry per key, least recently used dropped
first). A later request with the same key copies back the part of its prompt that begins
like the kept one and prefills only the rest. Reuse is decided by comparing tokens, never
by the key alone, so a key shared by mistake costs speed, not correctness.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MIN_SHARED = 8  # a shorter shared start is not worth the copy


@dataclass
class _Entry:
    ids: list[int]
    saved: Any  # the cache's copy of these tokens' keys and values


class PrefixCache:
    """Kept prompts by key, at most `max_tokens` prompt tokens in all (0: keep none)."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._tokens = 0
        self.reused = 0  # prompt tokens copied from kept prefixes
        self.computed = 0  # prompt tokens prefilled

    def __len__(self) -> int:
        return len(self._entries)

    def wants(self, key: str | None) -> bool:
        return key is not None and self.max_tokens > 0

    def shared(self, key: str | None, ids: list[int]) -> tuple[int, Any]:
        """How many leading tokens of `ids` the key's kept prompt holds (never the last,
        whose logits the prefill must compute), and the kept keys and values."""
        entry = self._entries.get(key) if key is not None else None
        n = _common_prefix(entry.ids, ids, len(ids) - 1) if entry is not None else 0
        if n < MIN_SHARED:
            self.computed += len(ids)
            return 0, None
        self._entries.move_to_end(key)
        self.reused, self.computed = self.reused + n, self.computed + len(ids) - n
        return n, entry.saved

    def keep(self, key: str, ids: list[int], saved: Any) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._tokens -= len(old.ids)
        if len(ids) > self.max_tokens:
            return
        self._entries[key] = _Entry(ids, saved)
        self._tokens += len(ids)
        while self._tokens > self.max_tokens:
            _, gone = self._entries.popitem(last=False)
            self._tokens -= len(gone.ids)


def _common_prefix(a: list[int], b: list[int], limit: int) -> int:
    n = min(len(a), len(b), limit)
    return next((i for i in range(n) if a[i] != b[i]), n)
