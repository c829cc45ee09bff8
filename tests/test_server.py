"""The sidecar over real loopback sockets with the real engine: streaming, routing, cancel."""

from __future__ import annotations

import msgpack
import zmq
from server_harness import (
    ACTIONS,
    TIMEOUT_S,
    Peer,
    decide,
    long_request,
    npc_state,
    running_server,
    wait_for,
)


def test_decide_streams_steps_in_order_then_a_usable_decision() -> None:
    with running_server() as server:
        peer = Peer(server.endpoint)
        events = peer.request(decide(7, max_steps=3, max_tokens=120))
        *steps, decision = events
        assert steps and all(ev["type"] == "step" for ev in steps)
        assert [ev["index"] for ev in steps] == list(range(len(steps)))
        assert decision["type"] == "decision" and decision["id"] == 7
        assert decision["steps"] == [ev["text"] for ev in steps]
        assert decision["action"] in ACTIONS
        if decision["target"] is not None:
            assert decision["target"] in ("wolf", "bread")
        assert decision["raw"] == " ".join(filter(None, [decision["action"], decision["target"]]))
        assert decision["tokens"] > len(steps) and decision["latency_ms"] > 0
        peer.close()


def test_decision_reports_the_games_own_verb_for_an_alias() -> None:
    with running_server() as server:
        peer = Peer(server.endpoint)
        req = decide(
            "a", actions=["strike", "run_away"], aliases={"strike": "attack", "run_away": "flee"}
        )
        decision = peer.request(req)[-1]
        assert decision["type"] == "decision"
        assert (decision["action"], decision["raw"]) in (
            ("strike", "attack wolf"),
            ("run_away", "flee"),
        )
        assert decision["target"] == ("wolf" if decision["action"] == "strike" else None)
        peer.close()


def test_a_bare_state_or_a_single_verb_still_gets_a_decision() -> None:
    """Only id and name, no perception, an unknown role or trait, one verb: never an error."""
    cases = [
        ({"id": "n1", "name": "Nobody"}, ["wait"]),
        ({"id": "n2", "name": "Zyx", "role": "lamplighter", "traits": ["whimsical"]}, ["work"]),
        ({"id": "n3", "name": "Ýr", "perception": []}, ["wander", "rest"]),
    ]
    with running_server() as server:
        peer = Peer(server.endpoint)
        for npc, actions in cases:
            req = {"type": "decide", "id": npc["id"], "npc": npc, "actions": actions}
            decision = peer.request(req | {"max_tokens": 60})[-1]
            assert decision["type"] == "decision", decision
            assert decision["action"] in actions and decision["target"] is None
        peer.close()


def test_generate_streams_steps_then_answer() -> None:
    with running_server() as server:
        peer = Peer(server.endpoint)
        events = peer.request(
            {"type": "generate", "id": "g", "prompt": "What is 2 + 3?", "max_tokens": 50}
        )
        *steps, answer = events
        assert answer["type"] == "answer" and [ev["type"] for ev in steps] == ["step"] * len(steps)
        assert answer["steps"] == [ev["text"] for ev in steps]
        assert answer["raw"].startswith("<THINK>\n") and answer["raw"].endswith("</ANS>")
        assert f"<ANS>{answer['text']}</ANS>" in answer["raw"]
        peer.close()


def test_ping_is_answered_while_generation_is_under_way() -> None:
    with running_server() as server:
        peer = Peer(server.endpoint)
        for i in range(8):
            peer.send(long_request(i))
        peer.send({"type": "ping", "id": "p"})
        before_pong = []
        while (ev := peer.recv())["type"] != "pong":
            before_pong.append(ev)
        assert not any(ev["type"] == "answer" for ev in before_pong)
        assert ev["in_flight"] == 8 and ev["active"] + ev["queued"] == 8
        assert (ev["protocol"], ev["model"], ev["max_in_flight"]) == (1, "tiny", 256)
        peer.close()


def test_concurrent_clients_get_only_their_own_events() -> None:
    with running_server() as server:
        peers = [Peer(server.endpoint) for _ in range(6)]
        for n, peer in enumerate(peers):
            for rid in (1, 2):  # every client uses the same ids
                peer.send(decide(rid, max_steps=1 + n % 3, npc=npc_state(name=f"npc{n}")))
        for peer in peers:
            terminals: dict[int, dict] = {}
            steps: dict[int, list[str]] = {1: [], 2: []}
            while len(terminals) < 2:
                ev = peer.recv()
                assert ev["id"] not in terminals, f"event after the terminal one: {ev}"
                if ev["type"] == "step":
                    steps[ev["id"]].append(ev["text"])
                else:
                    terminals[ev["id"]] = ev
            for rid, ev in terminals.items():
                assert ev["type"] == "decision" and ev["steps"] == steps[rid]
            peer.close()


def test_cancel_stops_a_running_request_and_nothing_follows() -> None:
    with running_server() as server:
        peer = Peer(server.endpoint)
        peer.send(long_request(1))
        first = peer.recv()
        assert first["type"] == "step"
        peer.send({"type": "cancel", "id": 1})
        peer.send({"type": "ping", "id": "after"})
        events = []
        while (ev := peer.recv())["id"] != "after":
            events.append(ev)
        assert events[-1] == {
            "type": "error",
            "id": 1,
            "code": "cancelled",
            "message": "request 1 was cancelled",
        }
        assert all(ev["type"] == "step" for ev in events[:-1])
        wait_for(lambda: peer.request({"type": "ping", "id": "p"})[0]["active"] == 0)
        assert peer.request({"type": "cancel", "id": 1})[0]["code"] == "unknown_id"
        peer.close()


def test_cancel_of_a_queued_request_and_fair_turns() -> None:
    # One generation slot: the second request waits in the queue and is cancelled there.
    with running_server(max_batch=1) as server:
        peer = Peer(server.endpoint)
        peer.send(decide("run", max_tokens=60))
        peer.send(decide("wait"))
        peer.send({"type": "cancel", "id": "wait"})
        assert peer.until_terminal("wait")[-1]["code"] == "cancelled"
        assert peer.until_terminal("run")[-1]["type"] == "decision"
        peer.close()


def test_a_busy_client_does_not_starve_a_newcomer() -> None:
    with running_server(max_batch=2) as server:
        greedy, newcomer = Peer(server.endpoint), Peer(server.endpoint)
        for i in range(12):
            greedy.send(decide(i, max_tokens=48))
        greedy.request({"type": "ping", "id": "sync"})  # all 12 are in before the newcomer asks
        newcomer.send(decide("new", max_tokens=48))
        poller = zmq.Poller()
        poller.register(greedy.sock, zmq.POLLIN)
        poller.register(newcomer.sock, zmq.POLLIN)
        order = []
        while "new" not in order:
            ready = poller.poll(int(TIMEOUT_S * 1000))
            assert ready, f"no event in {TIMEOUT_S} s; decisions so far: {order}"
            for sock, _ in ready:
                ev = msgpack.unpackb(sock.recv())
                assert ev["type"] in ("step", "decision"), ev
                if ev["type"] == "decision":
                    order.append(ev["id"])
        # Round-robin admission: the newcomer gets the second slot that frees up.
        assert order.index("new") <= 3, order
        greedy.close()
        newcomer.close()


def test_req_clients_get_only_the_terminal_event() -> None:
    with running_server() as server:
        req = Peer(server.endpoint, zmq.REQ)
        decision = req.request(decide(5, max_steps=2))
        assert len(decision) == 1 and decision[0]["type"] == "decision" and decision[0]["steps"]
        assert req.request({"type": "ping", "id": 6})[0]["type"] == "pong"
        req.send_raw(b"\xc1")
        assert req.recv()["code"] == "bad_msgpack"
        assert req.request({"type": "cancel", "id": 5})[0]["code"] == "unknown_id"
        req.close()


def test_a_client_that_disconnects_mid_request_is_cleaned_up(caplog) -> None:
    # One slot: the leaver's later requests are still queued when it goes away.
    with running_server(max_batch=1) as server:
        leaver, stayer = Peer(server.endpoint), Peer(server.endpoint)
        for i in range(4):
            leaver.send(long_request(i))
        assert leaver.recv()["type"] == "step"
        leaver.close()
        assert stayer.request(decide("s"))[-1]["type"] == "decision"
        wait_for(lambda: stayer.request({"type": "ping", "id": "p"})[0]["active"] == 0)
        gone = [
            r.getMessage()
            for r in caplog.records
            if "disconnected: cancelled its" in r.getMessage()
        ]
        decided = [r for r in caplog.records if r.getMessage().startswith("generate id=")]
        assert gone and len(decided) < 4, (gone, decided)
        stayer.close()


def test_a_client_that_stops_reading_is_dropped_without_stalling_others(caplog) -> None:
    # Tiny buffers so the slow client's backlog reaches the high-water mark quickly.
    with running_server(max_queued_events=2, send_buffer=4096) as server:
        slow = Peer(server.endpoint, RCVHWM=1, RCVBUF=2048)
        fast = Peer(server.endpoint)
        for i in range(60):
            slow.send(
                {"type": "generate", "id": i, "prompt": "Tell a long story.", "max_tokens": 300}
            )
        assert fast.request(decide("f"))[-1]["type"] == "decision"
        wait_for(lambda: fast.request({"type": "ping", "id": "p"})[0]["active"] == 0)
        assert fast.request(decide("g"))[-1]["type"] == "decision"
        assert any("is not reading its events" in r.getMessage() for r in caplog.records)
        slow.close()
        fast.close()


def test_shutdown_ends_requests_in_flight() -> None:
    with running_server() as server:
        peer = Peer(server.endpoint)
        peer.send(long_request(1))
        assert peer.recv()["type"] == "step"
        server.stop()
        last = peer.until_terminal(1)[-1]
        assert (last["type"], last["code"]) == ("error", "shutting_down")
        peer.close()
