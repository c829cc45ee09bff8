"""NPCBrainAgent and the NPCBrain autoload in the real Godot runtime, against a real sidecar.

The sidecar (tests/server_harness.py: the real server with a small random-weight model) runs
in this process behind the real WebSocket relay. The pack's project.godot sets the addon's
Project Settings, so the run shows the autoload reading them. tests/godot/test_agents.gd
checks that each agent hears its own request only, and prints cues around the failures whose
warnings are counted here, in what the engine reported.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
from godot_harness import PROJECT_GODOT, assert_passed, run_gdscript_test
from server_harness import running_server

from npc_brain.godot.addon import addon_source
from npc_brain.npc.actions import VOCABULARY
from npc_brain.sidecar.ws_relay import WebSocketRelay


@pytest.fixture
def relay_url() -> Iterator[str]:
    with running_server() as server:
        relay = WebSocketRelay("127.0.0.1:0", server.endpoint)
        host, port = relay.start()
        try:
            yield f"ws://{host}:{port}/"
        finally:
            relay.stop()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _project(url: str) -> bytes:
    settings = (
        "\n[npc_brain]\n\n"
        f'connection/web_address="{url}"\n'
        "connection/request_timeout=90.0\n"
        "generation/default_temperature=0.7\n"
    )
    return (PROJECT_GODOT + settings).encode()


def test_agents_own_their_requests_warn_once_and_read_settings(relay_url: str) -> None:
    dead = f"ws://127.0.0.1:{_closed_port()}/"
    result = run_gdscript_test(
        "test_agents.gd",
        extra_files={"res://project.godot": _project(relay_url)},
        user_args=[f"url={relay_url}", f"dead_url={dead}"],
        timeout_s=300,
    )
    assert_passed(result)
    warnings = [line for line in result.errors if "NPCBrain: " in line]
    refused = [w for w in warnings if "a request failed (invalid_field)" in w]
    unreachable = [w for w in warnings if f"cannot reach the sidecar at {dead}" in w]
    assert len(refused) == 1, result.report()
    assert "atack" in refused[0], refused
    assert len(unreachable) == 1, result.report()


def test_the_addon_knows_the_sidecars_verbs() -> None:
    source = (addon_source() / "verbs.gd").read_text()
    listed = re.search(r"CANONICAL: PackedStringArray = \[(.*?)\]", source, re.DOTALL)
    assert listed is not None
    assert tuple(re.findall(r'"(\w+)"', listed.group(1))) == VOCABULARY
