"""Digit positions: each digit token's place in its number (1 = first digit, 0 = no digit).

A model whose config has `digit_positions > 0` adds a learned embedding of this place to
every token (the "Abacus" embeddings of McLeish et al., 2024): copying or aligning the k-th
digit of a number then matches on the place itself, not on a distance in the text, which
is what lets column working trained on 1-4 digit numbers run on longer ones. Training
shifts every number of a sequence by one random offset, so the embeddings of places
beyond the trained lengths are learnt too; decoding uses no offset.

A digit token is a bare digit byte ("7") or a piece " 7"; the piece always starts a new
number, a bare digit continues the number the previous token belongs to.
"""

from __future__ import annotations

import numpy as np

from npc_brain.nrm.tokenizer import Tokenizer

NOT_DIGIT, DIGIT, SPACED_DIGIT = 0, 1, 2


def digit_kinds(tok: Tokenizer, vocab_size: int | None = None) -> np.ndarray:
    """Each token id's kind: NOT_DIGIT, DIGIT (a bare digit) or SPACED_DIGIT (" 7")."""
    kinds = np.zeros(vocab_size or tok.vocab_size, dtype=np.int64)
    for i in range(tok.vocab_size):
        raw = tok.token_bytes(i)
        if len(raw) == 1 and raw.isdigit():
            kinds[i] = DIGIT
        elif len(raw) == 2 and raw[:1] == b" " and raw[1:].isdigit():
            kinds[i] = SPACED_DIGIT
    return kinds


def next_place(kind: int, prev: int, limit: int) -> int:
    """The place of a token of `kind` after a token at place `prev` (capped at `limit`)."""
    if kind == NOT_DIGIT:
        return 0
    if kind == SPACED_DIGIT or prev == 0:
        return 1
    return min(prev + 1, limit)


def places(kinds: np.ndarray, ids: list[int] | np.ndarray, limit: int) -> np.ndarray:
    """The place of every token of one sequence from its start."""
    out = np.zeros(len(ids), dtype=np.int64)
    prev = 0
    for i, tid in enumerate(ids):
        prev = out[i] = next_place(int(kinds[tid]), prev, limit)
    return out
