"""The torch-free runtimes (ONNX Runtime, numpy): the shipped exports are current, decode
exactly like the torch model, and `npc-brain serve` / `ask` run with torch unimportable, and
with onnxruntime unimportable too (the plain install)."""

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

import numpy as np
import onnx
import pytest
import torch
from server_harness import TIMEOUT_S, npc_state

from npc_brain.cli import main
from npc_brain.npc.decision import plan_decision
from npc_brain.nrm import runtime_onnx, weights
from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, generate_dir, load_model
from npc_brain.nrm.engine import Engine, GenRequest, like_lengths
from npc_brain.nrm.model import NRMModel
from npc_brain.nrm.runtime import load_runtime
from npc_brain.nrm.runtime_numpy import NumpyRuntime
from npc_brain.nrm.runtime_onnx import ONNX_FILE, OnnxRuntime, problem
from npc_brain.nrm.runtime_torch import TorchRuntime
from npc_brain.nrm.trace import prompt_ids
from npc_brain.nrm.weights import NPZ_FILE
from npc_brain.sidecar.client import Client
from npc_brain.sidecar.protocol import DecisionEvent, StepEvent
from npc_brain.workshop.evaluate import ANSWER_TASKS, make_examples, run_examples

REPO = Path(__file__).resolve().parents[1]
BLOCK = '''
import sys

BLOCKED = {blocked!r}


class _Missing:
    """Acts as if these packages were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None


sys.meta_path.insert(0, _Missing())
'''
EXPORTS = {"onnx": (runtime_onnx, ONNX_FILE), "numpy": (weights, NPZ_FILE)}


def test_shipped_exports_match_model_pt() -> None:
    """model.onnx and model.npz derive from model.pt; after retraining, run `npc-brain export`."""
    for d in {DEFAULT_MODEL_DIR, generate_dir()}:  # and the generate/ specialist's
        for module, _ in EXPORTS.values():
            assert module.problem(d) is None, module.problem(d)
    assert load_runtime(None).backend == "onnx"  # the dev install has onnxruntime


def test_export_command_writes_the_shipped_files(tmp_path: Path) -> None:
    for name in ("config.json", "tokenizer.json", "model.pt"):
        shutil.copy(DEFAULT_MODEL_DIR / name, tmp_path / name)
    assert problem(tmp_path) is not None  # no export yet: auto serves with torch
    assert load_runtime(tmp_path).backend == "torch"
    assert main(["export", str(tmp_path)]) == 0
    for backend, (module, file) in EXPORTS.items():
        assert module.problem(tmp_path) is None
        digest = [
            hashlib.sha256((d / file).read_bytes()).digest() for d in (tmp_path, DEFAULT_MODEL_DIR)
        ]
        assert digest[0] == digest[1], file
        meta_path = tmp_path / module.META_FILE
        meta = json.loads(meta_path.read_text())
        meta_path.write_text(json.dumps({**meta, "model_pt_sha256": "0" * 64}))
        assert "npc-brain export" in (module.problem(tmp_path) or "")
        with pytest.raises(ValueError, match="npc-brain export"):
            load_runtime(tmp_path, backend)
        if backend == "onnx":  # a stale ONNX export: auto falls back to numpy's
            assert load_runtime(tmp_path).backend == "numpy"


def test_an_export_without_model_pt_runs_on_that_export_only(tmp_path: Path) -> None:
    """The standalone sidecar and an installed wheel ship the export alone: nothing to compare,
    that export runs, and the torch model loads its parameters from model.npz."""
    for name in ("config.json", "tokenizer.json", ONNX_FILE, "model.onnx.json"):
        shutil.copy(DEFAULT_MODEL_DIR / name, tmp_path / name)
    assert "model.npz" in (problem(tmp_path) or "")  # the graph's weights live there
    with pytest.raises(FileNotFoundError, match=r"model\.pt"):
        load_runtime(tmp_path, "torch")
    for name in (NPZ_FILE, "model.npz.json"):
        shutil.copy(DEFAULT_MODEL_DIR / name, tmp_path / name)
    assert problem(tmp_path) is None
    assert load_runtime(tmp_path).backend == "onnx"
    assert load_runtime(tmp_path, "onnx").backend == "onnx"
    model, _ = load_model(tmp_path)
    trained = torch.load(DEFAULT_MODEL_DIR / "model.pt", weights_only=True)
    assert model.state_dict().keys() == trained.keys()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in trained.items())
    assert load_runtime(tmp_path, "torch").backend == "torch"
    (tmp_path / ONNX_FILE).unlink()
    assert load_runtime(tmp_path).backend == "numpy"  # numpy's export alone runs too
    (tmp_path / NPZ_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=r"model\.pt and any export"):
        load_runtime(tmp_path, "numpy")


def test_the_parameters_ship_once(tmp_path: Path) -> None:
    """model.npz holds each trained parameter once (merged per loop at start-up), and
    model.onnx is a graph whose every weight is external data in model.npz."""
    npz, pt = (DEFAULT_MODEL_DIR / name for name in (NPZ_FILE, "model.pt"))
    assert npz.stat().st_size < 1.05 * pt.stat().st_size
    graph = onnx.load(DEFAULT_MODEL_DIR / ONNX_FILE, load_external_data=False)
    stored = [t for t in graph.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    inline = sum(len(t.raw_data) for t in graph.graph.initializer)
    assert len(stored) > 40 and inline < 1000
    layout = weights.data_layout(npz)
    for tensor in stored:
        ref = {e.key: e.value for e in tensor.external_data}
        offset, length, shape = layout[tensor.name]
        assert ref == {"location": NPZ_FILE, "offset": str(offset), "length": str(length)}
        assert tuple(tensor.dims) == shape and offset % 64 == 0
    # A model.npz the graph was not exported with is refused, model.pt or not.
    for name in ("config.json", "tokenizer.json", ONNX_FILE, "model.onnx.json", "model.npz.json"):
        shutil.copy(DEFAULT_MODEL_DIR / name, tmp_path / name)
    arrays = weights.load_arrays(npz)
    weights.save_npz(tmp_path / NPZ_FILE, {**arrays, "norm.weight": arrays["norm.weight"] * 2})
    assert "another model.npz" in (problem(tmp_path) or "")
    assert weights.problem(tmp_path) is None


def test_block_layers_follow_the_torch_model() -> None:
    model = NRMModel.from_config(DEFAULT_MODEL_DIR / "config.json")
    names = {id(module): name for name, module in model.named_modules()}
    torch_order = [(names[id(block)], loop) for block, loop in model.layers()]
    assert weights.block_layers(model.cfg) == torch_order


def runtimes_of(d: Path) -> tuple:
    """(torch model, {backend: runtime}, tokenizer) of a model directory."""
    model, tok = load_model(d)
    return model, {"onnx": OnnxRuntime(d), "numpy": NumpyRuntime(d)}, tok


@pytest.fixture(scope="module")
def backends() -> tuple:
    """The model that answers `decide`."""
    return runtimes_of(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def reasoners() -> tuple:
    """The model that answers `generate` (the generate/ specialist where there is one)."""
    return runtimes_of(generate_dir())


@pytest.fixture(scope="module")
def reasoning(reasoners: tuple) -> tuple[list, list[str]]:
    """Eval-set reasoning prompts and the torch model's greedy completions."""
    model, _, tok = reasoners
    examples = [ex for task in ANSWER_TASKS for ex in make_examples(task, 2, "test", seed=97)]
    return examples, [o.completion for o in run_examples(model, tok, examples)]


@pytest.fixture(scope="module")
def decisions(backends: tuple) -> tuple[list, list[str]]:
    """Eval-set NPC decisions and the torch model's, as the sidecar serves them."""
    model, _, tok = backends
    examples = make_examples("npc", 16, "test", seed=97)
    return examples, [o.completion for o in run_examples(model, tok, examples, constrained=True)]


@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_greedy_reasoning_is_token_for_token_identical(
    reasoners: tuple, reasoning: tuple, backend: str
) -> None:
    model, runtimes, tok = reasoners
    examples, torch_out = reasoning
    out = [o.completion for o in run_examples(runtimes[backend], tok, examples)]
    assert out == torch_out
    # The card's one-sequence `model.generate` agrees too.
    ids = prompt_ids(tok, examples[0].prompt)
    assert tok.decode(model.generate(ids, max_new_tokens=320)[len(ids) :]) == out[0]


@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_constrained_npc_decisions_are_identical(
    backends: tuple, decisions: tuple, backend: str
) -> None:
    """As the sidecar serves them: answer trie and thought rules applied."""
    _, runtimes, tok = backends
    examples, torch_out = decisions
    out = [o.completion for o in run_examples(runtimes[backend], tok, examples, constrained=True)]
    assert out == torch_out


@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_logits_match_torch(backends: tuple, backend: str) -> None:
    """A right-padded prefill into rows behind others, one decode step per row, then a
    step feeding each row a different number of tokens (as jump-forward decoding does)."""
    model, runtimes, tok = backends
    prompts = [prompt_ids(tok, f"What is {a} + {b}?") for a, b in ((12, 30), (7, 5), (41, 9))]
    lengths = np.array([len(p) for p in prompts])
    ids = np.zeros((len(prompts), lengths.max()), dtype=np.int64)
    for row, p in enumerate(prompts):
        ids[row, : len(p)] = p
    pos = np.tile(np.arange(ids.shape[1]), (len(prompts), 1))
    step_ids, step_pos = np.array([[11], [12], [13]]), lengths[:, None]
    logits = {}
    for name, runtime in (("torch", TorchRuntime(model)), (backend, runtimes[backend])):
        cache = runtime.new_cache(8)
        first = runtime.forward(cache, 2, ids, pos, lengths - 1)
        second = runtime.forward(cache, 2, step_ids, step_pos, np.zeros(3, dtype=np.int64))
        fed = np.array([3, 1, 2])
        third = runtime.forward(
            cache, 2, np.array([[21, 22, 23], [24, 0, 0], [25, 26, 0]]),
            lengths[:, None] + 1 + np.arange(3), fed - 1,
        )  # fmt: skip
        fourth = runtime.forward(cache, 2, step_ids, lengths[:, None] + 1 + fed[:, None], fed * 0)
        logits[name] = np.stack([first, second, third, fourth])
    assert np.abs(logits[backend] - logits["torch"]).max() < 1e-4


@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_rows_joining_mid_decode_match_alone(backends: tuple, backend: str) -> None:
    """Prefill into rows behind running ones, rows leaving and moving: same tokens."""
    _, runtimes, tok = backends
    runtime = runtimes[backend]
    prompts = [prompt_ids(tok, f"What is {a} + {b}?") for a, b in ((12, 30), (7, 5), (41, 9))]
    alone = [Engine(runtime, tok).run(GenRequest(p, 60, enforce_format=False))[0] for p in prompts]
    engine = Engine(runtime, tok, max_batch=8)
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


@pytest.mark.parametrize("backend", ["torch", "onnx", "numpy"])
def test_jumping_forward_says_the_same_tokens_in_fewer_steps(backends: tuple, backend: str) -> None:
    """Served decisions: feeding the tokens the constraint forces together changes no token
    and needs a fraction of the steps (most of a served thought is forced)."""
    model, runtimes, tok = backends
    runtime = TorchRuntime(model) if backend == "torch" else runtimes[backend]
    plans = [plan_decision(*ex.situation) for ex in make_examples("npc", 12, "test", seed=98)]

    def served(jump: bool) -> tuple[list[list[int]], int]:
        engine = Engine(runtime, tok, max_batch=8, jump=jump)  # rows join mid-decode
        handles = {}
        for i, plan in enumerate(plans):
            req = GenRequest(
                prompt_ids(tok, plan.prompt), 200, answer_options=plan.options,
                thought_rules=plan.rules,
            )  # fmt: skip
            handles[engine.submit(req)] = i
        out: list[list[int]] = [[] for _ in plans]
        steps = 0
        while engine.active:
            steps += 1
            for ev in engine.step():
                if ev.token_id >= 0:
                    out[handles[ev.handle]].append(ev.token_id)
        return out, steps

    (stepped, many), (jumped, few) = served(False), served(True)
    assert jumped == stepped
    assert few * 3 < many


@pytest.mark.parametrize("backend", ["onnx", "numpy"])
def test_a_row_at_the_context_end_beside_jumping_ones(backends: tuple, backend: str) -> None:
    """A sequence running into the context's end shares steps with decisions that jump:
    everyone gets the tokens they get alone, and the long one stops at the end."""
    _, runtimes, tok = backends
    runtime = runtimes[backend]
    long = GenRequest(
        prompt_ids(tok, "the wolf and the bread " * 120)[:500], 40, enforce_format=False
    )
    plans = [plan_decision(*ex.situation) for ex in make_examples("npc", 3, "test", seed=96)]
    reqs = [long] + [
        GenRequest(prompt_ids(tok, p.prompt), 200, answer_options=p.options, thought_rules=p.rules)
        for p in plans
    ]
    alone = [Engine(runtime, tok, jump=False).run(r) for r in reqs]
    engine = Engine(runtime, tok)
    handles = [engine.submit(r) for r in reqs]
    got: dict[int, tuple[list[int], str | None]] = {h: ([], None) for h in handles}
    while engine.active:
        for ev in engine.step():
            tokens, _ = got[ev.handle]
            got[ev.handle] = (tokens + [ev.token_id] * (ev.token_id >= 0), ev.reason)
    assert [got[h] for h in handles] == alone
    assert alone[0][1] == "max_len" and len(alone[0][0]) == engine.max_len - 500 + 1


def test_prefill_groups_prompts_of_like_length() -> None:
    """Newcomers prefill in groups whose longest prompt is within 1.3x of the shortest, so
    little work goes into padding; every prompt is in exactly one group."""
    lengths = [37, 40, 45, 49, 50, 60, 70, 90, 107]
    spans = like_lengths(lengths)
    assert spans == [(0, 3), (3, 6), (6, 8), (8, 9)]
    assert all(lengths[hi - 1] <= 1.3 * lengths[lo] for lo, hi in spans)
    assert like_lengths([]) == [] and like_lengths([5, 5]) == [(0, 2)]


def _env_without(tmp_path: Path, *blocked: str) -> dict[str, str]:
    (tmp_path / "sitecustomize.py").write_text(BLOCK.format(blocked=set(blocked)))
    return {"PYTHONPATH": f"{tmp_path}:{REPO}", "PATH": "/usr/bin:/bin"}


def test_torch_and_onnxruntime_are_really_blocked(tmp_path: Path) -> None:
    env = _env_without(tmp_path, "torch", "onnxruntime")
    for module in ("torch", "onnxruntime.capi"):
        run = subprocess.run(
            [sys.executable, "-c", f"import {module}"], env=env, capture_output=True
        )
        assert run.returncode != 0 and b"blocked" in run.stderr


@pytest.mark.parametrize(
    ("blocked", "backend"),
    [(("torch",), "onnx"), (("torch", "onnxruntime"), "numpy")],
    ids=["without-torch", "plain-install"],
)
def test_serve_and_ask_without_torch(tmp_path: Path, blocked: tuple, backend: str) -> None:
    env = _env_without(tmp_path, *blocked)
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
        match = re.search(rf"serving (tcp://\S+) \(.*{backend}\)", banner)
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
        [sys.executable, "-c", code],
        env=_env_without(tmp_path, "torch", "onnxruntime"),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2, run.stderr  # export alone needs torch, and says so
    assert "npc-brain[train]" in run.stderr
