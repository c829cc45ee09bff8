"""The batching scheduler: requests in, one engine step at a time, protocol events out.

It owns the generation engines (one per model: `decide` and `generate` requests may each
have a model of their own, see `Lane`) and a fair queue per client, and knows nothing about
sockets: the server hands it validated requests with the client's envelope and sends
whatever `(envelope, event)` pairs it returns. What a request becomes, and what its trace
becomes, is jobs.py's.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from npc_brain.nrm.engine import Engine, TokenEvent
from npc_brain.nrm.trace import Step
from npc_brain.sidecar import jobs
from npc_brain.sidecar.front_door import Envelope
from npc_brain.sidecar.jobs import Job, final_event, refusal
from npc_brain.sidecar.protocol import (
    DecideRequest,
    ErrorCode,
    Event,
    GenerateRequest,
    ProtocolError,
    StepEvent,
    error_event,
)

log = logging.getLogger("npc_brain.sidecar.server")

Outgoing = tuple[Envelope, Event]


class Lane:
    """One model's engine and the jobs it is generating; rebuilt after an engine fault."""

    def __init__(self, engine_factory: Callable[[], Engine]) -> None:
        self._factory = engine_factory
        self.engine = engine_factory()
        self.by_handle: dict[int, Job] = {}

    @property
    def room(self) -> int:
        return self.engine.max_batch - self.engine.active

    def restart(self) -> None:
        self.by_handle.clear()
        self.engine = self._factory()


@dataclass(frozen=True)
class Fairness:
    """How much of the sidecar one client may hold, so no client can starve another."""

    # Sequences one client may have in the batch; its other requests wait in its queue.
    max_client_batch: int = 64
    # Clients with requests in flight; a request from one more gets `server_busy`.
    max_clients: int = 1024
    # The last `reserved_queue` places of the global queue only take requests from clients
    # with fewer than `small_client` requests in flight, so a flood cannot lock others out.
    reserved_queue: int = 512
    small_client: int = 16


class Scheduler:
    """Fair admission into the engines; not thread-safe (the server loop drives it).

    `generate_factory` builds the engine of a second model for `generate` requests (a
    reasoning specialist); without it both kinds share one engine."""

    def __init__(
        self,
        engine_factory: Callable[[], Engine],
        max_in_flight: int = 256,
        max_queue: int = 4096,
        fairness: Fairness | None = None,
        generate_factory: Callable[[], Engine] | None = None,
    ) -> None:
        decide = Lane(engine_factory)
        generate = Lane(generate_factory) if generate_factory else decide
        self.lanes = {"decide": decide, "generate": generate}
        self._distinct = [decide] if generate is decide else [decide, generate]
        self.max_in_flight = max_in_flight
        self.max_queue = max_queue
        self.fair = fairness or Fairness()
        self._jobs: dict[tuple[bytes, int | str], Job] = {}
        self._per_client: dict[bytes, int] = {}
        self._active_per_client: dict[bytes, int] = {}
        self._queues: dict[bytes, deque[Job]] = {}
        self._turns: deque[bytes] = deque()  # clients with queued jobs, round-robin order
        self._queued = 0

    # ------------------------------------------------------------ state

    @property
    def queued(self) -> int:
        return self._queued

    @property
    def engine(self) -> Engine:
        """The engine of `decide` requests."""
        return self.lanes["decide"].engine

    @property
    def active(self) -> int:
        return sum(len(lane.by_handle) for lane in self._distinct)

    @property
    def busy(self) -> bool:
        return bool(self._jobs) or any(lane.engine.active for lane in self._distinct)

    def in_flight(self, client: bytes) -> int:
        return self._per_client.get(client, 0)

    # ------------------------------------------------------------ requests

    def check_admissible(self, client: bytes, request_id: int | str) -> None:
        """Raise the ProtocolError a new request from this client would get, if any."""
        if (client, request_id) in self._jobs:
            raise ProtocolError(
                ErrorCode.DUPLICATE_ID, f"request {request_id!r} is already in flight", request_id
            )
        if self.in_flight(client) >= self.max_in_flight:
            raise ProtocolError(
                ErrorCode.TOO_MANY_REQUESTS,
                f"this client already has {self.max_in_flight} requests in flight",
                request_id,
            )
        self._check_room(client, request_id)

    def _check_room(self, client: bytes, request_id: int | str) -> None:
        held = self.in_flight(client)
        if not held and len(self._per_client) >= self.fair.max_clients:
            raise ProtocolError(
                ErrorCode.SERVER_BUSY,
                f"{len(self._per_client)} clients have requests in flight; try again later",
                request_id,
            )
        free = self.max_queue - self._queued
        reserved = min(self.fair.reserved_queue, self.max_queue // 8)
        if free <= 0 or (free <= reserved and held >= self.fair.small_client):
            raise ProtocolError(
                ErrorCode.SERVER_BUSY,
                f"{self._queued} requests are waiting; try again later",
                request_id,
            )

    def submit(
        self, request: DecideRequest | GenerateRequest, envelope: Envelope, received: float
    ) -> None:
        """Admit a validated request; its problems (and a full queue) are ProtocolErrors."""
        self.check_admissible(envelope[0], request.id)
        lane = self.lanes[request.type]
        self.add(jobs.make_job(request, lane.engine.tok, lane.engine.max_len, envelope, received))

    def add(self, job: Job) -> None:
        self.check_admissible(job.client, job.request_id)
        self._jobs[(job.client, job.request_id)] = job
        self._per_client[job.client] = self.in_flight(job.client) + 1
        queue = self._queues.get(job.client)
        if queue is None:
            queue = self._queues[job.client] = deque()
            self._turns.append(job.client)
        queue.append(job)
        self._queued += 1

    def cancel(self, client: bytes, request_id: int | str) -> Job:
        """Stop a request now; returns the job (its terminal event is the caller's to send)."""
        job = self._jobs.get((client, request_id))
        if job is None:
            raise ProtocolError(
                ErrorCode.UNKNOWN_ID, f"no request {request_id!r} is in flight", request_id
            )
        self._forget(job)
        return job

    def drop_client(self, client: bytes) -> int:
        """Cancel every request of a client that went away; returns how many."""
        jobs = [j for (c, _), j in self._jobs.items() if c == client]
        for job in jobs:
            self._forget(job)
        return len(jobs)

    def fail_all(self, code: ErrorCode, message: str) -> list[Outgoing]:
        """End every request with the same error (shutdown)."""
        out = [(j.envelope, error_event(code, message, j.request_id)) for j in self._jobs.values()]
        for job in list(self._jobs.values()):
            self._forget(job)
        return out

    def _release(self, job: Job) -> None:
        del self._jobs[(job.client, job.request_id)]
        left = self._per_client[job.client] - 1
        if left:
            self._per_client[job.client] = left
        else:
            del self._per_client[job.client]

    def _forget(self, job: Job, stop_engine: bool = True) -> None:
        """Remove a job wherever it is: the client's queue or the engine."""
        self._release(job)
        if job.handle is not None:
            lane = self._lane_of(job)
            if lane.by_handle.get(job.handle) is job:
                del lane.by_handle[job.handle]
                self._count_active(job.client, -1)
                if stop_engine:
                    lane.engine.cancel(job.handle)
            return
        queue = self._queues[job.client]
        queue.remove(job)
        self._queued -= 1
        if not queue:
            del self._queues[job.client]
            self._turns.remove(job.client)

    # ------------------------------------------------------------ generation

    def step(self) -> list[Outgoing]:
        """Admit queued jobs, run one step of each busy engine, turn its tokens into events."""
        out = self._admit()
        for lane in self._distinct:
            if lane.engine.active:
                out += self._step_lane(lane)
        return out

    def _lane_of(self, job: Job) -> Lane:
        """Where a job runs: a decision (it has a plan) in the decide lane, else generate."""
        return self.lanes["decide" if job.plan is not None else "generate"]

    def _step_lane(self, lane: Lane) -> list[Outgoing]:
        try:
            token_events = lane.engine.step()
        except Exception:
            log.exception("engine step failed; restarting the engine")
            return self._restart_lane(lane)
        out: list[Outgoing] = []
        for ev in token_events:
            job = lane.by_handle.get(ev.handle)
            if job is not None:  # None: cancelled or its client left
                out += self._on_token(job, ev)
        return out

    def _admit(self) -> list[Outgoing]:
        """Round-robin over clients with queued jobs, each up to its share of the batch."""
        out: list[Outgoing] = []
        skipped = 0  # clients in a row passed over: full share, or their engine is full
        while skipped < len(self._turns):
            client = self._turns.popleft()
            lane = self._lane_of(self._queues[client][0])
            if lane.room <= 0 or (
                self._active_per_client.get(client, 0) >= self.fair.max_client_batch
            ):
                self._turns.append(client)
                skipped += 1
                continue
            skipped = 0
            job = self._next_queued(client)
            try:
                job.handle = lane.engine.submit(job.gen)
            except ValueError as exc:
                out.append((job.envelope, refusal(job, str(exc))))
                self._release(job)
                continue
            lane.by_handle[job.handle] = job
            self._count_active(client, 1)
        return out

    def _next_queued(self, client: bytes) -> Job:
        queue = self._queues[client]
        job = queue.popleft()
        self._queued -= 1
        if queue:
            self._turns.append(client)
        else:
            del self._queues[client]
        return job

    def _count_active(self, client: bytes, delta: int) -> None:
        left = self._active_per_client.get(client, 0) + delta
        if left > 0:
            self._active_per_client[client] = left
        else:
            self._active_per_client.pop(client, None)

    def _restart_lane(self, lane: Lane) -> list[Outgoing]:
        """After an engine fault: fail what it was generating, keep the queue, start afresh."""
        out: list[Outgoing] = []
        for job in lane.by_handle.values():
            out.append(
                (job.envelope, error_event(ErrorCode.INTERNAL, "generation failed", job.request_id))
            )
            self._release(job)
            self._count_active(job.client, -1)
        lane.restart()
        return out

    def _on_token(self, job: Job, ev: TokenEvent) -> list[Outgoing]:
        if ev.token_id >= 0:
            job.tokens += 1
        job.text.append(ev.text)
        out: list[Outgoing] = []
        for item in job.parser.feed(ev.text):
            if isinstance(item, Step):
                out.append(
                    (job.envelope, StepEvent(id=job.request_id, index=item.index, text=item.text))
                )
        if ev.done or job.parser.done:
            if not job.parser.done:
                job.parser.finish()
            out.append((job.envelope, final_event(job, ev.reason)))
            # A trace that went wrong before the engine stopped is stopped here.
            self._forget(job, stop_engine=not ev.done)
        return out
