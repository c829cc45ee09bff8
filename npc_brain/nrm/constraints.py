"""Grammar constraints for decoding: the THINK/STEP/ANS skeleton and the answer trie.

A `TraceConstraint` follows one sequence's generated tokens and says which token ids may
come next, so the output always parses and the answer is exactly one allowed option.

With decision phrases (NPC decisions), a STEP that says "so I" must go on with an offered
action ("so I flee ...", never "so I attack ..." when attack is not offered), and the
answer must be one of the options that phrase commits to: the thought the player sees
and the decision the game gets cannot disagree.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import torch

from npc_brain.nrm.tokenizer import SPECIALS, Tokenizer


@dataclass
class TrieNode:
    children: dict[int, TrieNode] = field(default_factory=dict)
    terminal: bool = False


def build_trie(tok: Tokenizer, options: list[str]) -> TrieNode:
    root = TrieNode()
    for option in options:
        node = root
        for tid in tok.encode(option, allow_special=False):
            node = node.children.setdefault(tid, TrieNode())
        node.terminal = True
    return root


class Vocab:
    """Token classes shared by all constraints of one tokenizer (computed once)."""

    def __init__(self, tok: Tokenizer, size: int | None = None) -> None:
        self.tok = tok
        # The model's output size; ids the tokenizer lacks are never allowed.
        self.size = size or tok.vocab_size
        ids = {t: tok.special_id(t) for t in SPECIALS}
        self.think, self.think_end = ids["<THINK>"], ids["</THINK>"]
        self.step, self.ans, self.ans_end = ids["<STEP>"], ids["<ANS>"], ids["</ANS>"]
        self.newline = tok.encode("\n", allow_special=False)[0]
        self.valid = torch.zeros(self.size, dtype=torch.bool)
        self.valid[: tok.vocab_size] = True
        plain = self.valid.clone()
        plain[list(tok.special_ids)] = False
        self.plain = plain  # any non-control token
        self.plain_no_newline = plain_no_nl = plain.clone()
        plain_no_nl[self.newline] = False
        # Free answers: text on one line, closed by </ANS>.
        self.free_answer = self.plain_no_newline.clone()
        self.free_answer[self.ans_end] = True
        self._single: dict[int, torch.Tensor] = {}
        # Every token's text, and those of plain tokens that may continue a line (phrases).
        self.texts = [tok.decode([i]) for i in range(tok.vocab_size)]
        self.line_texts = [(i, self.texts[i]) for i in range(tok.vocab_size) if plain_no_nl[i]]
        # Tokens that may end a finished phrase, and per (typed so far, phrase) the tokens
        # that go on spelling it; both shared by every request of this vocabulary.
        self._phrase_end = self.only(
            self.newline, *(i for i, t in self.line_texts if t[:1] in " ,")
        )
        self._spelling: dict[tuple[str, str], torch.Tensor] = {}

    def phrase_mask(self, pending: str, targets: Collection[str]) -> torch.Tensor:
        """Tokens that keep `pending` on the way to one of `targets` (" flee", " call for
        help", ...), or, once it is one, a token that ends the phrase (space, comma, newline)."""
        mask = self._phrase_end.clone() if pending in targets else torch.zeros_like(self.valid)
        for target in targets:
            if target.startswith(pending):
                mask |= self._spells(pending, target)
        return mask

    def _spells(self, pending: str, target: str) -> torch.Tensor:
        key = (pending, target)
        mask = self._spelling.get(key)
        if mask is None:
            ids = [i for i, t in self.line_texts if target.startswith(pending + t)]
            mask = self._spelling[key] = self.only(*ids) if ids else torch.zeros_like(self.valid)
        return mask

    def only(self, *ids: int) -> torch.Tensor:
        key = ids[0] if len(ids) == 1 else None
        if key is not None and key in self._single:
            return self._single[key]
        mask = torch.zeros(self.size, dtype=torch.bool)
        mask[list(ids)] = True
        if key is not None:
            self._single[key] = mask
        return mask


class TraceConstraint:
    """State machine over a completion.

    Grammar: <THINK>\\n (<STEP> text\\n){1..max_steps} </THINK>\\n <ANS>option</ANS>
    """

    def __init__(
        self,
        vocab: Vocab,
        options: list[str] | None,
        enforce_format: bool = True,
        max_steps: int = 8,
        budget: int = 1 << 30,
        max_step_tokens: int = 48,
        free_answer_tokens: int = 24,
        decisions: dict[str, list[str]] | None = None,
    ) -> None:
        self.v = vocab
        self.enforce = enforce_format
        self.max_steps = max_steps
        self.max_step_tokens = max_step_tokens
        self.trie = build_trie(vocab.tok, options) if options else None
        self.node = self.trie
        self.n_steps = 0
        self.step_tokens = 0
        # Tokens left before the caller's limit. The skeleton closes early enough that the
        # answer always fits: "\n </THINK> \n <ANS>" + longest answer + "</ANS>".
        self.left = budget
        longest = _depth(self.trie) if self.trie is not None else free_answer_tokens
        self.free_answer_tokens = free_answer_tokens
        self._close_reserve = 4 + longest + 1
        # With the skeleton enforced we start expecting <THINK>; otherwise we only watch
        # for <ANS> to begin constraining the answer.
        self.state = "start" if enforce_format else "free"
        self._node_masks: dict[int, torch.Tensor] = {}
        # Decision phrases: " words" -> options; `line` is the current STEP's text and
        # `phrase` the text since its last "so I" (None when not inside a decision).
        self.decisions = {f" {k}": v for k, v in (decisions or {}).items()} if options else {}
        self.line = ""
        self.phrase: str | None = None
        self.decided: list[str] | None = None

    def allowed(self) -> torch.Tensor | None:
        """Boolean mask over the vocabulary, or None when anything may follow."""
        v, s = self.v, self.state
        if s == "free":
            return None
        if s == "start":
            return v.only(v.think)
        if s in ("think_nl", "think_end_nl"):
            return v.only(v.newline)
        if s == "line_start":
            if self.n_steps == 0:
                return v.only(v.step)
            if self.n_steps >= self.max_steps or self.left <= self._close_reserve:
                return v.only(v.think_end)
            return v.only(v.step, v.think_end)
        if s in ("step_first", "step"):
            must_close = (
                self.left <= self._close_reserve or self.step_tokens >= self.max_step_tokens
            )
            if must_close:
                return v.only(v.newline)
            if self.phrase is not None:
                return v.phrase_mask(self.phrase, self.decisions)
            return v.plain_no_newline if s == "step_first" else v.plain
        if s == "before_ans":
            return v.only(v.ans)
        if s == "ans":
            return self._answer_mask()
        return v.only(v.ans_end)

    def _answer_mask(self) -> torch.Tensor:
        if self.trie is None:
            return self.v.only(self.v.ans_end) if self.left <= 1 else self.v.free_answer
        node = self.node
        assert node is not None
        cached = self._node_masks.get(id(node))
        if cached is None:
            ids = list(node.children) + ([self.v.ans_end] if node.terminal else [])
            cached = self._node_masks[id(node)] = self.v.only(*ids)
        return cached

    def advance(self, tid: int) -> None:
        v, s = self.v, self.state
        self.left -= 1
        self.step_tokens += 1
        if s == "free":
            if tid == v.ans:
                self.state = "ans"
        elif s == "start":
            self.state = "think_nl"
        elif s == "think_nl":
            self.state = "line_start"
        elif s == "line_start":
            if tid == v.step:
                self.n_steps += 1
                self.step_tokens = 0
                self.line, self.phrase = "", None
                self.state = "step_first"
            else:
                self.state = "think_end_nl"
                if self.decided:  # the answer commits to what the last decision said
                    self.trie = self.node = build_trie(v.tok, self.decided)
        elif s in ("step_first", "step"):
            self.state = "line_start" if tid == v.newline else "step"
            if self.decisions:
                self._follow_decision(v.texts[tid])
        elif s == "think_end_nl":
            self.state = "before_ans"
        elif s == "before_ans":
            self.state = "ans"
        elif s == "ans":
            self._advance_answer(tid)

    def _follow_decision(self, text: str) -> None:
        if self.phrase is not None:
            if self.phrase in self.decisions and text[:1] in (" ", ",", "\n"):
                self.decided = self.decisions[self.phrase]
                self.phrase = None
            else:
                self.phrase += text
        self.line += text
        if (" " + self.line).endswith(" so I"):
            self.phrase = ""

    def min_budget(self) -> int:
        """Smallest token limit that fits "<THINK>\n<STEP> x" plus the closing reserve."""
        return 4 + self._close_reserve

    def finished(self) -> bool:
        return self.state == "done"

    def _advance_answer(self, tid: int) -> None:
        if tid == self.v.ans_end:
            self.state = "done"
        elif self.node is not None:
            self.node = self.node.children.get(tid)
            if self.node is None:  # only reachable when sampling ignored the mask
                self.state = "done"


def _depth(node: TrieNode) -> int:
    return 1 + max((_depth(c) for c in node.children.values()), default=-1)
