"""Pictures for the demo's MMS, drawn in code and encoded as PNG with zlib.

Nothing is downloaded and no Qt is needed, so this runs on any worker thread without a
QGuiApplication (and without Qt warnings, which the test suite treats as failures).
"""

from __future__ import annotations

import math
import struct
import zlib
from functools import lru_cache

_Color = tuple[int, int, int]


def encode_png(width: int, height: int, rgb: bytes) -> bytes:
    """PNG file bytes for 8-bit RGB pixels given row by row."""
    if len(rgb) != width * height * 3:
        raise ValueError("pixel data does not match the size")
    stride = width * 3
    raw = b"".join(b"\x00" + rgb[y * stride : (y + 1) * stride] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


@lru_cache(maxsize=16)
def solid_png(width: int = 1, height: int = 1, color: _Color = (255, 255, 255)) -> bytes:
    return encode_png(width, height, bytes(color) * (width * height))


def _mix(a: _Color, b: _Color, t: float) -> _Color:
    t = min(max(t, 0.0), 1.0)
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


@lru_cache(maxsize=4)
def landscape_png(width: int = 320, height: int = 240) -> bytes:
    """A small sunny scene (sky, sun, clouds, hills, a tree and a cottage) as PNG."""
    sx, sy = width / 320, height / 240
    sun_x, sun_y, sun_r = 236 * sx, 84 * sy, 26 * sx
    clouds = [
        (70 * sx, 62 * sy, 15 * sx),
        (90 * sx, 54 * sy, 19 * sx),
        (110 * sx, 63 * sy, 14 * sx),
    ]
    tree_x, tree_y, tree_r = 82 * sx, 150 * sy, 17 * sx
    house = (178 * sx, 146 * sy, 222 * sx, 172 * sy)  # left, top, right, bottom
    roof_peak = 126 * sy
    pixels = bytearray()
    for y in range(height):
        sky = _mix((112, 172, 232), (255, 212, 168), y / (160 * sy))
        for x in range(width):
            color = sky
            dist_sun = math.hypot(x - sun_x, y - sun_y)
            if dist_sun < sun_r:
                color = (255, 238, 150)
            elif dist_sun < sun_r * 2:
                color = _mix((255, 238, 170), sky, (dist_sun - sun_r) / sun_r)
            if any(math.hypot(x - cx, y - cy) < r for cx, cy, r in clouds):
                color = (250, 250, 255)
            far = 150 * sy + 12 * sy * math.sin(x / (40 * sx))
            near = 188 * sy + 16 * sy * math.sin(x / (55 * sx) + 1.3)
            if y > far:
                color = _mix((128, 184, 132), (96, 160, 110), (y - far) / (40 * sy))
            if tree_x - 3 * sx <= x <= tree_x + 3 * sx and tree_y <= y <= tree_y + 26 * sy:
                color = (110, 78, 52)
            if math.hypot(x - tree_x, y - tree_y) < tree_r:
                color = (52, 122, 66)
            left, top, right, bottom = house
            if left <= x <= right and top <= y <= bottom:
                door = (left + right) / 2
                color = (
                    (150, 96, 64)
                    if abs(x - door) < 4 * sx and y > bottom - 14 * sy
                    else (244, 236, 220)
                )
            half = (right - left) / 2 + 4 * sx
            if roof_peak <= y < top and abs(x - (left + right) / 2) <= half * (
                (y - roof_peak) / (top - roof_peak)
            ):
                color = (186, 78, 66)
            if y > near:
                color = _mix((86, 150, 84), (60, 122, 64), (y - near) / (50 * sy))
            pixels.extend(color)
    return encode_png(width, height, bytes(pixels))
