"""The official Godot 4.6 web runtime, .pck packing and the loopback page that runs a pack.

Used by the demo's browser page and by the GDScript tests (whose Chromium runner is in tests/).
"""

from npc_brain.godot.web.page import PageServer, render_page
from npc_brain.godot.web.pck import (
    PackError,
    build_pack,
    class_cache,
    files_from_dir,
    read_pck,
    write_pck,
)
from npc_brain.godot.web.runtime import RuntimeFetchError, ensure_runtime

__all__ = [
    "PackError",
    "PageServer",
    "RuntimeFetchError",
    "build_pack",
    "class_cache",
    "ensure_runtime",
    "files_from_dir",
    "read_pck",
    "render_page",
    "write_pck",
]
