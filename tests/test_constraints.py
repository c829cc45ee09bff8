"""The decoding constraint with ThoughtRules, driven token by token with the bundled tokenizer:
a thought is one of the request's lines, whole and said once, or a closing one; the last
thought commits the answer; every teacher trace passes. End to end, the bundled model's
served answers are options and its served thoughts are the plan's lines, checker-clean
(guarantees of the constraint, not of the model)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from npc_brain import DEFAULT_MODEL_DIR, Tokenizer, load_model
from npc_brain.npc.decision import DecisionPlan, plan_decision
from npc_brain.npc.state import NPCState
from npc_brain.npc.truth import false_claims
from npc_brain.nrm.constraints import TraceConstraint, Vocab
from npc_brain.nrm.engine import Engine, GenRequest
from npc_brain.nrm.trace import Answer, format_completion, parse_trace, prompt_ids
from npc_brain.workshop.data import npc
from npc_brain.workshop.data.example import Example

TOK = Tokenizer.load(DEFAULT_MODEL_DIR / "tokenizer.json")
VOCAB = Vocab(TOK)
WOLF = {"name": "wolf", "kind": "animal", "distance": 4, "hostile": True, "strength": 60}
PEOPLE = [
    {"name": "Tom", "kind": "person", "distance": 10},
    {"name": "cook from the inn", "kind": "person", "distance": 12},
    {"name": "Sir Aldous", "kind": "person", "distance": 30},
]
ACTIONS = ["attack", "flee", "eat", "talk", "wait"]
START = "<THINK>\n<STEP>"


def make(**fields: Any) -> NPCState:
    base: dict[str, Any] = {
        "id": "t",
        "name": "Test",
        "role": "wizard",
        "health": 80,
        "inventory": {"bread": 2},
        "perception": [WOLF, *PEOPLE],
        "goal": "find Anna",
    }
    return NPCState.model_validate(base | fields)


PLAN = plan_decision(make(), ACTIONS)


def constraint(plan: DecisionPlan = PLAN) -> TraceConstraint:
    return TraceConstraint(VOCAB, plan.options, rules=plan.rules)


def refused(c: TraceConstraint, text: str) -> str | None:
    """Feed `text` as the engine would; the first refused token's text, or None."""
    for tid in TOK.encode(text):
        mask = c.allowed()
        if mask is not None and not bool(mask[tid]):
            return TOK.decode([tid])
        c.advance(tid)
    return None


def after(text: str, plan: DecisionPlan = PLAN) -> TraceConstraint:
    c = constraint(plan)
    assert refused(c, text) is None, text
    return c


def allowed(c: TraceConstraint) -> set[bytes]:
    mask = c.allowed()
    assert mask is not None
    return {TOK.token_bytes(i) for i in range(TOK.vocab_size) if mask[i]}


def writable(prefix: str, text: str, plan: DecisionPlan = PLAN) -> bool:
    """Whether `text` may follow `prefix`, token by token."""
    return refused(after(prefix, plan), text) is None


def answers(c: TraceConstraint) -> set[str]:
    """Every answer the constraint still allows (walks its answer trie)."""
    assert c.node is not None
    out, todo = set(), [(c.node, b"")]
    while todo:
        node, text = todo.pop()
        if node.terminal:
            out.add(text.decode())
        todo += [(child, text + TOK.token_bytes(t)) for t, child in node.children.items()]
    return out


def prefixes_of(tokens: set[bytes], targets: tuple[str, ...]) -> bool:
    return all(any(t.encode().startswith(b) for t in targets) for b in tokens)


# ------------------------------------------------------------------------- teacher traces


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    rng = random.Random(4321)
    return [npc.generate(rng) for _ in range(2000)]


def test_every_teacher_trace_is_accepted_token_by_token(examples: list[Example]) -> None:
    for ex in examples:
        assert ex.situation is not None
        plan = plan_decision(ex.situation[0], list(ex.situation[1]))
        assert plan.prompt == ex.prompt and plan.options == list(ex.options or ())
        c = constraint(plan)
        token = refused(c, format_completion(ex.steps, ex.answer))
        assert token is None, f"{token!r} refused in {ex.text()}"
        assert c.finished(), ex.text()


# -------------------------------------------------------------------------------- lines

LINES = PLAN.rules.lines  # the wolf 4 m away and coming, the wizard does not back down, ...


def test_a_thought_begins_only_a_line_or_a_closing_one() -> None:
    starts = (*(f" {ln}" for ln in LINES), *(f" so I{p}" for p in PLAN.rules.decisions))
    first = allowed(after(START))
    assert first and prefixes_of(first, starts)
    for line in LINES:
        assert writable(START, f" {line}\n"), line


def test_a_thought_that_is_no_line_is_refused() -> None:
    assert not writable(START, " all is quiet right now")  # not while the wolf is there
    assert not writable(START, " the wolf is 5 m away and coming")  # not its distance
    assert not writable(START, " my health is 8, I am ready")  # 80, whole
    assert not writable(START, " I am a soldier")  # not its role
    assert not writable(START, " the bear is 4 m away")  # not in the state
    assert not writable(START, " 2 + 2 = 4")


def test_a_line_ends_only_when_whole() -> None:
    assert refused(after(f"{START} the wolf is 4 m away"), "\n") is not None
    assert refused(after(f"{START} the wolf is 4 m away"), " and coming\n") is None


def test_a_line_is_said_at_most_once() -> None:
    line = f" {LINES[0]}\n"
    c = after(f"{START}{line}<STEP>")
    assert refused(c, line) is not None
    # ...while a line that begins like it stays open (both said whole).
    plan = plan_decision(make(perception=[], time_of_day="dusk", role="lamplighter"), ["work"])
    assert plan.rules.lines == ("it is getting dark", "my work starts when it gets dark")
    assert writable(START, " it is getting dark\n<STEP> my work starts when it gets dark\n", plan)


def test_a_line_too_long_for_a_thought_is_never_begun() -> None:
    c = TraceConstraint(VOCAB, PLAN.options, rules=PLAN.rules, max_step_tokens=10)
    assert refused(c, f"{START} I am a wizard, I do not back down") is not None  # 10 tokens
    c = TraceConstraint(VOCAB, PLAN.options, rules=PLAN.rules, max_step_tokens=10)
    assert refused(c, f"{START} my health is 80, I am ready\n") is None


# ----------------------------------------------------------------------------- decisions


def test_so_i_goes_on_only_with_a_closing_phrase() -> None:
    c = after(f"{START} so I")
    phrases = tuple(PLAN.rules.decisions)
    assert prefixes_of(allowed(c), phrases)
    for phrase in phrases:
        assert writable(f"{START} so I", f"{phrase}\n"), phrase
    for phrase in (" hunt the wolf", " hide", " attack the dragon", " flee now", " attack Ben"):
        assert not writable(f"{START} so I", phrase), phrase
    # The phrase ends the line.
    assert allowed(after(f"{START} so I attack the wolf")) == {b"\n"}


def test_think_end_waits_for_a_line_that_commits_and_follows_it() -> None:
    c = after(f"{START} the wolf is 4 m away and coming\n")
    assert allowed(c) == {b"<STEP>"}
    # The decision is said once and last: nothing follows it but the end of the thinking.
    c = after(f"{START} so I flee\n")
    assert allowed(c) == {b"</THINK>"}


def test_the_answer_is_what_the_last_line_said() -> None:
    c = after(f"{START} so I attack the wolf\n</THINK>\n<ANS>")
    assert answers(c) == {"attack wolf"}
    c = after(
        f"{START} the wolf is 4 m away and coming\n<STEP> so I talk to Sir Aldous\n</THINK>\n<ANS>"
    )
    assert answers(c) == {"talk Sir Aldous"}
    c = after(f"{START} so I attack the wolf\n</THINK>\n<ANS>")
    assert refused(c, "attack Tom</ANS>") is not None
    c = after(f"{START} so I talk to the cook from the inn\n</THINK>\n<ANS>")
    assert refused(c, "talk cook from the inn</ANS>") is None and c.finished()


def test_the_thoughts_said_lead_to_the_decision() -> None:
    """A line of the fighting row leads to its moves only: after "I do not back down" the
    wizard attacks or flees, never waits or talks; the wolf's nearness leads anywhere."""
    fighting = f"{START} I am a wizard, I do not back down\n<STEP>"
    assert writable(fighting, " so I attack the wolf\n")
    assert writable(fighting, " so I flee\n")
    assert not writable(fighting, " so I wait\n")
    assert not writable(fighting, " so I talk to Tom\n")
    assert writable(fighting, " the wolf is 4 m away and coming\n")
    assert writable(f"{START} the wolf is 4 m away and coming\n<STEP>", " so I wait\n")


def test_without_rules_thoughts_are_free_and_every_option_stays() -> None:
    c = TraceConstraint(VOCAB, PLAN.options)
    assert refused(c, f"{START} the dragon is 7 m away, 2 + 2 = 4\n</THINK>\n<ANS>") is None
    assert answers(c) == set(PLAN.options)


def test_the_last_thought_there_is_room_for_says_what_the_npc_does() -> None:
    line = f" {LINES[0]}\n"
    c = TraceConstraint(VOCAB, PLAN.options, rules=PLAN.rules, max_steps=2)
    assert refused(c, f"{START}{line}<STEP>") is None
    assert refused(c, " so I flee\n</THINK>\n<ANS>flee</ANS>") is None and c.finished()
    c = TraceConstraint(VOCAB, PLAN.options, rules=PLAN.rules, max_steps=2)
    assert refused(c, f"{START}{line}<STEP>") is None
    assert refused(c, f" {LINES[1]}") is not None


# ----------------------------------------------------------------- end to end (bundled)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Decode on one thread: on a busy shared machine, threads wait on each other (~40x)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
def test_bundled_model_serves_options_and_clean_traces() -> None:
    """Whatever the model prefers, the constraint makes every served decision an offered
    option, every served thought one of the plan's lines (each once) or the closing one,
    and every served trace one the truth checker finds nothing false in."""
    model, tok = load_model()
    engine = Engine(model, tok)
    rng = random.Random(11)
    situations = [npc.random_situation(rng) for _ in range(40)]
    situations.append((make(), ACTIONS))
    plans = [plan_decision(state, actions) for state, actions in situations]
    handles: dict[int, int] = {}
    for i, plan in enumerate(plans):
        req = GenRequest(
            prompt_ids=prompt_ids(tok, plan.prompt),
            max_new_tokens=320,
            answer_options=plan.options,
            thought_rules=plan.rules,
        )
        handles[engine.submit(req)] = i
    texts = [""] * len(plans)
    while engine.active:
        for ev in engine.step():
            texts[handles[ev.handle]] += ev.text
    for (state, actions), plan, text in zip(situations, plans, texts, strict=True):
        parsed = parse_trace(text)
        assert isinstance(parsed, Answer), text
        assert parsed.text in plan.options, text
        assert false_claims(state, actions, parsed.steps, parsed.text) == [], text
        *said, closing = parsed.steps
        assert set(said) <= set(plan.rules.lines) and len(set(said)) == len(said), text
        assert closing.removeprefix("so I") in plan.rules.decisions, text
        plan.read(parsed.text)


@pytest.mark.parametrize("seed", range(40))
def test_any_walk_the_constraint_allows_ends_deciding_within_its_budget(seed: int) -> None:
    """Tokens drawn at random among the allowed ones (the worst a model could do): every
    trace still ends, in budget, with a thought that decides and the answer it named."""
    rng = random.Random(seed)
    max_steps = rng.randint(1, 4)
    probe = TraceConstraint(VOCAB, PLAN.options, rules=PLAN.rules, max_steps=max_steps)
    budget = probe.min_budget() + rng.choice([0, 3, 10, 30, 120])
    c = TraceConstraint(VOCAB, PLAN.options, rules=PLAN.rules, max_steps=max_steps, budget=budget)
    ids: list[int] = []
    while not c.finished():
        assert len(ids) < budget, TOK.decode(ids)
        mask = c.allowed()
        assert mask is not None and mask.any(), TOK.decode(ids)
        tid = rng.choice(np.flatnonzero(mask).tolist())
        ids.append(tid)
        c.advance(tid)
    trace = parse_trace(TOK.decode(ids))
    assert isinstance(trace, Answer), TOK.decode(ids)
    last = " " + trace.steps[-1]
    said = [p for p, opts in PLAN.rules.decisions.items() if last.endswith(p)]
    assert said and trace.text in PLAN.rules.decisions[said[0]], TOK.decode(ids)
