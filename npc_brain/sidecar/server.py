"""The sidecar: a ZeroMQ ROUTER that streams each STEP line of every NPC's trace as an event.

One thread does everything, in a loop: read every waiting message (without blocking),
run one batched engine step, send the events it produced (without blocking). A separate
engine thread would buy nothing here: the engine step is the work, the machine has two
cores that torch already uses inside the step, and libzmq's own I/O thread keeps accepting
and buffering bytes while a step runs, so the socket stays responsive. A new request
therefore waits at most one engine step (a few ms) before it joins the batch, and there is
no lock anywhere. See docs/protocol.md for the wire format.

With `worker` set the same loop serves a broker instead (docs/scaling.md): it connects a
DEALER to the broker's back end (worker_link.py) and each request's route stands in for
the client's identity, so scheduling, validation and events are exactly a sidecar's.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import zmq
from pydantic import BaseModel, Field
from zmq.auth.thread import ThreadAuthenticator

from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, generate_dir, load_tokenizer
from npc_brain.nrm.engine import PREFIX_TOKENS, Engine
from npc_brain.nrm.runtime import Runtime, load_runtime
from npc_brain.nrm.tokenizer import Tokenizer
from npc_brain.sidecar import worker_protocol as wp
from npc_brain.sidecar.auth import CurveKeys, endpoint_is_local, start_authenticator, use_curve
from npc_brain.sidecar.client import CurveClientKeys
from npc_brain.sidecar.front_door import (
    PingLimiter,
    bind_relay_endpoint,
    payload_bytes,
    split_envelope,
)
from npc_brain.sidecar.protocol import (
    DEFAULT_MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    TERMINAL_EVENTS,
    CancelRequest,
    ErrorCode,
    Event,
    PingRequest,
    PongEvent,
    ProtocolError,
    Request,
    decode_request,
    encode_event,
    error_event,
    package_version,
)
from npc_brain.sidecar.scheduler import Envelope, Fairness, Outgoing, Scheduler
from npc_brain.sidecar.worker_link import WorkerLink

if TYPE_CHECKING:
    from npc_brain.nrm.model import NRMModel

log = logging.getLogger("npc_brain.sidecar.server")
DEFAULT_BIND = "tcp://127.0.0.1:5555"


class ServerConfig(BaseModel):
    bind: str = DEFAULT_BIND
    max_message_bytes: int = Field(DEFAULT_MAX_MESSAGE_BYTES, ge=256, le=16 * 1024 * 1024)
    max_in_flight: int = Field(256, ge=1)
    max_queue: int = Field(4096, ge=1)
    max_batch: int = Field(256, ge=1, le=4096)
    # Prompt tokens kept for NPCs that think again (npc_brain.nrm.prefix_cache); 0: none.
    prefix_tokens: int = Field(PREFIX_TOKENS, ge=0)
    # Feed the tokens the constraint forces together, one forward for a run of them
    # (npc_brain.nrm.engine); off only to measure what it gains.
    jump: bool = True
    # Events queued for one client before it counts as gone (ZeroMQ's send high-water mark).
    max_queued_events: int = Field(10_000, ge=1)
    # Kernel send buffer per connection in bytes; 0 keeps the OS default (tests shrink it).
    send_buffer: int = Field(0, ge=0)
    # Messages read between two engine steps, so a flood cannot stall generation.
    reads_per_step: int = Field(512, ge=1)
    # Transport cap: a frame up to this size is read and answered with `too_large`; a
    # larger one makes libzmq drop the connection (the client sees it disconnect).
    max_frame_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    # Messages libzmq buffers per connection before it stops reading that socket, which
    # bounds what a client can park in the sidecar's memory (up to this x the frame cap).
    receive_hwm: int = Field(64, ge=1)
    fairness: Fairness = Field(default_factory=Fairness)
    # Pings one client may send per second (burst of as many); more get `rate_limited`.
    pings_per_second: float = Field(20.0, gt=0)
    # CURVE authentication for `bind`; None serves without it (loopback only, or insecure).
    curve: CurveKeys | None = None
    # Allows binding beyond loopback without authentication.
    insecure: bool = False
    # Leave version, model and size out of `pong` (automatic beyond loopback without CURVE;
    # `npc-brain serve` also sets it when the WebSocket relay is open without a token).
    hide_facts: bool = False
    # A broker's back-end address: serve it as a worker instead of binding `bind`.
    worker: str | None = None
    # CURVE towards a broker beyond loopback: its public key and this worker's key pair.
    worker_curve: CurveClientKeys | None = None
    heartbeat_s: float = Field(wp.HEARTBEAT_S, gt=0)
    liveness: int = Field(wp.LIVENESS, ge=1)

    def check_exposure(self) -> None:
        """Refuse a bind beyond loopback that has neither CURVE nor an explicit `insecure`."""
        if self.worker is not None:
            if not (self.worker_curve or self.insecure or endpoint_is_local(self.worker)):
                raise ValueError(
                    f"the broker at {self.worker} is beyond this machine: configure CURVE keys "
                    "(--broker-key, --curve-secret) or allow it with --insecure"
                )
        elif not (self.curve or self.insecure or endpoint_is_local(self.bind)):
            raise ValueError(
                f"{self.bind} is reachable beyond this machine: configure CURVE keys "
                "(--curve-secret, --curve-clients) or allow it with --insecure"
            )


class Server:
    """Bind with `bind()`, run `serve_forever()` in one thread, `stop()` from any thread."""

    def __init__(
        self,
        model: Runtime | NRMModel,
        tokenizer: Tokenizer,
        config: ServerConfig | None = None,
        model_name: str = "model",
        generator: tuple[Runtime | NRMModel, Tokenizer] | None = None,
    ) -> None:
        """`model` answers `decide` requests, and `generate` ones too unless `generator` (a
        second model and its tokenizer, e.g. a reasoning specialist) is given."""
        self.config = config or ServerConfig()
        self.tokenizer = tokenizer
        self.model_name = model_name
        self.params = model.num_params()
        self.backend = getattr(model, "backend", "torch")
        self.version = package_version()
        cfg = self.config
        fairness = cfg.fairness
        if cfg.worker is not None:  # every request has a route of its own: one "client" each
            clients = max(fairness.max_clients, cfg.max_batch, cfg.max_queue)
            fairness = Fairness(max_clients=clients, reserved_queue=0)

        def engine_of(runtime: Runtime | NRMModel, tok: Tokenizer) -> Callable[[], Engine]:
            return lambda: Engine(runtime, tok, cfg.max_batch, cfg.prefix_tokens, cfg.jump)

        self.scheduler = Scheduler(
            engine_of(model, tokenizer),
            max_in_flight=cfg.max_in_flight,
            max_queue=cfg.max_queue,
            fairness=fairness,
            generate_factory=engine_of(*generator) if generator else None,
        )
        self._ctx: zmq.Context | None = None
        self._sock: zmq.Socket | None = None
        self._auth: ThreadAuthenticator | None = None
        self._relay_dir: tempfile.TemporaryDirectory[str] | None = None
        self._link: WorkerLink | None = None
        self._pings = PingLimiter(cfg.pings_per_second)
        self._stopping = threading.Event()
        self.endpoint: str | None = None
        # Where the WebSocket relay connects: `endpoint`, or with CURVE an endpoint of its own.
        self.relay_endpoint: str | None = None
        # Unauthenticated peers beyond loopback learn nothing from `pong`.
        exposed = cfg.curve is None and not endpoint_is_local(cfg.bind)
        self.reveal_facts = not (cfg.hide_facts or exposed)

    @classmethod
    def from_model_dir(
        cls,
        model_dir: str | Path | None,
        config: ServerConfig | None = None,
        backend: str = "auto",
        threads: int | None = None,
    ) -> Server:
        """Serve a model directory; its `generate/` specialist, if any, answers `generate`."""
        d = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        runtime = load_runtime(model_dir, backend, threads)
        tok = load_tokenizer(model_dir)
        generator = None
        if (g := generate_dir(d)) != d:
            generator = (load_runtime(g, backend, threads), load_tokenizer(g))
        return cls(runtime, tok, config, model_name=d.name, generator=generator)

    # ------------------------------------------------------------ lifecycle

    def bind(self) -> str:
        """Create and bind the ROUTER; returns the actual endpoint (port `*` or 0 is resolved).

        As a worker: connect to the broker instead; returns the broker's address."""
        cfg = self.config
        cfg.check_exposure()
        if cfg.worker is not None:
            return self._connect_worker(cfg.worker)
        self._ctx = zmq.Context()
        sock = self._ctx.socket(zmq.ROUTER)
        self._configure(sock)
        try:
            if cfg.curve is not None:
                self._auth = start_authenticator(self._ctx, cfg.curve)
                use_curve(sock, cfg.curve)
            sock.bind(cfg.bind)  # port 0 or * picks a free port
            self.endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
            self.relay_endpoint = self._bind_relay_endpoint(sock)
        except zmq.ZMQError as exc:
            self._sock = sock
            self.close()
            raise OSError(f"cannot bind {cfg.bind}: {exc}") from None
        self._sock = sock
        return self.endpoint

    def _connect_worker(self, address: str) -> str:
        cfg = self.config
        info = wp.WorkerInfo(
            capacity=cfg.max_batch,
            model=self.model_name,
            version=self.version,
            params=self.params,
            backend=self.backend,
            host=socket.gethostname(),
            pid=os.getpid(),
        )
        link = WorkerLink(
            address,
            info,
            self._drop_all,
            curve=cfg.worker_curve,
            heartbeat_s=cfg.heartbeat_s,
            liveness=cfg.liveness,
            max_frame_bytes=max(cfg.max_frame_bytes, cfg.max_message_bytes),
        )
        try:
            link.open()
        except zmq.ZMQError as exc:
            link.close()
            raise OSError(f"cannot connect to the broker at {address}: {exc}") from None
        self._link = link
        self.endpoint = address
        return address

    def _drop_all(self) -> None:
        """The broker let go of this worker's requests: stop them without a word."""
        dropped = self.scheduler.fail_all(ErrorCode.SHUTTING_DOWN, "dropped")
        if dropped:
            log.warning("dropped %d request(s): the broker let them go", len(dropped))

    def _configure(self, sock: zmq.Socket) -> None:
        cfg = self.config
        # Sends to a vanished peer raise EHOSTUNREACH instead of vanishing silently, which is
        # how we learn to cancel its requests.
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        sock.setsockopt(zmq.SNDHWM, cfg.max_queued_events)
        sock.setsockopt(zmq.RCVHWM, cfg.receive_hwm)
        sock.setsockopt(zmq.MAXMSGSIZE, max(cfg.max_frame_bytes, cfg.max_message_bytes))
        sock.setsockopt(zmq.LINGER, 200)
        if cfg.send_buffer:
            sock.setsockopt(zmq.SNDBUF, cfg.send_buffer)

    def _bind_relay_endpoint(self, sock: zmq.Socket) -> str:
        """With CURVE, a NULL endpoint only this machine's relay can reach (token-checked)."""
        assert self.endpoint is not None
        if self.config.curve is None:
            return self.endpoint
        endpoint, self._relay_dir = bind_relay_endpoint(sock)
        return endpoint

    def stop(self) -> None:
        """Ask the loop to finish; in-flight requests end with `shutting_down`."""
        self._stopping.set()

    def serve_forever(self) -> None:
        if self._sock is None and self._link is None:
            self.bind()
        link = self._link
        try:
            while not self._stopping.is_set():
                # With work in flight, read whatever waits (non-blocking) between steps;
                # when idle, block briefly so stop() is noticed within 50 ms.
                if self.scheduler.busy:
                    self._read_waiting()
                    self._step()
                elif self._socket().poll(50, zmq.POLLIN):
                    self._read_waiting()
                if link is not None:
                    link.tick()
        finally:
            self.close()

    def _socket(self) -> zmq.Socket:
        sock = self._link.socket if self._link is not None else self._sock
        assert sock is not None
        return sock

    def close(self) -> None:
        """End every request in flight with `shutting_down` and release the socket.

        A worker instead tells the broker it leaves; the broker re-runs its requests."""
        if self._link is not None:
            self.scheduler.fail_all(ErrorCode.SHUTTING_DOWN, "the worker is leaving")
            self._link.close()
            self._link = None
            return
        if self._sock is None or self._ctx is None:
            return
        if self.endpoint is not None:
            self._send_all(
                self.scheduler.fail_all(ErrorCode.SHUTTING_DOWN, "the sidecar is shutting down")
            )
        self._sock.close()
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        self._ctx.term()
        self._sock = self._ctx = None
        if self._relay_dir is not None:
            self._relay_dir.cleanup()
            self._relay_dir = None

    # ------------------------------------------------------------ input

    def _read_waiting(self) -> None:
        for _ in range(self.config.reads_per_step):
            frames = self._recv()
            if frames is None:
                return
            self._handle(frames, time.perf_counter())

    def _recv(self) -> list[zmq.Frame] | None:
        """The next message as `[client, (b""), payload]` frames; None when nothing waits."""
        if self._link is not None:
            return self._link.recv()
        sock = self._sock
        assert sock is not None
        try:
            # Frames stay in libzmq's buffers: an oversized one is measured, never copied.
            return sock.recv_multipart(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return None

    def _handle(self, frames: list[zmq.Frame], received: float) -> None:
        envelope, payload = split_envelope(frames)
        if payload is None:
            n = len(frames) - 1
            message = f"expected one payload frame after an optional empty delimiter, got {n}"
            self._send(envelope, error_event(ErrorCode.BAD_FRAMES, message))
            return
        request_id = None
        try:
            limit = self.config.max_message_bytes
            request = decode_request(payload_bytes(payload, limit), limit)
            request_id = request.id
            self._dispatch(envelope, request, received)
        except ProtocolError as exc:
            self._send(envelope, error_event(exc.code, exc.message, exc.request_id))
        except Exception:  # a bug must cost one request, never the sidecar
            log.exception("unexpected fault while handling a message")
            self._send(
                envelope, error_event(ErrorCode.INTERNAL, "unexpected server fault", request_id)
            )

    def _dispatch(self, envelope: Envelope, request: Request, received: float) -> None:
        client = envelope[0]
        if isinstance(request, PingRequest):
            if not self._pings.allow(client, received):
                limit = f"{self.config.pings_per_second:g} pings per second"
                raise ProtocolError(ErrorCode.RATE_LIMITED, f"more than {limit}", request.id)
            self._send(envelope, self._pong(client, request.id))
        elif isinstance(request, CancelRequest):
            job = self.scheduler.cancel(client, request.id)
            message = f"request {request.id!r} was cancelled"
            self._send(job.envelope, error_event(ErrorCode.CANCELLED, message, request.id))
        else:
            self.scheduler.submit(request, envelope, received)

    def _pong(self, client: bytes, request_id: int | str) -> PongEvent:
        s = self.scheduler
        facts = self.reveal_facts
        return PongEvent(
            id=request_id,
            protocol=PROTOCOL_VERSION,
            version=self.version if facts else None,
            model=self.model_name if facts else None,
            params=self.params if facts else None,
            in_flight=s.in_flight(client),
            active=s.active,
            queued=s.queued,
            max_in_flight=s.max_in_flight,
            max_message_bytes=self.config.max_message_bytes,
        )

    # ------------------------------------------------------------ output

    def _step(self) -> None:
        try:
            out = self.scheduler.step()
        except Exception:
            log.exception("scheduler fault; failing every request in flight")
            out = self.scheduler.fail_all(ErrorCode.INTERNAL, "unexpected server fault")
        self._send_all(out)

    def _send_all(self, out: list[Outgoing]) -> None:
        for envelope, event in out:
            self._send(envelope, event)

    def _send(self, envelope: Envelope, event: Event) -> None:
        terminal = event.type in TERMINAL_EVENTS
        if len(envelope) > 1 and not terminal:
            return  # REQ clients get only the terminal event
        if terminal:
            _log_terminal(envelope[0], event)
        if self._link is not None:
            self._link.send(envelope[0], encode_event(event), terminal)
            return
        sock = self._sock
        assert sock is not None
        try:
            sock.send_multipart([*envelope, encode_event(event)], zmq.NOBLOCK)
        except zmq.Again:
            self._client_gone(envelope[0], "is not reading its events")
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EHOSTUNREACH:
                raise
            self._client_gone(envelope[0], "disconnected")

    def _client_gone(self, client: bytes, why: str) -> None:
        dropped = self.scheduler.drop_client(client)
        if dropped:
            log.warning("client %s %s: cancelled its %d request(s)", client.hex(), why, dropped)


def _log_terminal(client: bytes, event: Event) -> None:
    if event.type == "pong":
        log.debug("ping id=%r client=%s", event.id, client.hex())
    elif event.type == "decision":
        log.info(
            "decide id=%r client=%s tokens=%d latency_ms=%.1f steps=%d -> %r %r",
            event.id, client.hex(), event.tokens, event.latency_ms, len(event.steps),
            event.action, event.target,
        )  # fmt: skip
    elif event.type == "answer":
        log.info(
            "generate id=%r client=%s tokens=%d latency_ms=%.1f steps=%d -> %r",
            event.id, client.hex(), event.tokens, event.latency_ms, len(event.steps), event.text,
        )  # fmt: skip
    else:
        log.info(
            "error id=%r client=%s code=%s: %r", event.id, client.hex(), event.code, event.message
        )


__all__ = ["DEFAULT_BIND", "Server", "ServerConfig"]
