"""`npc-brain build-sidecar`: the sidecar frozen with PyInstaller, for players' machines.

The result is one folder (`npc_brain_sidecar/` by default) holding `npc-brain-sidecar`
(`.exe` on Windows): Python, numpy, pyzmq and one export of the model, built for the
platform it was built on. The backend decides which export and what runs it:

- `numpy`: `model.npz`, decoded by numpy alone (runtime_numpy); the smaller build.
- `onnx`: `model.onnx`, a graph over the weights in `model.npz`, run by ONNX Runtime
  (runtime_onnx), ~37 MB more.

With `onefile` the folder holds that one file only, which unpacks itself into a temporary
folder at each start. torch, onnx and the training and measuring code are left out, and
ONNX Runtime from a numpy build; a build that pulled them in anyway fails. The parts of
numpy, pydantic, websockets, pyzmq and Python that serving never loads are left out too
(checked with a decision over ZeroMQ and over the WebSocket relay, with and without TLS).
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
from npc_brain.nrm.checkpoint import DEFAULT_MODEL_DIR, GENERATE_SUBDIR, generate_dir
from npc_brain.standalone import MODEL_FOLDER

PACKAGE = Path(npc_brain.__file__).resolve().parent
PROGRAM = PACKAGE / "sidecar_main.py"  # what the build freezes

SIDECAR = "npc-brain-sidecar"
DEFAULT_OUT = "npc_brain_sidecar"
BACKENDS = ("numpy", "onnx")
DEFAULT_BACKEND = "numpy"
# What serving reads from a model directory (the export alone: no model.pt). model.npz
# holds the weights for both backends; the onnx graph reads them from it.
COMMON_FILES = ("config.json", "tokenizer.json", "model.npz", "model.npz.json")
EXPORT_FILES: dict[str, tuple[str, ...]] = {
    "numpy": (),
    "onnx": ("model.onnx", "model.onnx.json"),
}
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
    # Never imported while serving (checked), though the packages' hooks collect them.
    "readline",
    "numpy.f2py",
    "numpy.testing",
    "numpy.distutils",
    "numpy.fft",
    "numpy.polynomial",
    "numpy.ma",
    "numpy.matlib",
    "numpy.lib.recfunctions",
    "numpy._core._multiarray_tests",
    "pydantic.v1",
    "pydantic.mypy",
    "websockets.cli",
    "websockets.sync",
    "websockets.trio",
    "websockets.legacy",
    "zmq.ssh",
    "zmq.devices",
    "multiprocessing",
)
# What each backend leaves out on top. Both runtimes' own modules are small and stay (the
# runtime picker imports both); ONNX Runtime is what a numpy build must not carry.
BACKEND_EXCLUDED: dict[str, tuple[str, ...]] = {"numpy": ("onnxruntime",), "onnx": ()}
# One of these packages (or a module inside) frozen means the exclusions failed.
FORBIDDEN = ("torch", "onnx", "npc_brain.workshop", "npc_brain.nrm.model")
BACKEND_FORBIDDEN: dict[str, tuple[str, ...]] = {"numpy": ("onnxruntime",), "onnx": ()}


class BuildError(RuntimeError):
    """The sidecar could not be built; the message says why and what to do."""


def executable_name() -> str:
    return SIDECAR + (".exe" if os.name == "nt" else "")


def model_files(backend: str) -> tuple[str, ...]:
    """What a build of `backend` ships from the model directory."""
    return (*EXPORT_FILES[backend], *COMMON_FILES)


def model_dirs(model_dir: Path) -> dict[Path, str]:
    """Each model directory a build ships (with its generate/ specialist) -> bundle folder."""
    dirs = {model_dir: MODEL_FOLDER}
    if (g := generate_dir(model_dir)) != model_dir:
        dirs[g] = f"{MODEL_FOLDER}/{GENERATE_SUBDIR}"
    return dirs


def excluded_modules(backend: str) -> tuple[str, ...]:
    return (*EXCLUDED, *BACKEND_EXCLUDED[backend])


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise BuildError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")


def pyinstaller_args(
    work: Path, model_dir: Path, onefile: bool, backend: str = DEFAULT_BACKEND
) -> list[str]:
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
    for src, dest in model_dirs(model_dir).items():
        for name in model_files(backend):
            args.append(f"--add-data={src / name}{os.pathsep}{dest}")
    args += [f"--exclude-module={name}" for name in excluded_modules(backend)]
    args.append(str(PROGRAM))
    return args


def frozen_modules(work: Path) -> list[str]:
    """Names of the Python modules a build in `work` froze (from PyInstaller's own table)."""
    toc = work / "build" / SIDECAR / "PYZ-00.toc"
    return re.findall(r"\('([\w.]+)',", toc.read_text())


def forbidden(module: str, backend: str = DEFAULT_BACKEND) -> bool:
    """Whether a frozen `module` means the build of `backend` pulled in what it must not."""
    names = (*FORBIDDEN, *BACKEND_FORBIDDEN[backend])
    return any(module == name or module.startswith(name + ".") for name in names)


def check_inputs(out: Path, model_dir: Path, backend: str) -> None:
    """Raise BuildError when the build cannot start: what is missing, or `out` is taken."""
    check_backend(backend)
    if importlib.util.find_spec("PyInstaller") is None:
        raise BuildError("PyInstaller is not installed: pip install 'npc-brain[standalone]'")
    if backend == "onnx" and importlib.util.find_spec("onnxruntime") is None:
        raise BuildError("the onnx backend needs ONNX Runtime: pip install 'npc-brain[standalone]'")
    for d in model_dirs(model_dir):
        missing = [name for name in model_files(backend) if not (d / name).is_file()]
        if missing:
            raise BuildError(f"{d} lacks {', '.join(missing)} (run `npc-brain export`)")
    if out.exists() and any(out.iterdir()) and not (out / executable_name()).is_file():
        raise BuildError(f"{out} holds other files than a sidecar build: choose another --out")


def run_pyinstaller(work: Path, model_dir: Path, onefile: bool, backend: str) -> None:
    """Freeze the sidecar into `work`/dist; BuildError when it fails or froze too much."""
    args = pyinstaller_args(work, model_dir, onefile, backend)
    run = subprocess.run(
        [sys.executable, "-m", "PyInstaller", *args], capture_output=True, text=True
    )
    if run.returncode != 0:
        tail = "\n".join((run.stdout + run.stderr).splitlines()[-20:])
        raise BuildError(f"PyInstaller failed:\n{tail}")
    leaked = [m for m in frozen_modules(work) if forbidden(m, backend)]
    if leaked:
        raise BuildError(f"the build froze modules serving never needs: {leaked[:10]}")


def build_sidecar(
    out: str | Path,
    onefile: bool = False,
    model_dir: str | Path | None = None,
    backend: str = DEFAULT_BACKEND,
) -> Path:
    """Build the sidecar running `backend` into the folder `out` (replacing an earlier build
    there) and return the path of its executable. Takes a minute or more: PyInstaller
    analyses every import."""
    out = Path(out).resolve()
    model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    check_inputs(out, model_dir, backend)
    exe = executable_name()
    with tempfile.TemporaryDirectory(prefix="npc-brain-sidecar-") as tmp:
        work = Path(tmp)
        run_pyinstaller(work, model_dir, onefile, backend)
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        built = work / "dist" / SIDECAR
        if onefile:
            out.mkdir()
            shutil.move(built.with_name(exe), out / exe)
        else:
            shutil.move(built, out)
            strip_binaries(out)
    return out / exe


def strip_binaries(folder: Path) -> None:
    """Drop what a folder build's libraries carry for debuggers only (Linux, with binutils):
    the symbol tables of Python's own libraries, and the debug sections of the other
    packages' extension modules (msgpack's is 1.4 MB of them). Never a library a wheel's
    repair rewrote (in a `*.libs` folder, or carrying an RPATH): stripping those breaks them."""
    strip, readelf = shutil.which("strip"), shutil.which("readelf")
    if not sys.platform.startswith("linux") or strip is None:
        return
    internal = folder / "_internal"
    python = {*internal.glob("libpython3*.so*"), *internal.glob("python3*/lib-dynload/*.so")}
    for path in python:
        strip_file(strip, "--strip-unneeded", path)
    if readelf is None:
        return
    for path in internal.rglob("*.so*"):
        if path in python or any(part.endswith(".libs") for part in path.parts):
            continue
        if not has_rpath(readelf, path):
            strip_file(strip, "--strip-debug", path)


def strip_file(strip: str, how: str, path: Path) -> None:
    if path.is_file() and not path.is_symlink():
        subprocess.run([strip, how, str(path)], check=False, capture_output=True)


def has_rpath(readelf: str, path: Path) -> bool:
    """Whether a library names where to find others (RPATH/RUNPATH), as repaired ones do;
    also True when readelf cannot tell (not a library): such a file is left alone."""
    if not path.is_file() or path.is_symlink():
        return True
    run = subprocess.run([readelf, "-d", str(path)], capture_output=True, text=True)
    return run.returncode != 0 or "PATH)" in run.stdout


def folder_size(path: Path) -> int:
    """Bytes of every file under `path` (or of the file `path`)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
