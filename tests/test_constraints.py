"""The decoding constraint with ThoughtRules, driven token by token with the bundled tokenizer:
thoughts can only state what the request holds, the last thought commits the answer, and
every teacher trace passes. End to end, the bundled model's served answers are options and
its served traces are checker-clean (guarantees of the constraint, not of the model)."""

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
from npc_brain.nrm.constraints import LINE_RESERVE, TraceConstraint, Vocab
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


def test_the_end_of_a_name_with_the_stays_with_its_own_head() -> None:
    seen = [{"name": "Breidock", "kind": "water", "distance": 6},
            {"name": "Nimeid the Younger", "kind": "person", "distance": 7}]  # fmt: skip
    plan = plan_decision(make(perception=seen), ["trade", "wait"])
    assert writable(START, " Nimeid the Younger is right here\n", plan)
    assert not writable(START, " I have 20 gold to buy food from Breidock the Younger", plan)


def test_a_name_that_ends_in_a_number_is_not_a_number_being_typed() -> None:
    cats = [{"name": "cat 4", "kind": "animal", "distance": 8}, {"name": "cat", "kind": "animal",
            "distance": 31}]  # fmt: skip
    plan = plan_decision(make(perception=cats, role="tiger"), ["attack", "rest"])
    assert writable(START, " the cat 4 is 8 m away, easy prey\n", plan)
    assert not writable(START, " the cat 47", plan)  # still no number the state lacks


def test_a_held_item_is_not_given_a_distance() -> None:
    plan = plan_decision(make(inventory={"letter": 1}, perception=[]), ["wait", "wander"])
    assert refused(after(f"{START} the letter is", plan), " 1 m away") is not None
    assert writable(f"{START} I have", " letter with me\n", plan)
    assert refused(after(f"{START} I have a letter", plan), " 1") is not None
    assert writable(f"{START} I have", " a post to keep\n", plan)
    assert not writable(f"{START} I have", " a post with me", plan)  # a post is no belonging


# ------------------------------------------------------------------------------ fillers


def test_my_health_is_can_only_be_followed_by_the_value_and_what_it_means() -> None:
    sayings = (" 80, I can fight", " 80, I am ready")
    c = after(f"{START} my health is")
    assert allowed(c) and prefixes_of(allowed(c), sayings)
    assert writable(f"{START} my health is", " 80, I can fight\n")
    assert not writable(f"{START} my health is", " 4")
    assert not writable(f"{START} my health is", " 60")
    assert refused(after(f"{START} my health is"), " 8, I can fight") == ","
    assert refused(after(f"{START} my health is"), " 80, I am badly hurt") is not None
    assert refused(after(f"{START} my health is"), " 80 and I am badly hurt") is not None
    weak = plan_decision(make(health=20, hunger=90), ACTIONS)
    assert writable(f"{START} my health is", " 20, I am badly hurt\n", weak)
    assert not writable(f"{START} my health is", " 20, I can fight", weak)
    assert writable(f"{START} my hunger is", " 90, I need food\n", weak)


def test_a_stat_saying_is_refused_anywhere_its_value_does_not_support_it() -> None:
    rested = plan_decision(make(energy=90), ACTIONS)
    assert refused(after(f"{START} the wolf is close,", rested), " I am exhausted") is not None
    assert writable(f"{START} the wolf is close,", " I am ready\n", rested)
    assert not writable(START, " the wolf is close, I am starving")
    weak = plan_decision(make(health=20, hunger=90), ACTIONS)
    assert writable(START, " the wolf is close, I am starving\n", weak)
    assert not writable(START, " the wolf is close, I can fight", weak)


def test_my_stat_leads_to_its_value_and_a_true_saying() -> None:
    tired = plan_decision(make(energy=10), ACTIONS)
    assert not writable(START, " my energy lurks", tired)
    assert writable(START, " my energy is 10, I am exhausted\n", tired)
    # Nothing true to say of it (rested, or not sent): the stat is not brought up at all.
    assert not writable(START, " my energy", plan_decision(make(energy=90), ACTIONS))
    assert not writable(START, " my energy", plan_decision(make(energy=None), ACTIONS))


def test_only_someone_whose_health_says_so_can_be_called_hurt() -> None:
    assert not writable(START, " Tom is hurt")
    assert not writable(f"{START} I see", " poor")
    hurt = plan_decision(make(perception=[WOLF, PEOPLE[0] | {"health": 20}]), ACTIONS)
    assert writable(START, " Tom is hurt, health 20\n", hurt)
    assert writable(START, " poor Tom, health 20\n", hurt)
    assert not writable(START, " the wolf is hurt", hurt)


def test_what_is_said_of_a_named_thing_fits_its_kind() -> None:
    scroll = {"name": "scroll", "kind": "item", "distance": 2}
    pie = {"name": "pie", "kind": "food", "distance": 3}
    seen = plan_decision(make(perception=[WOLF, scroll, pie]), ACTIONS)
    assert writable(START, " the pie is 3 m away, looks tasty\n", seen)
    assert not writable(START, " the scroll is 2 m away, looks tasty", seen)
    assert not writable(START, " the wolf is 4 m away, looks tasty", seen)
    assert writable(START, " the scroll is 2 m away, worth taking\n", seen)


def test_lowercase_words_are_the_teachers_or_the_states_own() -> None:
    assert writable(START, " the wolf is 4 m away, I am scared\n")
    assert not writable(START, " the wolf is 4 m away, healthonigating")
    assert not writable(START, " my me method")
    assert not writable(START, " the wolf is near")
    hobb = {"name": "drunk Hobb", "kind": "person", "distance": 2}
    plan = plan_decision(make(perception=[hobb], location="old mill"), ["talk", "wait"])
    assert writable(START, " maybe drunk Hobb can spare something\n", plan)
    assert writable(START, " it is night, old mill\n", plan)  # the location's words
    assert not writable(START, " it is night, old rats", plan)
    assert not writable(START, " maybe drunk Hobb can spare a drunkard", plan)


def test_i_have_is_followed_by_what_is_held_or_a_known_turn_of_phrase() -> None:
    assert writable(f"{START} I have", " bread with me\n")
    assert writable(f"{START} too close, I have", " to run\n")
    assert not writable(f"{START} I have", " to with me")
    assert not writable(f"{START} I have", " gold")
    assert writable(f"{START} I have", " what Tom needs\n")
    assert not writable(f"{START} I have", " what with me")


def test_an_unset_stat_or_role_cannot_be_stated() -> None:
    assert not writable(START, " my hunger")
    assert not writable(START, " my energy")
    assert writable(START, " my health is 80, I can fight\n")
    unset = plan_decision(make(role=None), ACTIONS)
    assert not writable(f"{START} I am", " a", unset)
    assert not writable(f"{START} I am", " an", unset)
    assert writable(f"{START} I am", " a wizard, so I wait\n")
    assert not writable(f"{START} I am a", " soldier")


def test_a_name_with_its_own_the_is_not_given_another() -> None:
    thing = {"name": "the thing", "kind": "monster", "distance": 6, "hostile": True}
    plan = plan_decision(make(perception=[thing]), ["hide", "investigate"])
    assert writable(START, " the thing is 6 m away\n", plan)
    assert not writable(START, " the the", plan)
    assert " investigate the thing" in plan.rules.decisions  # after "so I"


def test_a_fighting_role_cannot_call_itself_no_fighter() -> None:
    """The ban falls where the thought would turn, so the thought turns another way whole."""
    assert not writable(f"{START} I am a wizard,", " not")
    assert not writable(f"{START} I am a wizard,", " I can't")
    assert not writable(f"{START} I am", " not")
    assert writable(f"{START} I am a wizard,", " I do not back down\n")
    baker = plan_decision(make(role="baker"), ACTIONS)
    assert writable(f"{START} I am a baker,", " not a fighter\n", baker)


def test_the_is_followed_only_by_a_lowercase_state_name() -> None:
    fillers = (" wolf", " bread", " cook from the inn")
    assert prefixes_of(allowed(after(f"{START} I see the")), fillers)
    for name in ("wolf", "bread", "cook from the inn"):
        assert writable(f"{START} I see the", f" {name}, so I wait\n"), name
    # "inn" ends a name ("cook from the inn") but names nothing by itself.
    for name in ("dragon", "Tom", "hide", "wolves", "inn"):
        assert not writable(f"{START} I see the", f" {name}"), name


def test_a_capitalised_word_must_begin_a_state_name() -> None:
    c = after(f"{START} I see")
    capitals = {b for b in allowed(c) if b.strip()[:1].isupper() or b.strip()[:1] >= b"\x80"}
    assert prefixes_of(capitals - {b" I", b"I"}, (" Tom", " Sir Aldous", " Anna"))
    assert writable(f"{START} I see", " Sir Aldous and Tom, not Anna\n")
    for name in ("Hugo", "Ben", "Sir Hugo", "Tomas", "Élodie", "Аня"):
        assert not writable(f"{START} I see", f" {name} "), name


def test_numbers_are_state_numbers() -> None:
    c = after(f"{START} it is")
    digits = {b.strip() for b in allowed(c) if b.strip().isdigit()}
    assert prefixes_of(digits, ("80", "2", "4", "60", "10", "12", "30"))
    for n in ("7", "5", "15", "800"):
        assert not writable(f"{START} it is", f" {n} m away"), n
    # "1" is no state number: only a digit may follow it.
    assert allowed(after(f"{START} it is 1")) == {b"0", b"2"}
    # Once a thought names the wolf, its numbers are the wolf's own (4 m, strength 60).
    for n in ("4", "60"):
        assert writable(f"{START} the wolf is", f" {n} m away\n"), n
    for n in ("12", "80", "2"):
        assert not writable(f"{START} the wolf is", f" {n} m away"), n


def test_menu_and_arithmetic_tokens_are_never_allowed() -> None:
    words = {b"option", b"options", b"write", b"carry", b"column", b"digit", b"digits"}
    banned = {
        b
        for i in range(TOK.vocab_size)
        if i not in TOK.special_ids
        and ((b := TOK.token_bytes(i)).strip() in words or set(b) & set(b"=+"))
    }
    assert {b"=", b"+"} <= banned
    for text in (START, f"{START} the wolf is close,", f"{START} I", f"{START} 2"):
        assert not allowed(after(text)) & banned, text
    # Without thought rules the same tokens are free.
    c = TraceConstraint(VOCAB, PLAN.options)
    assert refused(c, f"{START} 2 + 2 = 4, carry the") is None


# ----------------------------------------------------------------------------- decisions


def test_so_i_goes_on_only_with_a_closing_phrase() -> None:
    c = after(f"{START} the wolf is 4 m away, so I")
    phrases = tuple(PLAN.rules.decisions)
    assert prefixes_of(allowed(c), phrases)
    for phrase in phrases:
        assert writable(f"{START} so I", f"{phrase}\n"), phrase
    for phrase in (" hunt the wolf", " hide", " attack the dragon", " flee now", " attack Ben"):
        assert not writable(f"{START} so I", phrase), phrase
    # The phrase ends the line.
    assert allowed(after(f"{START} so I attack the wolf")) == {b"\n"}


def test_think_end_waits_for_a_line_that_commits() -> None:
    c = after(f"{START} the wolf is 4 m away\n")
    assert allowed(c) == {b"<STEP>"}
    c = after(f"{START} so I flee\n")
    assert allowed(c) == {b"<STEP>", b"</THINK>"}
    c = after(f"{START} so I flee\n<STEP> the wolf is 4 m away\n")
    assert allowed(c) == {b"<STEP>"}


def test_the_answer_is_what_the_last_line_said() -> None:
    c = after(f"{START} so I attack the wolf\n</THINK>\n<ANS>")
    assert answers(c) == {"attack wolf"}
    c = after(f"{START} so I flee\n<STEP> I am a wizard, so I talk to Sir Aldous\n</THINK>\n<ANS>")
    assert answers(c) == {"talk Sir Aldous"}
    c = after(f"{START} so I attack the wolf\n</THINK>\n<ANS>")
    assert refused(c, "attack Tom</ANS>") is not None
    c = after(f"{START} so I talk to the cook from the inn\n</THINK>\n<ANS>")
    assert refused(c, "talk cook from the inn</ANS>") is None and c.finished()


def test_without_rules_thoughts_are_free_and_every_option_stays() -> None:
    c = TraceConstraint(VOCAB, PLAN.options)
    assert refused(c, f"{START} the dragon is 7 m away\n</THINK>\n<ANS>") is None
    assert answers(c) == set(PLAN.options)


def test_a_capitalised_word_starting_with_i_must_be_a_state_name() -> None:
    assert false_claims(make(), ACTIONS, ["Ilo is here, so I wait"], "wait")
    assert refused(constraint(), f"{START} Ilo is here, so I wait\n") is not None


def test_a_person_with_a_lowercase_accented_name_can_be_named() -> None:
    state = make(role="farmer", perception=[{"name": "élodie", "kind": "person", "distance": 3}])
    plan = plan_decision(state, ["talk", "wait"])
    steps, answer = npc.teacher(state, ["talk", "wait"])
    assert false_claims(state, ["talk", "wait"], steps, answer) == []
    c = constraint(plan)
    assert refused(c, format_completion(steps, answer)) is None and c.finished()


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
    option and every served trace one the truth checker finds nothing false in."""
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
        plan.read(parsed.text)


def test_a_thought_begins_with_an_opener_a_name_or_a_number() -> None:
    """A name at the start of a thought ("drunk Hobb is 2 m away") is copied exactly."""
    hobb = {"name": "drunk Hobb", "kind": "person", "distance": 2, "hostile": True}
    plan = plan_decision(make(perception=[hobb]), ["call_for_help", "talk"])
    assert writable(START, " drunk Hobb is 2 m away\n", plan)
    assert writable(START, " so I call for help\n", plan)
    assert writable(START, " the", plan) and writable(START, " my", plan)
    assert not writable(START, " urb is 2 m away", plan)
    assert not writable(START, " drunk Hob is", plan)
    assert not writable(START, " wolves", plan)


def test_the_spelled_out_as_a_first_word_still_needs_a_state_name() -> None:
    """ " " then "the" (the opener spelled token by token) is held to the fillers of " the"
    just as the whole token " the" is: "the dragon" cannot start a thought about a wolf."""
    ids = {TOK.token_bytes(i): i for i in range(TOK.vocab_size)}
    c = after(START)
    for tid in [ids[b" "], *TOK.encode("the")]:
        mask = c.allowed()
        assert mask is not None and mask[tid], TOK.token_bytes(tid)
        c.advance(tid)
    fillers = (" wolf", " bread", " inn", " cook from the inn")
    assert prefixes_of(allowed(c) - {b"r", b"y", b"re"}, fillers)  # or "there", "they"
    assert refused(c, " dragon") is not None
    assert refused(c, " wolf is close\n") is None


def spells(c: TraceConstraint, pieces: list[str]) -> bool:
    """Whether the constraint lets these exact tokens through, one by one."""
    for piece in pieces:
        tid = VOCAB.id_of[piece.encode()]
        mask = c.allowed()
        if mask is not None and not bool(mask[tid]):
            return False
        c.advance(tid)
    return True


def test_a_banned_saying_cannot_be_spelled_in_pieces_either() -> None:
    scroll = {"name": "scroll", "kind": "item", "distance": 2}
    seen = plan_decision(make(perception=[WOLF, scroll]), ACTIONS)
    prefix = f"{START} the scroll is 2 m away, looks"
    assert not spells(after(prefix, seen), [" ", "t", "a", "s", "t", "y"])
    assert spells(after(prefix, seen), [" ", "t"])  # "t" may still begin another word
    # A word that begins like the banned one stays open ("I am a" on the way to "an").
    assert writable(START, " I am a wizard\n")


def test_numbers_right_after_a_name_are_that_ones_own() -> None:
    assert writable(START, " I can see Tom 10")
    assert not writable(START, " I can see Tom 4")  # the wolf's distance


def test_the_pronoun_i_takes_no_letters_after_it() -> None:
    assert not spells(after(f"{START} the wolf is close, I"), ["t"])
    assert writable(START, " the wolf is close, I'm scared\n")


def test_a_name_is_not_said_twice_in_a_row() -> None:
    assert not writable(START, " Tom Tom")
    assert writable(START, " Tom is 10 m away, Sir Aldous is 30 m away\n")


def test_a_long_thought_ends_where_nothing_is_half_said() -> None:
    def near_the_limit(text: str) -> set[bytes]:
        c = TraceConstraint(VOCAB, PLAN.options, rules=PLAN.rules, max_step_tokens=LINE_RESERVE + 3)
        assert refused(c, f"{START}{text}") is None
        return allowed(c)

    assert near_the_limit(" the wolf is") == {b"\n"}
    assert b"\n" not in near_the_limit(" I see Sir")  # "Sir Aldous" is half spelled
    assert near_the_limit(" I see the") != {b"\n"}  # "the" waits for its name
    # A word half spelled is not at rest either: a line long in tokens (names spelled out
    # letter by letter) reaches the limit's reserve inside "cheer" (the name's length is
    # picked so that it does, whatever pieces the bundled tokenizer learnt).
    reserve_at, cheer = 48 - LINE_RESERVE, len(TOK.encode(" cheer"))
    assert cheer > 2  # spelled out
    for cut in range(30, 3, -1):
        name = f"Young {'Grouwaillimbrethoxaderanthulix'[:cut]}"
        before = len(TOK.encode(f" I am a minstrel, {name} could use"))
        if before + 1 < reserve_at < before + cheer:
            break
    else:
        pytest.fail("no name length puts the reserve inside 'cheer'")
    minstrel = {"name": name, "kind": "person", "distance": 32}
    plan = plan_decision(make(role="minstrel", perception=[minstrel]), ["talk", "work"])
    assert writable(START, f" I am a minstrel, {name} could use cheer\n", plan)


def test_nothing_held_is_hurt_and_to_run_is_not_held() -> None:
    assert not writable(START, " the bread is hurt")
    assert not writable(START, " bread is hurt")
    assert not writable(f"{START} too close, I have to run", " with me")
    assert not writable(f"{START} I have a post to keep", " with me")


def test_a_lowercase_name_said_without_the_takes_its_own_numbers() -> None:
    assert writable(START, " wolf is 4 m away, I'd better run\n")
    assert not writable(START, " wolf is 10 m away")  # Tom's distance
    assert not writable(START, " oh no, wolf 30")  # Sir Aldous's


def test_the_last_thought_there_is_room_for_says_what_the_npc_does() -> None:
    c = TraceConstraint(VOCAB, PLAN.options, rules=PLAN.rules, max_steps=2)
    assert refused(c, f"{START} the wolf is 4 m away\n<STEP>") is None
    assert refused(c, " so I flee\n</THINK>\n<ANS>flee</ANS>") is None and c.finished()
    c = TraceConstraint(VOCAB, PLAN.options, rules=PLAN.rules, max_steps=2)
    assert refused(c, f"{START} the wolf is 4 m away\n<STEP>") is None
    assert refused(c, " the wolf") is not None
    # Once a thought has decided, a last one could only say it again: the thinking ends.
    c = TraceConstraint(VOCAB, PLAN.options, rules=PLAN.rules, max_steps=2)
    assert refused(c, f"{START} so I flee\n") is None
    assert allowed(c) == {b"</THINK>"}


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
