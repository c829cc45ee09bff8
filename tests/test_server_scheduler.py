"""The scheduler's safety nets, driven directly with the real engine (no sockets)."""

from __future__ import annotations

import time

from server_harness import decide, tiny_model

from npc_brain.nrm.engine import Engine, GenRequest
from npc_brain.nrm.trace import prompt_ids
from npc_brain.sidecar.jobs import Job, make_job
from npc_brain.sidecar.protocol import (
    AnswerEvent,
    DecisionEvent,
    ErrorEvent,
    decode_request,
    encode_request,
)
from npc_brain.sidecar.scheduler import Scheduler


def scheduler(max_batch: int = 8) -> Scheduler:
    model, tok = tiny_model()
    return Scheduler(lambda: Engine(model, tok, max_batch=max_batch))


def run(s: Scheduler) -> list:
    out = []
    while s.busy:
        out += s.step()
    return out


def decide_job(s: Scheduler, rid: object, client: bytes = b"c") -> Job:
    request = decode_request(encode_request(decide(rid)))
    return make_job(request, tiny_model()[1], s.engine.max_len, (client,), time.perf_counter())


def test_unparseable_output_ends_in_no_answer() -> None:
    # Without the format constraint the random model writes no trace at all.
    s = scheduler()
    ids = prompt_ids(tiny_model()[1], "What is 2 + 2?")
    gen = GenRequest(ids, max_new_tokens=20, enforce_format=False)
    s.add(Job((b"c",), "free", gen, time.perf_counter()))
    (envelope, event), *_ = [o for o in run(s) if o[1].type != "step"]
    assert envelope == (b"c",) and isinstance(event, ErrorEvent)
    assert (event.code, event.id) == ("no_answer", "free") and "generation ended" in event.message


def test_engine_fault_fails_running_requests_restarts_and_keeps_the_queue(monkeypatch) -> None:
    s = scheduler(max_batch=1)
    s.add(decide_job(s, "running"))
    s.add(decide_job(s, "queued"))
    s.step()  # "running" takes the only slot

    def broken_step() -> list:
        raise RuntimeError("injected engine fault")

    monkeypatch.setattr(s.engine, "step", broken_step)
    faulty_engine = s.engine
    out = s.step()
    assert [(e.id, e.type, e.code) for _, e in out] == [("running", "error", "internal")]
    assert s.engine is not faulty_engine and s.in_flight(b"c") == 1
    finals = [e for _, e in run(s) if e.type != "step"]
    assert len(finals) == 1 and isinstance(finals[0], DecisionEvent) and finals[0].id == "queued"


def test_generate_job_ends_in_answer_and_clients_are_counted_apart() -> None:
    s = scheduler()
    tok = tiny_model()[1]
    req = decode_request(
        encode_request({"type": "generate", "id": 1, "prompt": "Hi", "max_tokens": 40})
    )
    s.add(make_job(req, tok, s.engine.max_len, (b"a",), time.perf_counter()))
    s.add(decide_job(s, 1, client=b"b"))
    assert (s.in_flight(b"a"), s.in_flight(b"b"), s.queued) == (1, 1, 2)
    finals = {env[0]: e for env, e in run(s) if e.type != "step"}
    assert isinstance(finals[b"a"], AnswerEvent) and isinstance(finals[b"b"], DecisionEvent)
    assert (s.in_flight(b"a"), s.active, s.queued) == (0, 0, 0)
