"""The broker: many sidecars (workers) behind one address (`npc-brain broker`).

The ZeroMQ guide's load-balancing broker: a ROUTER front end that games connect to exactly
as to a sidecar, and a ROUTER back end that workers (`npc-brain serve --worker`) connect
out to. One thread, one loop: read what the workers sent (events, heartbeats), read what
the clients sent, hand waiting requests to the worker with the most free generation slots,
heartbeat. The broker never decodes a model: it reads a request's type and id to route it,
forwards the payload untouched, and forwards each event as the worker encoded it.

What clients see (docs/protocol.md section 13): the same messages and events as from one
sidecar; `pong` comes from the broker itself; a request whose worker vanished is re-run
on another (its events then carry `rerun`) or ends with `worker_lost`.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgpack
import zmq
from pydantic import BaseModel, Field
from zmq.auth.thread import ThreadAuthenticator

from npc_brain.sidecar import worker_protocol as wp
from npc_brain.sidecar.auth import CurveKeys, endpoint_is_local, start_authenticator, use_curve
from npc_brain.sidecar.front_door import (
    Envelope,
    PingLimiter,
    bind_relay_endpoint,
    payload_bytes,
    split_envelope,
)
from npc_brain.sidecar.protocol import (
    DEFAULT_MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    TERMINAL_EVENTS,
    ErrorCode,
    Event,
    PongEvent,
    ProtocolError,
    encode_event,
    encode_request,
    error_event,
    package_version,
    peek_request,
    unpack,
)

log = logging.getLogger("npc_brain.sidecar.broker")
DEFAULT_FRONT = "tcp://127.0.0.1:5555"
DEFAULT_BACK = "tcp://127.0.0.1:5557"


class BrokerConfig(BaseModel):
    front: str = DEFAULT_FRONT
    back: str = DEFAULT_BACK
    max_message_bytes: int = Field(DEFAULT_MAX_MESSAGE_BYTES, ge=256, le=16 * 1024 * 1024)
    max_in_flight: int = Field(256, ge=1)  # per client, queued here or on a worker
    max_queue: int = Field(4096, ge=1)  # requests waiting here for a worker with room
    max_queued_events: int = Field(10_000, ge=1)  # per client, before it counts as gone
    receive_hwm: int = Field(64, ge=1)
    max_frame_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    reads_per_turn: int = Field(512, ge=1)
    pings_per_second: float = Field(20.0, gt=0)
    # Times a request whose worker vanished is re-run elsewhere before `worker_lost`.
    retries: int = Field(1, ge=0)
    # With no worker connected, a request waits this long before `server_busy`.
    max_wait_s: float = Field(10.0, gt=0)
    heartbeat_s: float = Field(wp.HEARTBEAT_S, gt=0)
    liveness: int = Field(wp.LIVENESS, ge=1)
    # CURVE on the front (games' keys) and on the back (workers' keys), same key pair.
    curve: CurveKeys | None = None
    worker_curve: CurveKeys | None = None
    insecure: bool = False
    hide_facts: bool = False

    def check_exposure(self) -> None:
        """Refuse an address beyond loopback without CURVE, unless `insecure`."""
        if not (self.curve or self.insecure or endpoint_is_local(self.front)):
            raise ValueError(
                f"--front {self.front} is reachable beyond this machine: configure CURVE keys "
                "(--curve-secret, --curve-clients) or allow it with --insecure"
            )
        if not (self.worker_curve or self.insecure or endpoint_is_local(self.back)):
            raise ValueError(
                f"--back {self.back} is reachable beyond this machine: configure CURVE keys "
                "(--curve-secret, --curve-workers) or allow it with --insecure"
            )


@dataclass(eq=False)
class Ticket:
    """One accepted decide/generate request, from the client's message to its terminal."""

    number: int
    envelope: Envelope | None  # None once the client has gone
    client: bytes
    request_id: int | str
    payload: bytes
    queued_at: float
    attempt: int = 0  # re-runs so far
    worker: bytes | None = None  # identity of the worker generating it
    cancels: int = 0  # cancels forwarded to (or owed by) that worker


@dataclass(eq=False)
class Worker:
    identity: bytes
    info: wp.WorkerInfo
    heard: float
    tickets: set[int] = field(default_factory=set)

    @property
    def free(self) -> int:
        return self.info.capacity - len(self.tickets)


class FairQueue:
    """Tickets waiting for a worker, taken round-robin across clients."""

    def __init__(self) -> None:
        self._queues: dict[bytes, deque[Ticket]] = {}
        self._turns: deque[bytes] = deque()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def push(self, ticket: Ticket, front: bool = False) -> None:
        queue = self._queues.get(ticket.client)
        if queue is None:
            queue = self._queues[ticket.client] = deque()
            self._turns.append(ticket.client)
        if front:
            queue.appendleft(ticket)
        else:
            queue.append(ticket)
        self._size += 1

    def pop(self) -> Ticket:
        client = self._turns.popleft()
        queue = self._queues[client]
        ticket = queue.popleft()
        self._size -= 1
        if queue:
            self._turns.append(client)
        else:
            del self._queues[client]
        return ticket

    def remove(self, ticket: Ticket) -> None:
        queue = self._queues.get(ticket.client)
        if queue is None or ticket not in queue:
            return
        queue.remove(ticket)
        self._size -= 1
        if not queue:
            del self._queues[ticket.client]
            self._turns.remove(ticket.client)

    def tickets(self) -> list[Ticket]:
        return [t for queue in self._queues.values() for t in queue]


class Broker:
    """Bind with `bind()`, run `serve_forever()` in one thread, `stop()` from any thread."""

    def __init__(self, config: BrokerConfig | None = None) -> None:
        self.config = config or BrokerConfig()
        cfg = self.config
        self.version = package_version()
        self._ctx: zmq.Context | None = None
        self._front: zmq.Socket | None = None
        self._back: zmq.Socket | None = None
        self._auth: ThreadAuthenticator | None = None
        self._stopping = threading.Event()
        self._pings = PingLimiter(cfg.pings_per_second)
        self._tickets: dict[int, Ticket] = {}
        self._clients: dict[bytes, dict[int | str, Ticket]] = {}
        self._queue = FairQueue()
        self._workers: dict[bytes, Worker] = {}
        self._told: set[bytes] = set()  # unknown identities already asked to register
        self._next_ticket = 1
        self._next_beat = 0.0
        self._probes: list[float] = []  # when to probe every worker after a disconnect
        self.front_endpoint: str | None = None
        self.back_endpoint: str | None = None
        # Where a WebSocket relay connects: the front, or with CURVE a NULL endpoint of its own.
        self.relay_endpoint: str | None = None
        self._relay_dir: tempfile.TemporaryDirectory[str] | None = None
        self.stats = {"requests": 0, "events": 0, "reruns": 0, "lost": 0}
        exposed = cfg.curve is None and not endpoint_is_local(cfg.front)
        self.reveal_facts = not (cfg.hide_facts or exposed)

    # ------------------------------------------------------------ lifecycle

    def bind(self) -> tuple[str, str]:
        """Bind both ends; returns their actual endpoints (port 0 or `*` resolved)."""
        cfg = self.config
        cfg.check_exposure()
        self._ctx = zmq.Context()
        self._front = self._ctx.socket(zmq.ROUTER)
        self._back = self._ctx.socket(zmq.ROUTER)
        self._configure_front(self._front)
        self._configure_back(self._back)
        domains = {"front": cfg.curve, "back": cfg.worker_curve}
        keys = {name: k for name, k in domains.items() if k is not None}
        try:
            if keys:
                self._auth = start_authenticator(self._ctx, keys)
            ends = (self._front, "front", cfg.front), (self._back, "back", cfg.back)
            for sock, name, address in ends:
                if name in keys:
                    use_curve(sock, keys[name], domain=name)
                try:
                    sock.bind(address)
                except zmq.ZMQError as exc:
                    raise OSError(f"cannot bind --{name} {address}: {exc}") from None
        except OSError:
            self.close()
            raise
        self.front_endpoint = self._front.getsockopt_string(zmq.LAST_ENDPOINT)
        self.back_endpoint = self._back.getsockopt_string(zmq.LAST_ENDPOINT)
        self.relay_endpoint = self.front_endpoint
        if cfg.curve is not None:
            self.relay_endpoint, self._relay_dir = bind_relay_endpoint(self._front)
        return self.front_endpoint, self.back_endpoint

    def _configure_front(self, sock: zmq.Socket) -> None:
        cfg = self.config
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)  # a vanished client raises EHOSTUNREACH
        sock.setsockopt(zmq.SNDHWM, cfg.max_queued_events)
        sock.setsockopt(zmq.RCVHWM, cfg.receive_hwm)
        sock.setsockopt(zmq.MAXMSGSIZE, max(cfg.max_frame_bytes, cfg.max_message_bytes))
        sock.setsockopt(zmq.LINGER, 200)

    def _configure_back(self, sock: zmq.Socket) -> None:
        # A send to a worker whose connection closed raises EHOSTUNREACH: after each
        # disconnect the monitor reports, every worker is probed, so a killed process is
        # noticed at once (heartbeats catch the ones that hang or vanish silently).
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        sock.setsockopt(zmq.SNDHWM, 100_000)
        sock.setsockopt(zmq.MAXMSGSIZE, max(self.config.max_frame_bytes, 1 << 20))
        sock.setsockopt(zmq.LINGER, 200)

    def stop(self) -> None:
        """Ask the loop to finish; requests in flight end with `shutting_down`."""
        self._stopping.set()

    def serve_forever(self) -> None:
        if self._front is None:
            self.bind()
        front, back = self._front, self._back
        assert front is not None and back is not None
        monitor = back.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        poller = zmq.Poller()
        for sock in (front, back, monitor):
            poller.register(sock, zmq.POLLIN)
        try:
            while not self._stopping.is_set():
                ready = dict(poller.poll(50))
                if monitor in ready:
                    self._on_disconnects(monitor)
                if back in ready:
                    self._read(back, self._on_worker_message)
                if front in ready:
                    self._read(front, self._on_client_message)
                self._dispatch()
                self._housekeeping()
        finally:
            back.disable_monitor()
            monitor.close(0)
            self.close()

    def _on_disconnects(self, monitor: zmq.Socket) -> None:
        """A back-end connection closed: find whose by probing (now and shortly after,
        as libzmq may drop the peer's route a moment after reporting it)."""
        while monitor.poll(0, zmq.POLLIN):
            monitor.recv_multipart()
        now = time.monotonic()
        self._probes = [now, now + 0.05, now + 0.5]
        self._probe(now)

    def _probe(self, now: float) -> None:
        due = [t for t in self._probes if t <= now]
        if not due:
            return
        self._probes = [t for t in self._probes if t > now]
        for identity in list(self._workers):
            self._to_worker(identity, wp.command(wp.HEARTBEAT))

    def close(self) -> None:
        """End every request with `shutting_down`, let the workers go, release the sockets."""
        if self._ctx is None:
            return
        if self.front_endpoint is not None:
            for ticket in list(self._tickets.values()):
                if ticket.number in self._tickets:
                    self._end(ticket, ErrorCode.SHUTTING_DOWN, "the broker is shutting down")
            for identity in list(self._workers):
                self._to_worker(identity, wp.command(wp.DISCONNECT))
        for sock in (self._front, self._back):
            if sock is not None:
                sock.close()
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        self._ctx.term()
        self._ctx = self._front = self._back = None
        if self._relay_dir is not None:
            self._relay_dir.cleanup()
            self._relay_dir = None

    def _read(self, sock: zmq.Socket, handle: Any) -> None:
        for _ in range(self.config.reads_per_turn):
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            handle(frames)

    # ------------------------------------------------------------ clients

    def _on_client_message(self, frames: list[zmq.Frame]) -> None:
        envelope, payload = split_envelope(frames)
        if payload is None:
            n = len(frames) - 1
            message = f"expected one payload frame after an optional empty delimiter, got {n}"
            self._send(envelope, error_event(ErrorCode.BAD_FRAMES, message))
            return
        request_id = None
        try:
            limit = self.config.max_message_bytes
            raw = payload_bytes(payload, limit)
            kind, request_id = peek_request(raw, limit)
            self._on_request(envelope, kind, request_id, raw)
        except ProtocolError as exc:
            self._send(envelope, error_event(exc.code, exc.message, exc.request_id))
        except Exception:  # a bug must cost one request, never the broker
            log.exception("unexpected fault while handling a message")
            fault = error_event(ErrorCode.INTERNAL, "unexpected broker fault", request_id)
            self._send(envelope, fault)

    def _on_request(self, envelope: Envelope, kind: str, rid: int | str, raw: bytes) -> None:
        client = envelope[0]
        if kind == "ping":
            if not self._pings.allow(client, time.perf_counter()):
                limit = f"{self.config.pings_per_second:g} pings per second"
                raise ProtocolError(ErrorCode.RATE_LIMITED, f"more than {limit}", rid)
            self._send_raw(envelope, self._pong(client, rid), terminal=True)
        elif kind == "cancel":
            self._cancel(client, rid)
        else:
            self._accept(envelope, rid, raw)

    def _accept(self, envelope: Envelope, rid: int | str, raw: bytes) -> None:
        cfg = self.config
        mine = self._clients.get(envelope[0], {})
        if rid in mine:
            message = f"request {rid!r} is already in flight"
            raise ProtocolError(ErrorCode.DUPLICATE_ID, message, rid)
        if len(mine) >= cfg.max_in_flight:
            message = f"this client already has {cfg.max_in_flight} requests in flight"
            raise ProtocolError(ErrorCode.TOO_MANY_REQUESTS, message, rid)
        if len(self._queue) >= cfg.max_queue:
            message = f"{len(self._queue)} requests are waiting for a worker; try again later"
            raise ProtocolError(ErrorCode.SERVER_BUSY, message, rid)
        ticket = Ticket(self._next_ticket, envelope, envelope[0], rid, raw, time.monotonic())
        self._next_ticket += 1
        self._tickets[ticket.number] = ticket
        self._clients.setdefault(ticket.client, {})[rid] = ticket
        self._queue.push(ticket)
        self.stats["requests"] += 1

    def _cancel(self, client: bytes, rid: int | str) -> None:
        ticket = self._clients.get(client, {}).get(rid)
        if ticket is None:
            raise ProtocolError(ErrorCode.UNKNOWN_ID, f"no request {rid!r} is in flight", rid)
        if ticket.worker is None:  # still waiting here
            self._end(ticket, ErrorCode.CANCELLED, f"request {rid!r} was cancelled")
            return
        # The worker answers the first cancel with the request's `cancelled`; any further
        # cancel is owed an `unknown_id` after that terminal event (see _answer_cancels).
        ticket.cancels += 1
        if ticket.cancels == 1:
            self._cancel_on_worker(ticket)

    def _cancel_on_worker(self, ticket: Ticket) -> None:
        assert ticket.worker is not None
        cancel = encode_request({"type": "cancel", "id": ticket.request_id})
        self._to_worker(ticket.worker, wp.command(wp.REQUEST, wp.route_of(ticket.number), cancel))

    def _pong(self, client: bytes, rid: int | str) -> bytes:
        facts = self.reveal_facts
        info = next(iter(self._workers.values())).info if self._workers else None
        pong = PongEvent(
            id=rid,
            protocol=PROTOCOL_VERSION,
            version=self.version if facts else None,
            model=info.model if facts and info else None,
            params=info.params if facts and info else None,
            in_flight=len(self._clients.get(client, {})),
            active=sum(len(w.tickets) for w in self._workers.values()),
            queued=len(self._queue),
            max_in_flight=self.config.max_in_flight,
            max_message_bytes=self.config.max_message_bytes,
        )
        return msgpack.packb(pong.model_dump() | {"workers": len(self._workers)})

    def _send(self, envelope: Envelope, event: Event) -> None:
        self._send_raw(envelope, encode_event(event), event.type in TERMINAL_EVENTS)

    def _send_raw(self, envelope: Envelope, payload: bytes, terminal: bool) -> None:
        if len(envelope) > 1 and not terminal:
            return  # REQ clients get only the terminal event
        assert self._front is not None
        try:
            self._front.send_multipart([*envelope, payload], zmq.NOBLOCK)
        except zmq.Again:
            self._client_gone(envelope[0], "is not reading its events")
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EHOSTUNREACH:
                raise
            self._client_gone(envelope[0], "disconnected")

    def _client_gone(self, client: bytes, why: str) -> None:
        """Forget a client's waiting requests; stop the ones on workers (their slots come
        back with the `cancelled` each worker then sends)."""
        tickets = list(self._clients.get(client, {}).values())
        for ticket in tickets:
            if ticket.worker is None:
                self._forget(ticket)
            elif ticket.envelope is not None:
                ticket.envelope = None
                if ticket.cancels == 0:
                    ticket.cancels = 1
                    self._cancel_on_worker(ticket)
        if tickets:
            n = len(tickets)
            log.warning("client %s %s: cancelled its %d request(s)", client.hex(), why, n)

    def _end(self, ticket: Ticket, code: ErrorCode, message: str) -> None:
        """Finish a ticket here with an error (it is on no worker any more)."""
        self._forget(ticket)
        if ticket.envelope is not None:
            self._send(ticket.envelope, error_event(code, message, ticket.request_id))

    def _forget(self, ticket: Ticket) -> None:
        self._tickets.pop(ticket.number, None)
        mine = self._clients.get(ticket.client)
        if mine is not None and mine.get(ticket.request_id) is ticket:
            del mine[ticket.request_id]
            if not mine:
                del self._clients[ticket.client]
        if ticket.worker is None:
            self._queue.remove(ticket)
        else:
            worker = self._workers.get(ticket.worker)
            if worker is not None:
                worker.tickets.discard(ticket.number)
            ticket.worker = None

    # ------------------------------------------------------------ workers

    def _on_worker_message(self, frames: list[zmq.Frame]) -> None:
        identity = frames[0].bytes
        message = wp.parse(frames[1:])
        if message is None:
            self._tell_unknown(identity, "sent a message in an unknown format")
            return
        name, rest = message
        if name == wp.READY and len(rest) == 1:
            self._register(identity, rest[0].bytes)
            return
        worker = self._workers.get(identity)
        if worker is None:
            self._tell_unknown(identity, "is not registered")
            return
        worker.heard = time.monotonic()
        if name == wp.EVENT and len(rest) == 3:
            self._on_event(worker, rest[0].bytes, rest[1].bytes, rest[2].bytes)
        elif name == wp.DISCONNECT:
            self._lose_worker(identity, "left")

    def _register(self, identity: bytes, payload: bytes) -> None:
        try:
            info = wp.decode_info(payload)
        except ValueError as exc:
            log.warning("worker %s: %s", identity.hex(), exc)
            return
        known = self._workers.get(identity)
        if known is not None:  # a repeated READY (the worker had no WELCOME yet): no news
            known.heard = time.monotonic()
            self._to_worker(identity, wp.command(wp.WELCOME))
            return
        self._workers[identity] = Worker(identity, info, time.monotonic())
        self._told.discard(identity)
        if self._to_worker(identity, wp.command(wp.WELCOME)):
            log.info(
                "worker %s (%s pid %s) joined: %d slots, model %s (%s); %d worker(s)",
                identity.hex(), info.host, info.pid, info.capacity, info.model, info.backend,
                len(self._workers),
            )  # fmt: skip

    def _tell_unknown(self, identity: bytes, why: str) -> None:
        """Ask a worker the broker does not know (restarted broker, lost registration) to
        register; once per identity, the worker ignores the rest until it is welcome."""
        if identity in self._told:
            return
        if len(self._told) > 4096:
            self._told.clear()
        self._told.add(identity)
        log.info("worker %s %s: asking it to register", identity.hex(), why)
        self._to_worker(identity, wp.command(wp.DISCONNECT))

    def _on_event(self, worker: Worker, route: bytes, flag: bytes, payload: bytes) -> None:
        number = wp.ticket_of(route)
        ticket = self._tickets.get(number) if number is not None else None
        if ticket is None or ticket.worker != worker.identity:
            return  # a late event of a request re-run elsewhere, ended or cancelled
        self.stats["events"] += 1
        terminal = flag == wp.TERMINAL
        if terminal:
            self._forget(ticket)
        if ticket.envelope is None:
            return  # its client has gone
        if ticket.attempt:
            payload = _mark_rerun(payload, ticket.attempt)
        self._send_raw(ticket.envelope, payload, terminal)
        if terminal and ticket.cancels:
            self._answer_cancels(ticket, payload)

    def _answer_cancels(self, ticket: Ticket, terminal: bytes) -> None:
        """Cancels the terminal event did not answer get `unknown_id`, as from a sidecar."""
        event = unpack(terminal)
        owed = ticket.cancels - (event.get("code") == ErrorCode.CANCELLED.value)
        rid = ticket.request_id
        for _ in range(owed):
            if ticket.envelope is not None:
                message = f"no request {rid!r} is in flight"
                self._send(ticket.envelope, error_event(ErrorCode.UNKNOWN_ID, message, rid))

    def _lose_worker(self, identity: bytes, why: str) -> None:
        """Re-run (or end) every request the worker held; it never sends for them again."""
        worker = self._workers.pop(identity, None)
        if worker is None:
            return
        log.warning(
            "worker %s %s with %d request(s) in flight; %d worker(s) left",
            identity.hex(), why, len(worker.tickets), len(self._workers),
        )  # fmt: skip
        tickets = [self._tickets[n] for n in sorted(worker.tickets)]
        for ticket in tickets:
            ticket.worker = None
        for ticket in tickets:
            if self._tickets.get(ticket.number) is not ticket:
                continue  # ended meanwhile: its client went away while another was answered
            if ticket.envelope is None:
                self._forget(ticket)
            elif ticket.cancels:
                message = f"request {ticket.request_id!r} was cancelled"
                self._end(ticket, ErrorCode.CANCELLED, message)
            elif ticket.attempt < self.config.retries:
                ticket.attempt += 1
                ticket.queued_at = time.monotonic()
                self._queue.push(ticket, front=True)
                self.stats["reruns"] += 1
            else:
                self.stats["lost"] += 1
                message = f"its worker {why}; it was re-run {ticket.attempt} time(s) already"
                self._end(ticket, ErrorCode.WORKER_LOST, message)

    def _to_worker(self, identity: bytes, frames: list[bytes]) -> bool:
        """Send to a worker; one that cannot take it (gone, or not reading) is lost."""
        assert self._back is not None
        try:
            self._back.send_multipart([identity, *frames], zmq.NOBLOCK)
        except zmq.ZMQError as exc:
            if exc.errno not in (zmq.EHOSTUNREACH, zmq.EAGAIN):
                raise
            self._lose_worker(identity, "disconnected")
            return False
        return True

    def _dispatch(self) -> None:
        """Hand waiting requests to the workers with the most free slots."""
        while len(self._queue):
            worker = max(self._workers.values(), key=lambda w: w.free, default=None)
            if worker is None or worker.free <= 0:
                return
            ticket = self._queue.pop()
            route = wp.route_of(ticket.number)
            request = wp.command(wp.REQUEST, route, ticket.payload)
            if not self._to_worker(worker.identity, request):
                self._queue.push(ticket, front=True)
                continue
            ticket.worker = worker.identity
            worker.tickets.add(ticket.number)

    def _housekeeping(self) -> None:
        """Once per heartbeat interval: beat, bury silent workers, expire orphaned waits."""
        now = time.monotonic()
        self._probe(now)
        if now < self._next_beat:
            return
        cfg = self.config
        self._next_beat = now + cfg.heartbeat_s
        for worker in list(self._workers.values()):
            if now - worker.heard > cfg.heartbeat_s * cfg.liveness:
                self._lose_worker(worker.identity, "stopped heartbeating")
            else:
                self._to_worker(worker.identity, wp.command(wp.HEARTBEAT))
        if not self._workers:
            for ticket in self._queue.tickets():
                if now - ticket.queued_at > cfg.max_wait_s:
                    message = f"no worker joined the broker within {cfg.max_wait_s:g} s"
                    self._end(ticket, ErrorCode.SERVER_BUSY, message)

    @property
    def workers(self) -> int:
        return len(self._workers)

    def worker_info(self) -> dict[bytes, wp.WorkerInfo]:
        """The workers registered now, by identity."""
        return {identity: w.info for identity, w in self._workers.items()}

    def requests_on(self, identity: bytes) -> list[int | str]:
        """Ids of the requests a worker is generating now."""
        worker = self._workers.get(identity)
        tickets = [self._tickets[n] for n in worker.tickets] if worker else []
        return [t.request_id for t in tickets]


def _mark_rerun(payload: bytes, attempt: int) -> bytes:
    """The event with `rerun` set (only re-run requests pay for this re-encoding)."""
    event = msgpack.unpackb(payload, raw=False)
    event["rerun"] = attempt
    return msgpack.packb(event, use_bin_type=True)


__all__ = ["DEFAULT_BACK", "DEFAULT_FRONT", "Broker", "BrokerConfig"]
