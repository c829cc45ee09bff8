"""Hand-typed reasoning questions: the card's seven tasks asked as people type them.

Written from a user's side by someone who never read the project's generators or their
wordings, with numbers inside the trained ranges, so it measures wording alone (the
"harder" split measures longer numbers). Never used for training. 30 questions per task,
each with its answer in the form the model answers (a number, "even"/"odd", "yes"/"no",
or a list "3, 17, 42").
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


def load_questions() -> list[Question]:
    """Every question, in file order."""
    raw = json.loads((Path(__file__).parent / "questions.json").read_text())
    return [Question(**item) for item in raw]
