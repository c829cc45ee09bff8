"""The official Godot 4.6 web runtime, .pck packing and a headless Chromium runner.

Used by the GDScript tests (tests/test_godot_*.py) and by the demo's browser page.
"""

from npc_brain.godot_web.page import PageServer, render_page
from npc_brain.godot_web.pck import (
    PackError,
    build_pack,
    class_cache,
    files_from_dir,
    read_pck,
    write_pck,
)
from npc_brain.godot_web.png import Image, PngError, read_png
from npc_brain.godot_web.runner import GodotRunError, RunResult, run_pck
from npc_brain.godot_web.runtime import RuntimeFetchError, ensure_runtime

__all__ = [
    "GodotRunError",
    "Image",
    "PackError",
    "PageServer",
    "PngError",
    "RunResult",
    "RuntimeFetchError",
    "build_pack",
    "class_cache",
    "ensure_runtime",
    "files_from_dir",
    "read_pck",
    "read_png",
    "render_page",
    "run_pck",
    "write_pck",
]
