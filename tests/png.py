"""Read the PNGs Chromium writes (8-bit RGB/RGBA, not interlaced) into pixels, stdlib only.

Screenshot tests check pixels, not just that a file exists; this keeps them free of an
imaging dependency.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}  # colour type -> samples per pixel


class PngError(ValueError):
    """Not a PNG this reader supports."""


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    channels: int
    data: bytes  # rows top to bottom, `channels` bytes per pixel

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """(r, g, b) at column `x`, row `y`."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise IndexError(f"pixel ({x}, {y}) outside {self.width}x{self.height}")
        at = (y * self.width + x) * self.channels
        r, g, b = self.data[at : at + 3]
        return r, g, b

    def pixels(self) -> list[tuple[int, int, int]]:
        step = self.channels
        return [tuple(self.data[i : i + 3]) for i in range(0, len(self.data), step)]


def read_png(source: bytes | Path) -> Image:
    raw = source.read_bytes() if isinstance(source, Path) else source
    if not raw.startswith(SIGNATURE):
        raise PngError("not a PNG file")
    pos, header, idat = len(SIGNATURE), None, bytearray()
    while pos + 8 <= len(raw):
        length, kind = struct.unpack(">I4s", raw[pos : pos + 8])
        body = raw[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if header is None:
        raise PngError("PNG without IHDR")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise PngError(f"unsupported PNG: depth {depth}, colour {colour}, interlace {interlace}")
    channels = _CHANNELS[colour]
    return Image(width, height, channels, _unfilter(zlib.decompress(idat), width, height, channels))


def _unfilter(data: bytes, width: int, height: int, bpp: int) -> bytes:
    stride = width * bpp
    if len(data) != height * (stride + 1):
        raise PngError("PNG image data has the wrong size")
    out = bytearray()
    prev = bytearray(stride)
    for y in range(height):
        kind = data[y * (stride + 1)]
        row = bytearray(data[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            up = prev[i]
            corner = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                row[i] = (row[i] + _paeth(left, up, corner)) & 0xFF
            elif kind != 0:
                raise PngError(f"unknown PNG filter type {kind}")
        out += row
        prev = row
    return bytes(out)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c
