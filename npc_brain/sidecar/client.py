"""Python clients for the sidecar: `Client` (blocking) and `AsyncClient` (asyncio).

Both use one DEALER socket, so any number of requests may be in flight at once; events are
routed to the request they belong to by id. `decide()` and `generate()` yield `StepEvent`s
as the thoughts arrive and end with the `DecisionEvent` / `AnswerEvent`; an `error` event
is raised as `ServerError` (code `cancelled` after `cancel()`).

    with Client() as client:
        for event in client.decide(npc_state, ["attack", "flee", "eat"]):
            print(event)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import zmq
import zmq.asyncio

from npc_brain.npc.state import NPCState
from npc_brain.sidecar.protocol import (
    TERMINAL_EVENTS,
    AnswerEvent,
    DecisionEvent,
    ErrorEvent,
    Event,
    PongEvent,
    StepEvent,
    decode_event,
    encode_request,
)

DEFAULT_ADDRESS = "tcp://127.0.0.1:5555"
log = logging.getLogger("npc_brain.sidecar.client")
RequestId = int | str


class ServerError(Exception):
    """The sidecar answered a request with an `error` event."""

    def __init__(self, event: ErrorEvent) -> None:
        super().__init__(f"[{event.code}] {event.message}")
        self.code = event.code
        self.message = event.message
        self.request_id = event.id


def decide_message(
    request_id: RequestId,
    npc: NPCState | Mapping[str, Any],
    actions: list[str],
    aliases: Mapping[str, str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """A `decide` request map; options: temperature, top_k, seed, max_tokens, max_steps."""
    state = npc.model_dump() if isinstance(npc, NPCState) else dict(npc)
    message = {"type": "decide", "id": request_id, "npc": state, "actions": list(actions)}
    if aliases:
        message["aliases"] = dict(aliases)
    return message | _options(options)


def generate_message(request_id: RequestId, prompt: str, **options: Any) -> dict[str, Any]:
    return {"type": "generate", "id": request_id, "prompt": prompt} | _options(options)


def _options(options: dict[str, Any]) -> dict[str, Any]:
    known = {"temperature", "top_k", "seed", "max_tokens", "max_steps"}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; known: {sorted(known)}")
    return {k: v for k, v in options.items() if v is not None}


def _checked(event: Event) -> Event:
    if isinstance(event, ErrorEvent):
        raise ServerError(event)
    return event


class Client:
    """Blocking client. `timeout` is the longest wait, in seconds, for any single event."""

    def __init__(self, address: str = DEFAULT_ADDRESS, timeout: float = 30.0) -> None:
        self.address = address
        self.timeout = timeout
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.connect(address)
        self._ids = itertools.count(1)
        self._pending: dict[RequestId, deque[Event]] = {}

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close(0)
        self._ctx.term()

    def new_id(self) -> int:
        return next(self._ids)

    def decide(
        self,
        npc: NPCState | Mapping[str, Any],
        actions: list[str],
        aliases: Mapping[str, str] | None = None,
        request_id: RequestId | None = None,
        **options: Any,
    ) -> Iterator[StepEvent | DecisionEvent]:
        """Send a decide request now; iterate the result for its events."""
        rid = self.new_id() if request_id is None else request_id
        return self.stream(decide_message(rid, npc, actions, aliases, **options))  # type: ignore[return-value]

    def generate(
        self, prompt: str, request_id: RequestId | None = None, **options: Any
    ) -> Iterator[StepEvent | AnswerEvent]:
        rid = self.new_id() if request_id is None else request_id
        return self.stream(generate_message(rid, prompt, **options))  # type: ignore[return-value]

    def ping(self) -> PongEvent:
        rid = self.new_id()
        *_, pong = self.stream({"type": "ping", "id": rid})
        return pong  # type: ignore[return-value]

    def cancel(self, request_id: RequestId) -> None:
        """Ask the sidecar to stop a request; its stream then raises ServerError `cancelled`."""
        self._sock.send(encode_request({"type": "cancel", "id": request_id}))

    def stream(self, message: dict[str, Any]) -> Iterator[Event]:
        """Send any request map; returns an iterator over its events up to the terminal one."""
        rid = message["id"]
        if rid in self._pending:
            raise ValueError(f"request id {rid!r} is already in flight on this client")
        self._pending[rid] = deque()
        self._sock.send(encode_request(message))
        return self._events(rid)

    def _events(self, rid: RequestId) -> Iterator[Event]:
        try:
            while True:
                event = self._next_event(rid)
                yield _checked(event)
                if event.type in TERMINAL_EVENTS:
                    return
        finally:
            self._pending.pop(rid, None)

    def _next_event(self, rid: RequestId) -> Event:
        queue = self._pending[rid]
        deadline = time.monotonic() + self.timeout
        while not queue:
            left = deadline - time.monotonic()
            if left <= 0 or not self._sock.poll(left * 1000, zmq.POLLIN):
                raise TimeoutError(
                    f"no event for request {rid!r} from {self.address} in {self.timeout} s"
                )
            self._route(self._sock.recv())
        return queue.popleft()

    def _route(self, payload: bytes) -> None:
        try:
            event = decode_event(payload)
        except ValueError as exc:
            log.warning("ignoring a message that is not a sidecar event: %s", exc)
            return
        queue = self._pending.get(event.id) if event.id is not None else None
        if queue is not None:
            queue.append(event)
        elif isinstance(event, ErrorEvent) and event.id is None:
            log.warning("sidecar error without an id: [%s] %s", event.code, event.message)


class AsyncClient:
    """asyncio client; `async for event in client.decide(...)` sends when iteration starts."""

    def __init__(self, address: str = DEFAULT_ADDRESS, timeout: float = 30.0) -> None:
        self.address = address
        self.timeout = timeout
        self._ctx = zmq.asyncio.Context()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.connect(address)
        self._ids = itertools.count(1)
        self._pending: dict[RequestId, asyncio.Queue[Event]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._sock.close(0)
        self._ctx.term()

    def new_id(self) -> int:
        return next(self._ids)

    def decide(
        self,
        npc: NPCState | Mapping[str, Any],
        actions: list[str],
        aliases: Mapping[str, str] | None = None,
        request_id: RequestId | None = None,
        **options: Any,
    ) -> AsyncIterator[Event]:
        rid = self.new_id() if request_id is None else request_id
        return self.stream(decide_message(rid, npc, actions, aliases, **options))

    def generate(
        self, prompt: str, request_id: RequestId | None = None, **options: Any
    ) -> AsyncIterator[Event]:
        rid = self.new_id() if request_id is None else request_id
        return self.stream(generate_message(rid, prompt, **options))

    async def ping(self) -> PongEvent:
        events = [e async for e in self.stream({"type": "ping", "id": self.new_id()})]
        return events[-1]  # type: ignore[return-value]

    async def cancel(self, request_id: RequestId) -> None:
        await self._sock.send(encode_request({"type": "cancel", "id": request_id}))

    async def stream(self, message: dict[str, Any]) -> AsyncIterator[Event]:
        rid = message["id"]
        if rid in self._pending:
            raise ValueError(f"request id {rid!r} is already in flight on this client")
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._pending[rid] = queue
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_forever())
        try:
            await self._sock.send(encode_request(message))
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), self.timeout)
                except asyncio.TimeoutError:
                    raise TimeoutError(
                        f"no event for request {rid!r} from {self.address} in {self.timeout} s"
                    ) from None
                yield _checked(event)
                if event.type in TERMINAL_EVENTS:
                    return
        finally:
            self._pending.pop(rid, None)

    async def _read_forever(self) -> None:
        while True:
            payload = await self._sock.recv()
            try:
                event = decode_event(payload)
            except ValueError as exc:
                log.warning("ignoring a message that is not a sidecar event: %s", exc)
                continue
            queue = self._pending.get(event.id) if event.id is not None else None
            if queue is not None:
                queue.put_nowait(event)
