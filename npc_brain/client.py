"""Public home of the Python clients (`from npc_brain.client import Client`); they live in
npc_brain/sidecar/client.py and npc_brain/sidecar/ws_client.py with the rest of the service."""

from npc_brain.sidecar.client import (
    DEFAULT_ADDRESS,
    AsyncClient,
    Client,
    CurveClientKeys,
    ServerError,
    decide_message,
    generate_message,
)
from npc_brain.sidecar.ws_client import WebSocketClient

__all__ = [
    "DEFAULT_ADDRESS",
    "AsyncClient",
    "Client",
    "CurveClientKeys",
    "ServerError",
    "WebSocketClient",
    "decide_message",
    "generate_message",
]
