"""npc-brain: a tiny reasoning model that thinks out loud for game NPCs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public names -> defining module. Loaded on first use, so commands that never touch the
# model (ask, install-addon, the Godot tooling) don't pay for importing torch.
_EXPORTS = {
    "DEFAULT_MODEL_DIR": "checkpoint",
    "load_model": "checkpoint",
    "save_model": "checkpoint",
    "Engine": "generate",
    "GenRequest": "generate",
    "TokenEvent": "generate",
    "NRMConfig": "model",
    "NRMModel": "model",
    "Tokenizer": "tokenizer",
    "Answer": "trace",
    "Step": "trace",
    "TraceError": "trace",
    "TraceParser": "trace",
    "format_trace": "trace",
    "parse_trace": "trace",
}
__all__ = [
    "DEFAULT_MODEL_DIR",
    "Answer",
    "Engine",
    "GenRequest",
    "NRMConfig",
    "NRMModel",
    "Step",
    "TokenEvent",
    "Tokenizer",
    "TraceError",
    "TraceParser",
    "__version__",
    "format_trace",
    "load_model",
    "parse_trace",
    "save_model",
]

if TYPE_CHECKING:
    from npc_brain.checkpoint import DEFAULT_MODEL_DIR, load_model, save_model
    from npc_brain.generate import Engine, GenRequest, TokenEvent
    from npc_brain.model import NRMConfig, NRMModel
    from npc_brain.tokenizer import Tokenizer
    from npc_brain.trace import Answer, Step, TraceError, TraceParser, format_trace, parse_trace


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'npc_brain' has no attribute {name!r}")
    return getattr(importlib.import_module(f"npc_brain.{module}"), name)
