"""The package as a user gets it: a wheel built from the sdist, installed in a fresh venv.

The build runs the way `python -m build` does it (sdist first, then the wheel from the
unpacked sdist), on a copy of the sources, so the checkout stays clean. The venv borrows this
interpreter's installed dependencies through a .pth file (torch is never downloaded) and
gets the wheel with `pip install --no-deps --no-index`. Every command then runs from a temporary
folder with no PYTHONPATH, so nothing can come from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from npc_brain import DEFAULT_MODEL_DIR, __version__, generate_dir
from npc_brain.godot.addon import addon_files

REPO = Path(__file__).resolve().parents[1]
ADDON = REPO / "godot_addon" / "addons" / "npc_brain"
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "LICENSE",
    "npc_brain",
    "godot_addon",
    "demo_project",
)
BLANK_PROJECT = 'config_version=5\n\n[application]\n\nconfig/name="blank"\n'


def _run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _copy_sources(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".godot")
    for name in SOURCES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    # A developer who ran `npc-brain install-addon demo_project` has a copy here: never packed.
    stale = dest / "demo_project" / "addons" / "npc_brain" / "stale.gd"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("extends Node\n")


def _build(tmp: Path) -> Path:
    source, dist = tmp / "source", tmp / "dist"
    source.mkdir()
    dist.mkdir()
    _copy_sources(source)
    backend = "import sys\nfrom setuptools import build_meta as b\nprint(b.build_{}(sys.argv[1]))"
    sdist = _run([sys.executable, "-c", backend.format("sdist"), str(dist)], source)
    with tarfile.open(dist / sdist.stdout.split()[-1]) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    (unpacked,) = (tmp / "unpacked").iterdir()
    wheel = _run([sys.executable, "-c", backend.format("wheel"), str(dist)], unpacked)
    return dist / wheel.stdout.split()[-1]


def _venv(tmp: Path, wheel: Path) -> Path:
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp)
    python = venv / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp)
    # Plain path lines: this environment's .pth files (its editable install) are not run.
    ours = dict.fromkeys(sysconfig.get_path(key) for key in ("purelib", "platlib"))
    Path(site.stdout.strip(), "borrowed-deps.pth").write_text("\n".join(ours) + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    _run([*pip, "--no-index", "--quiet", str(wheel)], tmp)
    return venv


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(wheel, venv, an empty working folder outside the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = _build(tmp)
    work = tmp / "elsewhere"
    work.mkdir()
    return wheel, _venv(tmp, wheel), work


def test_the_wheel_packs_the_addon_and_the_demo_from_their_one_source(installed) -> None:
    wheel, _, _ = installed
    assert wheel.name == f"npc_brain-{__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in addon_files(ADDON):
        assert f"npc_brain/addon_src/{rel.as_posix()}" in names, rel
    demo = {n for n in names if n.startswith("npc_brain/demo_src/")}
    assert "npc_brain/demo_src/project.godot" in demo and "npc_brain/demo_src/village.tscn" in demo
    assert not any("/addons/" in n or "/." in n for n in demo), sorted(demo)
    assert "npc_brain/cli.py" in names
    # The model's parameters ship once, in model.npz; model.pt stays in the repository.
    dirs = [DEFAULT_MODEL_DIR] + ([g] if (g := generate_dir()) != DEFAULT_MODEL_DIR else [])
    for d in dirs:  # and the generate/ specialist, where one is bundled
        prefix = f"npc_brain/{d.relative_to(DEFAULT_MODEL_DIR.parent).as_posix()}/"
        model = {n[len(prefix) :] for n in names if n.startswith(prefix)}
        assert {"model.npz", "model.onnx", "config.json", "tokenizer.json"} <= model, prefix
        assert "model.pt" not in model
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_install_addon_from_the_wheel_into_a_blank_godot_project(installed) -> None:
    _, venv, work = installed
    python, npc_brain = venv / "bin" / "python", venv / "bin" / "npc-brain"
    where = _run([str(python), "-c", "import npc_brain; print(npc_brain.__file__)"], work)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    game = work / "my_game"
    game.mkdir()
    (game / "project.godot").write_text(BLANK_PROJECT)
    out = _run([str(npc_brain), "install-addon", "my_game"], work).stdout
    assert out.startswith(f"Installed {Path('my_game') / 'addons' / 'npc_brain'}"), out
    installed_addon = game / "addons" / "npc_brain"
    for rel in addon_files(ADDON):
        assert (installed_addon / rel).read_bytes() == (ADDON / rel).read_bytes(), rel
    assert str(venv) in out  # copied from the installed package, not from a checkout


def test_demo_and_the_other_commands_run_from_the_wheel(installed) -> None:
    _, venv, work = installed
    npc_brain = str(venv / "bin" / "npc-brain")
    assert "install-addon" in _run([npc_brain, "--help"], work).stdout
    assert "--ws-port" in _run([npc_brain, "demo", "--help"], work).stdout
    assert "Verbs for --actions" in _run([npc_brain, "ask", "--help"], work).stdout
    # The demo's game files come from the wheel, with the addon installed into a copy.
    probe = (
        "from npc_brain.godot.demo import demo_files, demo_source\n"
        "files = demo_files()\n"
        "assert 'res://village.tscn' in files and 'res://addons/npc_brain/plugin.cfg' in files\n"
        "print(demo_source())\n"
    )
    source = _run([str(venv / "bin" / "python"), "-c", probe], work).stdout.strip()
    assert Path(source).is_relative_to(venv) and Path(source).name == "demo_src", source
    # Without model.pt, every backend runs the wheel's model.npz; the torch model loads it too.
    probe = (
        "from npc_brain import load_model\n"
        "from npc_brain.nrm.runtime import load_runtime\n"
        "model, _ = load_model()\n"
        "print(model.num_params(), *(load_runtime(None, b).backend for b in ('auto', 'numpy')))\n"
    )
    loaded = _run([str(venv / "bin" / "python"), "-c", probe], work).stdout.split()
    assert loaded == ["951424", "onnx", "numpy"], loaded
    out = _run([npc_brain, "addon-zip"], work).stdout
    archive = work / f"npc_brain-addon-{__version__}.zip"
    assert archive.is_file(), out
    assert "addons/npc_brain/plugin.cfg" in zipfile.ZipFile(archive).namelist()
