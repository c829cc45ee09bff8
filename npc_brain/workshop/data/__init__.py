"""Data generators: the reasoning suite and NPC decisions."""

from npc_brain.workshop.data.example import Example

__all__ = ["Example"]
