"""The demo village in the real Godot 4.6 web runtime, thinking with a real sidecar.

`npc-brain demo`'s own parts build the pack (demo_project/ plus the addon installed by
`install_addon`) and run the sidecar (ZeroMQ + WebSocket relay, the bundled model) on loopback.
tests/demo/demo_probe.gd, added as an autoload, sends a wolf in, waits until the villagers have
decided and their thought bubbles show, freezes the game and has the runner screenshot the
canvas to docs/demo.png. The PNG's pixels are then checked against where the probe says every
villager, bubble and the wolf is: each body in its clothes' colour, each bubble its background
colour with dark text on it, no two bubbles overlapping, and a picture that is clearly not a
blank canvas. The probe then lets the food run out, a storm roll in and night fall; the
decision log shows the villagers deciding anew after each event.

NPC_BRAIN_TEST_MODEL may point at another model directory (default: the bundled model).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from godot_harness import require_browser
from godot_runner import run_pck
from PIL import Image

from npc_brain import cli
from npc_brain.godot.addon import addon_files, addon_source, install_addon
from npc_brain.godot.demo import BRAIN_ARG, ENGINE_ARGS, Sidecar, demo_files, demo_source
from npc_brain.godot.web import build_pack, read_pck

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "docs" / "demo.png"
PROBE = REPO / "tests" / "demo" / "demo_probe.gd"
PROBE_RES = "res://tests/demo/demo_probe.gd"
REPORT_PREFIX = "@@demo-report "
VIEWPORT = (1280, 720)


# --------------------------------------------------------------------------- pixel checks


def _rgb(html: str) -> np.ndarray:
    return np.array([int(html[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.int32)


def _matches(image: np.ndarray, box: tuple[int, int, int, int], color: str, tol: int) -> int:
    """How many pixels in box (x0, y0, x1, y1) are within `tol` of `color` on every channel."""
    x0, y0, x1, y1 = box
    h, w = image.shape[:2]
    region = image[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)].astype(np.int32)
    return int(np.all(np.abs(region - _rgb(color)) <= tol, axis=-1).sum())


def _box(center: list[float], half: float, scale: float) -> tuple[int, int, int, int]:
    x, y = center[0] * scale, center[1] * scale
    r = half * scale
    return round(x - r), round(y - r), round(x + r), round(y + r)


def _overlaps(box: tuple[int, int, int, int], rects: list[tuple[float, ...]]) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < rx + rw and rx < x1 and y0 < ry + rh and ry < y1 for rx, ry, rw, rh in rects)


def _scaled(rect: list[float], scale: float) -> tuple[float, ...]:
    return tuple(v * scale for v in rect)


# ----------------------------------------------------------------------------------- tests


def test_demo_pack_installs_the_addon_from_its_one_source(tmp_path: Path) -> None:
    files = demo_files()
    addon = REPO / "godot_addon" / "addons" / "npc_brain"
    for path in addon.rglob("*.gd"):
        rel = path.relative_to(addon).as_posix()
        assert files[f"res://addons/npc_brain/{rel}"] == path.read_bytes(), rel
    assert "res://village.tscn" in files and "res://project.godot" in files
    # The source tree stays clean: the addon went into a temporary copy.
    assert not (demo_source() / "addons").exists()
    pack = read_pck(build_pack(files))
    cache = pack["res://.godot/global_script_class_cache.cfg"].decode()
    for name in ("Village", "Villager", "Wolf", "NPCBrainAgent", "SpeechBubble"):
        assert f'"class": &"{name}"' in cache, name


def test_install_addon_replaces_an_old_copy_and_rejects_non_projects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "game"
    stale = project / "addons" / "npc_brain" / "stale.gd"
    stale.parent.mkdir(parents=True)
    stale.write_text("extends Node\n")
    (project / "project.godot").write_text("config_version=5\n")
    assert cli.main(["install-addon", str(project)]) == 0
    assert "Replaced" in capsys.readouterr().out
    assert not stale.exists()
    installed = project / "addons" / "npc_brain"
    source = addon_source()
    for rel in addon_files(source):
        assert (installed / rel).read_bytes() == (source / rel).read_bytes(), rel
    # Bad input is reported clearly and nothing is written.
    assert cli.main(["install-addon", str(tmp_path / "nothing")]) == 2
    assert "not a Godot project" in capsys.readouterr().err
    assert not (tmp_path / "nothing").exists()


def test_install_addon_never_touches_the_source_through_a_link(tmp_path: Path) -> None:
    project = tmp_path / "dev"
    (project / "addons").mkdir(parents=True)
    (project / "project.godot").write_text("config_version=5\n")
    (project / "addons" / "npc_brain").symlink_to(addon_source(), target_is_directory=True)
    before = {rel: (addon_source() / rel).read_bytes() for rel in addon_files(addon_source())}
    result = install_addon(project)
    assert result.linked and not result.replaced
    assert {rel: (addon_source() / rel).read_bytes() for rel in before} == before


def _model_args() -> list[str]:
    model = os.environ.get("NPC_BRAIN_TEST_MODEL")
    return ["--model", model] if model else []


def test_demo_command_prints_the_url_serves_the_game_and_stops_on_sigterm() -> None:
    command = [sys.executable, "-m", "npc_brain.cli", "demo", "--port", "0", "--ws-port", "0"]
    proc = subprocess.Popen(
        [*command, *_model_args()], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Demo village: "):
                break
        url = lines[-1].split()[2] if lines else ""
        assert url.startswith("http://127.0.0.1:"), "".join(lines)
        relay = next(line for line in lines if "WebSocket relay" in line)
        ws = relay.split("WebSocket relay ")[1].split()[0]
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        assert f'"brain={ws}"' in page and "index.js" in page
        pack = read_pck(urllib.request.urlopen(url + "game.pck", timeout=30).read())
        assert "res://village.tscn" in pack and "res://addons/npc_brain/plugin.cfg" in pack
        # The relay answers a ZMTP greeting with the sidecar's own (docs/protocol.md §10).
        assert asyncio.run(_zmtp_signature(ws)) == bytes.fromhex("ff00000000000000017f")
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "".join(lines) + rest
    assert "Demo stopped." in rest
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)


async def _zmtp_signature(ws_url: str) -> bytes:
    from websockets.asyncio.client import connect

    greeting = b"\xff" + bytes(8) + b"\x7f\x03\x00" + b"NULL".ljust(20, b"\0") + bytes(32)
    async with connect(ws_url) as ws:
        await ws.send(greeting)
        received = b""
        while len(received) < 10:
            received += await asyncio.wait_for(ws.recv(), 30)
    return received[:10]


@pytest.fixture(scope="module")
def sidecar():
    model = os.environ.get("NPC_BRAIN_TEST_MODEL")
    with Sidecar(Path(model) if model else None, ws_port=0) as running:
        yield running


def test_demo_shows_thought_bubbles_in_the_web_runtime(sidecar: Sidecar, tmp_path: Path) -> None:
    require_browser()
    files = demo_files()
    project = files["res://project.godot"].decode()
    anchor = 'NPCBrain="*res://addons/npc_brain/brain_client.gd"\n'
    assert anchor in project
    files["res://project.godot"] = project.replace(
        anchor, f'{anchor}DemoProbe="*{PROBE_RES}"\n'
    ).encode()
    files[PROBE_RES] = PROBE.read_bytes()
    shot = tmp_path / "demo.png"
    result = run_pck(
        build_pack(files),
        args=ENGINE_ARGS,
        user_args=[f"{BRAIN_ARG}={sidecar.ws_address}"],
        timeout_s=600,
        screenshot_path=shot,
        viewport=VIEWPORT,
    )
    assert result.ok, result.report()
    reports = [line for line in result.prints if line.startswith(REPORT_PREFIX)]
    assert len(reports) == 1, result.report()
    report = json.loads(reports[0][len(REPORT_PREFIX) :])
    assert report["status"] == f"Brain: connected to {sidecar.ws_address}", report["status"]
    assert len(report["decided"]) >= 4 and report["thoughts"] >= 4, report
    assert any(": " in line and "**" not in line for line in report["log"]), report["log"]
    _check_reactions(report)

    image = np.asarray(Image.open(shot).convert("RGB"))
    height, width = image.shape[:2]
    scale = width / report["viewport"][0]
    assert (width, height) == VIEWPORT and abs(height / scale - report["viewport"][1]) < 1
    _check_not_blank(image)
    overlays = [_scaled(r, scale) for r in report["overlays"]]
    bubbles = [_scaled(v["bubble"]["rect"], scale) for v in report["villagers"] if v["bubble"]]
    for i, box in enumerate(bubbles):
        x, y, w, h = box
        assert not _overlaps((x, y, x + w, y + h), bubbles[:i]), f"bubbles overlap: {bubbles}"
    _check_villagers(image, report, scale, overlays + bubbles)
    _check_bubbles(image, report, scale, overlays)
    if report["wolf"] and not report["wolf"]["flashing"]:
        box = _box(report["wolf"]["body"], 10, scale)
        if not _overlaps(box, overlays + bubbles):
            assert _matches(image, box, "737380", 12) >= 40, "the wolf is not on screen"
    # Only a picture that passed every check replaces the one the docs show.
    shutil.copyfile(shot, SCREENSHOT)


def _check_reactions(report: dict) -> None:
    """Every event is followed by fresh decisions; the wolf makes some villager change what
    it does, and the storm, which reaches the brain only as a memory line, sends some
    villager for cover (whether food or night changes anything is the model's call)."""
    for event in ("wolf", "food", "storm", "night"):
        reactions = report["events"].get(event, {})
        assert len(reactions) >= 3, f"after {event}: {reactions}"
    wolf = report["events"]["wolf"]
    changed = [name for name, (before, after) in wolf.items() if after.split()[0] != before]
    assert changed, f"after the wolf nobody changed what they do: {wolf}"
    storm = report["events"]["storm"]
    covered = [
        name for name, (_, after) in storm.items() if after.split()[0] in ("hide", "go_home")
    ]
    assert covered, f"after the storm nobody took cover: {storm}"


def _check_not_blank(image: np.ndarray) -> None:
    quantised = (image // 16).reshape(-1, 3)
    colours = {tuple(c) for c in quantised[::7].tolist()}
    assert len(colours) > 60, f"only {len(colours)} colours: a blank or broken canvas"
    grass = _matches(image, (0, 0, image.shape[1], image.shape[0]), "5e8f4a", 10)
    assert grass > 0.1 * image.shape[0] * image.shape[1], "the village ground is not drawn"


def _check_villagers(image: np.ndarray, report: dict, scale: float, covers: list) -> None:
    checked = []
    for villager in report["villagers"]:
        box = _box(villager["body"], 5 * villager["scale"], scale)
        if villager["hidden"] or villager["flashing"] or _overlaps(box, covers):
            continue
        count = _matches(image, box, villager["color"], 14)
        assert count >= 0.25 * (box[2] - box[0]) * (box[3] - box[1]), (
            f"{villager['name']}: {count} pixels of #{villager['color']} at {box}"
        )
        checked.append(villager["name"])
    assert len(checked) >= 3, f"too few villagers in plain view to check: {checked}"


def _check_bubbles(image: np.ndarray, report: dict, scale: float, overlays: list) -> None:
    checked = []
    for villager in report["villagers"]:
        bubble = villager["bubble"]
        if not bubble:
            continue
        x, y, w, h = _scaled(bubble["rect"], scale)
        inner = (round(x + 3), round(y + 3), round(x + w - 3), round(y + h - 3))
        if _overlaps(inner, overlays) or x < 0 or y < 0 or x + w > image.shape[1]:
            continue
        area = (inner[2] - inner[0]) * (inner[3] - inner[1])
        paper = _matches(image, inner, bubble["background"], 10)
        ink = _matches(image, inner, bubble["text_color"], 60)
        name = villager["name"]
        assert paper >= 0.5 * area, f"{name}'s bubble: {paper}/{area} background pixels"
        assert ink >= 20, f"{name}'s bubble shows no text ({ink} dark pixels)"
        checked.append(name)
    assert len(checked) >= 3, f"too few thought bubbles in plain view: {checked}"
