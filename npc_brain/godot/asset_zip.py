"""The addon as the zip the Godot Asset Library and the editor's AssetLib "Import" take.

The zip holds `addons/npc_brain/` and nothing else, so importing it never writes outside the
addon's folder. Its files are the addon's own (`addon_source()`), with plugin.cfg's version
set to this package's version, so the plugin and the sidecar it talks to are released together.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from pydantic import BaseModel

from npc_brain import __version__
from npc_brain.godot.addon import ADDON_NAME, PLUGIN_CFG, AddonError, addon_files, addon_source

ZIP_ROOT = f"addons/{ADDON_NAME}"
# The Asset Library asks for these next to the code; the icon is drawn as SVG text.
REQUIRED = ("README.md", "LICENSE", "icon.svg", PLUGIN_CFG, "plugin.gd")
# A fixed time for every entry: the same addon always gives the same bytes.
ZIP_TIME = (2024, 1, 1, 0, 0, 0)
_VERSION_LINE = re.compile(r'^version="[^"\n]*"$', re.MULTILINE)


class AssetZip(BaseModel):
    """What `build_asset_zip` wrote."""

    path: Path
    version: str
    files: list[str]  # zip member names, in zip order
    size: int  # bytes


def default_zip_name(version: str = __version__) -> str:
    return f"{ADDON_NAME}-addon-{version}.zip"


def stamp_version(plugin_cfg: str, version: str) -> str:
    """plugin.cfg's text with `version="..."` set to `version`."""
    stamped, count = _VERSION_LINE.subn(f'version="{version}"', plugin_cfg)
    if count != 1:
        raise AddonError(f'{PLUGIN_CFG} must hold exactly one version="..." line, found {count}')
    return stamped


def asset_files(source: Path | None = None, version: str = __version__) -> dict[str, bytes]:
    """`{zip member: bytes}` for the addon in `source` (default: the shipped addon)."""
    source = source or addon_source()
    files = {rel.as_posix(): (source / rel).read_bytes() for rel in addon_files(source)}
    missing = [name for name in REQUIRED if name not in files]
    if missing:
        raise AddonError(f"the addon in {source} lacks {', '.join(missing)}")
    files[PLUGIN_CFG] = stamp_version(files[PLUGIN_CFG].decode(), version).encode()
    return {f"{ZIP_ROOT}/{name}": data for name, data in sorted(files.items())}


def build_asset_zip(dest: Path, source: Path | None = None, version: str = __version__) -> AssetZip:
    """Write the Asset Library zip to `dest` (a folder gets the default file name)."""
    dest = Path(dest).expanduser()
    if dest.is_dir():
        dest = dest / default_zip_name(version)
    files = asset_files(source, version)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder in ("addons/", f"{ZIP_ROOT}/"):
            archive.writestr(_entry(folder, 0o40755), b"")
        for name, data in files.items():
            archive.writestr(_entry(name, 0o100644), data)
    return AssetZip(path=dest, version=version, files=list(files), size=dest.stat().st_size)


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_STORED if name.endswith("/") else zipfile.ZIP_DEFLATED
    return info
