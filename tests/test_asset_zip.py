"""`npc-brain addon-zip`: the zip for the Godot Asset Library and the editor's AssetLib Import.

The runtime test unpacks the zip into a blank project (as the editor's installer does),
enables the plugin as the editor does, and runs tests/godot/test_asset_zip.gd in the real
Godot 4.6 web runtime against a real sidecar with the bundled model.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import godot_harness
import pytest
from godot_harness import GDSCRIPT_TESTS, assert_passed, require_browser
from godot_runner import run_pck

from npc_brain import __version__, cli
from npc_brain.godot.addon import AddonError, addon_files, addon_source
from npc_brain.godot.asset_zip import ZIP_ROOT, build_asset_zip
from npc_brain.godot.demo import Sidecar
from npc_brain.godot.web import build_pack, files_from_dir

REPO = Path(__file__).resolve().parents[1]
# The test project with the plugin enabled as the editor records it (the autoload is already
# registered as the plugin's _enable_plugin does it).
PROJECT_GODOT = (
    godot_harness.PROJECT_GODOT
    + '\n[editor_plugins]\n\nenabled=PackedStringArray("res://addons/npc_brain/plugin.cfg")\n'
)


def _cfg_version(text: str) -> str:
    match = re.search(r'^version="([^"]*)"$', text, re.MULTILINE)
    assert match, text
    return match.group(1)


def test_the_zip_holds_only_the_addon_with_readme_license_icon_and_version(tmp_path) -> None:
    built = build_asset_zip(tmp_path)
    assert built.path == tmp_path / f"npc_brain-addon-{__version__}.zip"
    with zipfile.ZipFile(built.path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        files = {n: archive.read(n) for n in names if not n.endswith("/")}
    assert all(n.startswith(("addons/", f"{ZIP_ROOT}/")) for n in names), names
    source = addon_source()
    assert set(files) == {f"{ZIP_ROOT}/{rel.as_posix()}" for rel in addon_files(source)}
    for name in ("README.md", "LICENSE", "icon.svg"):
        assert files[f"{ZIP_ROOT}/{name}"] == (source / name).read_bytes(), name
    assert files[f"{ZIP_ROOT}/LICENSE"] == (REPO / "LICENSE").read_bytes()
    svg = ElementTree.fromstring(files[f"{ZIP_ROOT}/icon.svg"])
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox")
    assert _cfg_version(files[f"{ZIP_ROOT}/plugin.cfg"].decode()) == __version__
    # The same addon always gives the same bytes.
    again = build_asset_zip(tmp_path / "again.zip")
    assert again.path.read_bytes() == built.path.read_bytes()


def test_plugin_cfg_takes_the_package_version_whatever_the_source_says(tmp_path) -> None:
    source = tmp_path / "addon"
    shutil.copytree(addon_source(), source)
    cfg = source / "plugin.cfg"
    cfg.write_text(re.sub(r'version="[^"]*"', 'version="0.0.0-old"', cfg.read_text()))
    built = build_asset_zip(tmp_path / "a.zip", source, version="7.8.9")
    text = zipfile.ZipFile(built.path).read(f"{ZIP_ROOT}/plugin.cfg").decode()
    assert _cfg_version(text) == "7.8.9"
    assert text.replace("7.8.9", "0.0.0-old") == cfg.read_text()
    (source / "LICENSE").unlink()
    with pytest.raises(AddonError, match="lacks LICENSE"):
        build_asset_zip(tmp_path / "b.zip", source)


def test_the_repository_addon_carries_the_package_version() -> None:
    # install-addon copies plugin.cfg as it is; it must not drift from the package.
    assert _cfg_version((addon_source() / "plugin.cfg").read_text()) == __version__


def test_addon_zip_command(tmp_path, capsys) -> None:
    assert cli.main(["addon-zip", "--out", str(tmp_path / "out" / "npc.zip")]) == 0
    out = capsys.readouterr().out
    assert f"addon {__version__}" in out and "AssetLib" in out
    assert zipfile.is_zipfile(tmp_path / "out" / "npc.zip")


def _unpack_into_blank_project(archive: Path, project: Path) -> None:
    project.mkdir()
    (project / "project.godot").write_text(PROJECT_GODOT)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(project)


def test_the_zip_unpacks_into_a_working_plugin_in_the_godot_runtime(tmp_path) -> None:
    require_browser()
    archive = build_asset_zip(tmp_path).path
    project = tmp_path / "game"
    _unpack_into_blank_project(archive, project)
    files = files_from_dir(project)
    files |= files_from_dir(GDSCRIPT_TESTS, "res://tests/godot")
    files["res://npc_brain_addon.zip"] = archive.read_bytes()
    model = os.environ.get("NPC_BRAIN_TEST_MODEL")
    with Sidecar(Path(model) if model else None, ws_port=0) as sidecar:
        result = run_pck(
            build_pack(files),
            user_args=[
                "test=res://tests/godot/test_asset_zip.gd",
                f"version={__version__}",
                f"brain={sidecar.ws_address}",
            ],
            timeout_s=400,
        )
    assert_passed(result)
    assert any(line.startswith("@@decision ") for line in result.prints), result.report()
