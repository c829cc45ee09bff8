"""`npc-brain build-sidecar`: the sidecar frozen with PyInstaller, for players' machines.

The result is one folder (`npc_brain_sidecar/` by default) holding `npc-brain-sidecar`
(`.exe` on Windows): Python, ONNX Runtime, numpy, pyzmq and the model's ONNX export, built
for the platform it was built on. With `onefile` the folder holds that one file only, which
unpacks itself into a temporary folder at each start. torch, onnx and the training and
measuring code are left out, and a build that pulled them in anyway fails.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import npc_brain
from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR
from npc_brain.standalone import MODEL_FOLDER

PACKAGE = Path(npc_brain.__file__).resolve().parent
PROGRAM = PACKAGE / "sidecar_main.py"  # what the build freezes

SIDECAR = "npc-brain-sidecar"
DEFAULT_OUT = "npc_brain_sidecar"
# What serving reads from a model directory (the export alone: no model.pt).
MODEL_FILES = ("model.onnx", "model.onnx.json", "config.json", "tokenizer.json")
# Modules serving never imports but that imports elsewhere would pull in.
EXCLUDED = (
    "torch",
    "onnx",
    "npc_brain.workshop",
    "npc_brain.godot",
    "npc_brain.nrm.model",
    "npc_brain.nrm.runtime_torch",
    "npc_brain.nrm.export_onnx",
    "npc_brain.nrm.kv_cache",
    "npc_brain.nrm.decode",
    "onnxruntime.transformers",
    "onnxruntime.quantization",
    "onnxruntime.tools",
    "sympy",
    "hypothesis",
    "yaml",
    "setuptools",
    "pkg_resources",
    "_distutils_hack",
    "distutils",
    "pytest",
    "tkinter",
    "pydoc",
    "tqdm",
)
# One of these packages (or a module inside) frozen means the exclusions failed.
FORBIDDEN = ("torch", "onnx", "npc_brain.workshop", "npc_brain.nrm.model")


class BuildError(RuntimeError):
    """The sidecar could not be built; the message says why and what to do."""


def executable_name() -> str:
    return SIDECAR + (".exe" if os.name == "nt" else "")


def pyinstaller_args(work: Path, model_dir: Path, onefile: bool) -> list[str]:
    """PyInstaller's command line (after `python -m PyInstaller`)."""
    args = [
        "--noconfirm",
        "--log-level=WARN",
        f"--name={SIDECAR}",
        f"--distpath={work / 'dist'}",
        f"--workpath={work / 'build'}",
        f"--specpath={work}",
        # The npc_brain running this build is the one frozen (a checkout or an install).
        f"--paths={PACKAGE.parent}",
        "--copy-metadata=npc-brain",
        "--onefile" if onefile else "--onedir",
    ]
    for name in MODEL_FILES:
        args.append(f"--add-data={model_dir / name}{os.pathsep}{MODEL_FOLDER}")
    args += [f"--exclude-module={name}" for name in EXCLUDED]
    args.append(str(PROGRAM))
    return args


def frozen_modules(work: Path) -> list[str]:
    """Names of the Python modules a build in `work` froze (from PyInstaller's own table)."""
    toc = work / "build" / SIDECAR / "PYZ-00.toc"
    return re.findall(r"\('([\w.]+)',", toc.read_text())


def forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def build_sidecar(
    out: str | Path, onefile: bool = False, model_dir: str | Path | None = None
) -> Path:
    """Build the sidecar into the folder `out` (replacing an earlier build there) and return
    the path of its executable. Takes a minute or more: PyInstaller analyses every import."""
    out = Path(out).resolve()
    model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    if importlib.util.find_spec("PyInstaller") is None:
        raise BuildError("PyInstaller is not installed: pip install 'npc-brain[standalone]'")
    missing = [name for name in MODEL_FILES if not (model_dir / name).is_file()]
    if missing:
        raise BuildError(f"{model_dir} lacks {', '.join(missing)} (run `npc-brain export`)")
    exe = executable_name()
    if out.exists() and any(out.iterdir()) and not (out / exe).is_file():
        raise BuildError(f"{out} holds other files than a sidecar build: choose another --out")
    with tempfile.TemporaryDirectory(prefix="npc-brain-sidecar-") as tmp:
        work = Path(tmp)
        run = subprocess.run(
            [sys.executable, "-m", "PyInstaller", *pyinstaller_args(work, model_dir, onefile)],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            tail = "\n".join((run.stdout + run.stderr).splitlines()[-20:])
            raise BuildError(f"PyInstaller failed:\n{tail}")
        leaked = [m for m in frozen_modules(work) if forbidden(m)]
        if leaked:
            raise BuildError(f"the build froze modules serving never needs: {leaked[:10]}")
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        built = work / "dist" / SIDECAR
        if onefile:
            out.mkdir()
            shutil.move(built.with_name(exe), out / exe)
        else:
            shutil.move(built, out)
            strip_python(out)
    return out / exe


def strip_python(folder: Path) -> None:
    """Drop the debug symbols of Python's own libraries in a folder build (Linux). Only those:
    stripping the wheels' repaired libraries (numpy.libs) breaks them."""
    strip = shutil.which("strip")
    if not sys.platform.startswith("linux") or strip is None:
        return
    internal = folder / "_internal"
    files = [*internal.glob("libpython3*.so*"), *internal.glob("python3*/lib-dynload/*.so")]
    for path in files:
        if path.is_file() and not path.is_symlink():
            subprocess.run([strip, "--strip-debug", str(path)], check=False, capture_output=True)


def folder_size(path: Path) -> int:
    """Bytes of every file under `path` (or of the file `path`)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
