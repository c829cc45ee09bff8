"""NPC state, actions, prompt, the teacher and the generated data: designer-like situations,
decisions a designer expects, thoughts that state only what the game sent."""

from __future__ import annotations

import itertools
import random
import re
import statistics
import zlib
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from npc_brain.npc.actions import (
    VOCABULARY,
    answer_options,
    check_actions,
    closing_phrase,
    resolve_actions,
    served_options,
    split_answer,
    to_game_answer,
)
from npc_brain.npc.decision import NoDecision, plan_decision
from npc_brain.npc.prompt import npc_prompt
from npc_brain.npc.roles import CATEGORY_OF, DECISION_TRAITS, FOOD, MEDICINE, POTIONS
from npc_brain.npc.state import KINDS, NPCState, Perception
from npc_brain.npc.teacher import teacher
from npc_brain.npc.truth import false_claims
from npc_brain.nrm.tokenizer import Tokenizer
from npc_brain.workshop.data import npc
from npc_brain.workshop.data.example import Example
from npc_brain.workshop.data.npc_names import TRADES, WARES
from npc_brain.workshop.data.npc_situations import FLAVOR_TRAITS, OTHER_HELD, random_situation

ALL = list(VOCABULARY)
STATS = ("health", "hunger", "energy", "gold")
BASIC_ROLES = {"guard", "soldier", "farmer", "merchant", "blacksmith", "hunter", "healer", "thief",
               "child", "villager", "innkeeper", "priest", "knight", "bandit"}  # fmt: skip
WOLF = {"name": "wolf", "kind": "animal", "distance": 4, "hostile": True, "strength": 60}
TOM = {"name": "Tom", "kind": "person", "distance": 10}
MENU = re.compile(r"\boptions?\b|\bmenu\b|\bnot (?:allowed|available)\b|[=+]")


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    rng = random.Random(1234)
    return [npc.generate(rng) for _ in range(2000)]


def situation(ex: Example) -> tuple[NPCState, list[str]]:
    assert ex.situation is not None
    return ex.situation[0], list(ex.situation[1])


def make(**fields: Any) -> NPCState:
    return NPCState.model_validate({"id": "t", "name": "Test"} | fields)


def decide(actions: list[str] | None = None, **fields: Any) -> tuple[list[str], str]:
    return teacher(make(**fields), actions or ALL)


# ------------------------------------------------------------------ generated examples


def test_examples_are_consistent_with_their_situation(examples: list[Example]) -> None:
    for ex in examples:
        state, actions = situation(ex)
        assert ex.task == "npc" and actions == check_actions(actions)
        assert ex.prompt == npc_prompt(state, actions)
        assert list(ex.options or ()) == served_options(state, actions)
        assert ex.answer in ex.options and len(set(ex.options)) == len(ex.options)
        assert 2 <= len(ex.steps) <= 5
        for line in [ex.prompt, *ex.steps, ex.answer]:
            assert line and "\n" not in line and "<" not in line and ">" not in line
        assert ex.steps[-1].endswith(f"so I {closing_phrase(ex.answer)}"), ex.text()
        assert all("so I " not in s for s in ex.steps[:-1]), ex.text()


def test_thoughts_never_talk_about_the_menu(examples: list[Example]) -> None:
    for ex in examples:
        assert not any(MENU.search(s) for s in ex.steps), ex.steps


def test_situations_are_shaped_like_designer_requests(examples: list[Example]) -> None:
    n = len(examples)
    states, offered = zip(*(situation(ex) for ex in examples), strict=True)
    counts = [len(a) for a in offered]
    assert 3 <= statistics.median(counts) <= 5
    assert 0.01 < sum(c == 1 for c in counts) / n < 0.1
    assert max(counts) >= 10
    no_stats = sum(all(getattr(s, k) is None for k in STATS) for s in states) / n
    assert 0.2 < no_stats < 0.45
    assert 0.05 < sum(s.role is None for s in states) / n < 0.25
    roles = [s.role for s in states if s.role]
    assert sum(r not in BASIC_ROLES for r in roles) > 0.6 * len(roles)
    assert sum(r not in CATEGORY_OF for r in roles) > 0.1 * len(roles)  # invented roles
    assert len(set(roles)) > 150
    people = [p.name for s in states for p in s.perception if p.kind == "person"]
    assert sum(not name.isascii() for name in people) > 0.08 * len(people)
    assert sum(" " in name for name in people) > 0.1 * len(people)
    idle = sum("wander" in a or "wait" in a for a in offered) / n
    assert 0.35 < idle < 0.75


def test_names_put_spelled_words_before_known_ones(examples: list[Example]) -> None:
    """A lowercase word the tokenizer spells byte by byte before a word it knows ("crying
    child", "bloody dagger") is the name shape the model garbled most ("cryingl"): the
    generator makes many of them, all different."""
    tok = Tokenizer.train((ex.text() for ex in examples), vocab_size=1024)
    known = {piece.strip() for piece in tok.pieces}
    names = [p.name for ex in examples for p in situation(ex)[0].perception]
    shaped = [
        name
        for name in names
        if any(
            a.isalpha() and a.islower() and a not in known and b in known
            for a, b in itertools.pairwise(name.split())
        )
    ]
    assert len(shaped) > 0.06 * len(names)
    assert len(set(shaped)) > 0.9 * len(shaped)


def test_names_whose_words_mislead_are_drawn(examples: list[Example]) -> None:
    """Games spawn groups ("bandit", "bandit 2", "bandit rider") at different distances,
    name things by owner ("farmer's cart") and people by their wares ("pie seller"): the
    generator makes each, so the model learns to keep numbers with their own name and to
    read a thing's kind from its kind, not from the words of its name."""
    scenes = [[p for p in situation(ex)[0].perception] for ex in examples]
    grouped = [
        s for s in scenes
        if any(a.name != b.name and b.name.startswith(a.name) and a.kind == b.kind
               and a.distance != b.distance for a in s for b in s)
    ]  # fmt: skip
    assert len(grouped) > 0.03 * len(scenes)
    things = [p for s in scenes for p in s if p.kind in ("food", "item", "shelter", "water")]
    assert sum("'s " in p.name for p in things) > 0.03 * len(things)
    people = [p.name for s in scenes for p in s if p.kind == "person"]
    wares = [n for n in people if n.split(" ")[0] in WARES and n.split(" ")[-1] in TRADES]
    assert len(wares) > 0.01 * len(people)


def test_decisions_are_varied(examples: list[Example]) -> None:
    verbs = Counter(split_answer(ex.answer)[0] for ex in examples)
    n = len(examples)
    assert len(verbs) >= 20
    assert sum(c >= 0.01 * n for c in verbs.values()) >= 15
    assert max(verbs.values()) < 0.2 * n


def test_a_single_offered_verb_is_always_taken(examples: list[Example]) -> None:
    single = [ex for ex in examples if len(situation(ex)[1]) == 1]
    assert len(single) >= 20
    for ex in single:
        assert split_answer(ex.answer)[0] == situation(ex)[1][0]
    # Even when it is not what the situation calls for.
    assert decide(["sleep"], role="guard", perception=[WOLF])[1] == "sleep"
    assert (
        decide(["eat"], role="guard", perception=[WOLF], inventory={"bread": 1})[1] == "eat bread"
    )


def test_splits_are_disjoint_by_construction(examples: list[Example]) -> None:
    rng = random.Random(5)
    held_out = [npc.generate(rng, "test") for _ in range(100)]
    for ex in held_out:
        assert zlib.crc32(ex.prompt.encode()) % npc.HELD_OUT == 0
    for ex in examples:
        assert zlib.crc32(ex.prompt.encode()) % npc.HELD_OUT != 0
    assert not {ex.prompt for ex in held_out} & {ex.prompt for ex in examples}
    for prompt in {ex.prompt for ex in [*held_out, *examples]}:
        assert npc.in_split(prompt, "train") != npc.in_split(prompt, "test")


def test_prompt_and_trace_fit_the_token_budget(examples: list[Example]) -> None:
    tok = Tokenizer.train((ex.text() for ex in examples), vocab_size=1024)
    prompt_len = sorted(len(tok.encode(ex.prompt)) for ex in examples)
    trace_len = sorted(len(tok.encode(ex.text())) for ex in examples)
    assert prompt_len[len(prompt_len) // 2] <= 100
    assert trace_len[int(0.95 * len(trace_len))] <= 160
    assert trace_len[-1] <= 240


def test_generation_is_deterministic_per_seed() -> None:
    def run(seed: int) -> list[Example]:
        rng = random.Random(seed)
        return [npc.generate(rng) for _ in range(50)]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_decision_depends_only_on_what_the_prompt_shows() -> None:
    rng = random.Random(99)
    for i in range(200):
        state, actions = random_situation(rng)
        # Fill the view to six entities so that a seventh, farther one is not shown.
        fill = [Perception(name=f"stone {k}", kind="item", distance=900 + k) for k in range(6)]
        shown = max(6, len(state.perception))
        state = state.model_copy(update={"perception": [*state.perception, *fill][:shown]})
        far = Perception(name="far thing", kind="item", distance=5000)
        other = state.model_copy(
            update={
                "id": f"other {i}",
                "name": "Someone Else",
                "memory": ["a dragon flew over", *state.memory],  # an older line, no cue
                "perception": [*state.perception, far],
            }
        )
        assert npc_prompt(other, actions) == npc_prompt(state, actions)
        assert teacher(other, actions) == teacher(state, actions)


def test_decision_stats_and_main(capsys: pytest.CaptureFixture[str]) -> None:
    stats = npc.decision_stats(200, seed=3)
    assert sum(stats.verbs.values()) == sum(stats.steps.values()) == 200
    assert stats.offered == sorted(stats.offered) and len(stats.lengths) == 200
    assert npc.main(["200", "3"]) == 0
    out = capsys.readouterr().out
    assert f"verbs offered: median {npc.DecisionStats.percentile(stats.offered, 0.5)}" in out


# ---------------------------------------------------------------------------- prompt


def test_prompt_shows_every_set_field_in_a_fixed_order() -> None:
    state = make(
        role="guard", traits=["loyal", "brave"], health=80, hunger=20, energy=60, gold=35,
        time_of_day="night", location="gate", inventory={"potion": 1, "bread": 2},
        perception=[TOM, WOLF], goal="find Anna",
    )  # fmt: skip
    assert npc_prompt(state, ["attack", "flee", "call_for_help", "pick_up"]) == (
        "role guard; traits brave, loyal; health 80 hunger 20 energy 60 gold 35; time night; "
        "at gate; has bread 2, potion 1; sees wolf (animal hostile 4 m strength 60), "
        "Tom (person 10 m); goal find Anna; can attack, flee, call for help, pick up"
    )


def test_an_enemy_is_hostile_unless_the_game_says_otherwise() -> None:
    def sees(kind: str, **extra: object) -> str:
        entity = {"name": "Grak", "kind": kind, "distance": 30, **extra}
        return npc_prompt(make(perception=[entity]), ["wait"])

    assert (
        sees("enemy") == sees("Enemy", hostile=None) == "sees Grak (enemy hostile 30 m); can wait"
    )
    assert sees("enemy", hostile=False) == "sees Grak (enemy 30 m); can wait"
    assert sees("monster") == "sees Grak (monster 30 m); can wait"  # a boss's own minion
    assert sees("animal") == "sees Grak (animal 30 m); can wait"
    assert sees("person") == "sees Grak (person 30 m); can wait"


def test_unset_fields_are_not_shown() -> None:
    assert npc_prompt(make(), ["wait", "go_home"]) == "can wait, go home"
    assert npc_prompt(make(hunger=0, gold=0), ["wait"]) == "hunger 0 gold 0; can wait"
    for field, value, word in [
        ("role", "guard", "role"), ("traits", ["brave"], "traits"), ("health", 5, "health"),
        ("hunger", 5, "hunger"), ("energy", 5, "energy"), ("gold", 5, "gold"),
        ("time_of_day", "dawn", "time"), ("location", "gate", "at"),
        ("inventory", {"rope": 1}, "has"), ("perception", [TOM], "sees"),
        ("goal", "find Tom", "goal"),
    ]:  # fmt: skip
        full = dict.fromkeys(STATS, 50) | {"role": "cook", "time_of_day": "day", field: value}
        shown = npc_prompt(make(**full), ["wait"])
        hidden = npc_prompt(make(**{k: v for k, v in full.items() if k != field}), ["wait"])
        assert re.search(rf"(^|; | ){word} ", shown), (field, shown)
        assert not re.search(rf"(^|; | ){word} ", hidden), (field, hidden)
    # An item held zero times is not shown either.
    assert "has" not in npc_prompt(make(inventory={"rope": 0}), ["wait"])


def test_a_served_npc_attacks_the_peaceful_only_when_its_role_preys_on_them() -> None:
    deer = {"name": "deer", "kind": "animal", "distance": 9}
    seen = [TOM, WOLF, deer]
    verbs = ["attack", "talk"]
    assert plan_decision(make(role="farmer", perception=seen), verbs).options == [
        "attack wolf", "talk Tom"]  # fmt: skip
    hunter = plan_decision(make(role="old hunter", perception=seen), verbs).options
    assert hunter == ["attack wolf", "attack deer", "talk Tom"]
    ogre = plan_decision(make(role="ogre", perception=seen), verbs).options
    assert ogre == ["attack wolf", "attack deer", "attack Tom", "talk Tom"]
    # When attacking the peaceful is all the game offers, that is what it asks for.
    assert plan_decision(make(role="farmer", perception=[TOM]), ["attack"]).options == [
        "attack Tom"]  # fmt: skip


def test_a_served_npc_sleeps_only_when_something_calls_for_it() -> None:
    def sleeps(**state: Any) -> bool:
        return "sleep" in plan_decision(make(**state), ["sleep", "work"]).options

    assert not sleeps(energy=90)  # well rested, whatever the hour it did not send
    assert not sleeps(time_of_day="day") and not sleeps(time_of_day="dawn", energy=80)
    assert not sleeps(time_of_day="night", perception=[WOLF])  # a foe 4 m away
    assert sleeps(energy=30, time_of_day="day") and sleeps(health=20, time_of_day="day")
    assert sleeps(time_of_day="night", energy=90) and sleeps(time_of_day="dusk")
    assert sleeps()  # nothing known: nothing against it
    assert sleeps(time_of_day="night", perception=[WOLF | {"distance": 40}])
    # When sleep is all the game offers, that is what it asks for.
    assert plan_decision(make(energy=90), ["sleep"]).options == ["sleep"]


def test_prompt_is_deterministic_and_ignores_input_order() -> None:
    fields: dict[str, Any] = {
        "role": "farmer",
        "traits": ["kind", "brave"],
        "inventory": {"bread": 2, "apple": 1},
        "perception": [TOM, WOLF, {"name": "barn", "kind": "shelter", "distance": 30}],
    }
    shuffled = fields | {
        "traits": ["brave", "kind"],
        "inventory": {"apple": 1, "bread": 2},
        "perception": [fields["perception"][2], TOM, WOLF],
        "memory": ["something happened"],
    }
    a = plan_decision(make(**fields), ["wander", "attack", "pick_up", "eat"])
    b = plan_decision(make(**shuffled), ["eat", "pick_up", "wander", "attack", "eat"])
    assert a.prompt == b.prompt == npc_prompt(make(**fields), a.actions)
    assert a.options == b.options
    assert a.prompt.endswith("; can attack, eat, pick up, wander")
    # A farmer is never served an attack on Tom, who is peaceful (served_options).
    assert a.options == ["attack wolf", "eat apple", "eat bread", "wander"]
    assert "_" not in a.prompt


def test_prompt_shows_only_the_nearest_entities_and_options_match() -> None:
    far = [{"name": f"rock {i}", "kind": "item", "distance": 20 + i} for i in range(10)]
    state = make(perception=[*far, TOM])
    prompt = npc_prompt(state, ["talk", "pick_up"])
    assert prompt.count("(item") == 5 and "rock 4" in prompt and "rock 5" not in prompt
    # Verbs in vocabulary order (talk before pick_up), targets nearest first.
    assert answer_options(state, ["talk", "pick_up"]) == [
        "talk Tom",
        *(f"pick_up rock {i}" for i in range(5)),
    ]


# --------------------------------------------------------------------------- teacher


def test_danger_depends_on_role_and_character() -> None:
    danger = {"perception": [WOLF, TOM]}
    steps, answer = decide(role="guard", traits=["brave"], **danger)
    assert answer == "attack wolf" and steps[-1] == "so I attack the wolf"
    assert decide(role="guard", **danger)[1] == "attack wolf"
    assert decide(role="merchant", traits=["cowardly"], **danger)[1] == "flee"
    assert decide(role="guard", traits=["cowardly"], **danger)[1] == "flee"
    assert decide(traits=["cowardly"], **danger)[1] == "flee"
    assert decide(role="child", **danger)[1] == "call_for_help"
    assert decide(role="child", traits=["brave"], **danger)[1] == "call_for_help"
    # Low health overrides courage.
    assert decide(role="guard", traits=["brave"], health=25, **danger)[1] == "flee"
    # An ordinary NPC runs from a close threat and hides from one further away.
    assert decide(role="farmer", **danger)[1] == "flee"
    assert decide(role="farmer", perception=[WOLF | {"distance": 12}])[1] == "hide"


def test_preferred_move_missing_takes_the_next_sensible_one() -> None:
    danger = {"role": "guard", "traits": ["brave"], "perception": [WOLF, TOM]}
    assert decide(["call_for_help", "flee", "talk"], **danger)[1] == "call_for_help"
    assert decide(["flee", "talk", "wander"], **danger)[1] == "flee"
    assert decide(["talk", "wander", "sleep"], **danger)[1] == "wander"


@pytest.mark.parametrize("role", ["lamplighter", "zorblax", None])
def test_unknown_and_unset_roles_decide_sensibly(role: str | None) -> None:
    noon = {"role": role, "time_of_day": "noon", "energy": 90, "perception": [TOM]}
    for actions in (ALL, ["attack", "sleep", "talk", "wander"], ["attack", "sleep", "wait"]):
        steps, answer = decide(actions, **noon)
        assert answer not in ("sleep", "attack Tom"), (actions, answer)
        assert false_claims(make(**noon), actions, steps, answer) == []
    assert decide(["attack", "sleep", "work", "talk"], **noon)[1] in ("work", "talk Tom")
    # A near hostile wolf: an unknown role is no fighter.
    assert decide(role=role, perception=[WOLF])[1] == "flee"
    if role:
        assert f"I am a {role}, not a fighter" in decide(role=role, perception=[WOLF])[0]


def test_fallback_prefers_waiting_wandering_or_working() -> None:
    calm = {"role": "farmer", "time_of_day": "day", "perception": [TOM]}
    assert decide(["sleep", "play", "go_home", "wait"], **calm)[1] == "wait"
    assert decide(["sleep", "attack", "flee", "wander"], **calm)[1] == "wander"
    assert decide(["sleep", "hide", "flee", "work"], **calm)[1] == "work"
    # The brave guard's whole danger row is missing: still no sleeping or attacking Tom.
    danger = {"role": "guard", "traits": ["brave"], "perception": [WOLF, TOM]}
    assert decide(["sleep", "wait", "eat"], **danger)[1] == "wait"


def test_personality_words_the_same_fact_differently() -> None:
    near = {"role": "farmer", "perception": [WOLF | {"distance": 9}]}
    bold, _ = decide(traits=["brave"], **near)
    timid, _ = decide(traits=["timid"], **near)
    assert bold[0] != timid[0]
    for first in (bold[0], timid[0]):
        assert "the wolf" in first and "9 m" in first
    hungry = {"role": "farmer", "hunger": 85}
    gruff, _ = decide(traits=["grumpy"], **hungry)
    shy, _ = decide(traits=["shy"], **hungry)
    assert gruff[0] != shy[0]
    assert gruff[0].startswith("my hunger is 85,") and shy[0].startswith("my hunger is 85,")


def test_needs_and_goals_drive_calm_decisions() -> None:
    assert decide(health=20, inventory={"potion": 1})[1] == "drink potion"
    assert decide(health=20, inventory={"herbs": 1})[1] == "heal"
    assert decide(health=20)[1] == "rest"
    assert decide(hunger=80, inventory={"cheese": 1, "bread": 2})[1] == "eat bread"
    assert decide(hunger=80, gold=50, perception=[TOM])[1] == "trade Tom"
    assert decide(energy=10, time_of_day="night")[1] == "sleep"
    assert decide(role="healer", perception=[TOM | {"health": 12}])[1] == "heal Tom"
    assert decide(role="guard", time_of_day="night")[1] == "patrol"
    assert decide(role="farmer", time_of_day="night", location="my home")[1] == "sleep"
    assert decide(role="farmer", time_of_day="night", location="tavern")[1] == "go_home"
    assert decide(goal="follow Tom", perception=[TOM])[1] == "follow Tom"
    assert decide(goal="find Tom", perception=[TOM])[1] == "talk Tom"


def test_unset_stats_are_never_assumed() -> None:
    steps, answer = decide(role="farmer")
    assert answer == "work" and not any(re.search(r"\d", s) for s in steps)
    # Unknown health does not make a guard weak, nor is it stated.
    steps, answer = decide(role="guard", perception=[WOLF])
    assert answer == "attack wolf" and not any("health" in s for s in steps)


def test_teacher_rejects_requests_without_any_possible_answer() -> None:
    with pytest.raises(ValueError, match="no answer is possible"):
        decide(["attack", "talk"])
    with pytest.raises(ValueError, match="unknown action"):
        decide(["dance"])
    with pytest.raises(NoDecision):
        plan_decision(make(), ["attack", "talk"])


def test_the_fallback_thought_does_not_call_danger_quiet() -> None:
    steps, _ = decide(["sleep"], role="guard", perception=[WOLF])
    assert not any("quiet" in s or "nothing to worry" in s for s in steps), steps


NAMES = st.text(st.characters(codec="utf-8", exclude_characters="<>"), min_size=1, max_size=12)


@settings(max_examples=100, deadline=None)
@given(
    role=st.none() | st.sampled_from([*CATEGORY_OF, "lamplighter", "zorblax", "goblin chief"]),
    traits=st.lists(st.sampled_from(DECISION_TRAITS + FLAVOR_TRAITS), max_size=6),
    stats=st.tuples(*[st.none() | st.integers(0, 100)] * 3, st.none() | st.integers(0, 500)),
    inventory=st.dictionaries(
        st.sampled_from(FOOD + MEDICINE + POTIONS + OTHER_HELD), st.integers(0, 5), max_size=8
    ),
    seen=st.lists(
        st.fixed_dictionaries(
            {
                "name": NAMES.filter(lambda s: s.isprintable() and s.strip()),
                "kind": st.sampled_from(KINDS),
                "distance": st.floats(0, 80),
                "hostile": st.booleans(),
                "health": st.none() | st.integers(0, 100),
                "strength": st.none() | st.integers(0, 100),
            }
        ),
        max_size=9,
    ),
    time=st.none() | st.sampled_from(["dawn", "day", "dusk", "night", 3, 12.5, "18:30"]),
    goal=st.none() | st.sampled_from(["follow Tom", "guard the gate", "deliver bread to Ann"]),
    actions=st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=24),
)
def test_teacher_answers_any_valid_state(
    role: str | None,
    traits: list[str],
    stats: tuple[int | None, ...],
    inventory: dict[str, int],
    seen: list[dict[str, Any]],
    time: str | float | None,
    goal: str | None,
    actions: list[str],
) -> None:
    state = make(
        role=role, traits=traits, inventory=inventory, perception=seen, time_of_day=time,
        goal=goal, **dict(zip(STATS, stats, strict=True)),
    )  # fmt: skip
    canonical = check_actions(actions)
    assert npc_prompt(state, canonical) == npc_prompt(state, check_actions(actions[::-1]))
    options = served_options(state, canonical)
    if not options:
        with pytest.raises(ValueError, match="no answer is possible"):
            teacher(state, canonical)
        return
    steps, answer = teacher(state, canonical)
    assert answer in options
    assert 2 <= len(steps) <= 5 and all(s and "\n" not in s for s in steps)
    if len(canonical) == 1:
        assert split_answer(answer)[0] == canonical[0]
    assert false_claims(state, canonical, steps, answer) == []


# --------------------------------------------------------------------- state, actions


def test_state_accepts_game_style_input() -> None:
    s = NPCState.model_validate(
        {"id": 7, "name": " Old   Bob ", "role": "Guard", "traits": ["Brave", "brave"],
         "health": 55.6, "time_of_day": "evening", "extra_field": {"ignored": True},
         "perception": [{"name": "wolf", "kind": "Animal", "distance": 3.6, "mood": "x"}]}
    )  # fmt: skip
    assert (s.id, s.name, s.role, s.traits, s.health) == ("7", "Old Bob", "guard", ["brave"], 56)
    assert s.time_of_day == "dusk" and s.perception[0].kind == "animal"
    assert s.perception[0].meters == 4
    assert make(time_of_day=6).time_of_day == "dawn"
    assert make(time_of_day="23:15").time_of_day == "night"


def test_only_id_and_name_are_required() -> None:
    s = make()
    assert (s.role, s.health, s.hunger, s.energy, s.gold, s.time_of_day, s.goal) == (None,) * 7
    with pytest.raises(ValidationError):
        NPCState.model_validate({"id": "t"})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"health": 101}, "less than or equal to 100"),
        ({"gold": -1}, "greater than or equal to 0"),
        ({"name": "x<STEP>"}, "must not contain"),
        ({"goal": "line\nbreak"}, "must not contain"),
        ({"time_of_day": "teatime"}, "time_of_day must be"),
        ({"time_of_day": 25}, "hour must be between"),
        ({"perception": [{"name": "oak", "kind": "tree", "distance": 1}]}, "kind must be one of"),
        ({"perception": [{"name": "oak", "kind": "item", "distance": -1}]}, "greater than"),
        ({"traits": ["t"] * 9}, "at most 8 traits"),
        ({"memory": ["m"] * 17}, "at most 16 memory"),
        ({"inventory": {f"i{k}": 1 for k in range(33)}}, "at most 32 inventory"),
        ({"perception": [TOM] * 33}, "at most 32 perceived"),
        ({"name": "n" * 41}, "at most 40 characters"),
        ({"health": float("nan")}, "finite number"),
    ],
)
def test_bad_states_are_rejected_clearly(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make(**fields)


def test_answer_options_cover_targets_in_vocabulary_order() -> None:
    state = make(
        inventory={"bread": 1, "potion": 2},
        perception=[TOM, {"name": "apple", "kind": "food", "distance": 2}],
    )
    assert answer_options(state, check_actions(["talk", "eat", "heal", "flee", "hunt"])) == [
        "flee",
        "eat apple",
        "eat bread",  # not the potion: that one is drunk
        "heal",
        "heal Tom",
        "talk Tom",
    ]


def test_aliases_map_game_verbs_both_ways() -> None:
    aliases = {"smite": "attack", "run_away": "flee", "chat": "talk"}
    canonical, back = resolve_actions(["chat", "smite", "run_away", "wander"], aliases)
    assert canonical == ["attack", "flee", "talk", "wander"]
    assert back == {"talk": "chat", "attack": "smite", "flee": "run_away", "wander": "wander"}
    state = make(role="guard", perception=[WOLF])
    _, answer = teacher(state, canonical)
    assert to_game_answer(answer, back) == ("smite", "wolf")
    plan = plan_decision(state, ["chat", "smite", "run_away", "wander"], aliases)
    assert plan.actions == canonical and plan.read(answer) == ("smite", "wolf")
    with pytest.raises(ValueError, match="not allowed"):
        plan.read("attack Tom")
    with pytest.raises(ValueError, match="not a canonical verb"):
        resolve_actions(["dance"], aliases)
    with pytest.raises(ValueError, match="unknown verb"):
        resolve_actions(["smite"], {"smite": "obliterate"})


def test_split_answer_keeps_multi_word_targets() -> None:
    assert split_answer("attack grey wolf") == ("attack", "grey wolf")
    assert split_answer("call_for_help") == ("call_for_help", None)
    with pytest.raises(ValueError):
        split_answer("dance wildly")


def test_eat_and_drink_take_only_what_can_be_eaten_or_drunk() -> None:
    inventory = {"letter": 1, "rope": 2, "loaf of bread": 3, "dates": 9, "sweetroll": 2}
    state = NPCState.model_validate({"id": "a", "name": "A", "inventory": inventory})
    # A name we do not know stays a target: games name their food freely.
    assert answer_options(state, ["eat", "drink"]) == [
        "eat dates",
        "eat loaf of bread",
        "eat sweetroll",
        "drink sweetroll",
    ]
    inventory = {"purified water": 1, "healing potion": 1, "spellbook": 1, "arrows": 20}
    state = NPCState.model_validate({"id": "a", "name": "A", "inventory": inventory})
    assert answer_options(state, ["eat", "drink"]) == [
        "drink healing potion",
        "drink purified water",
    ]
    # The generator's own held things: food is eaten, the rest never is.
    for item in FOOD:
        assert answer_options(NPCState(id="b", name="B", inventory={item: 1}), ["eat"]), item
    for item in OTHER_HELD:
        assert not answer_options(NPCState(id="b", name="B", inventory={item: 1}), ["eat"]), item
    with pytest.raises(NoDecision):
        plan_decision(NPCState(id="c", name="C", inventory={"letter": 1}), ["eat"])
