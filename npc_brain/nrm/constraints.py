"""Grammar constraints for decoding: the THINK/STEP/ANS skeleton, the answer trie, and
`ThoughtRules`, which keep every thought true to the request.

A `TraceConstraint` follows one sequence's generated tokens and says which token ids may
come next, so the output always parses and the answer is exactly one allowed option.

With `ThoughtRules` (NPC decisions), thoughts can only state what the request holds:
- after "so I" the thought must end with one of the closing phrases ("so I attack the wolf"),
  and the answer must be the option that phrase names: the thought the player sees and the
  decision the game gets cannot disagree;
- after a trigger ("the", "my health is", "I am a") comes one of its fillers (a perceived
  thing's name, the NPC's own health, its role), or, with no filler, the trigger cannot be
  written at all;
- a capitalised word can only begin one of the request's names, and any number is one of
  the request's numbers.
The model is generic here: the NPC domain (npc_brain.npc.truth) decides what the rules hold.
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
    value: list[str] | None = None  # what a terminal node stands for, where it matters


def build_trie(
    tok: Tokenizer, options: list[str], values: list[list[str]] | None = None
) -> TrieNode:
    root = TrieNode()
    for i, option in enumerate(options):
        node = root
        for tid in tok.encode(option, allow_special=False):
            node = node.children.setdefault(tid, TrieNode())
        node.terminal = True
        node.value = values[i] if values is not None else None
    return root


# A thought this close to its token limit ends at the next point where nothing is half
# said, so the limit never cuts a name or number in two.
LINE_RESERVE = 12
OFF_TOPIC = {b"option", b"options", b"write", b"carry", b"column", b"digit", b"digits"}
MASK_CACHE = 4096  # (typed, target) spellings kept per vocabulary; names vary per request


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
        # Every token's bytes and text, and the plain tokens that may continue a line.
        self.raw = [tok.token_bytes(i) for i in range(tok.vocab_size)]
        self.texts = [tok.decode([i]) for i in range(tok.vocab_size)]
        self.line_raw = [(i, self.raw[i]) for i in range(tok.vocab_size) if plain_no_nl[i]]
        # Tokens that may follow a finished filler (a space, punctuation, the line's end).
        self.boundary = self.only(
            self.newline, *(i for i, b in self.line_raw if b[:1] in b" ,.!?;:'")
        )
        # Tokens that would begin a capitalised word (or a non-ASCII letter, or continue one).
        self.capital = self.only(*(i for i, b in self.line_raw if _starts_capital(b)))
        # Tokens that begin with a letter: none may follow the pronoun "I" ("Ieye").
        self.letter_start = self.only(
            *(i for i, b in self.line_raw if b[0] >= 0x80 or chr(b[0]).isalpha())
        )
        self.digits = {i: b for i, b in self.line_raw if b.strip(b" ").isdigit()}
        self.digit_mask = self.only(*self.digits)
        self.id_of = {b: i for i, b in self.line_raw}
        # Column arithmetic and talk of an action menu never belong in an NPC's thoughts.
        self.off_topic = self.only(
            *(i for i, b in self.line_raw if set(b) & set(b"=+") or b.strip() in OFF_TOPIC)
        )
        self._spelling: dict[tuple, np.ndarray] = {}
        self._word_masks: dict[tuple[frozenset[str], bytes, bool], np.ndarray] = {}
        self._word_tables: dict[frozenset[str], _WordTable] = {}

    def spell_mask(self, typed: bytes, targets: tuple[bytes, ...]) -> np.ndarray:
        """Tokens that keep `typed` on the way to one of `targets`."""
        mask = np.zeros_like(self.valid)
        for target in targets:
            if target.startswith(typed) and target != typed:
                mask |= self._spells(typed, target)
        return mask

    def _spells(self, typed: bytes, target: bytes) -> np.ndarray:
        key = (typed, target)
        mask = self._spelling.get(key)
        if mask is None:
            if len(self._spelling) >= MASK_CACHE:
                self._spelling.clear()
            # The tokens that spell a prefix of what is left: a few dict lookups, not a scan.
            rest = target[len(typed) :]
            ids = [self.id_of[rest[:k]] for k in range(1, len(rest) + 1) if rest[:k] in self.id_of]
            mask = self._spelling[key] = self.only(*ids) if ids else np.zeros_like(self.valid)
        return mask

    def word_mask(self, words: frozenset[str], word: bytes | None, whole: bool) -> np.ndarray:
        """Tokens that, typed after a line ending in the lowercase `word` (`whole`: a word
        already; None: inside a name or number), keep every lowercase word one of `words`."""
        key = (words, word, whole)
        mask = self._word_masks.get(key)
        if mask is None:
            if len(self._word_masks) >= MASK_CACHE:
                self._word_masks.clear()
            table = self._word_tables.get(words)
            if table is None:
                table = self._word_tables[words] = _WordTable(self, words)
            mask = self._word_masks[key] = table.mask(word, whole)
        return mask

    def ban_mask(self, typed: bytes, word: bytes, words: frozenset[str]) -> np.ndarray:
        """Tokens that, after `typed` (a start of `word`), would spell `word` as a whole word
        or head toward it in pieces. A piece that may begin another of `words` stays allowed
        (" a" on the way to " an" or " and"): the ban watches the next token after it."""
        key = (typed, word, words)
        mask = self._spelling.get(key)
        if mask is None:
            bare = word.strip(b" ").decode()
            others = {w[:k] for w in words if w != bare for k in range(1, len(w) + 1)}
            ids = []
            for i, b in self.line_raw:
                q = typed + b
                if q.startswith(word):
                    after = q[len(word) : len(word) + 1]
                    if not after or after[0] >= 0x80 or not chr(after[0]).isalnum():
                        ids.append(i)  # the word complete, and it ends here
                elif word.startswith(q) and q.strip(b" ") and q.strip().decode() not in others:
                    ids.append(i)
            mask = self._spelling[key] = self.only(*ids) if ids else np.zeros_like(self.valid)
        return mask

    def only(self, *ids: int) -> np.ndarray:
        key = ids[0] if len(ids) == 1 else None
        if key is not None and key in self._single:
            return self._single[key]
        mask = np.zeros(self.size, dtype=bool)
        mask[list(ids)] = True
        if key is not None:
            self._single[key] = mask
        return mask


LOWER = frozenset(b"abcdefghijklmnopqrstuvwxyz'")


class _WordTable:
    """The vocabulary's tokens grouped by the lowercase letters they begin with, for one set
    of known words: a word mask is then a few set lookups per group, not a scan per token."""

    def __init__(self, vocab: Vocab, words: frozenset[str]) -> None:
        self.words = {w.encode() for w in words}
        self.prefixes = {w[:k] for w in self.words for k in range(len(w) + 1)}
        # first letters -> ids: all letters; then a space or punctuation; then a capital/digit
        self.letters: dict[bytes, list[int]] = {}
        self.ended: dict[bytes, list[int]] = {}
        self.named: dict[bytes, list[int]] = {}
        self.size = vocab.size
        for i, b in [*vocab.line_raw, (vocab.newline, b"\n")]:
            first = bytes(_letters(b))
            rest = b[len(first) :]
            if not rest:
                self.letters.setdefault(first, []).append(i)
            elif rest[0] >= 0x80 or chr(rest[0]).isalnum():
                if _keeps_words(rest, None, False, self.words, self.prefixes):
                    self.named.setdefault(first, []).append(i)
            elif _keeps_words(rest, b"", True, self.words, self.prefixes):
                self.ended.setdefault(first, []).append(i)

    def mask(self, word: bytes | None, whole: bool) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        for first, ids in self.letters.items():
            if word is None or word + first in self.prefixes:
                mask[ids] = True
        for first, ids in self.named.items():
            if word is None or word + first in self.prefixes:
                mask[ids] = True
        ended = word is None or not word or whole or word in self.words
        for first, ids in self.ended.items():
            if (word + first in self.words) if first and word is not None else ended:
                mask[ids] = True
        return mask


def _letters(b: bytes) -> bytes:
    """The lowercase letters `b` begins with."""
    n = 0
    while n < len(b) and b[n] in LOWER:
        n += 1
    return b[:n]


def _keeps_words(
    tok: bytes, word: bytes | None, whole: bool, words: set[bytes], prefixes: set[bytes]
) -> bool:
    """Whether `tok` after a lowercase `word` (None: inside a capitalised word or a number,
    which other rules hold) leaves only known words and prefixes of known words."""
    for ch in tok:
        if ch in LOWER:
            if word is not None:
                word += bytes((ch,))
                whole = False
                if word not in prefixes:
                    return False
        elif ch >= 0x80 or chr(ch).isalnum():
            word = None  # a capital, a digit or a non-ASCII letter: names and numbers
        else:  # a space or punctuation ends the word, which must be whole
            if word and not whole and word not in words:
                return False
            word, whole = b"", False
    return True


def _starts_capital(b: bytes) -> bool:
    if b == b" I":  # the pronoun (a whole token); a bare "I" byte spells a name like "Ilo"
        return False
    s = b.lstrip(b" ")
    if not s:
        return False
    if s[0] >= 0x80:  # a UTF-8 byte: only names (copied exactly) use non-ASCII letters
        return True
    return s[:1].isupper()


class _Slot:
    """A filler being typed: what is typed so far and what it may become."""

    def __init__(self, typed: bytes, targets: tuple[bytes, ...], decision: bool) -> None:
        self.typed, self.targets, self.decision = typed, targets, decision

    @property
    def complete(self) -> bool:
        return self.typed in self.targets


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
        self.rules = _Rules(rules, vocab) if rules is not None and options else None
        if self.rules is not None:
            # A free thought also leaves room for a closing one (newline, <STEP>, "so I flee\n").
            self._close_reserve += 2 + _depth(self.rules.closing) + 1
        self.closing: TrieNode | None = None  # inside a closing thought: where it stands
        # With the skeleton enforced we start expecting <THINK>; otherwise we only watch
        # for <ANS> to begin constraining the answer.
        self.state = "start" if enforce_format else "free"
        self._node_masks: dict[int, np.ndarray] = {}
        # The current STEP's bytes (its first token carries the space after <STEP>).
        self.line = b""
        self.slot: _Slot | None = None
        self.decided: list[str] | None = None
        self.line_decision: list[str] | None = None  # what the last finished line decided
        self.entity: bytes | None = None  # the perceived thing this line last named

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
            if self.rules is not None:
                return self._line_start_mask()
            if self.n_steps >= self.max_steps or self.left <= self._close_reserve:
                return v.only(v.think_end)
            return v.only(v.step, v.think_end)
        if s in ("step_first", "step"):
            if self.closing is not None:
                return self._trie_mask(self.closing, v.newline)
            must_close = (
                self.left <= self._close_reserve or self.step_tokens >= self.max_step_tokens
            )
            if must_close:
                return v.only(v.newline)
            base = v.plain_no_newline if s == "step_first" else v.plain
            if self.rules is None:
                return base
            if self.step_tokens >= self.max_step_tokens - LINE_RESERVE and self.at_rest():
                return v.only(v.newline)  # long enough: end where nothing is half said
            mask = self.rules.mask(self, base)
            # A dead end (a number no state number continues) ends the thought instead.
            return mask if bool(mask.any()) else v.only(v.newline)
        if s == "before_ans":
            return v.only(v.ans)
        if s == "ans":
            return self._answer_mask()
        return v.only(v.ans_end)

    def _line_start_mask(self) -> np.ndarray:
        """With rules the last thought says what the NPC does ("so I flee"): until one has,
        another thought follows (a closing one when no other fits); once one has, another
        may follow only while there is room for a closing one after it too."""
        v = self.v
        if self.line_decision is None:
            return v.only(v.step)
        if self.n_steps + 1 >= self.max_steps or self.left - 1 <= self._close_reserve:
            return v.only(v.think_end)
        return v.only(v.step, v.think_end)

    def _closing_due(self) -> bool:
        """The thought just begun is the last there is room for, so it is a closing one."""
        return self.n_steps >= self.max_steps or self.left <= self._close_reserve

    def at_rest(self) -> bool:
        """The line is between words: no name or phrase half spelled, no number unfinished."""
        slot, rules = self.slot, self.rules
        if slot is not None and (not slot.complete or (rules and rules.fills_after(slot))):
            return False  # a name half spelled, or a trigger ("the") whose filler is due
        word = _trailing_word(self.line)
        if word and rules is not None and rules.words and word.decode() not in rules.words:
            return False  # a word half spelled ("some chee")
        return bool(self.line) and not self.line[-1:].isdigit()

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
                self.line, self.slot, self.entity = b"", None, None
                self.state = "step_first"
                if self.rules is not None and self._closing_due():
                    self.closing = self.rules.closing
            else:
                self.state = "think_end_nl"
                if self.decided:  # the answer commits to what the last decision said
                    self.trie = self.node = build_trie(v.tok, self.decided)
        elif s in ("step_first", "step"):
            self.state = "line_start" if tid == v.newline else "step"
            if self.closing is not None:
                self._advance_closing(tid)
            elif self.rules is not None:
                self.rules.follow(self, tid)
        elif s == "think_end_nl":
            self.state = "before_ans"
        elif s == "before_ans":
            self.state = "ans"
        elif s == "ans":
            self._advance_answer(tid)

    def _advance_closing(self, tid: int) -> None:
        node = self.closing
        assert node is not None
        if tid == self.v.newline:
            self.decided = self.line_decision = node.value
            self.closing = None
        else:  # None only when sampling ignored the mask: the line then goes on free
            self.closing = node.children.get(tid)

    def min_budget(self) -> int:
        """Smallest token limit that fits "<THINK>\n<STEP> x\n" and the answer; with rules,
        "<THINK>\n<STEP>" and a closing thought ("so I flee\n") and the answer."""
        if self.rules is None:
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


class _Rules:
    """ThoughtRules as bytes, applied to one TraceConstraint's current line."""

    def __init__(self, rules: ThoughtRules, vocab: Vocab) -> None:
        self.decisions = {p.encode(): opts for p, opts in rules.decisions.items()}
        self.phrases = tuple(self.decisions)
        self.fillers = {
            k.encode(): tuple(f.encode() for f in fs) for k, fs in rules.fillers.items()
        }
        self.decisions_trigger = b" so I"
        # The closing thought, as the tokenizer spells it ("so I attack the wolf"), for when
        # no room is left for a free one.
        said = [(self.decisions_trigger + p).decode() for p in self.decisions]
        self.closing = build_trie(vocab.tok, said, list(self.decisions.values()))
        self.names = tuple(n.encode() for n in rules.names)
        self.numbers = tuple(rules.numbers)
        self.numbers_of = {k.encode(): v for k, v in rules.numbers_of.items()}
        # Lowercase things a thought may name word by word as well as after "the" ("modith
        # is 48 m away"), longest first.
        lower = (k for k in self.numbers_of if k[1:2] and k[1] in LOWER)
        self.lower_named = tuple(sorted(lower, key=len, reverse=True))
        self.openers = tuple(o.encode() for o in rules.openers)
        self.words = rules.words
        self.state_words = tuple(w.encode() for w in rules.state_words)

        # Triggers without fillers: their last word is refused after the rest.
        def bans(text: bytes) -> list[tuple[bytes, np.ndarray]]:
            return _last_word_bans(vocab, text, rules.words)

        self.bans = [b for t, fills in self.fillers.items() if not fills for b in bans(t)]
        # Sayings untrue of a named thing, the same way, by name ("looks" + " tasty" after
        # naming a scroll).
        self.untrue_of = {
            name.encode(): [b for t in sayings for b in bans(t.encode())]
            for name, sayings in rules.untrue_of.items()
        }
        # Masks outside fillers, by (base, after a space, digits typed, banned tokens), and
        # the word masks by (the word being typed, after a space).
        self._masks: dict[tuple, np.ndarray] = {}
        self._word_masks: dict[tuple[bytes | None, bool], np.ndarray] = {}
        self._starts: dict[bool, np.ndarray] = {}

    def mask(self, c: TraceConstraint, base: np.ndarray) -> np.ndarray:
        v, slot = c.v, c.slot
        if slot is not None:
            mask = v.spell_mask(slot.typed, slot.targets)
            if slot.complete:  # what may follow the filler obeys the free-text rules too
                # A name just spelled is the thing later numbers and sayings are of.
                entity = slot.typed if slot.typed in self.numbers_of else c.entity
                free = self._free(c, base, entity, after_name=True)
                after = v.only(v.newline) if slot.decision else v.boundary & free
                fills = self.fills_after(slot)
                if fills:  # an opener spelled out as a trigger ("the"): its filler comes next
                    after = v.spell_mask(b"", fills)
                mask = mask | after
            return mask & base
        mask = self._free(c, base, self._named_at_end(c.line) or c.entity)
        if c.line or not self.openers:
            return mask
        # A thought begins with an opener word, a name or a number.
        return mask & (v.spell_mask(b"", self.openers) | v.digit_mask)

    def _named_at_end(self, line: bytes) -> bytes | None:
        """The lowercase thing the line ends by naming (a space after it allowed)."""
        end = line[:-1] if line.endswith(b" ") else line
        return next((k for k in self.lower_named if end.endswith(k)), None)

    def fills_after(self, slot: _Slot) -> tuple[bytes, ...]:
        """The fillers due after a complete opener slot that spelled a trigger ("the")."""
        if slot.decision or not slot.complete:
            return ()
        return self.fillers.get(slot.typed, ())

    def _free(
        self, c: TraceConstraint, base: np.ndarray, entity: bytes | None, after_name: bool = False
    ) -> np.ndarray:
        """The mask outside fillers: names, numbers, off-topic words and banned triggers.
        `after_name`: the line ends in a name just spelled, whose digits ("cat 4") are no
        number being typed."""
        v = c.v
        said = _last_name(c.line, self.names)
        named = after_name or (said is not None and c.line.endswith(said))
        tail = "" if named else c.line[len(c.line.rstrip(b"0123456789")) :].decode()
        bans = (*self.bans, *self.untrue_of.get(entity or b"", ()))
        banned = tuple(i for i, (head, _) in enumerate(bans) if c.line.endswith(head))
        key = (id(base), c.line.endswith(b" "), tail, banned, entity, said)
        mask = self._masks.get(key)
        if mask is None:
            names = self._name_start_mask(v, key[1], said)
            mask = base & ~v.capital & ~v.off_topic | names
            mask = self._numbers(v, mask, tail, self.numbers_of.get(entity, self.numbers))
            for i in banned:
                mask = mask & ~bans[i][1]
            self._masks[key] = mask
        if c.line.endswith(b" I") or c.line == b"I":
            mask = mask & ~v.letter_start
        return mask & self._word_mask(v, c.line) if self.words else mask

    def _word_mask(self, v: Vocab, line: bytes) -> np.ndarray:
        """Tokens that keep the thought's lowercase words known: the shared words, or toward
        one of this request's own words (names, role, place)."""
        word = _trailing_word(line)
        key = (word, line.endswith(b" "))
        mask = self._word_masks.get(key)
        if mask is None:
            mask = self._word_masks[key] = self._new_word_mask(v, line, word)
        return mask

    def _new_word_mask(self, v: Vocab, line: bytes, word: bytes | None) -> np.ndarray:
        whole = word in self.state_words
        mask = v.word_mask(self.words, word, whole)
        if word is None:
            return mask
        if word:
            going = tuple(w for w in self.state_words if w.startswith(word) and w != word)
            if going:
                mask = mask | v.spell_mask(word, going)
            if not whole and word.decode() not in self.words:
                return mask  # the word is not finished: no new one may start
        return mask | self._state_word_starts(v, bare=not word and line.endswith(b" "))

    def _state_word_starts(self, v: Vocab, bare: bool) -> np.ndarray:
        """Tokens that begin one of the request's own words (with its space unless `bare`)."""
        mask = self._starts.get(bare)
        if mask is None:
            words = self.state_words if bare else tuple(b" " + w for w in self.state_words)
            mask = self._starts[bare] = v.spell_mask(b"", words)
        return mask

    def _name_start_mask(self, v: Vocab, after_space: bool, skip: bytes | None) -> np.ndarray:
        """Tokens that begin a name: " Tom" as one token, or "T" right after a space; not
        `skip`, the name just said ("Hobb Hobb")."""
        typed = b" " if after_space else b""
        mask = np.zeros_like(v.valid)
        for name in self.names:
            if name != skip:
                mask |= v.spell_mask(typed, (name,))
        return mask

    def _numbers(
        self, v: Vocab, mask: np.ndarray, tail: str, numbers: tuple[str, ...]
    ) -> np.ndarray:
        """Digits only spell one of `numbers` (the request's, or those of the thing the
        thought has named); a number ends only when whole."""
        mask = mask.copy()
        for i, b in v.digits.items():
            d = b.strip(b" ").decode()
            starts = b[:1] == b" " or not tail
            typed = d if starts else tail + d
            mask[i] = bool(mask[i]) and any(n.startswith(typed) for n in numbers)
        if tail and tail not in numbers:  # unfinished: only more digits
            digit_ids = list(v.digits)
            keep = mask[digit_ids] & np.array([not b.startswith(b" ") for b in v.digits.values()])
            mask = np.zeros_like(mask)
            mask[digit_ids] = keep
        return mask

    def follow(self, c: TraceConstraint, tid: int) -> None:
        """Track the line after token `tid`: open, extend or close a filler."""
        b = c.v.raw[tid]
        after_space = c.line.endswith(b" ")
        if not (b and b[0] in LOWER) and (named := self._named_at_end(c.line)) is not None:
            c.entity = named  # a lowercase name just ended: later numbers are its own
        c.line += b
        slot = c.slot
        if slot is not None:
            if any(t.startswith(slot.typed + b) for t in slot.targets):
                slot.typed += b
                return
            if slot.decision and tid == c.v.newline and slot.complete:
                c.decided = c.line_decision = self.decisions[slot.typed]
            elif slot.complete and slot.typed in self.numbers_of:
                c.entity = slot.typed  # later numbers in this thought are the thing's own
            fills = self.fills_after(slot)
            c.slot = _Slot(b, fills, decision=False) if fills else None
            if fills:
                return
        if tid == c.v.newline:
            return
        if c.line == b and self.openers and b not in self.openers:
            # The first token started a longer opener or a name: spell it out exactly.
            typed = b if b.startswith(b" ") else b" " + b
            targets = tuple(o for o in self.openers if o.startswith(typed))
            if targets:
                c.slot = _Slot(typed, targets, decision=False)
                return
        # A trigger counts only when its last word came as one whole token (" the", not the
        # start of "their" spelled byte by byte).
        if self.phrases and b == b" I" and c.line.endswith(self.decisions_trigger):
            c.slot = _Slot(b"", self.phrases, decision=True)
            return
        for trigger, fills in self.fillers.items():
            if fills and trigger.endswith(b) and b[:1] == b" " and c.line.endswith(trigger):
                c.slot = _Slot(b"", fills, decision=False)
                return
        typed = b" " + b if after_space else b
        if c.v.capital[tid] and any(n.startswith(typed) for n in self.names):
            c.slot = _Slot(typed, tuple(n for n in self.names if n.startswith(typed)), False)


def _last_name(line: bytes, names: tuple[bytes, ...]) -> bytes | None:
    """The name the line ends with (a space after it allowed), if any."""
    end = line[:-1] if line.endswith(b" ") else line
    return next((n for n in names if end.endswith(n)), None)


def _trailing_word(line: bytes) -> bytes | None:
    """The lowercase word the line ends in (b"" after a space or punctuation; None inside a
    capitalised word or a number)."""
    stripped = line.rstrip(bytes(LOWER))
    word = line[len(stripped) :]
    before = stripped[-1:]
    if before and (before[0] >= 0x80 or chr(before[0]).isalnum()):
        return None
    return word


def _last_word_bans(
    vocab: Vocab, text: bytes, words: frozenset[str]
) -> list[tuple[bytes, np.ndarray]]:
    """[(what the line ends with, the tokens refused there)]: a phrase is banned by refusing
    its last word after the rest, whole or spelled in pieces."""
    head, _, last = text.rpartition(b" ")
    word = b" " + last
    return [(head + word[:k], vocab.ban_mask(word[:k], word, words)) for k in range(len(word))]


def _depth(node: TrieNode) -> int:
    return 1 + max((_depth(c) for c in node.children.values()), default=-1)
