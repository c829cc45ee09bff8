"""npc-brain: a tiny reasoning model that thinks out loud for game NPCs."""

from npc_brain.checkpoint import DEFAULT_MODEL_DIR, load_model, save_model
from npc_brain.generate import Engine, GenRequest, TokenEvent
from npc_brain.model import NRMConfig, NRMModel
from npc_brain.tokenizer import Tokenizer
from npc_brain.trace import Answer, Step, TraceError, TraceParser, format_trace, parse_trace

__version__ = "0.1.0"

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
