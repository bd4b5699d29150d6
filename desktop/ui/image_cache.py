"""Thumbnails for the thread view: decoded off the GUI thread, kept as ready-to-draw pixmaps.

Painting asks :meth:`ImageCache.get` for a picture at the size it will be drawn; the first
ask starts a background decode (already scaled for the screen's pixel ratio) and returns
None, so the delegate draws a placeholder; ``loaded`` tells the view to repaint.  A file
that cannot be decoded is remembered as failed until :meth:`retry`.  Memory is bounded:
least recently drawn pixmaps are dropped past ``limit_bytes``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

from desktop.ui.lru import LruDict
from desktop.ui.tasks import run_in_background

logger = logging.getLogger(__name__)

DEFAULT_LIMIT_BYTES: Final = 64 * 1024 * 1024
MAX_PIXELS: Final = 40_000_000
ALLOCATION_LIMIT_MB: Final = 256
#: Pictures remembered as undecodable (so a broken file is not decoded on every paint).
FAILED_KEPT: Final = 1000

Key = tuple[str, int, int]


class ImageFailed:
    """Marker returned by :meth:`ImageCache.get` for a picture that could not be shown."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def decode(path: Path, target: QSize) -> QImage:
    """Read ``path`` scaled to cover ``target`` device pixels (never enlarged); any thread."""
    reader = QImageReader(str(path))
    reader.setAllocationLimit(ALLOCATION_LIMIT_MB)
    reader.setAutoTransform(True)
    size = reader.size()
    if not size.isValid() or size.width() <= 0 or size.height() <= 0:
        raise ValueError(reader.errorString() or "not a picture")
    if size.width() * size.height() > MAX_PIXELS:
        raise ValueError("the picture is too large to show")
    if target.isValid() and (size.width() > target.width() or size.height() > target.height()):
        reader.setScaledSize(
            size.scaled(target, Qt.AspectRatioMode.KeepAspectRatioByExpanding).boundedTo(size)
        )
    image = reader.read()
    if image.isNull():
        raise ValueError(reader.errorString() or "the picture could not be decoded")
    return image


class ImageCache(QObject):
    """Signals: ``loaded(str)`` — a picture for that path is ready (or failed)."""

    loaded = Signal(str)

    def __init__(self, limit_bytes: int = DEFAULT_LIMIT_BYTES, parent: QObject | None = None):
        super().__init__(parent)
        self._limit = limit_bytes
        self._pixmaps: OrderedDict[Key, tuple[QPixmap, int]] = OrderedDict()
        self._bytes = 0
        self._pending: set[Key] = set()
        self._failed: LruDict[str, str] = LruDict(FAILED_KEPT)

    def get(self, path: Path, size: QSize, dpr: float) -> QPixmap | ImageFailed | None:
        """The picture at ``path`` covering ``size`` logical pixels, or None while loading."""
        name = str(path)
        failure = self._failed.get(name)
        if failure is not None:
            return ImageFailed(failure)
        target = QSize(max(1, round(size.width() * dpr)), max(1, round(size.height() * dpr)))
        key = (name, target.width(), target.height())
        entry = self._pixmaps.get(key)
        if entry is not None:
            self._pixmaps.move_to_end(key)
            return entry[0]
        if key not in self._pending:
            self._pending.add(key)
            run_in_background(
                lambda: decode(path, target),
                lambda image: self._store(key, image, dpr),
                lambda exc: self._fail(key, exc),
                context=self,
            )
        return None

    def retry(self, path: Path) -> None:
        name = str(path)
        self._failed.pop(name)
        for key in [k for k in self._pixmaps if k[0] == name]:
            self._drop(key)
        self.loaded.emit(name)

    def clear(self) -> None:
        self._pixmaps.clear()
        self._bytes = 0
        self._failed.clear()

    @property
    def used_bytes(self) -> int:
        return self._bytes

    def _store(self, key: Key, image: QImage, dpr: float) -> None:
        self._pending.discard(key)
        pixmap = QPixmap.fromImage(image)
        pixmap.setDevicePixelRatio(dpr)
        size = image.sizeInBytes()
        self._pixmaps[key] = (pixmap, size)
        self._bytes += size
        while self._bytes > self._limit and len(self._pixmaps) > 1:
            self._drop(next(iter(self._pixmaps)))
        self.loaded.emit(key[0])

    def _fail(self, key: Key, exc: BaseException) -> None:
        self._pending.discard(key)
        logger.info("Could not show picture %s: %s", Path(key[0]).name, exc)
        self._failed[key[0]] = str(exc) or "the picture could not be read"
        self.loaded.emit(key[0])

    def _drop(self, key: Key) -> None:
        entry = self._pixmaps.pop(key, None)
        if entry is not None:
            self._bytes -= entry[1]
