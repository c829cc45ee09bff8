"""The Python clients against a dying sidecar, the transport cap, and CURVE authentication."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from server_harness import TIMEOUT_S, npc_state, running_server, save_tiny_model

from npc_brain.cli import main
from npc_brain.client import AsyncClient, Client, CurveClientKeys, ServerError
from npc_brain.sidecar.auth import CurveKeys, endpoint_is_local, make_key_pair

ACTIONS = ["attack", "flee", "eat", "call_for_help"]
MIB = 1 << 20
SERVE = [sys.executable, "-m", "npc_brain.cli", "serve"]


def outcome(events) -> str:
    """The terminal event's type, or the error code the stream raised."""
    try:
        return [e.type for e in events][-1]
    except ServerError as exc:
        return exc.code


def test_killed_sidecar_fails_every_pending_request_at_once(tmp_path: Path) -> None:
    model_dir = save_tiny_model(tmp_path / "model")
    proc = subprocess.Popen(
        [*SERVE, "--model", str(model_dir), "--bind", "tcp://127.0.0.1:0", "--max-batch", "2"],
        cwd=Path(__file__).resolve().parents[1],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        while not banner.startswith("serving"):
            banner = proc.stderr.readline()
            assert banner, "the sidecar exited before serving"
        endpoint = re.search(r"serving (\S+)", banner).group(1)
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe flowing
        with Client(endpoint, timeout=TIMEOUT_S) as client:
            streams = [client.decide(npc_state(), ACTIONS, max_tokens=200) for _ in range(50)]
            first = next(streams[0])
            assert first.type == "step"  # the sidecar is generating
            proc.kill()
            outcomes = [outcome(s) for s in streams]
        # Whatever had not finished ended with `disconnected`, not a 50 x timeout wait.
        assert set(outcomes) <= {"decision", "disconnected"}
        assert outcomes.count("disconnected") >= 45
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT_S)


def test_a_frame_over_the_transport_cap_disconnects_and_fails_the_pending_requests() -> None:
    with (
        running_server(max_batch=1, max_frame_bytes=MIB) as server,
        Client(server.endpoint, timeout=TIMEOUT_S, max_message_bytes=None) as client,
    ):
        decides = [client.decide(npc_state(), ACTIONS, max_tokens=100) for _ in range(5)]
        huge = client.generate("x" * (2 * MIB))
        outcomes = [outcome(s) for s in decides]
        assert outcome(huge) == "disconnected"
        assert set(outcomes) <= {"decision", "disconnected"}
        assert outcomes.count("disconnected") >= 4
        assert client.ping().type == "pong"  # reconnected, serving again


def test_async_client_fails_pending_requests_when_the_connection_drops() -> None:
    async def scenario(endpoint: str) -> tuple[list[str], str]:
        async with AsyncClient(endpoint, timeout=TIMEOUT_S, max_message_bytes=None) as client:

            async def run(stream) -> str:
                try:
                    return [e.type async for e in stream][-1]
                except ServerError as exc:
                    return exc.code

            decides = [run(client.decide(npc_state(), ACTIONS, max_tokens=100)) for _ in range(5)]
            tasks = [asyncio.ensure_future(d) for d in decides]
            await asyncio.sleep(0)  # let them send first
            huge = await run(client.generate("x" * (2 * MIB)))
            outcomes = await asyncio.gather(*tasks)
            pong = await client.ping()
            return outcomes, f"{huge} {pong.type}"

    with running_server(max_batch=1, max_frame_bytes=MIB) as server:
        outcomes, rest = asyncio.run(scenario(server.endpoint))
    assert rest == "disconnected pong"
    assert set(outcomes) <= {"decision", "disconnected"} and "disconnected" in outcomes


def test_messages_over_the_sidecar_limit_fail_in_the_client_with_their_id() -> None:
    with running_server() as server, Client(server.endpoint, timeout=TIMEOUT_S) as client:
        with pytest.raises(ServerError) as refused:
            list(client.generate("x" * 70_000, request_id="big"))
        assert (refused.value.code, refused.value.request_id) == ("too_large", "big")
        assert client.ping().type == "pong"


@pytest.fixture
def curve(tmp_path: Path) -> dict[str, Path]:
    make_key_pair(tmp_path / "server", "server")
    make_key_pair(tmp_path / "clients", "game")
    make_key_pair(tmp_path / "strangers", "stranger")
    return {
        "server_secret": tmp_path / "server" / "server.key_secret",
        "server_public": tmp_path / "server" / "server.key",
        "clients": tmp_path / "clients",
        "game": tmp_path / "clients" / "game.key_secret",
        "stranger": tmp_path / "strangers" / "stranger.key_secret",
    }


def test_curve_lets_known_clients_in_and_keeps_others_out(curve) -> None:
    keys = CurveKeys.load(curve["server_secret"], curve["clients"])
    with running_server(curve=keys) as server:
        game = CurveClientKeys.from_files(curve["server_public"], curve["game"])
        with Client(server.endpoint, timeout=TIMEOUT_S, curve=game) as client:
            assert outcome(client.decide(npc_state(), ACTIONS)) == "decision"
            assert client.ping().model == "tiny"
        stranger = CurveClientKeys.from_files(curve["server_public"], curve["stranger"])
        with Client(server.endpoint, timeout=TIMEOUT_S, curve=stranger) as client:
            with pytest.raises(ServerError) as refused:
                client.ping()
            assert refused.value.code == "disconnected" and "CURVE" in refused.value.message
        with Client(server.endpoint, timeout=TIMEOUT_S) as plain:
            with pytest.raises(ServerError) as refused:
                plain.ping()
            assert refused.value.code == "disconnected"


def test_key_files_that_are_missing_or_public_only_are_clear_errors(curve, tmp_path) -> None:
    with pytest.raises(ValueError, match="no secret key"):
        CurveKeys.load(curve["server_public"], curve["clients"])
    with pytest.raises(ValueError, match="no client public keys"):
        CurveKeys.load(curve["server_secret"], tmp_path / "server-empty")
    with pytest.raises(ValueError, match="cannot read"):
        CurveClientKeys.from_files(tmp_path / "nothing.key", curve["game"])


def test_serve_refuses_addresses_beyond_loopback_without_authentication(capsys) -> None:
    for extra in (
        ["--bind", "tcp://0.0.0.0:5555"],
        ["--bind", "tcp://*:5555"],
        ["--ws", "0.0.0.0:5556"],
    ):
        assert main(["serve", "--model", "unused", *extra]) == 2
        err = capsys.readouterr().err
        assert "reachable beyond this machine" in err and "--insecure" in err
    assert main(["serve", "--curve-secret", "x.key_secret"]) == 2
    assert "go together" in capsys.readouterr().err


def test_keys_command_writes_pairs_that_serve_and_ask_accept(tmp_path, capsys) -> None:
    assert main(["keys", str(tmp_path / "k"), "--name", "server", "--name", "game"]) == 0
    assert main(["keys", str(tmp_path / "k"), "--ws-token", "--name", "spare"]) == 0
    capsys.readouterr()
    k = tmp_path / "k"
    assert (k / "ws.token").stat().st_mode & 0o077 == 0
    assert (k / "game.key_secret").stat().st_mode & 0o077 == 0
    clients = tmp_path / "clients"
    clients.mkdir()
    (clients / "game.key").write_bytes((k / "game.key").read_bytes())
    keys = CurveKeys.load(k / "server.key_secret", clients)
    state = tmp_path / "npc.json"
    state.write_text(json.dumps(npc_state()))
    with running_server(curve=keys) as server:
        args = ["ask", str(state), "--actions", *ACTIONS, "--address", server.endpoint]
        keyed = ["--server-key", str(k / "server.key"), "--client-key", str(k / "game.key_secret")]
        assert main([*args, *keyed]) == 0
        assert "decision:" in capsys.readouterr().out
        assert main([*args, "--server-key", str(k / "server.key")]) == 2
        assert "go together" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("endpoint", "local"),
    [
        ("tcp://127.0.0.1:5555", True),
        ("tcp://127.3.2.1:5555", True),
        ("tcp://localhost:5555", True),
        ("tcp://[::1]:5555", True),
        ("ipc:///tmp/npc", True),
        ("tcp://0.0.0.0:5555", False),
        ("tcp://*:5555", False),
        ("tcp://[::]:5555", False),
        ("tcp://192.168.1.5:5555", False),
        ("tcp://eth0:5555", False),
        ("tcp://localhost.example.net:5555", False),
    ],
)
def test_which_endpoints_count_as_this_machine_only(endpoint: str, local: bool) -> None:
    assert endpoint_is_local(endpoint) is local
