"""The NPC domain: the state a game sends, its actions, the prompt, the decision read back."""
