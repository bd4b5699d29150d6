"""Render Twoway's icon files from the one drawing, resources/icons/twoway.svg.

    python scripts/render_icons.py

writes next to the SVG: ``twoway-<N>.png`` for N in 16…512 (the Linux hicolor sizes),
``twoway.ico`` (Windows: the .exe, the installer and shortcuts) and ``twoway.icns`` (macOS).
Run it after changing the SVG and commit the results; the installers use the files as they
are.  Every written file is read back with Qt's own readers (the ICO and ICNS plugins)
and each size is checked, so a broken file fails here and not on a user's desktop.

Only Qt is needed (PySide6, already a dependency): the ICO and ICNS containers are simple
enough to write directly, with PNG data inside, as Windows Vista+ and macOS 10.7+ read.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from collections.abc import Iterable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QImageReader, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: ICNS element types holding PNG data, by pixel size (the @2x types share sizes).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"ic11", 32),  # 16@2x
    (b"icp6", 64),
    (b"ic12", 64),  # 32@2x
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic13", 256),  # 128@2x
    (b"ic09", 512),
    (b"ic14", 512),  # 256@2x
    (b"ic10", 1024),  # 512@2x
)
#: macOS draws app icons on an 824/1024 body centred in the canvas; other systems use
#: the whole square.
MACOS_BODY = 824 / 1024


def render(renderer: QSvgRenderer, size: int, body: float = 1.0) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    margin = size * (1 - body) / 2
    renderer.render(painter, QRectF(margin, margin, size - 2 * margin, size - 2 * margin))
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):  # type: ignore[call-overload]  # stubs say bytes, Qt wants str
        raise RuntimeError("Qt could not encode a PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: Iterable[tuple[int, bytes]]) -> bytes:
    """ICONDIR + one ICONDIRENTRY per size + the PNG data (0 in a size byte means 256)."""
    entries = list(pngs)
    header = struct.pack("<HHH", 0, 1, len(entries))
    offset = len(header) + 16 * len(entries)
    directory, blobs = b"", b""
    for size, png in entries:
        side = 0 if size >= 256 else size
        directory += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return header + directory + blobs


def icns_bytes(elements: Iterable[tuple[bytes, bytes]]) -> bytes:
    """'icns' + total length, then each element: type, length (including 8), data."""
    body = b"".join(kind + struct.pack(">I", len(data) + 8) + data for kind, data in elements)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def _check(path: Path, fmt: bytes, sizes: set[int]) -> None:
    """Read ``path`` back with Qt and check that every size is there and not blank."""
    reader = QImageReader(str(path), fmt)
    found: set[int] = set()
    for _ in range(max(reader.imageCount(), 1)):
        image = reader.read()
        if image.isNull():
            raise SystemExit(f"{path.name}: Qt cannot read it back ({reader.errorString()})")
        if (
            image.width() != image.height()
            or image.pixelColor(image.width() // 2, image.height() // 2).alpha() == 0
        ):
            raise SystemExit(f"{path.name}: a {image.width()} px image is empty or not square")
        found.add(image.width())
        if not reader.jumpToNextImage():
            break
    if not sizes <= found:
        raise SystemExit(f"{path.name}: sizes {sorted(sizes - found)} are missing")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the PNG, ICO and ICNS icons.")
    parser.add_argument("--svg", type=Path, default=ICONS / "twoway.svg")
    parser.add_argument("--out", type=Path, default=ICONS)
    args = parser.parse_args(argv)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(args.svg))
    if not renderer.isValid():
        raise SystemExit(f"{args.svg}: not a valid SVG")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    full = {size: png_bytes(render(renderer, size)) for size in {*PNG_SIZES, *ICO_SIZES}}
    for size in PNG_SIZES:
        path = out / f"twoway-{size}.png"
        path.write_bytes(full[size])
        _check(path, b"png", {size})
    ico = out / "twoway.ico"
    ico.write_bytes(ico_bytes((size, full[size]) for size in ICO_SIZES))
    _check(ico, b"ico", set(ICO_SIZES))

    mac = {size: png_bytes(render(renderer, size, MACOS_BODY)) for _, size in ICNS_TYPES}
    icns = out / "twoway.icns"
    icns.write_bytes(icns_bytes((kind, mac[size]) for kind, size in ICNS_TYPES))
    _check(icns, b"icns", {size for _, size in ICNS_TYPES})

    for path in sorted(out.glob("twoway*.*")):
        print(f"{path.relative_to(out.parent.parent)}: {path.stat().st_size} bytes")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
