"""What an NPC recalls: memory lines read for cues, shown in the prompt, acted on by the
teacher, and held to by the truth checker."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from npc_brain.npc.memory import CUES, RECENT, line_cues, recalled
from npc_brain.npc.prompt import npc_prompt
from npc_brain.npc.state import NPCState
from npc_brain.npc.teacher import teacher
from npc_brain.npc.truth import false_claims
from npc_brain.workshop.data import npc_situations
from npc_brain.workshop.data.npc import generate

LINES = json.loads(
    (Path(npc_situations.__file__).parent / "memory_lines.json").read_text(encoding="utf-8")
)


def make(memory: list[str], **fields: object) -> NPCState:
    return NPCState.model_validate({"id": "n", "name": "Nell", "memory": memory, **fields})


@pytest.mark.parametrize("cue", list(CUES))
def test_most_logged_lines_of_a_cue_are_read_as_it(cue: str) -> None:
    """memory_lines.json was written from a description of each cue, in many settings and
    styles, before the cue table; the table reads nearly all of it (a line may hold another
    cue too: "the stable is on fire, horses screaming")."""
    lines = LINES[cue]
    missed = [line for line in lines if cue not in line_cues(line)]
    assert len(missed) <= 0.05 * len(lines), missed


def test_everyday_lines_recall_nothing() -> None:
    lines = LINES["neutral"]
    wrong = [line for line in lines if line_cues(line)]
    assert len(wrong) <= 0.02 * len(lines), wrong


@pytest.mark.parametrize(
    ("line", "cues"),
    [
        ("The lab is on FIRE!", ["danger"]),
        ("Captain: fall back to the keep!", ["retreat", "orders"]),  # the retreat row acts
        ("Foreman said the crates must be stacked by noon", ["orders"]),
        ("Mum wants me home before dark", ["curfew"]),
        ("heard footsteps in the attic", ["noise"]),
        ("no water for two days", ["thirst"]),
        ("the blizzard is getting worse", ["storm"]),
        ("the mill burnt down ten years ago", []),  # long past
        ("sold three eggs to Marta", []),
    ],
)
def test_a_line_is_read_for_its_cues(line: str, cues: list[str]) -> None:
    assert line_cues(line) == cues


def test_only_the_newest_lines_are_read() -> None:
    old = ["the barn is on fire"]
    assert recalled(old + ["fed the hens"] * (RECENT - 1)) == ["danger"]
    assert recalled(old + ["fed the hens"] * RECENT) == []


def test_the_prompt_shows_cues_not_prose() -> None:
    state = make(["fed the hens", "heard scratching in the cellar"], role="farmer")
    prompt = npc_prompt(state, ["investigate", "sleep"])
    assert "recalls noise; can investigate, sleep" in prompt
    assert "scratching" not in prompt
    assert "recalls" not in npc_prompt(make(["fed the hens"]), ["wait"])


@pytest.mark.parametrize(
    ("memory", "actions", "answer"),
    [
        (["the cauldron exploded", "the lab is on fire"], ["work", "flee", "call_for_help"],
         "flee"),
        (["Sergeant: retreat to the walls!"], ["attack", "guard", "flee"], "flee"),
        (["Captain said: scrub the deck or no supper"], ["work", "play", "talk"], "work"),
        (["promised Gran I'd be home before dark"], ["play", "go_home", "wander"], "go_home"),
        (["the storm is getting worse"], ["wander", "hide", "work"], "hide"),
    ],
)  # fmt: skip
def test_what_the_npc_recalls_decides(memory: list[str], actions: list[str], answer: str) -> None:
    state = make(memory, role="apprentice")
    steps, got = teacher(state, actions)
    assert got == answer
    assert false_claims(state, actions, steps, got) == []


def test_a_noise_is_looked_into_and_thirst_sends_to_water() -> None:
    barn = {"name": "barn", "kind": "shelter", "distance": 20}
    state = make(["the cows are restless, heard a noise"], perception=[barn], time_of_day="night")
    assert teacher(state, ["investigate", "sleep", "hide"])[1] == "investigate barn"
    well = {"name": "old well", "kind": "water", "distance": 9}
    parched = make(["ran out of water yesterday"], perception=[well])
    steps, answer = teacher(parched, ["drink", "wander"])
    assert answer == "drink old well"
    assert "my throat is so dry" in steps


def test_a_recall_the_memory_does_not_hold_is_false() -> None:
    steps = ["it is not safe here any more", "so I flee"]
    claims = false_claims(make(["fed the hens"]), ["flee"], steps, "flee")
    assert [c.kind for c in claims] == ["memory"]
    assert false_claims(make(["the roof is on fire"]), ["flee"], steps, "flee") == []


def test_generated_situations_recall_each_cue() -> None:
    rng = random.Random(5)
    examples = [generate(rng) for _ in range(1500)]
    found = {cue for ex in examples for cue in CUES if f"recalls {cue}" in ex.prompt}
    assert found == set(CUES)
    with_cue = sum("; recalls " in ex.prompt for ex in examples)
    assert 0.06 * len(examples) < with_cue < 0.25 * len(examples)
