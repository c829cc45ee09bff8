"""Serve a Godot web page (HTML + pinned runtime + one .pck) on loopback.

The page starts the engine with `new Engine({...}).startGame()` and records everything a
harness needs on `window.godotHarness`: printed lines, error lines, the exit code and any
startup failure. The same server backs the headless test runner and the playable demo page.
"""

from __future__ import annotations

import html
import http.server
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from npc_brain.godot.web.runtime import RUNTIME_FILES, ensure_runtime

PCK_NAME = "game.pck"
SCREENSHOT_ACK = "screenshotTaken"

_MIME = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".wasm": "application/wasm",
    ".pck": "application/octet-stream",
}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
html, body {{ margin: 0; height: 100%; background: #101418; overflow: hidden; }}
#canvas {{ display: block; width: 100%; height: 100%; outline: none; }}
#status {{ position: absolute; left: 1em; top: 1em; color: #c8d0d8; font: 14px sans-serif; }}
</style>
</head>
<body>
<canvas id="canvas" tabindex="0">Your browser does not support the canvas tag.</canvas>
<div id="status">Loading…</div>
<script src="index.js"></script>
<script>
"use strict";
const harness = {{ prints: [], errors: [], exitCode: null, failure: null, {ack}: false }};
window.godotHarness = harness;
const status = document.getElementById("status");
const engine = new Engine({{
  executable: "index",
  mainPack: {pck},
  args: {args},
  canvasResizePolicy: {resize_policy},
  focusCanvas: true,
  onPrint: (...parts) => {{ harness.prints.push(parts.join(" ")); console.log(...parts); }},
  onPrintError: (...parts) => {{ harness.errors.push(parts.join(" ")); console.error(...parts); }},
  onExit: (code) => {{ harness.exitCode = code; }},
}});
engine.startGame().then(
  () => {{ status.remove(); }},
  (err) => {{ harness.failure = String(err); status.textContent = "Failed to start: " + err; }},
);
</script>
</body>
</html>
"""


def render_page(
    args: Sequence[str] = (), *, title: str = "npc-brain", fill_window: bool = True
) -> str:
    """HTML that boots `PCK_NAME` with `args` (engine args; user args go after "--")."""
    return _PAGE.format(
        title=html.escape(title),
        pck=json.dumps(PCK_NAME),
        args=json.dumps(list(args)),
        # 2 = canvas follows the window; 1 = keep the project's viewport size.
        resize_policy=2 if fill_window else 1,
        ack=SCREENSHOT_ACK,
    )


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[bytes, str]]] = {}

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            path = "/index.html"
        route = self.routes.get(path)
        if route is None:
            self.send_error(404, "not found")
            return
        body, mime = route
        self.send_response(200)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silence per-request logging; the harness reports what matters."""


class PageServer:
    """Loopback HTTP server for one page; use as a context manager or start()/stop()."""

    def __init__(
        self,
        pck: bytes,
        args: Sequence[str] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        title: str = "npc-brain",
        fill_window: bool = True,
        runtime_dir: Path | None = None,
    ) -> None:
        runtime = runtime_dir or ensure_runtime()
        routes: dict[str, tuple[bytes, str]] = {
            f"/{name}": ((runtime / name).read_bytes(), _MIME[Path(name).suffix])
            for name in RUNTIME_FILES
        }
        page = render_page(args, title=title, fill_window=fill_window)
        routes["/index.html"] = (page.encode("utf-8"), _MIME[".html"])
        routes[f"/{PCK_NAME}"] = (bytes(pck), _MIME[".pck"])
        handler = type("PageHandler", (_Handler,), {"routes": routes})
        self._httpd = http.server.ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> PageServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="godot-page", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the playable demo page)."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def __enter__(self) -> PageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
