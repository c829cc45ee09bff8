from hypothesis import given, settings
from hypothesis import strategies as st

from npc_brain.nrm.trace import (
    Answer,
    Step,
    TraceError,
    TraceParser,
    format_completion,
    parse_trace,
)

GOOD = format_completion(["wolf is close", "I am brave"], "attack wolf")


def feed_in_pieces(text: str, size: int) -> list:
    p = TraceParser()
    events = []
    for i in range(0, len(text), size):
        events += p.feed(text[i : i + size])
    return events + p.finish()


def test_steps_are_emitted_when_their_line_ends() -> None:
    p = TraceParser()
    assert p.feed("<THINK>\n<STEP> wolf is cl") == []
    assert p.feed("ose") == []
    assert p.feed("\n") == [Step(0, "wolf is close")]
    assert p.feed("<STEP> I am brave\n</THINK>\n<ANS>attack") == [Step(1, "I am brave")]
    assert p.feed(" wolf</ANS>") == [Answer("attack wolf", ("wolf is close", "I am brave"))]
    assert p.finish() == []


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=20))
def test_same_events_for_any_chunking(size: int) -> None:
    events = feed_in_pieces(GOOD, size)
    assert [e for e in events if isinstance(e, Step)] == [
        Step(0, "wolf is close"),
        Step(1, "I am brave"),
    ]
    assert isinstance(events[-1], Answer) and events[-1].text == "attack wolf"


def test_truncated_stream_reports_error() -> None:
    for cut in (0, 5, 20, len(GOOD) - 3):
        result = parse_trace(GOOD[:cut])
        assert isinstance(result, TraceError), cut


def test_missing_think_and_bad_lines() -> None:
    assert parse_trace("<ANS>x</ANS>").code == "no_think"
    assert parse_trace("<THINK>\nhello\n</THINK>\n<ANS>x</ANS>").code == "bad_line"


def test_runaway_length_is_an_error() -> None:
    p = TraceParser(max_chars=100)
    events = p.feed("<THINK>\n<STEP> " + "blah " * 50)
    assert isinstance(events[-1], TraceError) and events[-1].code == "too_long"
    assert p.feed("more\n") == []


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_garbage_never_raises(text: str) -> None:
    result = parse_trace(text)
    assert isinstance(result, Answer | TraceError)


def test_full_trace_with_inst() -> None:
    result = parse_trace("<INST>What is 2 + 2?</INST>\n" + format_completion(["2 + 2 = 4"], "4"))
    assert result == Answer("4", ("2 + 2 = 4",))
