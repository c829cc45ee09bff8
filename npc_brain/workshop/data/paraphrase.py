"""Paraphrase augmentation for training prompts of the reasoning suite.

A tiny model memorises its question templates: on wordings it never saw it loses most of
its accuracy even though the numbers and the operation words are all there. Training
prompts are therefore sometimes wrapped in filler (a lead-in, a closing remark), stripped
of their final punctuation, started in lower case or given a synonym for their opening
words, so the model learns to find the numbers and cue words wherever they sit.

None of these words come from the held-out phrasings (reasoning_phrasings.py): the
"heldout_phrasing" split still measures wordings never trained on, and `augment` is only
applied to the training split (see mixture.py).
"""

from __future__ import annotations

import random

from npc_brain.workshop.data.reasoning_phrasings import PHRASES

RATE = 0.4  # fraction of training prompts that get augmented

# No lead-in ends in a comma: "Hey, red, blue, red" would read as part of a sequence.
LEAD_INS = (
    "Quick question: ",
    "Question: ",
    "Please help. ",
    "Hey! ",
    "Can you tell me: ",
    "Try this one. ",
    "Math time! ",
    "I wonder: ",
    "Here is a puzzle. ",
    "OK. ",
    "Teacher asks: ",
    "Help me out: ",
)
CLOSINGS = (
    " Thanks!",
    " Show your steps.",
    " Please answer.",
    " Think it through.",
    " Be careful.",
    " Explain.",
    " Thank you.",
    " Go!",
)
# Opening words and trained synonyms (none of them a held-out wording's opening).
OPENINGS = (
    ("What is ", ("What's ", "Tell me ", "Give me ")),
    ("Calculate ", ("Determine ", "Figure out ", "Do ")),
    ("Compute ", ("Determine ", "Figure out ", "Do ")),
    ("Sort ", ("Please sort ", "Now sort ")),
    ("Which is ", ("Tell me which is ", "Say which is ")),
)


# First words of trained templates: safe to lower-case (a story's first word is a name).
_TEMPLATE_WORDS = frozenset(
    t.split()[0]
    for slots in PHRASES.values()
    for train, _ in slots.values()
    for t in train
    if not t.startswith("{")
)


def _lower_first(prompt: str) -> str:
    word = prompt.split(maxsplit=1)[0]
    return prompt[:1].lower() + prompt[1:] if word in _TEMPLATE_WORDS else prompt


def augment(rng: random.Random, prompt: str) -> str:
    """A reworded prompt with the same numbers, operators and cue words (or the prompt)."""
    if rng.random() >= RATE:
        return prompt
    for old, new in OPENINGS:
        if prompt.startswith(old) and rng.random() < 0.5:
            prompt = rng.choice(new) + prompt[len(old) :]
            break
    if rng.random() < 0.3 and prompt[-1] in ".?":
        prompt = prompt[:-1]
    if rng.random() < 0.5:
        prompt = rng.choice(LEAD_INS) + prompt
    elif rng.random() < 0.3:
        prompt = _lower_first(prompt)
    if rng.random() < 0.4:
        prompt += rng.choice(CLOSINGS)
    return prompt
