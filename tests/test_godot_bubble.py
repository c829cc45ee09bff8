"""SpeechBubble rendered by the real Godot runtime (WebGL via SwiftShader), checked by pixels."""

from __future__ import annotations

import json
from pathlib import Path

from godot_harness import assert_passed, run_gdscript_test
from PIL import Image

CLEAR = (20, 26, 36)  # Color(0.08, 0.1, 0.14)
NPC = (51, 178, 76)  # Color(0.2, 0.7, 0.3)
BUBBLE = (255, 255, 247)  # SpeechBubble's default background, opaque after the fade in


def _near(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_speech_bubble_draws_readable_thoughts(tmp_path: Path) -> None:
    shot = tmp_path / "speech_bubble.png"
    result = run_gdscript_test(
        "test_speech_bubble.gd", draw=True, screenshot_path=shot, viewport=(480, 270)
    )
    assert_passed(result)
    assert result.screenshot == shot
    image = Image.open(shot).convert("RGB")
    assert image.size == (480, 270)
    assert _near(image.getpixel((5, 5)), CLEAR), image.getpixel((5, 5))
    assert _near(image.getpixel((240, 200)), NPC), image.getpixel((240, 200))
    # The bubble: a light box centred over the NPC, its bottom (the tail's base) above it.
    box = [image.getpixel((x, y)) for x in range(130, 351) for y in range(60, 172) if x % 2 == 0]
    light = sum(_near(p, BUBBLE, 20) for p in box)
    dark = sum(sum(p) < 200 for p in box)
    assert light > 2000, f"bubble background pixels: {light}"
    assert dark > 150, f"text pixels: {dark}"
    tail_base = (image.getpixel((240, 172)), image.getpixel((240, 174)))
    assert any(_near(p, BUBBLE, 30) for p in tail_base), tail_base
    # Nothing is drawn far from the NPC: the bubble is anchored where it was put.
    assert all(_near(image.getpixel((x, 250)), CLEAR) for x in range(0, 480, 8))


def test_nearby_bubbles_never_overlap_and_stay_on_screen(tmp_path: Path) -> None:
    shot = tmp_path / "bubble_layout.png"
    result = run_gdscript_test(
        "test_bubble_layout.gd", draw=True, screenshot_path=shot, viewport=(480, 270)
    )
    assert_passed(result)
    line = next(line for line in result.prints if line.startswith("@@bubbles "))
    boxes = json.loads(line.split(" ", 1)[1])
    image = Image.open(shot).convert("RGB")
    for x, y, w, h, color in boxes:
        assert 0 <= x <= image.width - w and 0 <= y <= image.height - h, (x, y, w, h)
        # Each box shows its own colour (nothing on top of it) and its own dark text.
        inner = [
            image.getpixel((px, py))
            for px in range(round(x) + 4, round(x + w) - 4)
            for py in range(round(y) + 4, round(y + h) - 4)
        ]
        own = sum(_near(p, _hex(color), 14) for p in inner)
        ink = sum(sum(p) < 250 for p in inner)
        assert own >= 0.6 * len(inner), f"#{color} box at {x, y}: {own}/{len(inner)} own pixels"
        assert ink >= 20, f"#{color} box shows no text"
    for i, (x, y, w, h, _) in enumerate(boxes):
        for ox, oy, ow, oh, _ in boxes[:i]:
            assert x + w <= ox or ox + ow <= x or y + h <= oy or oy + oh <= y, (i, boxes)


def _hex(html: str) -> tuple[int, int, int]:
    return (int(html[0:2], 16), int(html[2:4], 16), int(html[4:6], 16))
