"""The Python clients against a real sidecar on loopback."""

from __future__ import annotations

import asyncio
import socket

import pytest
from server_harness import ACTIONS, TIMEOUT_S, check_refusal_and_cancel, npc_state, running_server

from npc_brain.npc.state import NPCState
from npc_brain.sidecar.client import AsyncClient, Client, ServerError, decide_message
from npc_brain.sidecar.protocol import AnswerEvent, DecisionEvent, StepEvent


def test_decide_yields_steps_then_the_decision() -> None:
    with running_server() as server, Client(server.endpoint, timeout=TIMEOUT_S) as client:
        events = list(client.decide(NPCState.model_validate(npc_state()), ACTIONS, max_tokens=60))
        *steps, decision = events
        assert all(isinstance(ev, StepEvent) for ev in steps) and isinstance(
            decision, DecisionEvent
        )
        assert decision.steps == [ev.text for ev in steps] and decision.action in ACTIONS


def test_interleaved_requests_on_one_client() -> None:
    with running_server() as server, Client(server.endpoint, timeout=TIMEOUT_S) as client:
        first = client.decide(npc_state(), ACTIONS, max_tokens=60)
        second = client.generate("What is 4 + 4?", max_tokens=50)
        answer = list(second)[-1]  # drained first: the decide's events wait in its buffer
        decision = list(first)[-1]
        assert isinstance(answer, AnswerEvent) and isinstance(decision, DecisionEvent)
        assert client.ping().in_flight == 0


def test_errors_and_cancel_raise_server_error() -> None:
    with running_server() as server, Client(server.endpoint, timeout=TIMEOUT_S) as client:
        check_refusal_and_cancel(client)


def test_timeout_when_no_sidecar_listens() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(f"tcp://127.0.0.1:{port}", timeout=0.3) as client, pytest.raises(TimeoutError):
        client.ping()


def test_request_building_rejects_unknown_options() -> None:
    with pytest.raises(TypeError, match="temprature"):
        decide_message(1, npc_state(), ACTIONS, temprature=0.5)
    message = decide_message(1, npc_state(), ["strike"], {"strike": "attack"}, seed=3, top_k=None)
    assert (
        message["aliases"] == {"strike": "attack"}
        and message["seed"] == 3
        and "top_k" not in message
    )


def test_async_client_runs_requests_concurrently() -> None:
    async def main(endpoint: str) -> None:
        async with AsyncClient(endpoint, timeout=TIMEOUT_S) as client:

            async def one(name: str) -> list:
                return [
                    ev async for ev in client.decide(npc_state(name=name), ACTIONS, max_tokens=60)
                ]

            results = await asyncio.gather(*(one(f"npc{i}") for i in range(5)))
            for events in results:
                assert isinstance(events[-1], DecisionEvent)
                assert events[-1].steps == [ev.text for ev in events[:-1]]
            assert (await client.ping()).in_flight == 0
            with pytest.raises(ServerError, match="prompt"):
                _ = [ev async for ev in client.generate("two\nlines")]

    with running_server() as server:
        asyncio.run(main(server.endpoint))
