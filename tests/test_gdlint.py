"""Static checks of every GDScript file: gdtoolkit's parser (gdparse) and linter (gdlint).

This is the only check of code paths the web runtime cannot run (the StreamPeerTCP pipe,
the EditorPlugin), and keeps the official style guide's order and naming everywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gdtoolkit.linter import lint_code
from gdtoolkit.parser import parser

REPO = Path(__file__).resolve().parents[1]
GDSCRIPT_ROOTS = ("godot_addon", "demo_project", "tests")
ADDON_SCRIPTS = {
    "brain_client.gd",
    "byte_stream.gd",
    "msgpack.gd",
    "npc_brain_agent.gd",
    "plugin.gd",
    "speech_bubble.gd",
    "tcp_stream.gd",
    "websocket_stream.gd",
    "zmtp_link.gd",
    "zmtp_session.gd",
}


def _scripts() -> list[Path]:
    found = []
    for root in GDSCRIPT_ROOTS:
        base = REPO / root
        found += [p for p in base.rglob("*.gd") if ".godot" not in p.relative_to(base).parts]
    return sorted(found)


SCRIPTS = _scripts()


def test_every_addon_script_is_checked() -> None:
    addon = {p.name for p in SCRIPTS if "godot_addon" in p.parts}
    assert not ADDON_SCRIPTS - addon, f"addon scripts missing: {ADDON_SCRIPTS - addon}"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_gdscript_parses_and_lints_clean(path: Path) -> None:
    code = path.read_text(encoding="utf-8")
    parser.parse(code)  # raises with line and column on a syntax error
    problems = lint_code(code)
    report = "\n".join(
        f"{path.relative_to(REPO)}:{p.line}: {p.name}: {p.description}" for p in problems
    )
    assert not problems, report


def test_addon_readme_examples_parse() -> None:
    readme = (REPO / "godot_addon" / "addons" / "npc_brain" / "README.md").read_text()
    blocks = re.findall(r"```gdscript\n(.*?)```", readme, flags=re.DOTALL)
    assert blocks, "the addon README has no GDScript example"
    for block in blocks:
        parser.parse(block)
