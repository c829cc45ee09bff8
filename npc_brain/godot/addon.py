"""Install the Godot addon into a Godot project: one source of truth for the addon code.

The addon lives once, in the repository's `godot_addon/addons/npc_brain/` (Asset Library
layout). `npc-brain install-addon PATH` copies it into `PATH/addons/npc_brain/`, and the demo
command does the same into a copy of `demo_project/`, so no second copy is ever committed.

Where the source is found: a source checkout or editable install uses the repository folder
next to the package; a wheel carries a copy as package data in `npc_brain/addon_src/` (the
build copies `godot_addon/addons/npc_brain/` there). The demo project is looked up the same way
(`demo_project/`, or `npc_brain/demo_src/` in a wheel).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from pydantic import BaseModel

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # npc_brain/, where the build packs them
REPO_DIR = PACKAGE_DIR.parent
ADDON_NAME = "npc_brain"
ADDON_REPO_PATH = Path("godot_addon") / "addons" / ADDON_NAME
ADDON_PACKAGE_PATH = Path("addon_src")
PLUGIN_CFG = "plugin.cfg"


class AddonError(RuntimeError):
    """The addon source is missing, or the destination is not a Godot project we may write."""


class InstallResult(BaseModel):
    """What `install_addon` did."""

    source: Path
    destination: Path
    files: int
    replaced: bool  # an earlier copy was there and has been replaced
    linked: bool = False  # the destination already is the source (a symlink); nothing copied


def shipped_dir(repo_path: Path, package_path: Path, marker: str, what: str) -> Path:
    """The repository folder `repo_path` if this is a checkout, else the packaged copy.

    `marker` is a file the folder must hold, so an empty or unrelated folder never passes.
    """
    for candidate in (REPO_DIR / repo_path, PACKAGE_DIR / package_path):
        if (candidate / marker).is_file():
            return candidate
    raise AddonError(
        f"cannot find the {what}: neither {REPO_DIR / repo_path} (source checkout) nor "
        f"{PACKAGE_DIR / package_path} (installed package) holds {marker}"
    )


def addon_source() -> Path:
    """The folder holding the addon's files (`plugin.cfg` and the scripts)."""
    return shipped_dir(ADDON_REPO_PATH, ADDON_PACKAGE_PATH, PLUGIN_CFG, "Godot addon source")


def addon_files(source: Path) -> list[Path]:
    """Every file of the addon, relative to `source`; hidden files and caches are left out."""
    files = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            files.append(rel)
    return files


def install_addon(project: Path, source: Path | None = None) -> InstallResult:
    """Copy the addon into `project/addons/npc_brain/`, replacing an earlier copy.

    The new copy is assembled next to the old one and swapped in at the end, so a failure
    half way leaves the project as it was.
    """
    source = (source or addon_source()).resolve()
    project = Path(project).expanduser()
    if not (project / "project.godot").is_file():
        raise AddonError(f"{project} is not a Godot project (it has no project.godot)")
    dest = project / "addons" / ADDON_NAME
    files = addon_files(source)
    if dest.exists() and dest.resolve() == source:
        return InstallResult(
            source=source, destination=dest, files=len(files), replaced=False, linked=True
        )
    if dest.exists() and not dest.is_dir():
        raise AddonError(f"{dest} exists and is not a folder; move it away first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{ADDON_NAME}-", dir=dest.parent))
    try:
        for rel in files:
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / rel, staging / rel)
        replaced = dest.exists() or dest.is_symlink()
        if dest.is_symlink():
            dest.unlink()  # a link to some other copy: drop the link, never its target
        elif replaced:
            shutil.rmtree(dest)
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return InstallResult(source=source, destination=dest, files=len(files), replaced=replaced)
