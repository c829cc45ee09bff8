"""The torch-free runtime: the shipped export is current, decodes exactly like the torch
model, and `npc-brain serve` / `ask` run with torch unimportable."""

from __future__ import annotations

import hashlib
import json
import queue
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from server_harness import TIMEOUT_S, npc_state

from npc_brain.cli import main
from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, load_model
from npc_brain.nrm.engine import Engine, GenRequest
from npc_brain.nrm.runtime import load_runtime
from npc_brain.nrm.runtime_onnx import ONNX_FILE, OnnxRuntime, problem
from npc_brain.nrm.trace import prompt_ids
from npc_brain.sidecar.client import Client
from npc_brain.sidecar.protocol import DecisionEvent, StepEvent
from npc_brain.workshop.evaluate import ANSWER_TASKS, make_examples, run_examples

REPO = Path(__file__).resolve().parents[1]
BLOCK_TORCH = '''
import sys


class _NoTorch:
    """Acts as if torch were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, _NoTorch())
'''


def test_shipped_export_matches_model_pt() -> None:
    """model.onnx is derived from model.pt; after retraining, run `npc-brain export`."""
    assert problem(DEFAULT_MODEL_DIR) is None, problem(DEFAULT_MODEL_DIR)
    assert load_runtime(None).backend == "onnx"


def test_export_command_writes_the_shipped_file(tmp_path: Path) -> None:
    for name in ("config.json", "tokenizer.json", "model.pt"):
        shutil.copy(DEFAULT_MODEL_DIR / name, tmp_path / name)
    assert problem(tmp_path) is not None  # no export yet: auto serves with torch
    assert main(["export", str(tmp_path)]) == 0
    assert problem(tmp_path) is None
    digest = [
        hashlib.sha256((d / ONNX_FILE).read_bytes()).digest() for d in (tmp_path, DEFAULT_MODEL_DIR)
    ]
    assert digest[0] == digest[1]
    meta = json.loads((tmp_path / "model.onnx.json").read_text())
    (tmp_path / "model.onnx.json").write_text(json.dumps({**meta, "model_pt_sha256": "0" * 64}))
    assert "npc-brain export" in (problem(tmp_path) or "")
    with pytest.raises(ValueError, match="npc-brain export"):
        load_runtime(tmp_path, "onnx")


def test_an_export_without_model_pt_runs_on_onnx_only(tmp_path: Path) -> None:
    """The standalone sidecar ships the export alone: nothing to compare, onnx runs it."""
    for name in ("config.json", "tokenizer.json", ONNX_FILE, "model.onnx.json"):
        shutil.copy(DEFAULT_MODEL_DIR / name, tmp_path / name)
    assert problem(tmp_path) is None
    assert load_runtime(tmp_path).backend == "onnx"
    assert load_runtime(tmp_path, "onnx").backend == "onnx"
    with pytest.raises(FileNotFoundError, match=r"model\.pt"):
        load_runtime(tmp_path, "torch")
    (tmp_path / ONNX_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=r"model\.pt and model\.onnx"):
        load_runtime(tmp_path, "onnx")


@pytest.fixture(scope="module")
def backends() -> tuple:
    model, tok = load_model()
    return model, OnnxRuntime(DEFAULT_MODEL_DIR), tok


def test_greedy_reasoning_is_token_for_token_identical(backends: tuple) -> None:
    model, onnx, tok = backends
    examples = [ex for task in ANSWER_TASKS for ex in make_examples(task, 2, "test", seed=97)]
    torch_out = [o.completion for o in run_examples(model, tok, examples)]
    onnx_out = [o.completion for o in run_examples(onnx, tok, examples)]
    assert onnx_out == torch_out
    # The card's one-sequence `model.generate` agrees too.
    ids = prompt_ids(tok, examples[0].prompt)
    assert tok.decode(model.generate(ids, max_new_tokens=320)[len(ids) :]) == onnx_out[0]


def test_constrained_npc_decisions_are_identical(backends: tuple) -> None:
    """As the sidecar serves them: answer trie and thought rules applied."""
    model, onnx, tok = backends
    examples = make_examples("npc", 16, "test", seed=97)
    torch_out = [o.completion for o in run_examples(model, tok, examples, constrained=True)]
    onnx_out = [o.completion for o in run_examples(onnx, tok, examples, constrained=True)]
    assert onnx_out == torch_out


def test_rows_joining_mid_decode_match_alone(backends: tuple) -> None:
    """Prefill into rows behind running ones, rows leaving and moving: same tokens."""
    _, onnx, tok = backends
    prompts = [prompt_ids(tok, f"What is {a} + {b}?") for a, b in ((12, 30), (7, 5), (41, 9))]
    alone = [Engine(onnx, tok).run(GenRequest(p, 60, enforce_format=False))[0] for p in prompts]
    engine = Engine(onnx, tok, max_batch=8)
    outs: dict[int, list[int]] = {}
    handles = [engine.submit(GenRequest(prompts[0], 60, enforce_format=False))]
    for i in range(40):
        if i in (3, 9):
            handles.append(
                engine.submit(GenRequest(prompts[len(handles)], 60, enforce_format=False))
            )
        for ev in engine.step():
            if ev.token_id >= 0:
                outs.setdefault(ev.handle, []).append(ev.token_id)
    while engine.active:
        for ev in engine.step():
            if ev.token_id >= 0:
                outs.setdefault(ev.handle, []).append(ev.token_id)
    assert [outs[h] for h in handles] == alone


def _no_torch_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "sitecustomize.py").write_text(BLOCK_TORCH)
    return {"PYTHONPATH": f"{tmp_path}:{REPO}", "PATH": "/usr/bin:/bin"}


def test_torch_is_really_blocked(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", "import torch"], env=_no_torch_env(tmp_path), capture_output=True
    )
    assert run.returncode != 0 and b"blocked" in run.stderr


def test_serve_and_ask_without_torch(tmp_path: Path) -> None:
    env = _no_torch_env(tmp_path)
    cli = [sys.executable, "-m", "npc_brain.cli"]
    serve = subprocess.Popen(
        [*cli, "serve", "--bind", "tcp://127.0.0.1:0"],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in serve.stderr], daemon=True).start()
    try:
        banner = lines.get(timeout=TIMEOUT_S)
        match = re.search(r"serving (tcp://\S+) \(.*onnx\)", banner)
        assert match, banner
        address = match.group(1)
        with Client(address, timeout=TIMEOUT_S) as client:
            events = list(client.decide(npc_state(), ["attack", "flee", "eat"]))
        assert isinstance(events[0], StepEvent)
        assert isinstance(events[-1], DecisionEvent) and events[-1].action in {
            "attack",
            "flee",
            "eat",
        }
        state = tmp_path / "state.json"
        state.write_text(json.dumps(npc_state()))
        ask = subprocess.run(
            [*cli, "ask", str(state), "--actions", "attack", "flee", "--address", address],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        assert ask.returncode == 0, ask.stderr
        assert "thought 1:" in ask.stdout and "decision: " in ask.stdout
    finally:
        serve.terminate()
        serve.wait(timeout=TIMEOUT_S)


def test_commands_import_without_torch(tmp_path: Path) -> None:
    code = (
        "import sys; from npc_brain.cli import build_parser; build_parser();"
        " import npc_brain.godot.demo, npc_brain.sidecar.server, npc_brain.nrm.engine;"
        " from npc_brain import Tokenizer, NRMConfig, DEFAULT_MODEL_DIR;"
        " from npc_brain.cli import main; sys.exit(main(['export']))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], env=_no_torch_env(tmp_path), capture_output=True, text=True
    )
    assert run.returncode == 2, run.stderr  # export alone needs torch, and says so
    assert "npc-brain[train]" in run.stderr
