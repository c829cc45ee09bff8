"""The Godot addon's WebSocket token, in the real Godot web runtime against a real sidecar."""

from __future__ import annotations

from pathlib import Path

from godot_harness import assert_passed, run_gdscript_test
from server_harness import running_server

from npc_brain.sidecar.ws_relay import WebSocketRelay

TOKEN = "godot-test-token-0123456789abcdef"
# Packed for this test only (not into every test's pack under tests/godot/): the Godot 4.6
# web runtime here crashes ("null function") on some pack layouts, and this file tipped the
# shared pack into one.
SCRIPT = Path(__file__).parent / "godot_solo" / "test_ws_token.gd"
SCRIPT_PATH = "res://tests/godot_solo/test_ws_token.gd"


def test_brain_client_sends_the_relay_token_first() -> None:
    with running_server() as server:
        relay = WebSocketRelay("127.0.0.1:0", server.endpoint, token=TOKEN)
        host, port = relay.start()
        try:
            result = run_gdscript_test(
                SCRIPT_PATH,
                extra_files={SCRIPT_PATH: SCRIPT.read_bytes()},
                user_args=[f"url=ws://{host}:{port}/", f"token={TOKEN}"],
                timeout_s=180,
            )
        finally:
            relay.stop()
    assert_passed(result)
