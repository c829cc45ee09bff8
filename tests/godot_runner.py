"""Run a Godot .pck in headless Chromium (Debian's /usr/bin/chromium via playwright).

Collects what the engine prints, its exit code (`get_tree().quit(n)`), `SCRIPT ERROR` lines,
page errors and timeouts, and optionally a PNG of the canvas. The web template is a release
build, so `assert()` does nothing and many runtime errors are silent: scripts under test
report failures by printing and quitting with a non-zero code.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from npc_brain.godot.web.page import SCREENSHOT_ACK, PageServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
# Flags measured to work as root in containers; playwright adds a fresh profile directory.
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--mute-audio",
)
# A script prints this line when the canvas shows what should be captured; the runner then
# sets window.godotHarness.screenshotTaken so the script may go on (see tests/godot/check.gd).
SCREENSHOT_MARKER = "@@harness:screenshot"
_POLL_S = 0.05
# Lines that mean code did not load; a release template says little else about it.
_SCRIPT_ERROR_MARKERS = (
    "SCRIPT ERROR",
    "Failed loading resource",
    "Failed to instantiate an autoload",
)


class GodotRunError(RuntimeError):
    """The browser could not be started or driven (not a failure of the Godot script)."""


class RunResult(BaseModel):
    """Everything observed while one pack ran."""

    exit_code: int | None = None
    prints: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    page_errors: list[str] = Field(default_factory=list)
    startup_failure: str | None = None
    timed_out: bool = False
    screenshot: Path | None = None
    elapsed_s: float = 0.0

    @property
    def script_errors(self) -> list[str]:
        """Parse/compile errors and scripts or autoloads that failed to load."""
        return [
            line
            for line in self.prints + self.errors
            if any(marker in line for marker in _SCRIPT_ERROR_MARKERS)
        ]

    @property
    def ok(self) -> bool:
        return (
            self.exit_code == 0
            and not self.timed_out
            and self.startup_failure is None
            and not self.page_errors
            and not self.script_errors
        )

    def report(self) -> str:
        """Human-readable account for assertion messages."""
        lines = [
            f"exit_code={self.exit_code} timed_out={self.timed_out} "
            f"elapsed={self.elapsed_s:.1f}s startup_failure={self.startup_failure}",
            *(f"  print: {line}" for line in self.prints[-80:]),
            *(f"  error: {line}" for line in self.errors[-40:]),
            *(f"  page error: {line}" for line in self.page_errors),
        ]
        return "\n".join(lines)


def chromium_path() -> str:
    """$NPC_BRAIN_CHROMIUM or Debian's /usr/bin/chromium."""
    path = os.environ.get("NPC_BRAIN_CHROMIUM", CHROMIUM)
    if not Path(path).is_file():
        raise GodotRunError(
            f"{path} not found: install it with `apt-get install -y chromium` "
            "(or point NPC_BRAIN_CHROMIUM at a Chromium binary)"
        )
    return path


def run_pck(
    pck: bytes,
    *,
    args: Sequence[str] = ("--audio-driver", "Dummy", "--headless"),
    user_args: Sequence[str] = (),
    timeout_s: float = 60.0,
    screenshot_path: Path | None = None,
    viewport: tuple[int, int] = (960, 540),
    on_print: Callable[[str], None] | None = None,
) -> RunResult:
    """Run `pck` until the engine exits or `timeout_s` passes.

    `args` are engine arguments (keep `--audio-driver Dummy`; drop `--headless` when
    something must be drawn); `user_args` reach `OS.get_cmdline_user_args()`. `on_print` sees
    each printed line as it arrives, so a test can act on cues from the script (keep it quick:
    the page is polled in between).
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    engine_args = [*args, *(["--", *user_args] if user_args else [])]
    result = RunResult()
    started = time.monotonic()
    with PageServer(pck, engine_args) as server, sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(
                executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGS)
            )
        except PlaywrightError as exc:
            raise GodotRunError(f"could not launch {chromium_path()}: {exc}") from exc
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            # A busy machine may need long for one screenshot; never longer than the run.
            page.set_default_timeout(timeout_s * 1000)
            page.on("pageerror", lambda exc: result.page_errors.append(str(exc)))
            page.on("crash", lambda _: result.page_errors.append("the page crashed"))
            page.goto(server.url)
            _watch(page, result, started + timeout_s, screenshot_path, on_print)
        except PlaywrightError as exc:
            # A killed page (e.g. a division by zero in the engine) ends the run as an error.
            result.page_errors.append(f"page no longer usable: {exc}")
        finally:
            browser.close()
    result.elapsed_s = time.monotonic() - started
    return result


def _watch(
    page: Page,
    result: RunResult,
    deadline: float,
    screenshot_path: Path | None,
    on_print: Callable[[str], None] | None,
) -> None:
    """Poll the page's harness record until exit, crash or deadline."""
    while True:
        state = page.evaluate(
            "([p, e]) => { const h = window.godotHarness || {prints: [], errors: []};"
            " return {prints: h.prints.slice(p), errors: h.errors.slice(e),"
            " exitCode: h.exitCode ?? null, failure: h.failure ?? null}; }",
            [len(result.prints), len(result.errors)],
        )
        result.prints += state["prints"]
        result.errors += state["errors"]
        if on_print is not None:
            for line in state["prints"]:
                on_print(line)
        wants_shot = screenshot_path is not None and result.screenshot is None
        if wants_shot and SCREENSHOT_MARKER in state["prints"]:
            _take_screenshot(page, screenshot_path)
            result.screenshot = screenshot_path
        if state["exitCode"] is not None:
            result.exit_code = int(state["exitCode"])
            return
        if state["failure"] is not None:
            result.startup_failure = state["failure"]
            return
        if result.page_errors:
            return
        if time.monotonic() > deadline:
            result.timed_out = True
            return
        time.sleep(_POLL_S)


def _take_screenshot(page: Page, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    page.locator("#canvas").screenshot(path=str(path))
    page.evaluate(f"() => {{ window.godotHarness.{SCREENSHOT_ACK} = true; }}")
