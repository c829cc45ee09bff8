"""`WebSocketClient` through the real WebSocket relay to a real sidecar, on loopback."""

from __future__ import annotations

import contextlib
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from server_harness import (
    ACTIONS,
    TIMEOUT_S,
    check_refusal_and_cancel,
    npc_state,
    running_server,
    save_tiny_model,
)

from npc_brain.client import ServerError, WebSocketClient
from npc_brain.sidecar.protocol import AnswerEvent, DecisionEvent, StepEvent
from npc_brain.sidecar.ws_relay import WebSocketRelay

TOKEN = "a-long-enough-test-token-0123456789"
SERVE = [sys.executable, "-m", "npc_brain.cli", "serve"]
PROMPT_S = 10.0  # "at once": far below the requests' TIMEOUT_S deadline


@contextlib.contextmanager
def relay_to(target: str, listen: str = "127.0.0.1:0", **options: Any) -> Iterator[str]:
    """A running relay; yields its ws:// (or, with ssl_context, wss://) URL."""
    relay = WebSocketRelay(listen, target, **options)
    host, port = relay.start()
    scheme = "wss" if options.get("ssl_context") else "ws"
    try:
        yield f"{scheme}://{host}:{port}/"
    finally:
        relay.stop()


def outcome(events: Iterable[Any]) -> str:
    """The terminal event's type, or the error code the stream raised."""
    try:
        return [e.type for e in events][-1]
    except ServerError as exc:
        return exc.code


def refusal(client: WebSocketClient) -> ServerError:
    with pytest.raises(ServerError) as refused:
        client.ping()
    return refused.value


def test_requests_over_websocket_behave_as_over_zeromq() -> None:
    with (
        running_server() as server,
        relay_to(server.endpoint) as url,
        WebSocketClient(url, timeout=TIMEOUT_S) as client,
    ):
        *steps, decision = client.decide(npc_state(), ACTIONS, max_tokens=60)
        assert steps and all(isinstance(ev, StepEvent) for ev in steps)
        assert isinstance(decision, DecisionEvent) and decision.action in ACTIONS
        assert decision.steps == [ev.text for ev in steps]
        first = client.decide(npc_state(), ACTIONS, max_tokens=60)
        answer = list(client.generate("What is 4 + 4?", max_tokens=50))[-1]
        assert isinstance(answer, AnswerEvent) and isinstance(list(first)[-1], DecisionEvent)
        assert client.ping().in_flight == 0


def test_errors_cancel_and_oversize_raise_server_error() -> None:
    with (
        running_server() as server,
        relay_to(server.endpoint) as url,
        WebSocketClient(url, timeout=TIMEOUT_S) as client,
    ):
        check_refusal_and_cancel(client)
        with pytest.raises(ServerError) as info:
            list(client.generate("x" * 70_000, request_id="big"))
        assert (info.value.code, info.value.request_id) == ("too_large", "big")
        assert client.ping().type == "pong"


def test_the_token_opens_the_relay_and_a_wrong_one_is_a_clear_error() -> None:
    with running_server() as server, relay_to(server.endpoint, token=TOKEN) as url:
        with WebSocketClient(url, timeout=TIMEOUT_S, token=TOKEN) as client:
            assert outcome(client.decide(npc_state(), ACTIONS)) == "decision"
        for wrong in ("wrong-token", None):
            with WebSocketClient(url, timeout=TIMEOUT_S, token=wrong) as client:
                started = time.monotonic()
                refused = refusal(client)
                assert refused.code == "disconnected" and "refused the token" in refused.message
                assert time.monotonic() - started < PROMPT_S


def test_an_origin_is_sent_only_when_asked() -> None:
    with (
        running_server() as server,
        relay_to(server.endpoint, origins=["https://game.example"]) as url,
    ):
        with WebSocketClient(url, timeout=TIMEOUT_S, origin="https://game.example") as client:
            assert client.ping().type == "pong"
        with WebSocketClient(url, timeout=TIMEOUT_S, origin="https://evil.example") as client:
            refused = refusal(client)
            assert refused.code == "disconnected" and "HTTP 403" in refused.message


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    request = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
    names = ["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    files = ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(["openssl", *request.split(), *names, *files], check=True, capture_output=True)
    return cert, key


def test_wss_with_a_self_signed_certificate_and_a_token(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(cert, key)
    trusted = ssl.create_default_context(cafile=cert)
    with (
        running_server() as server,
        relay_to(server.endpoint, token=TOKEN, ssl_context=served) as url,
    ):
        assert url.startswith("wss://")
        with WebSocketClient(url, TIMEOUT_S, token=TOKEN, ssl_context=trusted) as client:
            assert outcome(client.decide(npc_state(), ACTIONS)) == "decision"
        with WebSocketClient(url, TIMEOUT_S, token=TOKEN) as client:  # the system's CAs only
            refused = refusal(client)
            assert refused.code == "disconnected" and "certificate not trusted" in refused.message
        plain = url.replace("wss://", "ws://")
        with WebSocketClient(plain, TIMEOUT_S, token=TOKEN) as client:
            assert refusal(client).code == "disconnected"


def test_the_relay_going_away_fails_pending_requests_at_once_then_reconnects() -> None:
    with running_server(max_batch=1) as server:
        relay = WebSocketRelay("127.0.0.1:0", server.endpoint)
        host, port = relay.start()
        try:
            with WebSocketClient(f"ws://{host}:{port}/", timeout=TIMEOUT_S) as client:
                streams = [client.decide(npc_state(), ACTIONS, max_tokens=400) for _ in range(6)]
                assert isinstance(next(streams[0]), StepEvent)  # the sidecar is generating
                started = time.monotonic()
                relay.stop()
                outcomes = [outcome(s) for s in streams]
                assert time.monotonic() - started < PROMPT_S
                assert set(outcomes) <= {"decision", "disconnected"}
                assert outcomes.count("disconnected") >= 5
                refused = refusal(client)  # nothing listens: this request says so at once
                assert refused.code == "disconnected" and "refused" in refused.message.lower()
                with relay_to(server.endpoint, listen=f"{host}:{port}"):
                    assert client.ping().type == "pong"  # a later request connects again
        finally:
            relay.stop()


def test_a_killed_sidecar_fails_every_pending_request_at_once(tmp_path: Path) -> None:
    model_dir = save_tiny_model(tmp_path / "model")
    command = [*SERVE, "--model", str(model_dir), "--bind", "tcp://127.0.0.1:0"]
    proc = subprocess.Popen(
        [*command, "--ws", "127.0.0.1:0", "--max-batch", "2"],
        cwd=Path(__file__).resolve().parents[1],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = ws_url_from_banner(proc)
        with WebSocketClient(url, timeout=TIMEOUT_S) as client:
            streams = [client.decide(npc_state(), ACTIONS, max_tokens=200) for _ in range(20)]
            assert isinstance(next(streams[0]), StepEvent)
            proc.kill()
            started = time.monotonic()
            outcomes = [outcome(s) for s in streams]
            assert time.monotonic() - started < PROMPT_S
        assert set(outcomes) <= {"decision", "disconnected"}
        assert outcomes.count("disconnected") >= 15
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT_S)


def ws_url_from_banner(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    line = proc.stderr.readline()
    while not line.startswith("serving"):
        assert line, "the sidecar exited before serving"
        line = proc.stderr.readline()
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe flowing
    found = re.search(r"WebSocket (ws://\S+)", line)
    assert found, line
    return found.group(1)


def test_urls_and_options_are_checked_up_front() -> None:
    with pytest.raises(ValueError, match="ws:// or wss://"):
        WebSocketClient("tcp://127.0.0.1:5555")
    with pytest.raises(ValueError, match="wss://"):
        WebSocketClient("ws://127.0.0.1:5556/", ssl_context=ssl.create_default_context())
