"""Thumbnails for picture messages, made off the GUI thread with Qt's image readers.

Decoding is where a hostile picture hurts: a small file can declare a gigantic canvas
(a "decompression bomb").  We read the declared size first, refuse anything beyond
:data:`MAX_PIXELS`, and also cap Qt's allocation, then decode straight to thumbnail size.
QImage and QImageReader are safe to use from worker threads without a QApplication.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from PySide6.QtCore import QBuffer, QIODevice, QSize, Qt
from PySide6.QtGui import QImage, QImageReader

logger = logging.getLogger(__name__)

THUMBNAIL_EDGE: Final = 480
MAX_PIXELS: Final = 40_000_000
ALLOCATION_LIMIT_MB: Final = 256


class ImageRefused(Exception):
    """Not decodable, or too large to decode safely."""


@dataclass(frozen=True)
class Thumbnail:
    path: Path
    width: int
    height: int


def make_thumbnail(source: Path, dest: Path, edge: int = THUMBNAIL_EDGE) -> Thumbnail:
    """Write a JPEG (or PNG when transparent) no larger than ``edge`` pixels; return the size of
    the original picture."""
    reader = QImageReader(str(source))
    reader.setAllocationLimit(ALLOCATION_LIMIT_MB)
    reader.setAutoTransform(True)
    size = reader.size()
    if not size.isValid() or size.width() <= 0 or size.height() <= 0:
        raise ImageRefused(f"not a picture Twoway can show ({reader.errorString()})")
    if size.width() * size.height() > MAX_PIXELS:
        raise ImageRefused(f"the picture is too large to show ({size.width()}×{size.height()})")
    scaled = size.scaled(QSize(edge, edge), Qt.AspectRatioMode.KeepAspectRatio)
    if size.width() > edge or size.height() > edge:
        reader.setScaledSize(scaled)
    image: QImage = reader.read()
    if image.isNull():
        raise ImageRefused(f"the picture could not be decoded ({reader.errorString()})")
    if image.width() > edge or image.height() > edge:
        image = image.scaled(
            edge,
            edge,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    transparent = image.hasAlphaChannel()
    fmt = "PNG" if transparent else "JPEG"
    target = dest.with_suffix(".png" if transparent else ".jpg")
    # Encoded in memory and written by Python, so a full disk is an OSError saying so
    # (retried), not an anonymous "could not be written" (refused for good).
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # PySide6's stubs say bytes for the format, but only str works at run time.
    if not image.save(buffer, fmt, 85):  # type: ignore[call-overload]
        raise ImageRefused("the thumbnail could not be encoded")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    try:
        partial.write_bytes(bytes(buffer.data().data()))
        partial.replace(target)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    return Thumbnail(target, size.width(), size.height())
