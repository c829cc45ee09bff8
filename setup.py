"""Build hook: pack the Godot addon and the demo project into the package.

Their one source is the repository's `godot_addon/addons/npc_brain/` and `demo_project/`.
Building a wheel copies them into the package as `npc_brain/addon_src/` and
`npc_brain/demo_src/`, where `npc_brain.godot` finds them when there is no checkout.
Everything else about the build is declared in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# Repository folder -> (folder inside the package, a file it must hold, top-level names left
# out). A demo_project/ that had `npc-brain install-addon` run on it holds a copy of the addon,
# which is not a source.
SHIPPED = {
    "godot_addon/addons/npc_brain": ("addon_src", "plugin.cfg", ()),
    "demo_project": ("demo_src", "project.godot", ("addons",)),
}


def shipped_files(source: Path, skip: tuple[str, ...]) -> list[Path]:
    """Files under `source`, relative to it; hidden files, editor caches and `skip` left out."""
    files = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        hidden = any(part.startswith(".") for part in rel.parts)
        if path.is_file() and not hidden and rel.parts[0] not in skip:
            files.append(rel)
    return files


class BuildPyWithGodot(build_py):
    """build_py that also copies the addon and the demo into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's folders directly
            return
        for source, (target, marker, skip) in SHIPPED.items():
            src = ROOT / source
            if not (src / marker).is_file():
                raise FileNotFoundError(f"{src} is missing: cannot pack it into the wheel")
            dest = Path(self.build_lib) / "npc_brain" / target
            for rel in shipped_files(src, skip):
                self.mkpath(str((dest / rel).parent))
                self.copy_file(str(src / rel), str(dest / rel))


setup(cmdclass={"build_py": BuildPyWithGodot})
