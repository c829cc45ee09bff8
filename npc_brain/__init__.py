"""npc-brain: a tiny reasoning model that thinks out loud for game NPCs."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public names -> defining module. Loaded on first use, so commands that never touch the
# model (ask, install-addon, the Godot tooling) don't pay for importing torch.
_EXPORTS = {
    "DEFAULT_MODEL_DIR": "nrm.checkpoint",
    "generate_dir": "nrm.checkpoint",
    "load_model": "nrm.checkpoint",
    "save_model": "nrm.checkpoint",
    "Engine": "nrm.engine",
    "GenRequest": "nrm.engine",
    "TokenEvent": "nrm.engine",
    "NRMConfig": "nrm.config",
    "NRMModel": "nrm.model",
    "Tokenizer": "nrm.tokenizer",
    "Answer": "nrm.trace",
    "Step": "nrm.trace",
    "TraceError": "nrm.trace",
    "TraceParser": "nrm.trace",
    "format_trace": "nrm.trace",
    "parse_trace": "nrm.trace",
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
    "generate_dir",
    "load_model",
    "parse_trace",
    "save_model",
]

if TYPE_CHECKING:
    from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, generate_dir, load_model, save_model
    from npc_brain.nrm.config import NRMConfig
    from npc_brain.nrm.engine import Engine, GenRequest, TokenEvent
    from npc_brain.nrm.model import NRMModel
    from npc_brain.nrm.tokenizer import Tokenizer
    from npc_brain.nrm.trace import Answer, Step, TraceError, TraceParser, format_trace, parse_trace


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'npc_brain' has no attribute {name!r}")
    return getattr(importlib.import_module(f"npc_brain.{module}"), name)
