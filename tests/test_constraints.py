"""Decision phrases: what an NPC's reasoning says it will do is an offered action, and the
answer is what it said. Driven with the bundled tokenizer and, end to end, the bundled model."""

from __future__ import annotations

import random
import re

import pytest

from npc_brain import DEFAULT_MODEL_DIR, Tokenizer, load_model
from npc_brain.npc.actions import VOCABULARY, decision_phrases, spoken
from npc_brain.nrm.constraints import TraceConstraint, Vocab
from npc_brain.nrm.trace import Answer, parse_trace
from npc_brain.workshop.data import npc
from npc_brain.workshop.evaluate import run_examples

TOK = Tokenizer.load(DEFAULT_MODEL_DIR / "tokenizer.json")
VOCAB = Vocab(TOK)
OPTIONS = ["flee", "call_for_help", "guard", "eat bread", "eat apple", "wait"]


def constraint(options: list[str] = OPTIONS) -> TraceConstraint:
    return TraceConstraint(VOCAB, options, decisions=decision_phrases(options))


def feed(c: TraceConstraint, text: str) -> None:
    """Advance through `text` as the engine would, checking every token was allowed."""
    for tid in TOK.encode(text):
        mask = c.allowed()
        assert mask is None or bool(mask[tid]), f"{TOK.decode([tid])!r} refused in {text!r}"
        c.advance(tid)


def allows(c: TraceConstraint, text: str) -> bool:
    mask = c.allowed()
    return mask is None or bool(mask[TOK.encode(text)[0]])


def answers(c: TraceConstraint) -> set[str]:
    """Every answer the constraint still allows (walks its trie)."""
    out, todo = set(), [(c.node, "")]
    while todo:
        node, text = todo.pop()
        if node.terminal:
            out.add(text)
        todo += [(child, text + TOK.decode([t])) for t, child in node.children.items()]
    return out


def test_phrases_cover_every_option_and_only_canonical_lists() -> None:
    phrases = decision_phrases(OPTIONS)
    assert phrases["call for help"] == ["call_for_help"]
    assert phrases["eat"] == ["eat bread", "eat apple"]
    assert phrases["stand guard"] == phrases["guard"] == ["guard"]
    assert decision_phrases(["yes", "no"]) == {}
    assert decision_phrases(["flee", "dance wildly"]) == {}
    assert all(spoken(v) for v in VOCABULARY)


def test_so_i_must_go_on_with_an_offered_action() -> None:
    c = constraint()
    feed(c, "<THINK>\n<STEP> hostile wolf only 4 m away\n<STEP> I am brave\n<STEP> so I")
    assert not allows(c, " attack")
    assert allows(c, " flee") and allows(c, " call") and allows(c, " eat")
    feed(c, " call")
    assert not allows(c, "\n") and not allows(c, " the")
    feed(c, " for help\n</THINK>\n<ANS>")
    assert answers(c) == {"call_for_help"}


def test_the_answer_follows_the_last_decision_with_its_target_free() -> None:
    c = constraint()
    feed(c, "<THINK>\n<STEP> so I flee, no\n<STEP> hunger 80 is high, so I eat the bread\n")
    feed(c, "</THINK>\n<ANS>")
    assert answers(c) == {"eat bread", "eat apple"}


def test_text_without_a_decision_leaves_every_option() -> None:
    c = constraint()
    feed(c, "<THINK>\n<STEP> nothing is going on, so it is quiet\n</THINK>\n<ANS>")
    assert answers(c) == set(OPTIONS)


def test_a_cut_phrase_does_not_leak_into_the_next_step() -> None:
    c = constraint()
    feed(c, "<THINK>\n<STEP> so I call")
    c.advance(VOCAB.newline)  # what a step-length limit forces
    feed(c, "<STEP> the wolf attacks\n</THINK>\n<ANS>")
    assert answers(c) == set(OPTIONS)


def test_requests_without_decisions_are_unconstrained_text() -> None:
    c = TraceConstraint(VOCAB, OPTIONS)
    feed(c, "<THINK>\n<STEP> so I attack the wolf\n</THINK>\n<ANS>")
    assert answers(c) == set(OPTIONS)


@pytest.fixture(scope="module")
def decisions() -> list:
    """Situations where the preferred verb is often missing, decided by the bundled model."""
    model, tok = load_model()
    rng = random.Random(11)
    examples = [npc.generate(rng) for _ in range(40)]
    return run_examples(model, tok, examples, constrained=True)


def test_bundled_model_says_only_offered_actions_and_does_what_it_says(decisions) -> None:
    said = 0
    for o in decisions:
        assert isinstance(parse_trace(o.completion), Answer) and o.parsed.text in o.example.options
        offered = {w: v for v in {x.split(" ")[0] for x in o.example.options} for w in spoken(v)}
        last = None
        for step in o.parsed.steps:
            if m := re.search(r"(?:^|[ ,])so I (.*)", step):
                words = [v for w, v in offered.items() if f"{m.group(1)} ".startswith(f"{w} ")]
                assert words, f"decided on something not offered: {o.completion}"
                last = words[0]
        if last:
            said += 1
            assert o.parsed.text.split(" ")[0] == last, o.completion
    assert said >= 0.9 * len(decisions)
