"""Two specialists in one model directory: `decide` runs its model, `generate` the model in
its generate/ folder, each exactly as if it were served alone, in one batch loop."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from server_harness import TIMEOUT_S, Peer, decide, save_tiny_model

from npc_brain.nrm.checkpoint import GENERATE_SUBDIR, generate_dir, save_model
from npc_brain.nrm.model import NRMConfig, NRMModel
from npc_brain.nrm.tokenizer import Tokenizer
from npc_brain.sidecar.server import Server, ServerConfig
from npc_brain.standalone import MODEL_FOLDER
from npc_brain.standalone.build import pyinstaller_args

PROMPTS = ["What is 12 + 7?", "Sort: 9, 3, 5", "Is 14 even or odd?"]


def save_reasoner(out_dir: Path) -> Path:
    """Another tiny model, with its own tokenizer and weights."""
    tok = Tokenizer([" 1", " 2", " sum", " +", " is", " the", " odd", " even"])
    torch.manual_seed(1)
    cfg = NRMConfig(
        vocab_size=tok.vocab_size, d_model=32, n_heads=2, d_ff=64, max_seq_len=512, lora_rank=2
    )
    return save_model(NRMModel(cfg).eval(), tok, out_dir)


@contextlib.contextmanager
def serving(model_dir: Path) -> Iterator[Peer]:
    config = ServerConfig(bind="tcp://127.0.0.1:0")
    server = Server.from_model_dir(model_dir, config, backend="torch")
    server.bind()
    thread = threading.Thread(target=server.serve_forever, name="sidecar")
    thread.start()
    peer = Peer(server.endpoint)
    try:
        yield peer
    finally:
        peer.close()
        server.stop()
        thread.join(timeout=TIMEOUT_S)


def answers(peer: Peer) -> dict[Any, dict[str, Any]]:
    """All requests at once, so decide and generate share the loop's steps."""
    ids: list[Any] = []
    for i, prompt in enumerate(PROMPTS):
        peer.send({"type": "generate", "id": f"g{i}", "prompt": prompt, "max_tokens": 60})
        peer.send(decide(i, max_tokens=60))
        ids += [f"g{i}", i]
    found = peer.terminals(ids)
    return {rid: {k: v for k, v in ev.items() if k != "latency_ms"} for rid, ev in found.items()}


def test_each_request_kind_runs_its_own_model(tmp_path: Path) -> None:
    pair = save_tiny_model(tmp_path / "pair")
    save_reasoner(pair / GENERATE_SUBDIR)
    npc_only = save_tiny_model(tmp_path / "npc")
    reasoner_only = save_reasoner(tmp_path / "reasoner")
    assert generate_dir(pair) == pair / GENERATE_SUBDIR and generate_dir(npc_only) == npc_only
    with serving(pair) as peer:
        both = answers(peer)
    with serving(npc_only) as peer:
        alone = answers(peer)
    with serving(reasoner_only) as peer:
        reasoned = answers(peer)
    assert all(ev["type"] in ("decision", "answer") for ev in both.values()), both
    for rid, event in both.items():
        expected = (reasoned if str(rid).startswith("g") else alone)[rid]
        assert event == expected, rid
    # The two models really answer differently, so the routing is what makes them equal.
    assert [both[f"g{i}"]["raw"] for i in range(3)] != [alone[f"g{i}"]["raw"] for i in range(3)]


def test_a_build_ships_the_generate_model_in_its_folder(tmp_path: Path) -> None:
    pair = save_tiny_model(tmp_path / "pair")
    save_reasoner(pair / GENERATE_SUBDIR)
    args = pyinstaller_args(tmp_path / "work", pair, False)
    data = [a.split("=", 1)[1].rsplit(os.pathsep, 1) for a in args if a.startswith("--add-data=")]
    dests = {Path(src).parent: dest for src, dest in data}
    assert dests == {pair: MODEL_FOLDER, pair / GENERATE_SUBDIR: f"{MODEL_FOLDER}/generate"}
