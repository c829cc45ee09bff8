"""The hand-written designer test set: valid requests, honest answers, designer-like shape."""

from __future__ import annotations

import statistics

import pytest

from npc_brain.npc.actions import answer_options, resolve_actions
from npc_brain.workshop.designer_set import DesignerCase, load_designer_set

COMMON_ROLES = {
    "guard",
    "soldier",
    "merchant",
    "farmer",
    "hunter",
    "healer",
    "thief",
    "villager",
    "child",
    "blacksmith",
    "bard",
}
STATS = ("health", "hunger", "energy", "gold")

CASES = load_designer_set()
HOLDOUT = load_designer_set("holdout")
RECALL = load_designer_set("recall")


def _unusual(name: str) -> bool:
    return " " in name.strip() or not name.isascii()


def test_size_and_unique_slugs() -> None:
    assert len(CASES) >= 150 and len(HOLDOUT) >= 50 and len(RECALL) >= 50
    slugs = [c.case for c in CASES + HOLDOUT + RECALL]
    assert len(set(slugs)) == len(slugs)
    assert all(c.note.strip() and c.accept for c in CASES + HOLDOUT + RECALL)
    assert sum(bool(c.npc.memory) for c in RECALL) >= 0.9 * len(RECALL)


@pytest.mark.parametrize("case", CASES + HOLDOUT + RECALL, ids=lambda c: c.case)
def test_case_is_a_valid_request_with_reachable_accepts(case: DesignerCase) -> None:
    canonical, _ = resolve_actions(case.actions, case.aliases)
    options = answer_options(case.npc, canonical)
    assert options, "no allowed decision at all"
    targets = {p.name for p in case.npc.perception} | set(case.npc.inventory)
    for entry in case.accept:
        verb, _, target = entry.partition(" ")
        assert verb in case.actions, f"{entry!r}: verb not offered"
        canon = case.aliases.get(verb, verb)
        if target:
            assert target in targets, f"{entry!r}: unknown target"
            assert f"{canon} {target}" in options, f"{entry!r}: not an allowed answer"
        else:
            assert any(o.split(" ", 1)[0] == canon for o in options), f"{entry!r}: never allowed"


def test_set_matches_designer_habits() -> None:
    n = len(CASES)
    counts = [len(c.actions) for c in CASES]
    assert 3 <= statistics.median(counts) <= 6
    raw = [c.npc.model_dump(exclude_unset=True) for c in CASES]
    no_stats = sum(not any(s in r for s in STATS) for r in raw)
    assert no_stats >= 0.25 * n
    uncommon = sum(c.npc.role not in COMMON_ROLES for c in CASES)
    assert uncommon >= 0.25 * n
    names = [[c.npc.name, *(p.name for p in c.npc.perception if p.kind == "person")] for c in CASES]
    assert sum(any(_unusual(x) for x in ns) for ns in names) >= 0.20 * n
