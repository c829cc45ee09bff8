"""The reasoning trace format and a streaming parser that turns text into thoughts.

A trace is::

    <INST>prompt</INST>
    <THINK>
    <STEP> first thought
    </THINK>
    <ANS>answer</ANS>

`TraceParser` is fed generated text piece by piece and emits a `Step` the moment a STEP
line ends (its newline arrives), and an `Answer` at `</ANS>`. Malformed output ends in a
`TraceError`; it never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from npc_brain.nrm.tokenizer import Tokenizer

INST, INST_END = "<INST>", "</INST>"
THINK, THINK_END = "<THINK>", "</THINK>"
STEP = "<STEP>"
ANS, ANS_END = "<ANS>", "</ANS>"


def format_prompt(prompt: str) -> str:
    """The part the model is conditioned on."""
    return f"{INST}{prompt}{INST_END}\n"


def prompt_ids(tok: Tokenizer, body: str) -> list[int]:
    """Ids of `format_prompt(body)`; the body is plain text, so tags inside it stay text."""
    return [
        tok.special_id(INST),
        *tok.encode(body, allow_special=False),
        *tok.encode(INST_END + "\n"),
    ]


def format_completion(steps: list[str], answer: str) -> str:
    lines = "".join(f"{STEP} {s}\n" for s in steps)
    return f"{THINK}\n{lines}{THINK_END}\n{ANS}{answer}{ANS_END}"


def format_trace(prompt: str, steps: list[str], answer: str) -> str:
    return format_prompt(prompt) + format_completion(steps, answer)


@dataclass(frozen=True)
class Step:
    index: int
    text: str


@dataclass(frozen=True)
class Answer:
    text: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class TraceError:
    code: str  # no_think | bad_line | unclosed_answer | too_long | trailing
    message: str


TraceEvent = Step | Answer | TraceError


class TraceParser:
    """Incremental parser for the completion (everything after `</INST>`)."""

    def __init__(self, max_chars: int = 4000) -> None:
        self.max_chars = max_chars
        self.steps: list[str] = []
        self._buf = ""
        self._seen = 0
        self._state = "start"  # start -> think -> after_think -> ans -> done/failed
        self.done = False
        self.result: Answer | TraceError | None = None

    def feed(self, text: str) -> list[TraceEvent]:
        if self.done:
            return []
        self._seen += len(text)
        self._buf += text
        events = self._drain()
        if not self.done and self._seen > self.max_chars:
            events.append(self._fail("too_long", f"trace exceeded {self.max_chars} characters"))
        return events

    def finish(self) -> list[TraceEvent]:
        """Call when generation stops; reports what was left unfinished."""
        if self.done:
            return []
        where = {"start": "no <THINK> block", "think": "unclosed <THINK> block"}
        msg = where.get(self._state, "answer not closed with </ANS>")
        code = "no_think" if self._state == "start" else "unclosed_answer"
        return [self._fail(code, f"generation stopped early: {msg}")]

    def _fail(self, code: str, message: str) -> TraceError:
        self.done = True
        self.result = TraceError(code, message)
        return self.result

    def _drain(self) -> list[TraceEvent]:
        events: list[TraceEvent] = []
        while not self.done:
            event = self._advance()
            if event is None:
                break
            if event is not True:
                events.append(event)
        return events

    def _advance(self) -> TraceEvent | bool | None:
        """Consume one unit from the buffer; None means "need more text"."""
        if self._state == "start":
            return self._expect_tag(THINK, "think", "no_think")
        if self._state == "after_think":
            return self._expect_tag(ANS, "ans", "bad_line")
        if self._state == "think":
            return self._think_line()
        return self._answer()

    def _expect_tag(self, tag: str, next_state: str, code: str) -> TraceError | bool | None:
        stripped = self._buf.lstrip("\n ")
        if len(stripped) < len(tag):
            if tag.startswith(stripped):
                return None
            return self._fail(code, f"expected {tag}, got {stripped!r}")
        if not stripped.startswith(tag):
            return self._fail(code, f"expected {tag}, got {stripped[: len(tag) + 8]!r}")
        self._buf = stripped[len(tag) :]
        self._state = next_state
        return True

    def _think_line(self) -> TraceEvent | bool | None:
        self._buf = self._buf.lstrip("\n")
        if self._buf.startswith(THINK_END):
            self._buf = self._buf[len(THINK_END) :]
            self._state = "after_think"
            return True
        if THINK_END.startswith(self._buf) or STEP.startswith(self._buf):
            return None
        if not self._buf.startswith(STEP):
            return self._fail("bad_line", f"expected {STEP} or {THINK_END}, got {self._buf[:16]!r}")
        newline = self._buf.find("\n")
        if newline < 0:
            return None
        text = self._buf[len(STEP) : newline].strip()
        self._buf = self._buf[newline + 1 :]
        self.steps.append(text)
        return Step(len(self.steps) - 1, text)

    def _answer(self) -> TraceEvent | None:
        end = self._buf.find(ANS_END)
        if end < 0:
            return None
        self.result = Answer(self._buf[:end].strip(), tuple(self.steps))
        self.done = True
        return self.result


def parse_trace(text: str) -> Answer | TraceError:
    """Parse a complete completion (or a full trace including the INST part)."""
    if INST_END in text:
        text = text.split(INST_END, 1)[1]
    parser = TraceParser(max_chars=max(4000, len(text) + 1))
    parser.feed(text)
    parser.finish()
    assert parser.result is not None
    return parser.result
