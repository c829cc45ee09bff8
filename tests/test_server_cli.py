"""`npc-brain serve` and `npc-brain ask` as real processes: logging, streaming, signals."""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from server_harness import npc_state, running_server, save_tiny_model

from npc_brain.cli import main

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "npc_brain.cli"]


class Serve:
    """`npc-brain serve` in a subprocess, its stderr collected line by line."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "serve", "--bind", "tcp://127.0.0.1:0", *args],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        while True:
            line = self.lines.get(timeout=timeout)
            self.log.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=20)
        while not self.lines.empty():
            self.log.append(self.lines.get())
        return code


def ask(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`npc-brain ask` in this process (it is only a client): exit code, stdout, stderr."""
    code = main(["ask", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    path = tmp_path / "npc.json"
    path.write_text(json.dumps(npc_state()))
    return path


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_ask_logs_each_request_and_stops_on_signal(
    model_dir, state_file, capsys, sig
) -> None:
    server = Serve("--model", str(model_dir), "--ws", "127.0.0.1:0")
    try:
        endpoint = server.wait_for(r"serving (tcp://\S+), WebSocket ws://").group(1)
        actions = ["--actions", "strike", "flee", "--alias", "strike=attack"]
        code, out, err = ask(
            capsys, str(state_file), *actions, "--address", endpoint, "--max-tokens", "80"
        )
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0].startswith("  thought 1: ")
        assert re.fullmatch(r"decision: (strike wolf|flee)  \(\d+ tokens, \d+ ms\)", lines[-1]), (
            lines
        )
        server.wait_for(r"decide id=1 client=\w+ tokens=\d+ latency_ms=[\d.]+ steps=\d+ -> ")
        if sig == signal.SIGINT:  # Ctrl-C with a request in flight still stops cleanly
            main(
                [
                    "ask",
                    str(state_file),
                    "--actions",
                    "flee",
                    "--address",
                    endpoint,
                    "--timeout",
                    "0.01",
                ]
            )
    finally:
        code = server.stop(sig)
    assert code == 0 and server.log[-1].strip() == "stopped", server.log


def test_ask_reports_problems_clearly(model_dir, state_file, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = ask(capsys, str(bad), "--actions", "flee")
    assert code == 2 and "is not JSON" in err
    code, _, err = ask(capsys, str(state_file), "--actions", "flee", "--alias", "oops")
    assert code == 2 and "GAME=CANONICAL" in err
    code, _, err = ask(
        capsys,
        str(state_file),
        "--actions",
        "flee",
        "--address",
        "tcp://127.0.0.1:9",
        "--timeout",
        "0.2",
    )
    assert code == 1 and "is `npc-brain serve` running?" in err
    code, _, err = ask(capsys, str(state_file), "--actions", "dance")
    assert code == 2 and "unknown action 'dance'" in err and "attack, flee" in err
    too_healthy = tmp_path / "healthy.json"
    too_healthy.write_text(json.dumps(npc_state(health=150)))
    with running_server() as server:
        code, _, err = ask(
            capsys, str(too_healthy), "--actions", "flee", "--address", server.endpoint
        )
        assert code == 1 and err.startswith("error [invalid_field]: npc.health"), err


def test_serve_refuses_a_missing_model_bad_addresses_and_taken_ports(
    tmp_path, model_dir, capsys
) -> None:
    assert main(["serve", "--model", str(tmp_path / "nothing")]) == 2
    assert "lacks config.json" in capsys.readouterr().err
    with running_server() as server:
        assert main(["serve", "--model", str(model_dir), "--bind", server.endpoint]) == 2
        assert "cannot bind" in capsys.readouterr().err
        taken = server.endpoint.removeprefix("tcp://")  # a TCP port in use, for the WebSocket
        assert (
            main(["serve", "--model", str(model_dir), "--bind", "tcp://127.0.0.1:0", "--ws", taken])
            == 2
        )
        assert "--ws: cannot listen" in capsys.readouterr().err
    assert main(["serve", "--model", str(model_dir), "--ws", "nonsense"]) == 2
    assert "expected HOST:PORT" in capsys.readouterr().err
