"""Evaluation: the reference card's table, harder splits, hand-typed questions, and NPC
decision metrics."""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from npc_brain.npc.decision import plan_decision
from npc_brain.npc.truth import false_claims
from npc_brain.nrm.engine import Engine, GenRequest
from npc_brain.nrm.model import NRMModel
from npc_brain.nrm.tokenizer import Tokenizer
from npc_brain.nrm.trace import Answer, parse_trace, prompt_ids
from npc_brain.workshop.data.example import Example
from npc_brain.workshop.data.reasoning import TASKS
from npc_brain.workshop.designer_set import PARTS as DESIGNER_PARTS
from npc_brain.workshop.designer_set import load_designer_set

# The card's figures for MiniAxion1-0.9M (see ../shared/design.md).
CARD = {
    "arithmetic": 3.3,
    "two_step": 10.0,
    "even_odd": 100.0,
    "comparison": 5.0,
    "pattern": 0.0,
    "word_problem": 0.0,
    "sorting": 0.0,
    "cot_format": 100.0,
}
ANSWER_TASKS = TASKS  # the card's seven answer tasks
EVAL_SEED = 20261124


@dataclass
class Outcome:
    example: Example
    completion: str
    parsed: Answer | None


def run_examples(
    model: NRMModel,
    tok: Tokenizer,
    examples: list[Example],
    constrained: bool = False,
    desc: str | None = None,
    max_new_tokens: int = 320,
) -> list[Outcome]:
    """Greedy-decode every example in one continuous batch."""
    engine = Engine(model, tok, max_batch=256)
    handles: dict[int, int] = {}
    for i, ex in enumerate(examples):
        served = constrained and ex.situation is not None
        req = GenRequest(
            prompt_ids=prompt_ids(tok, ex.prompt),
            max_new_tokens=max_new_tokens,
            answer_options=list(ex.options) if constrained and ex.options else None,
            enforce_format=constrained,
            thought_rules=plan_decision(*_situation(ex)).rules if served else None,
        )
        handles[engine.submit(req)] = i
    texts = [""] * len(examples)
    bar = tqdm(total=len(examples), desc=desc, unit="item", leave=False, disable=desc is None)
    while engine.active:
        for ev in engine.step():
            texts[handles[ev.handle]] += ev.text
            if ev.done:
                bar.update(1)
    bar.close()
    outcomes = []
    for ex, text in zip(examples, texts, strict=True):
        parsed = parse_trace(text)
        outcomes.append(Outcome(ex, text, parsed if isinstance(parsed, Answer) else None))
    return outcomes


def _situation(ex: Example) -> tuple:
    assert ex.situation is not None
    state, actions = ex.situation
    return state, list(actions)


def clean(o: Outcome) -> bool:
    """The trace parsed and the truth checker finds no false claim in it."""
    if o.parsed is None or o.example.situation is None:
        return False
    state, actions = _situation(o.example)
    return not false_claims(state, actions, o.parsed.steps, o.parsed.text)


def make_examples(task: str, n: int, split: str, seed: int = EVAL_SEED) -> list[Example]:
    from npc_brain.workshop.data.mixture import GENERATORS

    rng = random.Random(f"{seed}:{task}:{split}")
    return [GENERATORS[task](rng, split) for _ in range(n)]


def task_accuracy(outcomes: list[Outcome], task: str) -> float:
    from npc_brain.workshop.data import reasoning

    ok = sum(
        o.parsed is not None and reasoning.check(task, o.parsed.text, o.example.answer)
        for o in outcomes
    )
    return 100.0 * ok / max(1, len(outcomes))


def format_rate(outcomes: list[Outcome]) -> float:
    return (
        100.0
        * sum(o.parsed is not None and len(o.parsed.steps) > 0 for o in outcomes)
        / max(1, len(outcomes))
    )


def step_answer_consistent(steps: tuple[str, ...], answer: str) -> bool:
    """The decision is stated in the reasoning: every word of the answer appears in a step."""
    said = set(re.findall(r"[\w']+", " ".join(steps).lower().replace("_", " ")))
    words = re.findall(r"[\w']+", answer.lower().replace("_", " "))
    return bool(words) and all(w in said for w in words)


def npc_metrics(model: NRMModel, tok: Tokenizer, n: int, verbose: bool = True) -> dict[str, float]:
    examples = make_examples("npc", n, "test")
    desc = "npc constrained" if verbose else None
    cons = run_examples(model, tok, examples, constrained=True, desc=desc)
    free = run_examples(
        model, tok, examples, constrained=False, desc="npc free" if verbose else None
    )

    def pct(k: int) -> float:
        return 100.0 * k / max(1, n)

    return {
        "teacher_agreement": pct(
            sum(o.parsed is not None and o.parsed.text == o.example.answer for o in cons)
        ),
        "valid_action": pct(
            sum(o.parsed is not None and o.parsed.text in o.example.options for o in cons)
        ),
        "format": pct(sum(o.parsed is not None for o in cons)),
        "step_answer_consistency": pct(
            sum(
                o.parsed is not None and step_answer_consistent(o.parsed.steps, o.parsed.text)
                for o in cons
            )
        ),
        "unconstrained_agreement": pct(
            sum(o.parsed is not None and o.parsed.text == o.example.answer for o in free)
        ),
        "unconstrained_valid_action": pct(
            sum(o.parsed is not None and o.parsed.text in o.example.options for o in free)
        ),
        "unconstrained_format": format_rate(free),
        "checker_clean": pct(sum(map(clean, cons))),
        "unconstrained_checker_clean": pct(sum(map(clean, free))),
    }


def designer_key(part: str) -> str:
    """The eval report's key for a designer-set part: "designer", "designer_holdout", ..."""
    return "designer" if part == "dev" else f"designer_{part}"


def designer_metrics(
    model: NRMModel, tok: Tokenizer, verbose: bool = True, part: str = "dev"
) -> dict[str, float]:
    """A part of the hand-written designer set (never trained on): sensible decisions, valid
    answers and checker-clean thoughts, served (constrained, as the sidecar decodes) and
    unconstrained."""
    cases = load_designer_set(part)
    plans = [plan_decision(c.npc, c.actions, c.aliases) for c in cases]
    examples = [
        Example("npc", p.prompt, options=tuple(p.options), situation=(c.npc, tuple(p.actions)))
        for c, p in zip(cases, plans, strict=True)
    ]
    report: dict[str, float] = {"cases": len(cases)}
    for mode, constrained in (("served", True), ("unconstrained", False)):
        desc = f"designer {part} {mode}" if verbose else None
        outs = run_examples(model, tok, examples, constrained=constrained, desc=desc)
        sensible = valid = 0
        for case, plan, o in zip(cases, plans, outs, strict=True):
            if o.parsed is not None and o.parsed.text in plan.options:
                valid += 1
                sensible += case.sensible(*plan.read(o.parsed.text))
        n = max(1, len(cases))
        report[f"{mode}_sensible"] = 100.0 * sensible / n
        report[f"{mode}_valid"] = 100.0 * valid / n
        report[f"{mode}_checker_clean"] = 100.0 * sum(map(clean, outs)) / n
    return report


def quick_scores(model: NRMModel, tok: Tokenizer, n: int) -> dict[str, float]:
    """A few items per task, for progress lines during training (fractions)."""
    was_training = model.training
    model.eval()
    scores = {}
    for task in ANSWER_TASKS:
        scores[task] = (
            task_accuracy(run_examples(model, tok, make_examples(task, n, "test", 7)), task) / 100
        )
    outs = run_examples(model, tok, make_examples("npc", n, "test", 7), constrained=True)
    scores["npc"] = sum(
        o.parsed is not None and o.parsed.text == o.example.answer for o in outs
    ) / max(1, n)
    model.train(was_training)
    return scores


# Which procedure a trace ran, told by the shape of its steps (first match wins).
PROCEDURES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(rx))
    for name, rx in (
        ("pattern", r"the rule is|the block .* repeats|comes after|after \S+ comes"),
        ("word_problem", r"starts with \d+|so (?:add|subtract|multiply|divide):"),
        ("two_step", r"^first \d+|x comes before"),
        ("even_odd", r"the last digit of"),
        ("comparison", r"both have|has (?:more|fewer) digits|^start with|, keep \d+"),
        ("sorting", r"(?:smallest|largest) of .* is"),
        ("cot_format", r"is digit \d|the first digit of|one (?:more|less) than|^double"),
        ("arithmetic", r"\d+ [-+x] \d+ = -?\d+"),
    )
)


def procedure(completion: str) -> str:
    """The procedure a completion ran ("none" without steps), to tell a question routed to
    the wrong procedure apart from a slip inside the right one."""
    steps = re.findall(r"<STEP> ?(.*)", completion)
    for name, rx in PROCEDURES:
        if any(rx.search(step) for step in steps):
            return name
    return "none"


def misses_by_procedure(outcomes: list[Outcome], task: str) -> dict[str, int]:
    """Missed items of a split counted by the procedure their trace ran."""
    from npc_brain.workshop.data import reasoning

    counts: dict[str, int] = {}
    for o in outcomes:
        if o.parsed is None or not reasoning.check(task, o.parsed.text, o.example.answer):
            name = procedure(o.completion)
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def typed_metrics(model: NRMModel, tok: Tokenizer, part: str = "typed") -> dict:
    """One part of the hand-typed questions (npc_brain.workshop.question_set): accuracy per
    task, their mean, and the misses by the procedure they ran."""
    from npc_brain.workshop.question_set import load_questions

    examples = [q.example() for q in load_questions(part)]
    outs = run_examples(model, tok, examples, desc=f"{part} questions")
    report: dict = {"cases": len(examples), "tasks": {}, "misses": {}}
    for task in ANSWER_TASKS:
        mine = [o for o in outs if o.example.task == task]
        report["tasks"][task] = task_accuracy(mine, task)
        report["misses"][task] = misses_by_procedure(mine, task)
    report["average"] = sum(report["tasks"].values()) / len(ANSWER_TASKS)
    return report


def evaluate(
    model: NRMModel,
    tok: Tokenizer,
    n: int = 200,
    npc_n: int = 400,
    reasoner: tuple[NRMModel, Tokenizer] | None = None,
) -> dict:
    """Full report: card tasks (test split), hard and held-out-phrasing splits, NPC metrics.

    `reasoner`: the model that answers `generate` (a reasoning specialist) runs the card's
    tasks; `model` runs the NPC decisions. Without it `model` runs everything."""
    t0 = time.perf_counter()
    report: dict = {"items_per_task": n, "parameters": model.num_params(), "tasks": {}}
    report["misses"] = {}
    npc_model, npc_tok = model, tok
    if reasoner is not None:
        model, tok = reasoner
        report["reasoning_parameters"] = model.num_params()
    all_outcomes: list[Outcome] = []
    for task in ANSWER_TASKS:
        row = {}
        for split in ("test", "heldout_phrasing", "hard"):
            outs = run_examples(model, tok, make_examples(task, n, split), desc=f"{task}/{split}")
            row[split] = task_accuracy(outs, task)
            report["misses"].setdefault(task, {})[split] = misses_by_procedure(outs, task)
            all_outcomes += outs
        report["tasks"][task] = row
    cot = run_examples(model, tok, make_examples("cot_format", n, "test"), desc="cot_format")
    report["cot_format"] = format_rate(all_outcomes + cot)
    report["average"] = sum(report["tasks"][t]["test"] for t in ANSWER_TASKS) / len(ANSWER_TASKS)
    for split in ("heldout_phrasing", "hard"):
        report[f"average_{split}"] = sum(report["tasks"][t][split] for t in ANSWER_TASKS) / len(
            ANSWER_TASKS
        )
    report["typed"] = typed_metrics(model, tok)
    report["typed_fresh"] = typed_metrics(model, tok, part="fresh")
    report["npc"] = npc_metrics(npc_model, npc_tok, npc_n)
    for part in DESIGNER_PARTS:
        report[designer_key(part)] = designer_metrics(npc_model, npc_tok, part=part)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def format_report(report: dict) -> str:
    from npc_brain.workshop.data.reasoning import CARD_NAMES

    lines = [
        "| Task | Card (MiniAxion1-0.9M) | npc-brain | held-out phrasing | harder | typed"
        " | typed, fresh |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    # Absent from reports made before each typed part.
    typed = report.get("typed", {"tasks": {}})
    fresh = report.get("typed_fresh", {"tasks": {}})
    for t in ANSWER_TASKS:
        r = report["tasks"][t]
        cells = [CARD[t], r["test"], r["heldout_phrasing"], r["hard"]]
        row = " | ".join(f"{c:.1f}%" for c in cells)
        typed_cells = f"{_pct(typed['tasks'].get(t))} | {_pct(fresh['tasks'].get(t))}"
        lines.append(f"| {CARD_NAMES[t]} | {row} | {typed_cells} |")
    cot = f"{CARD['cot_format']:.1f}% | {report['cot_format']:.1f}%"
    lines.append(f"| {CARD_NAMES['cot_format']} | {cot} | | | | |")
    card_avg = sum(CARD[t] for t in ANSWER_TASKS) / len(ANSWER_TASKS)
    lines.append(
        f"| **Average (7 answer tasks)** | {card_avg:.1f}% | {report['average']:.1f}% |"
        f" {report['average_heldout_phrasing']:.1f}% | {report['average_hard']:.1f}% |"
        f" {_pct(typed.get('average'))} | {_pct(fresh.get('average'))} |"
    )
    lines += ["", "| NPC decisions | npc-brain |", "| --- | ---: |"]
    lines += [f"| {k.replace('_', ' ')} | {v:.1f}% |" for k, v in report["npc"].items()]
    for part in DESIGNER_PARTS:
        key, title = designer_key(part), "Designer set" if part == "dev" else f"Designer {part}"
        if key not in report:
            continue  # a report from before that part
        designer = dict(report[key])
        cases = int(designer.pop("cases"))
        lines += [
            "",
            f"| {title} ({cases} hand-written situations) | npc-brain |",
            "| --- | ---: |",
        ]
        lines += [f"| {k.replace('_', ' ')} | {v:.1f}% |" for k, v in designer.items()]
    lines += [
        "",
        "| Missed items by the procedure they ran | held-out phrasing | harder | typed"
        " | typed, fresh |",
        "| --- | --- | --- | --- | --- |",
    ]
    for t in ANSWER_TASKS:
        split_misses = report.get("misses", {}).get(t, {})
        found = [split_misses.get(s, {}) for s in ("heldout_phrasing", "hard")]
        found += [part.get("misses", {}).get(t, {}) for part in (typed, fresh)]
        cells = [", ".join(f"{p} {k}" for p, k in m.items()) for m in found]
        lines.append(f"| {CARD_NAMES[t]} | " + " | ".join(cells) + " |")
    n, params = report["items_per_task"], report["parameters"]
    if "reasoning_parameters" in report:  # two specialists
        sizes = f"NPC model {params:,}, reasoning model {report['reasoning_parameters']:,}"
        lines.append(f"\n{n} items per task and split; parameters: {sizes}.")
    else:
        lines.append(f"\n{n} items per task and split; {params:,} parameters.")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}%"


def write_report(report: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
