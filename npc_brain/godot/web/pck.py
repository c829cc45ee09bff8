"""Write Godot 4.6 resource packs (.pck, pack format 3) from in-memory files.

A pack maps `res://` paths to bytes. Text `project.godot`, `.gd` and text `.tscn` files load
straight from it; `class_name` needs `.godot/global_script_class_cache.cfg`, which
`build_pack` generates by scanning the scripts, as the editor would on import.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping
from pathlib import Path

MAGIC = b"GDPC"
PACK_FORMAT_VERSION = 3
ENGINE_VERSION = (4, 6, 0)
FLAG_REL_FILEBASE = 2
FILE_BASE = 0x70
ALIGN = 16
CLASS_CACHE_PATH = "res://.godot/global_script_class_cache.cfg"

_CLASS_NAME = re.compile(r"^class_name\s+([A-Za-z_]\w*)", re.MULTILINE)
_EXTENDS = re.compile(r"^extends\s+(\"[^\"]+\"|[A-Za-z_][\w.]*)", re.MULTILINE)
_TOOL = re.compile(r"^@tool\b", re.MULTILINE)
_ABSTRACT = re.compile(r"^@abstract\s*$", re.MULTILINE)


class PackError(ValueError):
    """A file cannot go into a pack (bad path, duplicate, unresolvable script base)."""


def _pack_path(path: str) -> str:
    if not path.startswith("res://"):
        raise PackError(f"pack paths start with res://, got {path!r}")
    rel = path[len("res://") :]
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") for p in parts) or "\\" in rel or "\0" in rel:
        raise PackError(f"not a normalised res:// file path: {path!r}")
    return rel


def _pad(data: bytes, align: int) -> bytes:
    return data + b"\0" * (-len(data) % align)


def write_pck(files: Mapping[str, bytes]) -> bytes:
    """Serialise `{res://path: content}` into pack bytes, entries sorted by path."""
    entries = sorted((_pack_path(path), bytes(data)) for path, data in files.items())
    names = [name for name, _ in entries]
    if len(set(names)) != len(names):
        raise PackError("duplicate path in pack")
    blob = bytearray()
    directory = bytearray(struct.pack("<I", len(entries)))
    for name, data in entries:
        offset = len(blob)
        blob += _pad(data, ALIGN)
        encoded = _pad(name.encode("utf-8"), 4)
        directory += struct.pack("<I", len(encoded)) + encoded
        directory += struct.pack("<QQ", offset, len(data)) + hashlib.md5(data).digest()
        directory += struct.pack("<I", 0)
    header = MAGIC + struct.pack("<IIIII", PACK_FORMAT_VERSION, *ENGINE_VERSION, FLAG_REL_FILEBASE)
    header += struct.pack("<QQ", FILE_BASE, FILE_BASE + len(blob)) + b"\0" * (16 * 4)
    header = _pad(header, FILE_BASE)
    if len(header) != FILE_BASE:
        raise AssertionError("pack header overflowed its reserved space")
    return header + bytes(blob) + bytes(directory)


def read_pck(data: bytes) -> dict[str, bytes]:
    """Parse pack bytes written by `write_pck` back into `{res://path: content}`."""
    if data[:4] != MAGIC:
        raise PackError("not a Godot pack (bad magic)")
    version, _major, _minor, _patch, flags = struct.unpack_from("<5I", data, 4)
    if version != PACK_FORMAT_VERSION or not flags & FLAG_REL_FILEBASE:
        raise PackError(f"unsupported pack version {version} / flags {flags}")
    file_base, dir_offset = struct.unpack_from("<QQ", data, 24)
    (count,) = struct.unpack_from("<I", data, dir_offset)
    pos = dir_offset + 4
    files: dict[str, bytes] = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<I", data, pos)
        name = data[pos + 4 : pos + 4 + name_len].rstrip(b"\0").decode("utf-8")
        pos += 4 + name_len
        offset, size = struct.unpack_from("<QQ", data, pos)
        md5 = data[pos + 16 : pos + 32]
        pos += 36
        content = data[file_base + offset : file_base + offset + size]
        if len(content) != size or hashlib.md5(content).digest() != md5:
            raise PackError(f"pack entry {name!r} is truncated or corrupt")
        files["res://" + name] = content
    return files


def _script_info(path: str, source: str) -> tuple[str | None, str | None]:
    name = _CLASS_NAME.search(source)
    base = _EXTENDS.search(source)
    return (name.group(1) if name else None, base.group(1) if base else None)


def _resolve_base(path: str, scripts: Mapping[str, str], seen: tuple[str, ...] = ()) -> str:
    """The base recorded for a class: its `extends` name, following `extends "path"`."""
    if path in seen:
        raise PackError(f"cyclic extends through {path}")
    _, base = _script_info(path, scripts[path])
    if base is None:
        return "RefCounted"
    if not base.startswith('"'):
        return base
    target = base.strip('"')
    if not target.startswith("res://"):
        target = path.rsplit("/", 1)[0] + "/" + target
    if target not in scripts:
        raise PackError(f"{path} extends {base}, which is not in the pack")
    parent_name, _ = _script_info(target, scripts[target])
    return parent_name or _resolve_base(target, scripts, (*seen, path))


def _class_entry(path: str, scripts: Mapping[str, str], name: str) -> str:
    source = scripts[path]
    return (
        "{\n"
        f'"base": &"{_resolve_base(path, scripts)}",\n'
        f'"class": &"{name}",\n'
        '"icon": "",\n'
        f'"is_abstract": {"true" if _ABSTRACT.search(source) else "false"},\n'
        f'"is_tool": {"true" if _TOOL.search(source) else "false"},\n'
        '"language": &"GDScript",\n'
        f'"path": "{path}"\n'
        "}"
    )


def class_cache(files: Mapping[str, bytes]) -> bytes:
    """`global_script_class_cache.cfg` listing every `class_name` among the .gd files."""
    scripts = {path: data.decode("utf-8") for path, data in files.items() if path.endswith(".gd")}
    entries: list[tuple[str, str]] = []
    owners: dict[str, str] = {}
    for path in sorted(scripts):
        name, _ = _script_info(path, scripts[path])
        if name is None:
            continue
        if name in owners:
            raise PackError(f"class_name {name} declared by {owners[name]} and {path}")
        owners[name] = path
        entries.append((name, _class_entry(path, scripts, name)))
    body = ", ".join(entry for _, entry in sorted(entries))
    return f"list=[{body}]\n".encode()


def build_pack(files: Mapping[str, bytes]) -> bytes:
    """A pack of `files` plus the generated class cache (unless one is given)."""
    full = dict(files)
    full.setdefault(CLASS_CACHE_PATH, class_cache(files))
    return write_pck(full)


def files_from_dir(
    directory: Path, res_prefix: str = "res://", *, suffixes: tuple[str, ...] = ()
) -> dict[str, bytes]:
    """`{res://prefix/relative/path: bytes}` for every file under `directory`.

    Hidden entries (`.godot/`, `.import` caches, dotfiles) are skipped; `suffixes` keeps only
    files ending in one of them when given.
    """
    if not res_prefix.startswith("res://"):
        raise PackError(f"res_prefix must start with res://, got {res_prefix!r}")
    prefix = res_prefix if res_prefix.endswith("/") else res_prefix + "/"
    files: dict[str, bytes] = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if suffixes and not path.name.endswith(suffixes):
            continue
        files[prefix + rel.as_posix()] = path.read_bytes()
    return files
