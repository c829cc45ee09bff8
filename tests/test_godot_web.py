"""npc_brain.godot.web without a browser: pack format, class cache, runtime cache, page server.
(The packs are also loaded by the real engine in every tests/test_godot_*.py.)"""

from __future__ import annotations

import hashlib
import shutil
import struct
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from npc_brain.godot.web import (
    PackError,
    PageServer,
    build_pack,
    class_cache,
    ensure_runtime,
    files_from_dir,
    read_pck,
    render_page,
    write_pck,
)
from npc_brain.godot.web import runtime as rt
from npc_brain.godot.web.pck import CLASS_CACHE_PATH, FILE_BASE


def test_pack_header_and_directory_follow_format_3() -> None:
    files = {"res://b.gd": b"extends Node\n", "res://a/x.txt": b"12345", "res://empty": b""}
    data = write_pck(files)
    magic, version, major, minor, patch, flags = struct.unpack_from("<4s5I", data)
    assert (magic, version, (major, minor, patch), flags) == (b"GDPC", 3, (4, 6, 0), 2)
    file_base, dir_offset = struct.unpack_from("<QQ", data, 24)
    assert file_base == FILE_BASE == 0x70
    assert data[40:FILE_BASE] == bytes(FILE_BASE - 40)
    (count,) = struct.unpack_from("<I", data, dir_offset)
    assert count == 3
    pos, names = dir_offset + 4, []
    for _ in range(count):
        (size,) = struct.unpack_from("<I", data, pos)
        assert size % 4 == 0
        names.append(data[pos + 4 : pos + 4 + size].rstrip(b"\0").decode())
        offset, length = struct.unpack_from("<QQ", data, pos + 4 + size)
        assert offset % 16 == 0
        content = files["res://" + names[-1]]
        assert data[file_base + offset : file_base + offset + length] == content
        assert data[pos + 4 + size + 16 : pos + 4 + size + 32] == hashlib.md5(content).digest()
        assert struct.unpack_from("<I", data, pos + 4 + size + 32) == (0,)
        pos += 4 + size + 36
    assert names == sorted(names) == ["a/x.txt", "b.gd", "empty"]
    assert pos == len(data)
    assert read_pck(data) == files


@pytest.mark.parametrize(
    "path", ["x.gd", "res://", "res://../x", "res://a//b", "res://a/./b", "res://a\\b"]
)
def test_pack_rejects_paths_that_are_not_normalised(path: str) -> None:
    with pytest.raises(PackError):
        write_pck({path: b""})


def test_read_pck_detects_corruption() -> None:
    data = bytearray(write_pck({"res://a.txt": b"hello"}))
    data[FILE_BASE] ^= 0xFF
    with pytest.raises(PackError, match="corrupt"):
        read_pck(bytes(data))
    with pytest.raises(PackError, match="magic"):
        read_pck(b"PK\x03\x04" + bytes(100))


def test_class_cache_lists_each_class_with_its_base() -> None:
    files = {
        "res://lib/base.gd": b"class_name Base\nextends Node2D\n",
        "res://lib/derived.gd": b'@tool\nclass_name Derived\nextends "base.gd"\n',
        "res://lib/plain.gd": b"extends Sprite2D\n",
        "res://lib/via_plain.gd": b'class_name ViaPlain\nextends "res://lib/plain.gd"\n',
        "res://lib/bare.gd": b"class_name Bare\n\nfunc f() -> void:\n\tpass\n",
        "res://notes.txt": b"class_name NotAScript\n",
    }
    cache = class_cache(files).decode()
    assert cache.startswith("list=[{") and cache.endswith("}]\n")
    entries = cache[len("list=[") : -2].split("}, {")
    assert len(entries) == 4
    # Sorted by class name; extends by path resolves to the parent's class (or its base).
    assert [e.split('"class": &"')[1].split('"')[0] for e in entries] == [
        "Bare",
        "Base",
        "Derived",
        "ViaPlain",
    ]
    assert '"base": &"RefCounted"' in entries[0]
    assert '"base": &"Node2D"' in entries[1] and '"is_tool": false' in entries[1]
    assert '"base": &"Base"' in entries[2] and '"is_tool": true' in entries[2]
    assert '"base": &"Sprite2D"' in entries[3]
    assert '"path": "res://lib/derived.gd"' in entries[2]
    assert class_cache({}) == b"list=[]\n"


def test_class_cache_rejects_duplicates_and_dangling_bases() -> None:
    with pytest.raises(PackError, match="declared by"):
        class_cache({"res://a.gd": b"class_name A\n", "res://b.gd": b"class_name A\n"})
    with pytest.raises(PackError, match="not in the pack"):
        class_cache({"res://a.gd": b'class_name A\nextends "missing.gd"\n'})


def test_build_pack_adds_the_class_cache() -> None:
    files = read_pck(build_pack({"res://a.gd": b"class_name A\nextends Node\n"}))
    assert b'"class": &"A"' in files[CLASS_CACHE_PATH]


def test_files_from_dir_skips_hidden_entries(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "a.gd").write_text("extends Node\n")
    (tmp_path / ".godot").mkdir()
    (tmp_path / ".godot" / "cache.bin").write_bytes(b"x")
    (tmp_path / "icon.svg.import").write_text("[remap]\n")
    found = files_from_dir(tmp_path, "res://proj", suffixes=(".gd",))
    assert found == {"res://proj/scripts/a.gd": b"extends Node\n"}
    with pytest.raises(PackError):
        files_from_dir(tmp_path, "proj")


def test_runtime_is_the_four_pinned_files(tmp_path: Path) -> None:
    source = ensure_runtime()  # fetched once with `npm pack`, then cached
    assert sorted(p.name for p in source.iterdir()) == sorted(rt.RUNTIME_FILES)
    assert rt.RUNTIME_SHA256["index.wasm"].startswith("2b558bdb3c3a")
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    assert rt.is_cached(copy)
    with (copy / "index.js").open("ab") as fh:
        fh.write(b"//tampered")
    assert not rt.is_cached(copy)
    with pytest.raises(rt.RuntimeFetchError, match="does not match the pinned"):
        rt.verify(copy)
    shutil.copy2(source / "index.js", copy / "index.js")
    (copy / "index.wasm").unlink()
    with pytest.raises(rt.RuntimeFetchError, match="missing"):
        rt.verify(copy)


def test_runtime_cache_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NPC_BRAIN_CACHE", str(tmp_path))
    assert rt.cache_dir() == tmp_path / "godot-4.6"
    assert not rt.is_cached()
    monkeypatch.delenv("NPC_BRAIN_CACHE")
    assert rt.cache_dir() == Path.home() / ".cache" / "npc-brain" / "godot-4.6"


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, "", b""


def test_page_server_serves_page_runtime_and_pack_on_loopback() -> None:
    pck = write_pck({"res://a.txt": b"x"})
    with PageServer(pck, ["--audio-driver", "Dummy", "--", "url=ws://x"], title="<demo>") as srv:
        assert srv.url.startswith("http://127.0.0.1:")
        status, mime, page = _get(srv.url)
        assert status == 200 and mime.startswith("text/html")
        assert b'mainPack: "game.pck"' in page and b'"url=ws://x"' in page
        assert b"&lt;demo&gt;" in page
        status, mime, wasm = _get(srv.url + "index.wasm")
        assert (status, mime) == (200, "application/wasm")
        assert hashlib.sha256(wasm).hexdigest() == rt.RUNTIME_SHA256["index.wasm"]
        assert _get(srv.url + "game.pck")[2] == pck
        assert _get(srv.url + "index.html?x=1")[2] == page
        for missing in ("etc/passwd", "../index.js", "index.pck", "godot/index.js"):
            assert _get(srv.url + missing)[0] == 404, missing


def test_render_page_keeps_args_as_data() -> None:
    page = render_page(['"); alert(1); ("'])
    assert 'args: ["\\"); alert(1); (\\""]' in page
