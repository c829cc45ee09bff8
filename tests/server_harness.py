"""Shared pieces for the sidecar tests: a small real model, a running server, raw sockets.

The model has random weights on purpose: the format constraint makes every trace well
formed whatever the weights, so the tests see real STEP lines and constrained answers
from the real engine in a few ms per token, deterministically.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import msgpack
import pytest
import torch
import zmq

from npc_brain.nrm.checkpoint import save_model
from npc_brain.nrm.model import NRMConfig, NRMModel
from npc_brain.nrm.tokenizer import Tokenizer
from npc_brain.sidecar.client import ServerError
from npc_brain.sidecar.protocol import StepEvent
from npc_brain.sidecar.server import Server, ServerConfig

# Generous on purpose (the machine may be busy): only there so a broken server fails, not hangs.
TIMEOUT_S = 60.0


@cache
def tiny_model() -> tuple[NRMModel, Tokenizer]:
    tok = Tokenizer([" wolf", " attack", " flee", " bread", " eat", " the", " is", " I"])
    torch.manual_seed(0)
    cfg = NRMConfig(
        vocab_size=tok.vocab_size, d_model=32, n_heads=2, d_ff=64, max_seq_len=512, lora_rank=2
    )
    return NRMModel(cfg).eval(), tok


def save_tiny_model(out_dir: Path) -> Path:
    model, tok = tiny_model()
    return save_model(model, tok, out_dir)


def npc_state(**changes: Any) -> dict[str, Any]:
    state = {
        "id": "g1",
        "name": "Bram",
        "role": "guard",
        "traits": ["brave"],
        "health": 80,
        "hunger": 20,
        "energy": 70,
        "gold": 5,
        "inventory": {"bread": 1},
        "perception": [{"name": "wolf", "kind": "animal", "distance": 4, "hostile": True}],
        "time_of_day": "night",
        "location": "gate",
        "memory": ["heard howling"],
    }
    return state | changes


ACTIONS = ["attack", "flee", "eat", "call_for_help"]


def decide(rid: Any, **fields: Any) -> dict[str, Any]:
    return {
        "type": "decide",
        "id": rid,
        "npc": npc_state(),
        "actions": ACTIONS,
        "max_tokens": 48,
    } | fields


# A request that runs for hundreds of steps, for tests that need one still in flight: a
# `generate` trace's thoughts are free text, so nothing jumps over them (most of a decision
# is forced by its lines and ends within a few steps).
LONG_PROMPT = "Sort 93, 12, 57, 8, 41, 76, 30, 65, 19, 88."


def long_request(rid: Any, **fields: Any) -> dict[str, Any]:
    return {
        "type": "generate",
        "id": rid,
        "prompt": LONG_PROMPT,
        "max_tokens": 400,
        "max_steps": 16,
    } | fields


@contextlib.contextmanager
def running_server(**config: Any) -> Iterator[Server]:
    model, tok = tiny_model()
    server = Server(model, tok, ServerConfig(bind="tcp://127.0.0.1:0", **config), model_name="tiny")
    server.bind()
    thread = threading.Thread(target=server.serve_forever, name="sidecar")
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=TIMEOUT_S)
        assert not thread.is_alive(), "server loop did not stop"


class Peer:
    """A raw ZeroMQ client socket sending/receiving one msgpack map per frame."""

    def __init__(self, endpoint: str, kind: int = zmq.DEALER, **options: int) -> None:
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(kind)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVTIMEO, int(TIMEOUT_S * 1000))
        for name, value in options.items():
            self.sock.setsockopt(getattr(zmq, name), value)
        self.sock.connect(endpoint)

    def send(self, message: Any) -> None:
        self.sock.send(msgpack.packb(message))

    def send_raw(self, *frames: bytes) -> None:
        self.sock.send_multipart(list(frames))

    def recv(self) -> dict[str, Any]:
        return msgpack.unpackb(self.sock.recv())

    def until_terminal(self, rid: Any) -> list[dict[str, Any]]:
        """Events for `rid` up to and including its terminal one (others are discarded)."""
        events = []
        while True:
            ev = self.recv()
            if ev["id"] != rid:
                continue
            events.append(ev)
            if ev["type"] in ("decision", "answer", "error", "pong"):
                return events

    def request(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        self.send(message)
        return self.until_terminal(message["id"])

    def terminals(self, ids: list[Any]) -> dict[Any, dict[str, Any]]:
        """The terminal event of each of `ids`, whatever order they arrive in."""
        found: dict[Any, dict[str, Any]] = {}
        while len(found) < len(ids):
            ev = self.recv()
            if ev["id"] in ids and ev["type"] != "step":
                found[ev["id"]] = ev
        return found

    def close(self) -> None:
        self.sock.close(0)


def wait_for(predicate: Any, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def check_refusal_and_cancel(client: Any) -> None:
    """A blocking client (ZeroMQ or WebSocket) raises a refusal and a cancel as ServerError."""
    with pytest.raises(ServerError) as info:
        list(client.decide(npc_state(), ["dance"]))
    assert info.value.code == "invalid_field" and "dance" in info.value.message
    stream = client.generate(LONG_PROMPT, request_id="long", max_tokens=400, max_steps=16)
    assert isinstance(next(stream), StepEvent)
    client.cancel("long")
    with pytest.raises(ServerError) as info:
        list(stream)
    assert (info.value.code, info.value.request_id) == ("cancelled", "long")
