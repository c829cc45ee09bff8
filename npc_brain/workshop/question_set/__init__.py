"""Hand-typed reasoning questions: the card's seven tasks asked as people type them.

Written from a user's side by someone who never read the project's generators or their
wordings, with numbers inside the trained ranges, so they measure wording alone (the
"harder" split measures longer numbers). Never used for training. Two parts of 30 questions
per task, each with its answer in the form the model answers (a number, "even"/"odd",
"yes"/"no", or a list "3, 17, 42"): "typed" (questions.json), and "fresh" (fresh.json),
written later, after the generators had grown toward the first part's wordings.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from npc_brain.workshop.data.example import Example


class Question(BaseModel):
    task: str
    question: str
    answer: str

    def example(self) -> Example:
        return Example(self.task, self.question, [], self.answer)


PARTS = {"typed": "questions.json", "fresh": "fresh.json"}


def load_questions(part: str = "typed") -> list[Question]:
    """Every question of one part, in file order."""
    if part not in PARTS:
        raise ValueError(f"unknown question set part {part!r}; expected one of {list(PARTS)}")
    raw = json.loads((Path(__file__).parent / PARTS[part]).read_text())
    return [Question(**item) for item in raw]
