"""End to end: GDScript in the real Godot runtime talks to a real `npc-brain serve --ws`.

The sidecar runs as a subprocess with a small random-weight model (tests/server_harness.py):
the format constraint keeps every trace well formed and every answer one of the allowed
options, and a fixed seed makes it reproducible, so the events Godot receives are compared
with a reference run of the same request over plain TCP from Python. The GDScript side
(tests/godot/test_brain_e2e.gd) goes through the NPCBrain autoload, an NPCBrainAgent with
a SpeechBubble, a graceful sidecar restart and a crash while a request is in flight.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from godot_harness import assert_passed, gd_literal, gd_vector_script, run_gdscript_test
from server_harness import Peer, npc_state, save_tiny_model

ACTIONS = ["attack", "flee", "eat", "call_for_help"]
STARTUP_TIMEOUT_S = 240.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sidecar:
    """`npc-brain serve --ws` as a subprocess that can be restarted, frozen and killed."""

    def __init__(self, model_dir: Path, log_path: Path) -> None:
        self.zmq_port = _free_port()
        self.ws_port = _free_port()
        self.model_dir = model_dir
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def tcp_url(self) -> str:
        return f"tcp://127.0.0.1:{self.zmq_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/"

    def command(self) -> list[str]:
        script = Path(sys.executable).with_name("npc-brain")
        entry = [str(script)] if script.is_file() else [sys.executable, "-m", "npc_brain.cli"]
        return [
            *entry,
            "serve",
            "--model",
            str(self.model_dir),
            "--bind",
            self.tcp_url,
            "--ws",
            f"127.0.0.1:{self.ws_port}",
            "--quiet",
        ]

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log)
        self.starts += 1
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while self._log().count("serving ") < self.starts:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sidecar did not start:\n{self._log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Graceful: SIGTERM, as Ctrl-C or a service manager would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def freeze(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def crash(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def _log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def sidecar(tmp_path: Path) -> Iterator[Sidecar]:
    if shutil.which("chromium") is None and not Path("/usr/bin/chromium").is_file():
        pytest.skip("needs Debian's chromium: apt-get install -y chromium")
    server = Sidecar(save_tiny_model(tmp_path / "model"), tmp_path / "sidecar.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _reference(sidecar: Sidecar) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """A seeded request with several thoughts (and no NUL, which Godot strings cut) and
    the events the sidecar gives it over plain ZeroMQ. One request at a time, as Godot's
    will be: a batch could round the logits differently and sample other tokens."""
    peer = Peer(sidecar.tcp_url, RCVTIMEO=int(STARTUP_TIMEOUT_S * 1000))
    try:
        for seed in range(64):
            options = {"temperature": 1.0, "seed": seed, "max_tokens": 300}
            events = peer.request(
                {"type": "decide", "id": seed, "npc": npc_state(), "actions": ACTIONS, **options}
            )
            steps = [e["text"] for e in events if e["type"] == "step"]
            final = events[-1]
            if final["type"] == "decision" and len(steps) >= 3 and "\0" not in "".join(steps):
                return options, steps, final
    finally:
        peer.close()
    raise AssertionError("no seed gave a decision with three or more thoughts")


@pytest.mark.timeout(900)
def test_gdscript_brain_end_to_end_through_the_websocket_relay(sidecar: Sidecar) -> None:
    options, ref_steps, ref_decision = _reference(sidecar)
    vectors = gd_vector_script(
        {
            "request": gd_literal(
                {"npc": npc_state(), "actions": ACTIONS, "options": options, "steps": ref_steps}
            )
        }
    )
    cues: list[str] = []
    workers: list[threading.Thread] = []

    def on_print(line: str) -> None:
        if not line.startswith("@@cue "):
            return
        cue = line.split(" ", 1)[1]
        cues.append(cue)
        action = {
            "restart": lambda: (sidecar.stop(), sidecar.start()),
            "freeze": sidecar.freeze,
            "crash_and_restart": lambda: (sidecar.crash(), sidecar.start()),
        }[cue]
        # Off the polling thread: restarting takes seconds and the page must keep running.
        worker = threading.Thread(target=action, name=f"cue-{cue}")
        worker.start()
        workers.append(worker)

    result = run_gdscript_test(
        "test_brain_e2e.gd",
        extra_files={"res://tests/generated/e2e_request.gd": vectors},
        user_args=[f"url={sidecar.ws_url}"],
        on_print=on_print,
        timeout_s=840,
    )
    for worker in workers:
        worker.join(timeout=STARTUP_TIMEOUT_S)
    assert_passed(result)
    assert cues == ["restart", "freeze", "crash_and_restart"], cues

    # What Godot decoded is exactly what the sidecar sent to Python for the same request.
    streamed = {}
    decision = None
    for line in result.prints:
        if line.startswith("@@step "):
            _, index, text = line.split(" ", 2)
            streamed[int(index)] = base64.b64decode(text).decode()
        elif line.startswith("@@decision "):
            # strict=False: Godot's JSON.stringify leaves control characters unescaped.
            decision = json.loads(base64.b64decode(line.split(" ", 1)[1]), strict=False)
    assert [streamed[i] for i in sorted(streamed)] == ref_steps
    assert decision is not None, result.report()
    assert decision["action"] == ref_decision["action"]
    assert decision["target"] == (ref_decision["target"] or "")
    assert decision["steps"] == ref_steps
    assert decision["raw"] == ref_decision["raw"]
