"""The truth checker and the thought rules: teacher traces are clean, false thoughts are flagged
with the right kind, and names that hold "the" or capitalised words are not claims."""

from __future__ import annotations

import random
from typing import Any

import pytest

from npc_brain.npc.actions import closing_phrase, decision_phrases
from npc_brain.npc.decision import plan_decision
from npc_brain.npc.state import NPCState
from npc_brain.npc.teacher import said_lines, teacher
from npc_brain.npc.truth import FalseClaim, false_claims, state_names
from npc_brain.workshop.data import npc
from npc_brain.workshop.data.example import Example
from npc_brain.workshop.designer_set import PARTS, load_designer_set

WOLF = {"name": "wolf", "kind": "animal", "distance": 4, "hostile": True, "strength": 60}
TOM = {"name": "Tom", "kind": "person", "distance": 10}
COOK = {"name": "cook from the inn", "kind": "person", "distance": 12}
SIR = {"name": "Sir Aldous", "kind": "person", "distance": 30}
ACTIONS = ["attack", "flee", "eat", "talk", "wait"]


def make(**fields: Any) -> NPCState:
    base: dict[str, Any] = {
        "id": "t",
        "name": "Test",
        "role": "wizard",
        "health": 80,
        "inventory": {"bread": 2},
        "perception": [WOLF, TOM, COOK, SIR],
        "goal": "find Anna",
    }
    return NPCState.model_validate(base | fields)


STATE = make()


def kinds(steps: list[str], answer: str, state: NPCState = STATE) -> set[str]:
    return {c.kind for c in false_claims(state, ACTIONS, steps, answer)}


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    rng = random.Random(2024)
    return [npc.generate(rng) for _ in range(2000)]


def test_every_generated_teacher_trace_is_checker_clean(examples: list[Example]) -> None:
    for ex in examples:
        assert ex.situation is not None
        state, actions = ex.situation
        assert false_claims(state, list(actions), ex.steps, ex.answer) == [], ex.text()


def test_every_line_a_served_thought_may_be_is_checker_clean(examples: list[Example]) -> None:
    """Served thoughts are the plan's lines (npc_brain.nrm.constraints), so the served truth
    guarantee is this: every line, on generated and on designer requests, is clean."""
    situations = [ex.situation for ex in examples if ex.situation is not None]
    cases = [c for part in PARTS for c in load_designer_set(part)]
    situations += [
        (c.npc, tuple(plan_decision(c.npc, c.actions, c.aliases).actions)) for c in cases
    ]
    for state, actions in situations:
        plan = plan_decision(state, list(actions))
        assert plan.rules.lines, state
        answer = plan.options[0]
        for line in plan.rules.lines:
            steps = [line, f"so I {closing_phrase(answer)}"]
            assert false_claims(state, plan.actions, steps, answer) == [], (line, state)


def test_a_true_trace_with_tricky_names_is_clean() -> None:
    steps = [
        "the wolf is only 4 m away",
        "the cook from the inn is 12 m away",
        "Sir Aldous is 30 m away, Anna is not here",
        "my health is 80, I am a wizard",
        "I have bread, so I talk to Sir Aldous",
    ]
    assert false_claims(STATE, ACTIONS, steps, "talk Sir Aldous") == []
    said = ["so I talk to the cook from the inn"]
    assert false_claims(STATE, ACTIONS, said, "talk cook from the inn") == []
    assert false_claims(STATE, ACTIONS, *teacher(STATE, ACTIONS)) == []


def test_a_name_inside_a_longer_name_is_not_called_hurt() -> None:
    """ "poor Tom" may be a name beside "Tom": naming it says nothing of Tom's health."""
    seen = [{"name": "Tom", "kind": "person", "distance": 9},
            {"name": "poor Tom", "kind": "person", "distance": 2}]  # fmt: skip
    state = NPCState(id="n", name="n", perception=seen)
    steps = ["the poor Tom is 2 m away", "so I talk to the poor Tom"]
    assert false_claims(state, ["talk"], steps, "talk poor Tom") == []
    said = ["Tom is hurt", "so I talk to Tom"]
    assert {c.kind for c in false_claims(state, ["talk"], said, "talk Tom")} >= {"hurt"}


@pytest.mark.parametrize(
    ("steps", "answer", "expected"),
    [
        (["my health is 8", "so I flee"], "flee", {"stat", "number"}),
        (["my health is 60", "so I flee"], "flee", {"stat"}),  # 60 is a state number
        (["the wolf is 7 m away", "so I flee"], "flee", {"number"}),
        (["Bob is watching", "so I flee"], "flee", {"name"}),
        (["the dragon is near", "so I flee"], "flee", {"name", "word"}),
        (["I am a soldier", "so I flee"], "flee", {"role", "word"}),
        (["attack is not an option", "so I flee"], "flee", {"menu", "word"}),
        (["eating is not allowed", "so I flee"], "flee", {"menu", "word"}),
        (["2 + 2 = 4", "so I flee"], "flee", {"arithmetic"}),
        (["I carry 2", "so I flee"], "flee", {"arithmetic", "word"}),
        (["the wolf is 4 m away", "so I attack Tom"], "attack wolf", {"decision"}),
        (["the wolf is 4 m away, healthonigating", "so I flee"], "flee", {"word"}),
        (["my me method is here", "so I flee"], "flee", {"word"}),
        (["the wolf is 4 m away", "so I flee"], "attack wolf", {"decision"}),
        (["the wolf is 4 m away"], "flee", {"decision"}),
        (["so I flee", "the wolf is 4 m away"], "flee", {"decision"}),
        ([], "flee", {"decision"}),
        (["so I dance"], "dance", {"decision", "word"}),
        (["so I hunt the wolf"], "hunt wolf", {"decision", "word"}),  # hunt is not offered
    ],
)
def test_false_thoughts_are_flagged_with_their_kind(
    steps: list[str], answer: str, expected: set[str]
) -> None:
    assert kinds(steps, answer) == expected


def test_claims_name_the_offending_thought_and_text() -> None:
    claims = false_claims(
        STATE, ACTIONS, ["the wolf is 4 m away", "Bob is 7 m away", "so I flee"], "flee"
    )
    assert claims == [FalseClaim(1, "number", "7"), FalseClaim(1, "name", "Bob")]
    assert str(claims[1]) == "thought 1: name: 'Bob'"
    dragon, word = false_claims(STATE, ACTIONS, ["the dragon, so close", "so I flee"], "flee")
    assert (dragon.step, dragon.kind, dragon.text) == (0, "name", "the dragon")
    assert (word.step, word.kind, word.text) == (0, "word", "dragon")


def test_unset_fields_cannot_be_stated() -> None:
    # hunger and role are unset: any value or role is a false claim.
    assert kinds(["my hunger is 80", "so I flee"], "flee") == {"stat"}
    unset = make(role=None, health=None)
    assert kinds(["I am a wizard", "so I flee"], "flee", unset) == {"role", "word"}
    assert kinds(["my health is 80", "so I flee"], "flee", unset) == {"stat", "number"}
    assert kinds(["I am a wizard", "so I flee"], "flee") == set()
    assert kinds(["I am an old wizard", "so I flee"], "flee") == {"role", "word"}


def test_a_fighting_role_is_not_called_no_fighter() -> None:
    """The wizard of these tests fights (npc_brain.npc.roles); a baker does not."""
    for said in ("I am a wizard, not a fighter", "I am a wizard, I can't fight that"):
        assert kinds([said, "so I flee"], "flee") == {"role"}
    assert kinds(["I am not a fighter", "so I flee"], "flee") == {"role"}
    baker = make(role="baker")
    assert kinds(["I am a baker, not a fighter", "so I flee"], "flee", baker) == set()


def test_what_a_stat_means_must_hold_at_its_value() -> None:
    assert kinds(["my health is 80, I can fight", "so I attack the wolf"], "attack wolf") == set()
    for saying in ("I am badly hurt", "too weak to fight", "it hurts so much"):
        assert kinds([f"my health is 80, {saying}", "so I flee"], "flee") == {"stat"}, saying
    weak = make(health=25, hunger=40)
    assert kinds(["my health is 25, I am badly hurt", "so I flee"], "flee", weak) == set()
    assert kinds(["my health is 25, I am ready", "so I flee"], "flee", weak) == {"stat"}
    assert kinds(["my hunger is 40, I need food", "so I flee"], "flee", weak) == {"stat"}
    # Wherever it is said, and of a stat the game did not send.
    rested = make(energy=90)
    assert kinds(["my energy lurks 90, I am exhausted", "so I flee"], "flee", rested) == {"stat"}
    assert kinds(["my energy lurks 90, I am ready", "so I flee"], "flee", rested) == set()
    assert kinds(["I am starving", "so I flee"], "flee", weak) == {"stat"}
    assert kinds(["I can fight", "so I flee"], "flee", make(health=None)) == {"stat"}


def test_only_someone_whose_health_says_so_is_hurt() -> None:
    assert kinds(["Tom is hurt", "so I talk to Tom"], "talk Tom") == {"hurt"}
    assert kinds(["poor Tom", "so I talk to Tom"], "talk Tom") == {"hurt"}
    hurt = make(perception=[WOLF, TOM | {"health": 20}])
    assert kinds(["Tom is hurt, health 20", "so I talk to Tom"], "talk Tom", hurt) == set()
    assert kinds(["poor Tom, health 20", "so I talk to Tom"], "talk Tom", hurt) == set()
    assert kinds(["the wolf is hurt", "so I flee"], "flee", hurt) == {"hurt"}


def test_what_is_said_of_a_thing_fits_its_kind() -> None:
    scroll = {"name": "scroll", "kind": "item", "distance": 2}
    pie = {"name": "pie", "kind": "food", "distance": 3}
    seen = make(perception=[WOLF, scroll, pie])
    assert kinds(["the pie is 3 m away, looks tasty", "so I wait"], "wait", seen) == set()
    assert kinds(["the scroll is 2 m away, looks tasty", "so I wait"], "wait", seen) == {"kind"}
    assert kinds(["the wolf is 4 m away, an easy mark", "so I wait"], "wait", seen) == {"kind"}
    assert kinds(["the scroll is 2 m away, worth taking", "so I wait"], "wait", seen) == set()


def test_a_held_item_is_no_distance_away_and_fits_no_kind_saying() -> None:
    letter = make(inventory={"letter": 1}, perception=[])
    assert kinds(["the letter is 1 m away", "so I wait"], "wait", letter) == {"number"}
    assert kinds(["the letter looks tasty", "so I wait"], "wait", letter) == {"kind"}
    hungry = make(hunger=80)
    good = ["I have bread with me, my hunger is 80, I need food", "so I eat the bread"]
    assert kinds(good, "eat bread", hungry) == set()


def test_names_holding_the_or_capitals_are_not_claims() -> None:
    assert kinds(["cook from the inn is here, so I wait"], "wait") == set()
    assert kinds(["Sir Aldous is right here, so I wait"], "wait") == set()
    # Capitalised words of the goal may be repeated; those of the NPC's own name may not.
    assert kinds(["Anna is out there, so I wait"], "wait") == set()
    assert kinds(["Test is here, so I wait"], "wait") == {"name"}
    # Only the whole name is a name: "the inn" alone is not in the state.
    assert kinds(["the inn is close, so I wait"], "wait") == {"name"}


def test_thought_rules_hold_the_teachers_lines_and_the_closing_phrases() -> None:
    plan = plan_decision(STATE, ACTIONS)
    rules = plan.rules
    assert state_names(STATE) == ["wolf", "Tom", "cook from the inn", "Sir Aldous", "bread"]
    # A wizard (a fighting role) with the wolf 4 m away: the fighting row's sayings, in its
    # bold voice; waiting or eating says only that the wolf is there, never that all is quiet.
    assert rules.leads == said_lines(STATE, plan.actions, plan.options)
    assert rules.lines == tuple(rules.leads)
    assert rules.lines == (
        "the wolf is 4 m away and coming",
        "I am a wizard, I do not back down",
        "my health is 80, I am ready",
    )
    for line in rules.lines:
        assert false_claims(STATE, ACTIONS, [line, "so I wait"], "wait") == [], line
    # The fighting row's own sayings lead to its moves; the wolf's nearness to any.
    assert rules.leads["I am a wizard, I do not back down"] == ("attack wolf", "flee")
    assert set(rules.leads["the wolf is 4 m away and coming"]) == set(plan.options)
    assert rules.decisions[" attack the wolf"] == ["attack wolf"]
    assert rules.decisions[" talk to Sir Aldous"] == ["talk Sir Aldous"]
    assert rules.decisions[" eat the bread"] == ["eat bread"]
    assert sorted(o for opts in rules.decisions.values() for o in opts) == sorted(plan.options)


@pytest.mark.parametrize(
    ("option", "phrase"),
    [
        ("attack wolf", "attack the wolf"),
        ("attack Tom", "attack Tom"),
        ("attack cook from the inn", "attack the cook from the inn"),  # lowercase: "the"
        ("talk Sir Aldous", "talk to Sir Aldous"),
        ("eat bread", "eat the bread"),
        ("heal", "heal myself"),
        ("drink well", "drink from the well"),  # drunk from, not drunk
        ("drink healing potion", "drink the healing potion"),
        ("heal Tom", "heal Tom"),
        ("call_for_help", "call for help"),
        ("guard", "stand guard"),
        ("give Tom", "give it to Tom"),
        ("pick_up bread", "pick up the bread"),
        ("go_home", "go home"),
    ],
)
def test_closing_phrases(option: str, phrase: str) -> None:
    assert closing_phrase(option) == phrase


def test_each_phrase_commits_to_one_option() -> None:
    options = plan_decision(STATE, [*ACTIONS, "heal", "pick_up", "give"]).options
    phrases = decision_phrases(options)
    assert all(len(opts) == 1 for opts in phrases.values())
    assert sorted(o for opts in phrases.values() for o in opts) == sorted(options)


def test_roles_ending_in_punctuation_can_be_stated() -> None:
    state = make(role="guard (north gate)", perception=[])
    steps, answer = teacher(state, ["patrol", "wait"])
    assert steps[0].startswith("I am a guard (north gate),")
    assert false_claims(state, ["patrol", "wait"], steps, answer) == []
