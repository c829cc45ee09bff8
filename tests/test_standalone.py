"""The standalone sidecar (`npc-brain build-sidecar`): built with PyInstaller, it holds the
model's export for its backend (numpy by default, or ONNX Runtime) but no torch, and answers
real decisions over ZeroMQ; it stops when the game that started it exits. One build of the
default backend, a minute or more: marked slow."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from server_harness import TIMEOUT_S, npc_state

from npc_brain.commands.build_sidecar import add_build_sidecar
from npc_brain.sidecar.client import Client
from npc_brain.sidecar.protocol import DecisionEvent, StepEvent
from npc_brain.standalone.bench import free_port
from npc_brain.standalone.build import (
    BACKENDS,
    DEFAULT_BACKEND,
    EXPORT_FILES,
    SIDECAR,
    BuildError,
    build_sidecar,
    executable_name,
    forbidden,
    model_files,
    pyinstaller_args,
)

REPO = Path(__file__).resolve().parents[1]
ACTIONS = ["attack", "flee", "eat"]
# Stands in for the game: runs until the test kills it.
GAME = [sys.executable, "-c", "import time; time.sleep(600)"]


def start(program: list[str], address: str, game_pid: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*program, "--bind", address, "--exit-with", str(game_pid)],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_decides(address: str) -> None:
    with Client(address, timeout=TIMEOUT_S) as client:
        assert client.ping().type == "pong"
        events = list(client.decide(npc_state(), ACTIONS))
    thoughts = [e.text for e in events if isinstance(e, StepEvent)]
    assert thoughts and all(thoughts), events
    assert isinstance(events[-1], DecisionEvent) and events[-1].action in ACTIONS
    assert events[-1].steps == thoughts


def assert_stops_with_the_game(sidecar: subprocess.Popen[str], game: subprocess.Popen[str]):
    assert sidecar.poll() is None
    game.kill()
    game.wait()
    _, err = sidecar.communicate(timeout=TIMEOUT_S)
    assert sidecar.returncode == 0, err
    assert "stopped" in err


def decides_then_stops_with_the_game(command: list[str]) -> None:
    """The sidecar `command` starts answers a decision and stops once the game exits."""
    game = subprocess.Popen(GAME)
    address = f"tcp://127.0.0.1:{free_port()}"
    sidecar = start(command, address, game.pid)
    try:
        assert_decides(address)
        assert_stops_with_the_game(sidecar, game)
    finally:
        for proc in (sidecar, game):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_the_program_stops_when_the_game_exits() -> None:
    """Unfrozen (python -m npc_brain.sidecar_main), as the build runs it: same options."""
    decides_then_stops_with_the_game([sys.executable, "-m", "npc_brain.sidecar_main"])


def test_a_build_leaves_torch_and_training_out_and_refuses_to_clobber(tmp_path: Path) -> None:
    for backend in BACKENDS:
        args = pyinstaller_args(tmp_path, REPO / "npc_brain" / "model", False, backend)
        excluded = {a.split("=", 1)[1] for a in args if a.startswith("--exclude-module=")}
        assert {"torch", "onnx", "npc_brain.workshop", "npc_brain.nrm.model"} <= excluded
        assert ("onnxruntime" in excluded) == (backend == "numpy")
        data = [a.split("=", 1)[1] for a in args if a.startswith("--add-data=")]
        shipped = {Path(a.rsplit(os.pathsep, 1)[0]).name for a in data}
        assert shipped == set(model_files(backend)) and "model.pt" not in shipped
        other = next(b for b in BACKENDS if b != backend)
        assert not shipped & set(EXPORT_FILES[other])
    (tmp_path / "notes.txt").write_text("a designer's file")
    with pytest.raises(BuildError, match="other files"):
        build_sidecar(tmp_path)
    with pytest.raises(BuildError, match="npc-brain export"):
        build_sidecar(tmp_path / "out", model_dir=tmp_path)
    with pytest.raises(BuildError, match="backend must be one of"):
        build_sidecar(tmp_path / "out", backend="torch")


def test_what_each_backend_forbids() -> None:
    for backend in BACKENDS:
        assert forbidden("torch.nn", backend) and forbidden("onnx", backend)
        assert forbidden("npc_brain.workshop.train", backend)
        assert not forbidden("onnx_helpers", backend) and not forbidden("numpy", backend)
    assert forbidden("onnxruntime.capi", "numpy") and forbidden("onnxruntime", "numpy")
    assert not forbidden("onnxruntime", "onnx")


def test_the_backend_option_defaults_to_the_default_backend() -> None:
    parser = argparse.ArgumentParser()
    add_build_sidecar(parser)
    assert parser.parse_args([]).backend == DEFAULT_BACKEND == "numpy"
    assert parser.parse_args(["--backend", "onnx"]).backend == "onnx"
    with pytest.raises(SystemExit):
        parser.parse_args(["--backend", "torch"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The sidecar built through the command, and what the command printed."""
    out = tmp_path_factory.mktemp("game") / "npc_brain_sidecar"
    proc = subprocess.run(
        [sys.executable, "-m", "npc_brain.cli", "build-sidecar", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"({DEFAULT_BACKEND})" in proc.stdout
    return out / executable_name(), proc.stdout


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_built_sidecar_holds_its_backend_no_torch_and_reports_its_size(
    built: tuple[Path, str],
) -> None:
    exe, printed = built
    assert exe.is_file() and exe.name.startswith(SIDECAR)
    size = re.search(r"size: ([\d.]+) MB", printed)
    assert size and 20 < float(size.group(1)) < 250, printed
    names = [p.relative_to(exe.parent).as_posix() for p in exe.parent.rglob("*")]
    left_out = "torch|onnx|sympy" + ("|onnxruntime" if DEFAULT_BACKEND == "numpy" else "")
    assert not [n for n in names if re.search(rf"(^|/)({left_out})(/|$)", n)]
    files = [p.relative_to(exe.parent) for p in exe.parent.rglob("*") if p.is_file()]
    # This backend's export of each bundled model (the generate/ one too), no model.pt.
    for folder in (("model",), ("model", "generate")):
        model = {f.name for f in files if f.parent.parts[-len(folder) :] == folder}
        assert model == set(model_files(DEFAULT_BACKEND)), folder
        assert not model & {f for b in BACKENDS if b != DEFAULT_BACKEND for f in EXPORT_FILES[b]}


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_built_sidecar_decides_and_stops_with_the_game(built: tuple[Path, str]) -> None:
    exe, _ = built
    decides_then_stops_with_the_game([str(exe)])
