"""Grammar constraints for decoding: the THINK/STEP/ANS skeleton, the answer trie, and
`ThoughtRules`, which keep every thought true to the request.

A `TraceConstraint` follows one sequence's generated tokens and says which token ids may
come next, so the output always parses and the answer is exactly one allowed option.

With `ThoughtRules` (NPC decisions), a thought is one of the request's own lines, whole and
said once (npc_brain.npc.decision takes them from the teacher's sayings that hold for the state),
or a closing thought, "so I" + a closing phrase ("so I attack the wolf"); the answer is then
the option that phrase names, so the thought the player sees and the decision the game gets
cannot disagree. The model is generic here: the NPC domain decides what the lines are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from npc_brain.nrm.thought_rules import ThoughtRules
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
        self.valid = np.zeros(self.size, dtype=bool)
        self.valid[: tok.vocab_size] = True
        plain = self.valid.copy()
        plain[list(tok.special_ids)] = False
        # Control characters other than the newline never belong in thoughts or answers
        # (they would reach the game's text and its JSON).
        controls = [tok.byte_offset + b for b in (*range(0x20), 0x7F) if b != 0x0A]
        plain[controls] = False
        self.plain = plain  # any text token that is not a control tag
        self.plain_no_newline = plain_no_nl = plain.copy()
        plain_no_nl[self.newline] = False
        # Free answers: text on one line, closed by </ANS>.
        self.free_answer = self.plain_no_newline.copy()
        self.free_answer[self.ans_end] = True
        self._single: dict[int, np.ndarray] = {}
        self._forcing: dict[int, int] = {}  # id of a one-token mask -> that token

    def only(self, *ids: int) -> np.ndarray:
        key = ids[0] if len(ids) == 1 else None
        if key is not None and key in self._single:
            return self._single[key]
        mask = np.zeros(self.size, dtype=bool)
        mask[list(ids)] = True
        if key is not None:
            self._single[key] = mask
            self._forcing[id(mask)] = key
        return mask

    def forced(self, mask: np.ndarray | None) -> int | None:
        """The one token a mask allows, or None when it allows more (or anything)."""
        return None if mask is None else self._forcing.get(id(mask))


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
        rules: ThoughtRules | None = None,
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
        self.lines = (
            _Lines(rules, vocab, max_step_tokens) if rules is not None and options else None
        )
        if self.lines is not None:
            # A free thought also leaves room for a closing one (newline, <STEP>, "so I flee\n").
            self._close_reserve += 2 + self.lines.closing_tokens + 1
        self.closing = False  # the thought being said must be a closing one
        self.line_node: _LineNode | None = None  # where it stands among the lines
        self.path: list[_LineNode] = []
        # With the skeleton enforced we start expecting <THINK>; otherwise we only watch
        # for <ANS> to begin constraining the answer.
        self.state = "start" if enforce_format else "free"
        self._node_masks: dict[int, np.ndarray] = {}
        self.line_decision: list[str] | None = None  # what the last finished line decided

    def allowed(self) -> np.ndarray | None:
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
            if self.lines is not None:
                return self._line_start_mask()
            if self.n_steps >= self.max_steps or self.left <= self._close_reserve:
                return v.only(v.think_end)
            return v.only(v.step, v.think_end)
        if s in ("step_first", "step"):
            if self.lines is not None:
                return self.lines.mask(self.line_node, self.closing)
            if self.left <= self._close_reserve or self.step_tokens >= self.max_step_tokens:
                return v.only(v.newline)
            return v.plain_no_newline if s == "step_first" else v.plain
        if s == "before_ans":
            return v.only(v.ans)
        if s == "ans":
            return self._answer_mask()
        return v.only(v.ans_end)

    def forced(self) -> int | None:
        """The one token that may come next, if only one may."""
        return self.v.forced(self.allowed())

    def _line_start_mask(self) -> np.ndarray:
        """With rules the last thought says what the NPC does ("so I flee"): until one has,
        another thought follows (a closing one when no other fits); once one has, the
        thinking ends, so a decision is said once and last."""
        v = self.v
        return v.only(v.step) if self.line_decision is None else v.only(v.think_end)

    def _closing_due(self) -> bool:
        """The thought just begun is the last there is room for, so it is a closing one."""
        assert self.lines is not None
        room = self._close_reserve + self.lines.longest_free + 2
        return self.n_steps >= self.max_steps or self.left <= room

    def _answer_mask(self) -> np.ndarray:
        if self.trie is None:
            return self.v.only(self.v.ans_end) if self.left <= 1 else self.v.free_answer
        assert self.node is not None
        return self._trie_mask(self.node, self.v.ans_end)

    def _trie_mask(self, node: TrieNode, end: int) -> np.ndarray:
        """The children of `node`, and `end` where it is terminal."""
        cached = self._node_masks.get(id(node))
        if cached is None:
            ids = list(node.children) + ([end] if node.terminal else [])
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
                self.line_decision = None
                self.n_steps += 1
                self.step_tokens = 0
                self.state = "step_first"
                if self.lines is not None:
                    self.closing = self._closing_due()
                    self.line_node, self.path = self.lines.root, []
            else:
                self.state = "think_end_nl"
                if self.line_decision:  # the answer commits to what the thoughts decided
                    self.trie = self.node = build_trie(v.tok, self.line_decision)
        elif s in ("step_first", "step"):
            if tid != v.newline:
                self.state = "step"
                if self.line_node is not None:
                    self.line_node = self.line_node.children.get(tid)
                    self.path += [self.line_node] if self.line_node is not None else []
            else:
                self.state = "line_start"
                if self.lines is not None and self.line_node is not None:
                    self.line_decision = self.lines.said(self.path)
        elif s == "think_end_nl":
            self.state = "before_ans"
        elif s == "before_ans":
            self.state = "ans"
        elif s == "ans":
            self._advance_answer(tid)

    def min_budget(self) -> int:
        """Smallest token limit that fits "<THINK>\n<STEP> x\n" and the answer; with rules,
        "<THINK>\n<STEP>" and a closing thought ("so I flee\n") and the answer."""
        if self.lines is None:
            return 4 + self._close_reserve
        # The reserve holds the closing thought and the answer, plus the newline and <STEP>
        # a free thought would spend to reach it: here <THINK>, "\n", <STEP> come first.
        return 3 + self._close_reserve - 2

    def finished(self) -> bool:
        return self.state == "done"

    def _advance_answer(self, tid: int) -> None:
        if tid == self.v.ans_end:
            self.state = "done"
        elif self.node is not None:
            self.node = self.node.children.get(tid)
            if self.node is None:  # only reachable when sampling ignored the mask
                self.state = "done"


class _LineNode:
    """A token trie node over a request's lines: which lines pass through it (bits)."""

    __slots__ = ("below", "children", "end")

    def __init__(self) -> None:
        self.children: dict[int, _LineNode] = {}
        self.below = 0  # bit i: line i passes through or ends here
        self.end = -1  # the line that ends here, if one does


class _Lines:
    """ThoughtRules as one token trie: the request's lines, each said at most once, and its
    closing thoughts, spelled as the tokenizer spells them (as the model was trained).

    Each line leads to some answers; once lines are said, only lines and closing thoughts
    that still share an answer with all of them may follow, so a trace's thoughts lead to
    its decision ("could use some cheer" is followed by "so I play", not "so I talk")."""

    def __init__(self, rules: ThoughtRules, vocab: Vocab, max_step_tokens: int) -> None:
        self.v = vocab
        self.root = _LineNode()
        self.closing_tokens = 0
        self.longest_free = 0
        self.leads: list[frozenset[str]] = []  # per line: its answers (closing: its decision)
        self.decisions: list[list[str] | None] = []  # per line: what a closing one decides
        closings = {f" so I{p}": opts for p, opts in rules.decisions.items()}
        every = frozenset(o for opts in rules.decisions.values() for o in opts)
        for line, answers in rules.leads.items():
            ids = vocab.tok.encode(f" {line}", allow_special=False)
            if len(ids) < max_step_tokens:  # a line that would not fit a thought is never begun
                self._add(ids, None, frozenset(answers))
        for text, opts in closings.items():
            self._add(vocab.tok.encode(text, allow_special=False), opts, frozenset(opts))
        self.closing_bits = sum(1 << i for i, d in enumerate(self.decisions) if d is not None)
        self.said_bits = 0
        self.open = every  # the answers every line said so far leads to
        self._sayable = self._compute_sayable()

    def _add(self, ids: list[int], decision: list[str] | None, leads: frozenset[str]) -> None:
        bit = 1 << len(self.leads)
        node = self.root
        for tid in ids:
            node = node.children.setdefault(tid, _LineNode())
            node.below |= bit
        node.end = len(self.leads)
        self.leads.append(leads)
        self.decisions.append(decision)
        if decision is None:
            self.longest_free = max(self.longest_free, len(ids))
        else:
            self.closing_tokens = max(self.closing_tokens, len(ids))

    def _compute_sayable(self) -> int:
        """Lines not yet said that share an answer with every line said so far."""
        return sum(
            1 << i
            for i, leads in enumerate(self.leads)
            if not (self.said_bits >> i) & 1 and leads & self.open
        )

    def mask(self, node: _LineNode | None, closing: bool) -> np.ndarray:
        """Tokens on the way to a sayable line or closing one (only a closing one when
        `closing`); the newline only where such a line is whole."""
        v = self.v
        if node is None:  # only when sampling ignored the mask: end the thought
            return v.only(v.newline)
        ok = self._sayable & self.closing_bits if closing else self._sayable
        ids = [t for t, c in node.children.items() if c.below & ok]
        whole = node.end >= 0 and (ok >> node.end) & 1
        return v.only(*ids, *([v.newline] if whole else []))

    def said(self, path: list[_LineNode]) -> list[str] | None:
        """A finished line (its nodes from the root's child on): a plain one cannot be said
        again and narrows the answers ahead; a closing one returns what it decides."""
        if not path or path[-1].end < 0:
            return None
        line = path[-1].end
        decision = self.decisions[line]
        if decision is not None:
            return [o for o in decision if o in self.open] or decision
        self.said_bits |= 1 << line
        self.open = self.open & self.leads[line] or self.open
        self._sayable = self._compute_sayable()
        return None


def _depth(node: TrieNode) -> int:
    return 1 + max((_depth(c) for c in node.children.values()), default=-1)
