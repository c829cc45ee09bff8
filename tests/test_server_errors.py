"""Every error code of docs/protocol.md section 6, produced through a real socket."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_harness import Peer, decide, long_request, npc_state, running_server

from npc_brain.sidecar import jobs
from npc_brain.sidecar.protocol import ErrorCode

CODES = {code.value for code in ErrorCode}


def ping(rid: object = "p") -> bytes:
    return msgpack.packb({"type": "ping", "id": rid})


@pytest.fixture(scope="module")
def server():
    with running_server(max_message_bytes=4096, max_in_flight=3) as srv:
        yield srv


@pytest.fixture
def peer(server):
    p = Peer(server.endpoint)
    yield p
    p.close()


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ((ping(), ping()), "bad_frames"),
        ((b"", ping(), ping()), "bad_frames"),
        ((b"",), "empty"),
        ((b"\x00" * 5000,), "too_large"),
        ((b"\xc1\xc1",), "bad_msgpack"),
        ((msgpack.packb([1]),), "not_a_map"),
        ((msgpack.packb({"type": "sing", "id": 4}),), "unknown_type"),
        ((msgpack.packb(decide(4, max_tokens="many")),), "invalid_field"),
    ],
)
def test_malformed_input_gets_an_error_and_the_server_carries_on(peer, frames, code) -> None:
    peer.send_raw(*frames)
    reply = peer.sock.recv_multipart()
    # A message that starts with an empty delimiter is answered REQ-style, delimiter first.
    assert reply[:-1] == ([b""] if frames[0] == b"" and len(frames) > 1 else [])
    ev = msgpack.unpackb(reply[-1])
    assert ev["type"] == "error"
    assert ev["code"] == code and ev["message"]
    assert ev["id"] == (4 if code in ("unknown_type", "invalid_field") else None)
    assert peer.request({"type": "ping", "id": "ok"})[0]["type"] == "pong"


def test_semantic_errors_are_invalid_field(peer) -> None:
    unknown = peer.request(decide(1, actions=["dance"]))[0]
    assert (unknown["code"], unknown["id"]) == ("invalid_field", 1)
    assert "dance" in unknown["message"] and unknown["message"].startswith("actions")
    bad_alias = peer.request(decide(2, actions=["strike"], aliases={"strike": "smite"}))[0]
    assert bad_alias["code"] == "invalid_field" and "smite" in bad_alias["message"]
    nobody = peer.request(decide(3, actions=["talk"], npc=npc_state(perception=[])))[0]
    assert nobody["code"] == "invalid_field" and "none is possible" in nobody["message"]
    tiny_budget = peer.request(decide(4, max_tokens=2))[0]
    assert tiny_budget["code"] == "invalid_field" and tiny_budget["message"].startswith(
        "max_tokens"
    )


def test_duplicate_id_and_per_client_limit(peer, server) -> None:
    peer.send(long_request(1))
    peer.send(decide(1))
    assert peer.until_terminal(1)[0]["code"] == "duplicate_id"  # the first one is still running
    peer.send(long_request(2))
    peer.send(long_request(3))
    assert peer.request(decide(4))[0]["code"] == "too_many_requests"
    other = Peer(server.endpoint)  # the limit is per client
    assert other.request(decide(4))[-1]["type"] == "decision"
    other.close()
    for rid in (1, 2, 3):
        peer.send({"type": "cancel", "id": rid})
        assert peer.until_terminal(rid)[-1]["code"] == "cancelled"


def test_unknown_id_and_prompt_too_long(peer) -> None:
    assert peer.request({"type": "cancel", "id": "nope"})[0]["code"] == "unknown_id"
    long_prompt = "x7" * 300  # ~600 byte-level tokens, more than the 512-token context
    ev = peer.request({"type": "generate", "id": "long", "prompt": long_prompt})[0]
    assert (ev["code"], ev["id"]) == ("prompt_too_long", "long")


def test_server_busy_when_the_global_queue_is_full() -> None:
    with running_server(max_batch=1, max_queue=1) as srv:
        peer = Peer(srv.endpoint)
        peer.send(long_request(0))
        assert peer.recv()["type"] == "step"  # 0 holds the only slot
        for i in (1, 2, 3):
            peer.send(decide(i, max_tokens=100))
        codes = {i: ev.get("code") for i, ev in peer.terminals([0, 1, 2, 3]).items()}
        # 0 generates, 1 waits in the queue, 2 and 3 find it full.
        assert codes == {0: None, 1: None, 2: "server_busy", 3: "server_busy"}
        peer.close()


def test_internal_fault_is_reported_and_the_server_keeps_serving(monkeypatch) -> None:
    real_make_job = jobs.make_job

    def faulty(request, *args, **kwargs):
        if request.id == "boom":
            raise RuntimeError("injected fault")
        return real_make_job(request, *args, **kwargs)

    monkeypatch.setattr(jobs, "make_job", faulty)
    with running_server() as srv:
        peer = Peer(srv.endpoint)
        ev = peer.request(decide("boom"))[0]
        assert (ev["type"], ev["code"]) == ("error", "internal")
        assert peer.request(decide("fine"))[-1]["type"] == "decision"
        peer.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=64), min_size=1, max_size=3))
def test_fuzzed_frames_through_the_socket_never_hurt_the_server(server, frames) -> None:
    peer = Peer(server.endpoint)
    try:
        peer.send_raw(*frames)
        reply = msgpack.unpackb(peer.sock.recv_multipart()[-1])
        assert reply["type"] == "error" and reply["code"] in CODES
        assert peer.request({"type": "ping", "id": "alive"})[0]["type"] == "pong"
    finally:
        peer.close()
