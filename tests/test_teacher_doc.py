"""docs/teacher.md tells the truth: its rule table is the teacher's, its examples are real."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from npc_brain.npc.actions import check_actions
from npc_brain.npc.prompt import npc_prompt
from npc_brain.npc.state import NPCState
from npc_brain.npc.teacher import RULES, teacher

DOC = (Path(__file__).resolve().parents[1] / "docs" / "teacher.md").read_text()
WOLF = {"name": "wolf", "kind": "animal", "distance": 4, "hostile": True, "strength": 60}


def test_rule_table_is_the_teachers() -> None:
    rows = [line for line in DOC.splitlines() if line.startswith("| `")]
    documented = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    expected = [
        [f"`{r.name}`", " ".join(r.when) or "always", " ".join(r.moves), " ".join(r.say)]
        for r in RULES
    ]
    assert documented == expected


EXAMPLES: list[tuple[dict[str, Any], list[str]]] = [
    (
        {"id": "g1", "name": "Bram", "role": "guard", "traits": ["brave"], "health": 80,
         "perception": [WOLF, {"name": "Tom", "kind": "person", "distance": 10}]},
        ["attack", "flee", "call_for_help", "patrol"],
    ),
    (
        {"id": "m1", "name": "Ysolde", "role": "merchant", "traits": ["cowardly"],
         "perception": [WOLF]},
        ["attack", "flee", "hide", "trade"],
    ),
    (
        {"id": "w1", "name": "Ærwyn", "role": "herbalist", "traits": ["kind"],
         "perception": [{"name": "Sir Aldous", "kind": "person", "distance": 3, "health": 12}]},
        ["heal", "talk", "work"],
    ),
    (
        {"id": "f1", "name": "Pell", "role": "ferryman", "hunger": 85, "gold": 3,
         "perception": [{"name": "Old Tam", "kind": "person", "distance": 6}]},
        ["talk", "work", "wait"],
    ),
    ({"id": "i1", "name": "Wenna", "role": "innkeeper", "time_of_day": "dusk"},
     ["work", "wait", "sleep"]),
]  # fmt: skip


@pytest.mark.parametrize(("npc", "actions"), EXAMPLES, ids=[n["id"] for n, _ in EXAMPLES])
def test_worked_examples_are_what_the_teacher_says(npc: dict[str, Any], actions: list[str]) -> None:
    state = NPCState.model_validate(npc)
    verbs = check_actions(actions)
    steps, answer = teacher(state, verbs)
    lines = [npc_prompt(state, verbs), *(f"<STEP> {s}" for s in steps), f"<ANS>{answer}</ANS>"]
    assert "\n    ".join(lines) in DOC
