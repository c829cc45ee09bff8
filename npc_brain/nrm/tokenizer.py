"""Tokenizer: control tags, one token per digit, whole common words, byte fallback.

Text is first cut into chunks (a tag, a word with its leading space, a digit with its
leading space, one punctuation mark, one whitespace character). A chunk in the vocabulary
is one token; any other chunk becomes its UTF-8 bytes, each a token. Since every byte has
a token, nothing is ever unknown and `decode(encode(s)) == s` for every string.
"""

from __future__ import annotations

import codecs
import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

SPECIALS = ("<pad>", "<INST>", "</INST>", "<THINK>", "</THINK>", "<STEP>", "<ANS>", "</ANS>")
PAD_ID = 0
ANS_END_ID = SPECIALS.index("</ANS>")  # ends every completion (the specials' ids are fixed)
N_BYTES = 256
_TAGS = "|".join(re.escape(t) for t in SPECIALS[1:])
# Words may contain underscores (verbs like call_for_help); digits never merge.
_CHUNK = re.compile(r" ?[A-Za-z]+(?:_[A-Za-z]+)*| ?\d| ?[^\sA-Za-z\d]|\s")
_TAG_SPLIT = re.compile(f"({_TAGS})")


def chunks(text: str) -> list[str]:
    """Cut plain text (no tags) into vocabulary candidates."""
    return _CHUNK.findall(text)


class Tokenizer:
    """ids: specials first, then the 256 bytes, then whole chunks (words, ' 7', ' =')."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = list(pieces)
        self.byte_offset = len(SPECIALS)
        self.piece_offset = self.byte_offset + N_BYTES
        self._piece_ids = {p: self.piece_offset + i for i, p in enumerate(self.pieces)}
        self._special_ids = {t: i for i, t in enumerate(SPECIALS)}
        self._bytes = [t.encode() for t in SPECIALS]
        self._bytes += [bytes([b]) for b in range(N_BYTES)]
        self._bytes += [p.encode() for p in self.pieces]

    @property
    def vocab_size(self) -> int:
        return len(self._bytes)

    def special_id(self, tag: str) -> int:
        return self._special_ids[tag]

    @property
    def special_ids(self) -> set[int]:
        return set(self._special_ids.values())

    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """Tags become control tokens only with allow_special (never for user text)."""
        if not allow_special:
            return self._encode_plain(text)
        ids: list[int] = []
        for part in _TAG_SPLIT.split(text):
            if part in self._special_ids:
                ids.append(self._special_ids[part])
            elif part:
                ids.extend(self._encode_plain(part))
        return ids

    def _encode_plain(self, text: str) -> list[int]:
        ids: list[int] = []
        for chunk in chunks(text):
            pid = self._piece_ids.get(chunk)
            if pid is not None:
                ids.append(pid)
            else:
                ids.extend(self.byte_offset + b for b in chunk.encode())
        return ids

    def token_bytes(self, token_id: int) -> bytes:
        return self._bytes[token_id]

    def decode(self, ids: Iterable[int]) -> str:
        data = b"".join(self._bytes[i] for i in ids if i != PAD_ID)
        return data.decode("utf-8", errors="replace")

    def stream_decoder(self) -> StreamDecoder:
        return StreamDecoder(self)

    def save(self, path: str | Path) -> None:
        doc = {"format": "npc-brain-tokenizer/1", "specials": list(SPECIALS), "pieces": self.pieces}
        Path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        doc = json.loads(Path(path).read_text())
        if tuple(doc.get("specials", ())) != SPECIALS:
            raise ValueError(f"{path}: control tokens differ from this version's {SPECIALS}")
        return cls(doc["pieces"])

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 1024, min_count: int = 8) -> Tokenizer:
        """Keep the most frequent multi-character chunks that fit in vocab_size."""
        counts: Counter[str] = Counter()
        for text in texts:
            for part in _TAG_SPLIT.split(text):
                if part not in SPECIALS:
                    counts.update(c for c in chunks(part) if len(c.encode()) > 1)
        room = vocab_size - len(SPECIALS) - N_BYTES
        ranked = sorted(
            (c for c, n in counts.items() if n >= min_count), key=lambda c: (-counts[c], c)
        )
        return cls(ranked[:room])


class StreamDecoder:
    """Turns token ids into text as they arrive, holding back split UTF-8 sequences."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tok = tokenizer
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, token_id: int) -> str:
        return self._dec.decode(self._tok.token_bytes(token_id))

    def flush(self) -> str:
        return self._dec.decode(b"", final=True)
