"""`npc-brain demo`: the demo village in a browser page, thinking with the bundled model.

Everything runs in this process on loopback: the sidecar (ZeroMQ ROUTER + the WebSocket relay
a web export needs), and an HTTP server for the page, which boots the official Godot 4.6 web
runtime with a .pck of `demo_project/` plus the addon installed by `install_addon`. No GPU and
no desktop Godot are needed; any browser opens the printed URL.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field

from npc_brain.godot.addon import AddonError, install_addon, shipped_dir
from npc_brain.godot.web import PageServer, build_pack, ensure_runtime, files_from_dir
from npc_brain.godot.web.runtime import is_cached

DEMO_REPO_PATH = Path("demo_project")
DEMO_PACKAGE_PATH = Path("demo_src")
LOOPBACK = "127.0.0.1"
DEFAULT_PAGE_PORT = 8060  # the port Godot's own web export preview uses
DEFAULT_WS_PORT = 5556
# Engine arguments for the page: the dummy audio driver avoids worklet errors in browsers.
ENGINE_ARGS = ("--audio-driver", "Dummy")
BRAIN_ARG = "brain"  # user argument the village reads its sidecar address from


class DemoError(RuntimeError):
    """The demo cannot start (missing model, runtime or project, or a port in use)."""


class DemoOptions(BaseModel):
    """What `npc-brain demo` runs; the CLI flags map onto these fields."""

    page_port: int = Field(DEFAULT_PAGE_PORT, ge=0, le=65535)
    ws_port: int = Field(DEFAULT_WS_PORT, ge=0, le=65535)
    model_dir: Path | None = None  # None: the bundled model
    sidecar: bool = True  # False: the page talks to an already running `npc-brain serve --ws`
    brain_address: str | None = None  # what the page connects to; default: our relay
    open_browser: bool = False


def demo_source() -> Path:
    """The demo project folder (a checkout's `demo_project/`, or the packaged copy)."""
    try:
        return shipped_dir(DEMO_REPO_PATH, DEMO_PACKAGE_PATH, "project.godot", "demo project")
    except AddonError as exc:
        raise DemoError(str(exc)) from None


def demo_files(project: Path | None = None) -> dict[str, bytes]:
    """`{res://path: bytes}` of the demo with the addon installed, ready for `build_pack`.

    The addon goes into a temporary copy of the project, never into the source tree.
    """
    source = project or demo_source()
    with tempfile.TemporaryDirectory(prefix="npc-brain-demo-") as tmp:
        copy = Path(tmp) / "demo_project"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(".*", "addons"))
        try:
            install_addon(copy)
        except AddonError as exc:
            raise DemoError(str(exc)) from None
        return files_from_dir(copy)


def demo_pack(project: Path | None = None) -> bytes:
    """The demo as .pck bytes for the Godot web runtime."""
    return build_pack(demo_files(project))


def page_args(brain_address: str) -> list[str]:
    """Engine arguments for the page; the address reaches the game as a user argument."""
    return [*ENGINE_ARGS, "--", f"{BRAIN_ARG}={brain_address}"]


class Sidecar:
    """The sidecar in this process: ZeroMQ on a free loopback port, WebSocket relay beside it."""

    def __init__(self, model_dir: Path | None, ws_port: int) -> None:
        from npc_brain.nrm.checkpoint import ModelNotFoundError
        from npc_brain.sidecar.server import Server, ServerConfig

        try:
            self.server = Server.from_model_dir(model_dir, ServerConfig(bind=f"tcp://{LOOPBACK}:*"))
        except (ModelNotFoundError, ValueError) as exc:
            raise DemoError(f"cannot load the model: {exc}") from None
        self.ws_port = ws_port
        self.endpoint = ""
        self.ws_address = ""
        self._relay = None
        self._thread: threading.Thread | None = None

    def start(self) -> Sidecar:
        from npc_brain.sidecar.ws_relay import WebSocketRelay

        self.endpoint = self.server.bind()
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="sidecar", daemon=True
        )
        self._thread.start()
        relay = WebSocketRelay(f"{LOOPBACK}:{self.ws_port}", self.endpoint)
        try:
            host, port = relay.start()
        except OSError as exc:
            self.stop()
            hint = "pass --ws-port 0 for any free port"
            raise DemoError(f"WebSocket relay: {exc} ({hint})") from None
        self._relay = relay
        self.ws_address = f"ws://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._relay is not None:
            self._relay.stop()
            self._relay = None
        self.server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Sidecar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def open_page(pck: bytes, brain_address: str, port: int) -> PageServer:
    """Start serving the page on loopback (`port` 0 picks a free one)."""
    if not is_cached():
        print("Fetching the Godot 4.6 web runtime (once, with npm pack)...", flush=True)
    runtime = ensure_runtime()
    try:
        server = PageServer(
            pck,
            page_args(brain_address),
            host=LOOPBACK,
            port=port,
            title="npc-brain demo village",
            runtime_dir=runtime,
        )
    except OSError as exc:
        raise DemoError(f"cannot serve the page on port {port}: {exc} (try --port 0)") from None
    return server.start()


@contextmanager
def _stop_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM while the block runs; the old handlers come back."""
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_demo(options: DemoOptions, ready: Callable[[str], None] | None = None) -> int:
    """Run until Ctrl-C or SIGTERM; `ready(url)` is called once the page is served."""
    pck = demo_pack()
    with _stop_signals() as stop:
        sidecar = Sidecar(options.model_dir, options.ws_port).start() if options.sidecar else None
        page: PageServer | None = None
        try:
            brain = options.brain_address or (
                sidecar.ws_address if sidecar else f"ws://{LOOPBACK}:{options.ws_port}"
            )
            page = open_page(pck, brain, options.page_port)
            if sidecar is not None:
                print(
                    f"Sidecar: {sidecar.endpoint}, WebSocket relay {sidecar.ws_address} "
                    f"(model {sidecar.server.model_name}, {sidecar.server.params:,} parameters)",
                    flush=True,
                )
            else:
                print(f"No sidecar started: the page connects to {brain}", flush=True)
            print(f"Demo village: {page.url}  (open it in a browser; Ctrl-C stops)", flush=True)
            if ready is not None:
                ready(page.url)
            if options.open_browser:
                webbrowser.open(page.url)
            while not stop.wait(0.25):
                pass
        finally:
            if page is not None:
                page.stop()
            if sidecar is not None:
                sidecar.stop()
    print("Demo stopped.", flush=True)
    return 0
