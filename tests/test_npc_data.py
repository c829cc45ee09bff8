"""NPC state, actions, prompt and the teacher: generated data is valid and consistent."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from npc_brain.npc.actions import (
    VOCABULARY,
    answer_options,
    resolve_actions,
    split_answer,
    to_game_answer,
)
from npc_brain.npc.prompt import npc_prompt
from npc_brain.npc.state import KINDS, NPCState, Perception
from npc_brain.nrm.tokenizer import Tokenizer
from npc_brain.workshop.data import npc

DOCS = Path(__file__).resolve().parents[1] / "docs" / "teacher.md"
ALL = list(VOCABULARY)


@pytest.fixture(scope="module")
def examples() -> list:
    rng = random.Random(1234)
    return [npc.generate(rng) for _ in range(3000)]


def make(**fields: Any) -> NPCState:
    base: dict[str, Any] = {"id": "t", "name": "Test", "health": 80, "hunger": 20, "energy": 60}
    return NPCState.model_validate(base | fields)


WOLF = {"name": "wolf", "kind": "animal", "distance": 4, "hostile": True, "strength": 60}
TOM = {"name": "Tom", "kind": "person", "distance": 10}


def decide(actions: list[str] | None = None, **fields: Any) -> tuple[list[str], str]:
    return npc.teacher(make(**fields), actions or ALL)


# ------------------------------------------------------------------ generated examples


def test_answer_is_always_an_allowed_option(examples: list) -> None:
    for ex in examples:
        assert ex.task == "npc"
        assert ex.answer in ex.options
        assert len(set(ex.options)) == len(ex.options)


def test_steps_are_single_lines_and_end_with_the_decision(examples: list) -> None:
    for ex in examples:
        assert 2 <= len(ex.steps) <= 6
        for line in [ex.prompt, *ex.steps, ex.answer]:
            assert line and "\n" not in line and "<" not in line and ">" not in line
        final = ex.steps[-1]
        assert "so I " in final
        # Every word of the answer is said in the last step (call_for_help -> call for help).
        said = set(re.findall(r"\w+", final))
        assert all(w in said for w in re.findall(r"\w+", ex.answer.replace("_", " "))), ex


def test_step_numbers_and_names_come_from_the_prompt(examples: list) -> None:
    for ex in examples:
        prompt_numbers = set(re.findall(r"\d+", ex.prompt))
        prompt_words = set(re.findall(r"\w+", ex.prompt))
        for step in ex.steps:
            assert set(re.findall(r"\d+", step)) <= prompt_numbers, (ex.prompt, step)
            names = {w for w in re.findall(r"\w+", step) if w[0].isupper() and w != "I"}
            assert names <= prompt_words, (ex.prompt, step)
        _, target = split_answer(ex.answer)
        assert target is None or target in ex.prompt


def test_decision_depends_only_on_what_the_prompt_shows() -> None:
    rng = random.Random(99)
    for i in range(300):
        state, actions = npc.random_situation(rng)
        # Fill the view to six entities so that a seventh, farther one is not shown.
        fill = [Perception(name=f"stone {k}", kind="item", distance=900 + k) for k in range(6)]
        state = state.model_copy(
            update={"perception": [*state.perception, *fill][: max(6, len(state.perception))]}
        )
        far = Perception(name="far thing", kind="item", distance=5000)
        other = state.model_copy(
            update={
                "id": f"other {i}",
                "name": "Someone Else",
                "memory": ["a dragon flew over"],
                "perception": [*state.perception, far],
            }
        )
        assert npc_prompt(other, actions) == npc_prompt(state, actions)
        assert npc.teacher(other, actions)[1] == npc.teacher(state, actions)[1]


def test_text_is_ascii_except_a_few_unusual_names(examples: list) -> None:
    unusual = [ex for ex in examples if not ex.text().isascii()]
    assert 0.005 < len(unusual) / len(examples) < 0.1
    for ex in unusual:
        stripped = ex.text()
        for name in npc.UNUSUAL_PEOPLE:
            stripped = stripped.replace(name, "")
        assert stripped.isascii()


def test_generation_is_deterministic_per_seed() -> None:
    def run(seed: int) -> list:
        rng = random.Random(seed)
        return [npc.generate(rng) for _ in range(50)]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_situations_are_varied(examples: list) -> None:
    roles = Counter(ex.prompt.split(";")[0] for ex in examples)
    assert len(roles) >= 8
    assert sum("hostile" in ex.prompt for ex in examples) > 0.2 * len(examples)
    assert sum("time night" in ex.prompt for ex in examples) > 0.1 * len(examples)
    assert sum("goal " in ex.prompt for ex in examples) > 0.1 * len(examples)
    fallbacks = sum("not an option" in ex.steps[-1] for ex in examples)
    assert 0.1 * len(examples) < fallbacks < 0.35 * len(examples)


def test_decision_distribution_is_balanced() -> None:
    stats = npc.decision_stats(3000, seed=5)
    n = sum(stats.verbs.values())
    print("\n" + "\n".join(f"{v:14s} {c / n:6.1%}" for v, c in stats.verbs.most_common()))
    assert len(stats.verbs) >= 20
    assert sum(c >= 0.01 * n for c in stats.verbs.values()) >= 15
    assert max(stats.verbs.values()) < 0.12 * n


# ---------------------------------------------------------------------------- prompt


def test_prompt_is_deterministic_and_ignores_input_order() -> None:
    fields: dict[str, Any] = {
        "role": "farmer",
        "traits": ["kind", "brave"],
        "inventory": {"bread": 2, "apple": 1, "rope": 0},
        "perception": [TOM, WOLF, {"name": "barn", "kind": "shelter", "distance": 30}],
        "memory": ["something happened"],
    }
    a = npc_prompt(make(**fields), ["wander", "attack", "eat"])
    shuffled = fields | {
        "traits": ["brave", "kind"],
        "inventory": {"rope": 0, "apple": 1, "bread": 2},
        "perception": [fields["perception"][2], TOM, WOLF],
    }
    b = npc_prompt(make(**shuffled), ["eat", "wander", "attack", "eat"])
    assert a == b
    assert a == (
        "role farmer; traits brave, kind; health 80 hunger 20 energy 60 gold 0; time day; "
        "has apple 1, bread 2; sees wolf (animal hostile 4 m strength 60), Tom (person 10 m), "
        "barn (shelter 30 m); can attack eat wander"
    )


def test_prompt_shows_only_the_nearest_entities_and_options_match() -> None:
    far = [{"name": f"rock {i}", "kind": "item", "distance": 20 + i} for i in range(10)]
    state = make(perception=[*far, TOM])
    prompt = npc_prompt(state, ["pick_up", "talk"])
    assert prompt.count("(item") == 5 and "rock 4" in prompt and "rock 5" not in prompt
    # Verbs in vocabulary order (talk before pick_up), targets nearest first.
    assert answer_options(state, ["pick_up", "talk"]) == [
        "talk Tom",
        *(f"pick_up rock {i}" for i in range(5)),
    ]


def test_prompt_and_trace_fit_the_token_budget(examples: list) -> None:
    tok = Tokenizer.train((ex.text() for ex in examples), vocab_size=1024)
    prompt_len = sorted(len(tok.encode(ex.prompt)) for ex in examples)
    trace_len = sorted(len(tok.encode(ex.text())) for ex in examples)
    assert prompt_len[len(prompt_len) // 2] <= 100
    assert trace_len[int(0.95 * len(trace_len))] <= 160
    assert trace_len[-1] <= 240


# --------------------------------------------------------------------------- teacher


def test_same_danger_brave_guard_attacks_cowardly_merchant_flees() -> None:
    danger = {"perception": [WOLF, TOM]}
    assert decide(role="guard", traits=["brave"], **danger)[1] == "attack wolf"
    assert decide(role="guard", **danger)[1] == "attack wolf"
    assert decide(role="merchant", traits=["cowardly"], **danger)[1] == "flee"
    assert decide(role="guard", traits=["cowardly"], **danger)[1] == "flee"
    assert decide(role="child", traits=["brave"], **danger)[1] == "call_for_help"
    assert decide(role="merchant", traits=["brave"], **danger)[1] == "attack wolf"
    # An ordinary NPC runs from a close threat and hides from one further away.
    assert decide(role="farmer", **danger)[1] == "flee"
    assert decide(role="farmer", perception=[WOLF | {"distance": 12}])[1] == "hide"
    # Low health overrides courage.
    assert decide(role="guard", traits=["brave"], health=25, **danger)[1] == "flee"


def test_strong_threats_need_bravery() -> None:
    troll = {"name": "troll", "kind": "monster", "distance": 8, "hostile": True, "strength": 90}
    steps, answer = decide(role="soldier", perception=[troll])
    assert answer == "call_for_help"
    assert "strength 90 is too strong for me alone" in steps
    assert decide(role="soldier", traits=["brave"], perception=[troll])[1] == "attack troll"


def test_far_threats_are_investigated_by_fighters_only() -> None:
    far_wolf = {"perception": [WOLF | {"distance": 40}]}
    assert decide(role="guard", **far_wolf)[1] == "investigate wolf"
    assert decide(role="farmer", traits=["cowardly"], **far_wolf)[1] == "hide"
    assert decide(role="farmer", **far_wolf)[1] == "work"


def test_injured_allies_need_kind_or_loyal_npcs() -> None:
    hurt = {"perception": [{"name": "Anna", "kind": "person", "distance": 6, "health": 12}]}
    assert decide(role="healer", **hurt)[1] == "heal Anna"
    assert decide(role="farmer", traits=["kind"], **hurt)[1] == "heal Anna"
    assert decide(role="farmer", traits=["loyal"], **hurt)[1] == "call_for_help"
    assert decide(role="farmer", **hurt)[1] == "work"


def test_needs_drive_decisions() -> None:
    assert decide(health=20, inventory={"potion": 1})[1] == "drink potion"
    assert decide(health=20, inventory={"herbs": 1})[1] == "heal"
    assert decide(health=20)[1] == "rest"
    assert decide(hunger=80, inventory={"cheese": 1, "bread": 2})[1] == "eat bread"
    assert decide(hunger=80, gold=50, perception=[TOM])[1] == "trade Tom"
    assert decide(hunger=80, gold=3, role="thief", perception=[TOM])[1] == "steal Tom"
    assert decide(hunger=80, gold=3, perception=[TOM])[1] == "wander"
    assert decide(energy=10, time_of_day="night")[1] == "sleep"
    assert decide(energy=35)[1] == "work"
    assert decide(energy=35, traits=["lazy"])[1] == "rest"


def test_traits_and_roles_shape_calm_days() -> None:
    sword = {"name": "sword", "kind": "item", "distance": 3}
    assert decide(role="farmer", traits=["greedy"], perception=[sword])[1] == "pick_up sword"
    assert decide(role="farmer", traits=["curious"], perception=[sword])[1] == "investigate sword"
    assert decide(role="farmer", traits=["friendly"], perception=[TOM])[1] == "talk Tom"
    assert decide(role="merchant", perception=[TOM])[1] == "trade Tom"
    assert decide(role="child")[1] == "play"
    assert decide(role="guard")[1] == "patrol"
    assert decide(role="guard", time_of_day=23)[1] == "patrol"
    assert decide(role="farmer", time_of_day="night", location="my home")[1] == "sleep"
    assert decide(role="farmer", time_of_day="night", location="tavern")[1] == "go_home"


def test_goals_name_people_in_view() -> None:
    assert decide(goal="follow Tom", perception=[TOM])[1] == "follow Tom"
    assert decide(goal="find Tom", perception=[TOM])[1] == "talk Tom"
    delivery = {"goal": "deliver letter to Tom", "perception": [TOM]}
    assert decide(inventory={"letter": 1}, **delivery)[1] == "give Tom"
    assert decide(role="farmer", **delivery)[1] == "work"  # no letter to give
    assert decide(role="farmer", goal="follow Tom")[1] == "work"  # Tom not in view


def test_fallback_names_the_skipped_verbs() -> None:
    steps, answer = decide(["hide", "call_for_help", "wander"], role="farmer", perception=[WOLF])
    assert answer == "hide"
    assert steps[-1] == "flee is not an option, so I hide from the wolf"
    steps, answer = decide(["call_for_help", "wander"], role="farmer", perception=[WOLF])
    assert steps[-1] == "flee and hide are not options, so I call for help"
    assert answer == "call_for_help"


def test_a_rule_with_no_allowed_verb_is_passed_over_out_loud() -> None:
    hungry = {"role": "farmer", "hunger": 85, "gold": 40, "perception": [TOM]}
    steps, answer = decide(["work", "talk"], **hungry)
    assert steps[0] == "hunger 85 is high, but trade and wander are not options"
    assert (steps[-1], answer) == ("so I work", "work")
    # With the rule's verb offered, nothing is passed over.
    steps, answer = decide(["work", "trade"], **hungry)
    assert "but" not in " ".join(steps) and answer == "trade Tom"


def test_teacher_rejects_requests_without_any_possible_answer() -> None:
    with pytest.raises(ValueError, match="no answer is possible"):
        decide(["attack", "talk"])
    with pytest.raises(ValueError, match="unknown action"):
        decide(["dance"])


def test_worked_examples_in_docs_are_what_the_teacher_says() -> None:
    doc = DOCS.read_text()
    cases = [
        (
            make(id="g1", role="guard", traits=["brave"], gold=35, perception=[WOLF, TOM],
                 location="gate"),
            ["attack", "flee", "hide", "call_for_help", "talk", "patrol", "wander"],
        ),
        (
            make(id="h1", role="hunter", traits=["quiet"], health=90, hunger=85, energy=70,
                 gold=4, inventory={"rope": 1}, time_of_day="dawn", location="forest",
                 perception=[{"name": "deer", "kind": "animal", "distance": 25},
                             {"name": "Anna", "kind": "person", "distance": 12}]),
            ["eat", "hunt", "trade", "talk", "wander", "rest"],
        ),
        (
            make(id="c1", role="healer", traits=["kind"], health=70, hunger=30, energy=50,
                 gold=20, inventory={"herbs": 3}, time_of_day="night", location="square",
                 perception=[{"name": "Anna", "kind": "person", "distance": 6, "health": 12}]),
            ["call_for_help", "rest", "talk", "go_home", "wander"],
        ),
        (
            make(id="p1", role="farmer", health=60, hunger=90, energy=70, gold=40,
                 location="field", perception=[TOM]),
            ["talk", "work", "wait"],
        ),
    ]  # fmt: skip
    for state, actions in cases:
        steps, answer = npc.teacher(state, actions)
        block = "\n".join(
            [npc_prompt(state, actions), *(f"<STEP> {s}" for s in steps), f"<ANS>{answer}</ANS>"]
        )
        assert block.replace("\n", "\n    ") in doc


@settings(max_examples=150, deadline=None)
@given(
    role=st.sampled_from([*npc.ROLES, "innkeeper"]),
    traits=st.lists(st.sampled_from(npc.DECISION_TRAITS + npc.FLAVOR_TRAITS), max_size=6),
    stats=st.tuples(*[st.integers(0, 100)] * 3),
    gold=st.integers(0, 500),
    inventory=st.dictionaries(
        st.sampled_from(npc.FOOD + npc.MEDICINE + npc.OTHER_ITEMS + ("potion",)),
        st.integers(0, 5),
        max_size=8,
    ),
    seen=st.lists(
        st.fixed_dictionaries(
            {
                "name": st.text(st.characters(codec="utf-8", exclude_characters="<>"), min_size=1,
                                max_size=12).filter(lambda s: s.isprintable() and s.strip()),
                "kind": st.sampled_from(KINDS),
                "distance": st.floats(0, 80),
                "hostile": st.booleans(),
                "health": st.none() | st.integers(0, 100),
                "strength": st.none() | st.integers(0, 100),
            }
        ),
        max_size=9,
    ),
    time=st.sampled_from(["dawn", "day", "dusk", "night", 3, 12.5, "18:30"]),
    goal=st.none() | st.sampled_from(["follow Tom", "guard the gate", "deliver bread to Ann"]),
    actions=st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=24),
)  # fmt: skip
def test_teacher_answers_any_valid_state(
    role, traits, stats, gold, inventory, seen, time, goal, actions
) -> None:
    state = make(
        role=role, traits=traits, health=stats[0], hunger=stats[1], energy=stats[2], gold=gold,
        inventory=inventory, perception=seen, time_of_day=time, goal=goal,
    )  # fmt: skip
    options = answer_options(state, actions)
    if not options:
        with pytest.raises(ValueError):
            npc.teacher(state, actions)
        return
    steps, answer = npc.teacher(state, actions)
    assert answer in options
    assert 2 <= len(steps) <= 6 and all("\n" not in s for s in steps)
    assert npc_prompt(state, actions) == npc_prompt(state, list(reversed(actions)))


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
    assert answer_options(state, ["talk", "eat", "heal", "flee", "hunt"]) == [
        "flee",
        "eat apple",
        "eat bread",
        "eat potion",
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
    _, answer = npc.teacher(state, canonical)
    assert to_game_answer(answer, back) == ("smite", "wolf")
    with pytest.raises(ValueError, match="not a canonical verb"):
        resolve_actions(["dance"], aliases)
    with pytest.raises(ValueError, match="unknown verb"):
        resolve_actions(["smite"], {"smite": "obliterate"})


def test_split_answer_keeps_multi_word_targets() -> None:
    assert split_answer("attack grey wolf") == ("attack", "grey wolf")
    assert split_answer("call_for_help") == ("call_for_help", None)
    with pytest.raises(ValueError):
        split_answer("dance wildly")
