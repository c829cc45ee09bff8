"""Sidecar hardening through real sockets: oversize frames, fairness, pings, log injection."""

from __future__ import annotations

import logging

import msgpack
import pytest
from server_harness import Peer, decide, long_request, running_server

from npc_brain.sidecar.scheduler import Fairness

MIB = 1 << 20


def test_oversize_frames_get_too_large_and_requests_in_flight_still_finish() -> None:
    with running_server(max_batch=2) as server:
        peer = Peer(server.endpoint)
        ids = list(range(5))
        for rid in ids:
            peer.send(decide(rid))
        for size in (2 * MIB, 8 * MIB):
            peer.send_raw(b"\x00" * size)
        errors, terminals = [], {}
        while len(errors) < 2 or len(terminals) < len(ids):
            ev = peer.recv()
            if ev["id"] is None:
                errors.append(ev)
            elif ev["type"] != "step":
                terminals[ev["id"]] = ev
        assert [e["code"] for e in errors] == ["too_large", "too_large"]
        assert "2097152 bytes" in errors[0]["message"]
        assert {t["type"] for t in terminals.values()} == {"decision"}
        assert peer.request({"type": "ping", "id": "after"})[0]["type"] == "pong"
        peer.close()


def test_bin_map_keys_are_bad_msgpack_anywhere_in_the_message() -> None:
    with running_server() as server:
        peer = Peer(server.endpoint)
        top = {b"type": "ping", "id": 1}
        nested = decide(2) | {"npc": {b"id": "g1", "name": "Bram"}}
        for message in (top, nested):
            peer.sock.send(msgpack.packb(message, use_bin_type=True))
            ev = peer.recv()
            assert (ev["code"], ev["id"]) == ("bad_msgpack", None)
            assert "map keys must be str" in ev["message"]
        peer.close()


@pytest.mark.parametrize(
    "fields",
    [
        {"actions": ["attack", "eat\n2026-01-01 INFO forged line"]},
        {"actions": ["attack", "strike"], "aliases": {"strike\x1b[31m": "attack"}},
        {"actions": ["attack"], "aliases": {"strike": "attack\r"}},
        {"actions": ["attack", "<ANS>eat"]},
    ],
)
def test_verbs_and_alias_keys_with_control_characters_are_refused(fields, caplog) -> None:
    caplog.set_level(logging.INFO, logger="npc_brain.sidecar.server")
    with running_server() as server:
        peer = Peer(server.endpoint)
        ev = peer.request(decide("v", **fields))[0]
        assert (ev["code"], ev["id"]) == ("invalid_field", "v")
        assert "control characters" in ev["message"]
        peer.close()


def test_untrusted_text_is_logged_escaped(caplog) -> None:
    caplog.set_level(logging.INFO, logger="npc_brain.sidecar.server")
    with running_server() as server:
        peer = Peer(server.endpoint)
        forged = "x\n2026-01-01 00:00:00 INFO decide id=1 -> flee\x1b[2J"
        ev = peer.request({"type": forged, "id": forged[:60]})[0]
        assert ev["code"] == "unknown_type"
        peer.close()
    lines = [r.getMessage() for r in caplog.records if "unknown_type" in r.getMessage()]
    assert lines, "the error was logged"
    assert all("\n" not in line and "\x1b" not in line for line in lines)
    assert "\\n2026-01-01" in lines[0] and "\\x1b" in lines[0]


def test_one_client_holds_at_most_its_share_of_the_batch() -> None:
    fair = Fairness(max_client_batch=2)
    with running_server(max_batch=4, fairness=fair) as server:
        greedy, other = Peer(server.endpoint), Peer(server.endpoint)
        ids = list(range(8))
        for rid in ids:
            greedy.send(long_request(rid))
        assert greedy.recv()["type"] == "step"
        pong = greedy.request({"type": "ping", "id": "p"})[0]
        assert pong["active"] <= 2 < pong["in_flight"]  # the rest wait, slots stay free
        assert other.request(decide("mine"))[-1]["type"] == "decision"
        assert {ev["type"] for ev in greedy.terminals(ids).values()} == {"answer"}
        greedy.close()
        other.close()


def test_a_flooding_client_cannot_take_the_reserved_end_of_the_queue() -> None:
    fair = Fairness(reserved_queue=2, small_client=2)
    with running_server(max_batch=1, max_queue=16, max_in_flight=100, fairness=fair) as server:
        flood, late = Peer(server.endpoint), Peer(server.endpoint)
        ids = list(range(20))
        for rid in ids:
            flood.send(decide(rid))
        terminals = {}
        while "server_busy" not in [t.get("code") for t in terminals.values()]:
            ev = flood.recv()
            if ev["type"] != "step":
                terminals[ev["id"]] = ev
        # The queue is as full as the flood may make it; a newcomer still gets in.
        assert late.request(decide("late", max_tokens=48))[-1]["type"] == "decision"
        terminals |= flood.terminals([rid for rid in ids if rid not in terminals])
        codes = [ev.get("code") for ev in terminals.values()]
        assert set(codes) == {None, "server_busy"} and codes.count(None) >= 14
        flood.close()
        late.close()


def test_clients_beyond_the_cap_get_server_busy() -> None:
    with running_server(max_batch=1, fairness=Fairness(max_clients=1)) as server:
        first, second = Peer(server.endpoint), Peer(server.endpoint)
        first.send(long_request(1))
        assert first.recv()["type"] == "step"
        ev = second.request(decide(2))[0]
        assert (ev["code"], ev["id"]) == ("server_busy", 2)
        assert first.until_terminal(1)[-1]["type"] == "answer"
        assert second.request(decide(3))[-1]["type"] == "decision"  # room again
        first.close()
        second.close()


def test_pings_beyond_the_rate_get_rate_limited_each_with_one_answer() -> None:
    with running_server(pings_per_second=5) as server:
        peer = Peer(server.endpoint)
        ids = [f"p{i}" for i in range(40)]
        for rid in ids:
            peer.send({"type": "ping", "id": rid})
        terminals = peer.terminals(ids)
        kinds = [terminals[rid]["type"] for rid in ids]
        assert kinds[:5] == ["pong"] * 5
        limited = [t for t in terminals.values() if t["type"] == "error"]
        assert limited and {t["code"] for t in limited} == {"rate_limited"}
        peer.close()


def test_pong_hides_the_server_facts_when_asked() -> None:
    with running_server(hide_facts=True) as server:
        peer = Peer(server.endpoint)
        pong = peer.request({"type": "ping", "id": 1})[0]
        assert pong["protocol"] == 1 and "in_flight" in pong
        assert not {"version", "model", "params"} & {k for k, v in pong.items() if v is not None}
        peer.close()
    with running_server() as server:
        peer = Peer(server.endpoint)
        pong = peer.request({"type": "ping", "id": 1})[0]
        assert (pong["model"], pong["params"] > 0) == ("tiny", True)
        peer.close()
