"""Python clients for the sidecar: `Client` (blocking) and `AsyncClient` (asyncio).

Both use one DEALER socket, so any number of requests may be in flight at once; events are
routed to the request they belong to by id. `decide()` and `generate()` yield `StepEvent`s
as the thoughts arrive and end with the `DecisionEvent` / `AnswerEvent`; an `error` event
is raised as `ServerError` (code `cancelled` after `cancel()`). `timeout` is one deadline
for the whole request. A socket monitor watches the connection: when it drops (sidecar
stopped or killed, or a message over the sidecar's transport cap), every request in flight
ends at once with `ServerError` code `disconnected` instead of waiting out its deadline.
`WebSocketClient` (ws_client.py) offers `Client`'s API through the WebSocket relay.

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
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

from npc_brain.npc.state import NPCState
from npc_brain.sidecar.auth import load_key_pair, load_public_key
from npc_brain.sidecar.protocol import (
    DEFAULT_MAX_MESSAGE_BYTES,
    TERMINAL_EVENTS,
    AnswerEvent,
    DecisionEvent,
    ErrorCode,
    ErrorEvent,
    Event,
    PongEvent,
    StepEvent,
    decode_event,
    encode_request,
    error_event,
)

DEFAULT_ADDRESS = "tcp://127.0.0.1:5555"
log = logging.getLogger("npc_brain.sidecar.client")
RequestId = int | str
# Monitor events that end the requests in flight: the connection dropped, or the handshake
# failed (a refused CURVE key, a mechanism mismatch), which libzmq retries silently forever.
CONNECTION_LOST = (
    zmq.EVENT_DISCONNECTED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)


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


def _lost_message(address: str, event: int) -> str:
    if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        return f"the sidecar at {address} refused this client's CURVE key"
    if event != zmq.EVENT_DISCONNECTED:
        return f"the handshake with {address} failed (CURVE keys configured on one side only?)"
    why = "the sidecar stopped, or a message exceeded its transport size cap"
    return f"the connection to {address} dropped ({why})"


@dataclass(frozen=True)
class CurveClientKeys:
    """CURVE for `Client`/`AsyncClient`: the server's public key and this client's key pair."""

    server_public: bytes
    public: bytes
    secret: bytes

    @classmethod
    def from_files(cls, server_key: str | Path, client_secret: str | Path) -> CurveClientKeys:
        """The server's NAME.key and this client's NAME.key_secret (`npc-brain keys`)."""
        public, secret = load_key_pair(client_secret)
        return cls(load_public_key(server_key), public, secret)

    def apply(self, sock: zmq.Socket) -> None:
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_serverkey = self.server_public


def _open(ctx: zmq.Context, address: str, curve: CurveClientKeys | None) -> tuple[Any, Any]:
    """A DEALER connected to `address` and a monitor socket watching its connection."""
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    if curve is not None:
        curve.apply(sock)
    monitor = sock.get_monitor_socket(CONNECTION_LOST)
    sock.connect(address)
    return sock, monitor


@dataclass
class _Pending:
    deadline: float
    events: deque[Event] = field(default_factory=deque)
    ended: bool = False  # its terminal event is queued

    def put(self, event: Event) -> None:
        if not self.ended:
            self.events.append(event)
            self.ended = event.type in TERMINAL_EVENTS


def _oversize(rid: RequestId, payload: bytes, limit: int | None) -> ErrorEvent | None:
    """The sidecar cannot tell whose message it refuses as too large (its id is unread), so
    the client refuses it itself and the request still gets its one terminal event."""
    if limit is None or len(payload) <= limit:
        return None
    message = f"message is {len(payload)} bytes; the limit is {limit}"
    return error_event(ErrorCode.TOO_LARGE, message, rid)


def _checked(event: Event) -> Event:
    if isinstance(event, ErrorEvent):
        raise ServerError(event)
    return event


_ClientT = TypeVar("_ClientT", bound="BlockingClient")


class BlockingClient(ABC):
    """The request API of the blocking clients, whatever carries the bytes.

    Subclasses supply the transport: `_prepare` (before a request is sent), `_send` and
    `_wait`; `Client` speaks ZeroMQ, `WebSocketClient` ZMTP over a WebSocket.
    """

    def __init__(self, address: str, timeout: float, max_message_bytes: int | None) -> None:
        self.address = address
        self.timeout = timeout
        self.max_message_bytes = max_message_bytes  # the sidecar's; None sends anything
        self._ids = itertools.count(1)
        self._pending: dict[RequestId, _Pending] = {}

    def __enter__(self: _ClientT) -> _ClientT:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None: ...

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
        self._send(encode_request({"type": "cancel", "id": request_id}))

    def stream(self, message: dict[str, Any]) -> Iterator[Event]:
        """Send any request map; returns an iterator over its events up to the terminal one."""
        rid = message["id"]
        if rid in self._pending:
            raise ValueError(f"request id {rid!r} is already in flight on this client")
        deadline = time.monotonic() + self.timeout
        cannot_send = self._prepare()  # a drop noticed now concerns earlier requests only
        pending = self._pending[rid] = _Pending(deadline)
        payload = encode_request(message)
        refusal = _oversize(rid, payload, self.max_message_bytes)
        if refusal is None and cannot_send is not None:
            refusal = error_event(ErrorCode.DISCONNECTED, cannot_send, rid)
        if refusal is None:
            self._send(payload)
        else:
            pending.put(refusal)
        return self._events(rid)

    @abstractmethod
    def _prepare(self) -> str | None:
        """Take in news of the connection; returns why a request cannot be sent now, if so."""

    @abstractmethod
    def _send(self, payload: bytes) -> None: ...

    @abstractmethod
    def _wait(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for a message or a lost connection and handle it; False if
        nothing came."""

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
        pending = self._pending[rid]
        while not pending.events:
            left = pending.deadline - time.monotonic()
            if left <= 0 or not self._wait(left):
                raise TimeoutError(
                    f"request {rid!r} to {self.address} did not finish in {self.timeout} s"
                )
        return pending.events.popleft()

    def _fail_pending(self, message: str) -> None:
        """End every request in flight with `disconnected`."""
        for rid, pending in self._pending.items():
            pending.put(error_event(ErrorCode.DISCONNECTED, message, rid))

    def _route(self, payload: bytes) -> None:
        try:
            event = decode_event(payload)
        except ValueError as exc:
            log.warning("ignoring a message that is not a sidecar event: %s", exc)
            return
        pending = self._pending.get(event.id) if event.id is not None else None
        if pending is not None:
            pending.put(event)
        elif isinstance(event, ErrorEvent) and event.id is None:
            log.warning("sidecar error without an id: [%s] %r", event.code, event.message)
        else:  # a late answer to a request that ended with `disconnected` (or a stray)
            log.debug("event %s for request %r, which is not in flight", event.type, event.id)


class Client(BlockingClient):
    """Blocking ZeroMQ client. `timeout`: seconds from sending a request to its terminal event."""

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        timeout: float = 30.0,
        curve: CurveClientKeys | None = None,
        max_message_bytes: int | None = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        super().__init__(address, timeout, max_message_bytes)
        self._ctx = zmq.Context()
        self._sock, self._monitor = _open(self._ctx, address, curve)
        self._poller = zmq.Poller()
        self._poller.register(self._sock, zmq.POLLIN)
        self._poller.register(self._monitor, zmq.POLLIN)

    def close(self) -> None:
        self._sock.disable_monitor()
        self._monitor.close(0)
        self._sock.close(0)
        self._ctx.term()

    def _prepare(self) -> None:
        self._watch(0)  # libzmq reconnects by itself: a request waits for it, up to its deadline

    def _send(self, payload: bytes) -> None:
        self._sock.send(payload)

    def _wait(self, timeout_s: float) -> bool:
        ready = dict(self._poller.poll(timeout_s * 1000))
        if self._sock in ready:
            self._route(self._sock.recv())
        if self._monitor in ready:
            self._watch(0)
        return bool(ready)

    def _watch(self, timeout_ms: int) -> None:
        """Read waiting monitor events; a lost connection ends every request in flight."""
        while self._monitor.poll(timeout_ms, zmq.POLLIN):
            event = parse_monitor_message(self._monitor.recv_multipart())["event"]
            self._fail_pending(_lost_message(self.address, event))


class AsyncClient:
    """asyncio client; `async for event in client.decide(...)` sends when iteration starts."""

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        timeout: float = 30.0,
        curve: CurveClientKeys | None = None,
        max_message_bytes: int | None = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self.max_message_bytes = max_message_bytes  # the sidecar's; None sends anything
        self._ctx = zmq.asyncio.Context()
        self._sock, self._monitor = _open(self._ctx, address, curve)
        self._ids = itertools.count(1)
        self._pending: dict[RequestId, asyncio.Queue[Event]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._sock.disable_monitor()
        self._monitor.close(0)
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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._read_forever()),
                asyncio.create_task(self._watch_forever()),
            ]
        await self._watch_waiting()  # a drop noticed now concerns earlier requests only
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._pending[rid] = queue
        try:
            payload = encode_request(message)
            refusal = _oversize(rid, payload, self.max_message_bytes)
            if refusal is None:
                await self._sock.send(payload)
            else:
                queue.put_nowait(refusal)
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), deadline - loop.time())
                except asyncio.TimeoutError:
                    raise TimeoutError(
                        f"request {rid!r} to {self.address} did not finish in {self.timeout} s"
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

    async def _watch_forever(self) -> None:
        while True:
            self._lost(await self._monitor.recv_multipart())

    async def _watch_waiting(self) -> None:
        while await self._monitor.poll(0, zmq.POLLIN):
            self._lost(await self._monitor.recv_multipart())

    def _lost(self, frames: list[bytes]) -> None:
        message = _lost_message(self.address, parse_monitor_message(frames)["event"])
        for rid, queue in self._pending.items():
            queue.put_nowait(error_event(ErrorCode.DISCONNECTED, message, rid))
