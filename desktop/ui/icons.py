"""Line icons drawn from small SVG sources in the theme's colours, crisp at any scale.

The sources live here rather than as files so the frozen app cannot lose them and so a
colour-scheme change only needs new colours, not new files.  Each icon renders on
demand at the exact device pixel ratio asked for (no blurry upscaled bitmaps).
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Final

from PySide6.QtCore import QByteArray, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

_PATHS: Final[dict[str, str]] = {
    "send": '<path d="M21 3 3.5 10.2l7 3.3 3.3 7z"/><path d="M21 3 10.5 13.5"/>',
    "picture": (
        '<rect x="3" y="4.5" width="18" height="15" rx="2.5"/>'
        '<circle cx="8.5" cy="9.5" r="1.7"/><path d="M20.5 15.5 15.5 10.5 5 19.5"/>'
    ),
    "compose": '<path d="M4 5.5h16v11H9.5L5 20v-3.5H4z"/><path d="M12 8.2v5.6M9.2 11h5.6"/>',
    "search": '<circle cx="10.5" cy="10.5" r="6.2"/><path d="m15.2 15.2 5 5"/>',
    "settings": (
        '<path d="M4 7h8.5M17.5 7H20M4 17h2.5M11.5 17H20"/>'
        '<circle cx="15" cy="7" r="2.3"/><circle cx="9" cy="17" r="2.3"/>'
    ),
    "close": '<path d="m6.5 6.5 11 11M17.5 6.5l-11 11"/>',
    "retry": '<path d="M19.5 12a7.5 7.5 0 1 1-2.2-5.3"/><path d="M19.5 4v4.5H15"/>',
    "file": '<path d="M13.5 3H6.5v18h11V7z"/><path d="M13.5 3v4h4"/>',
    "rename": '<path d="M4.5 19.5h3.8L19 8.8 15.2 5 4.5 15.7z"/><path d="m13.3 6.9 3.8 3.8"/>',
    "warning": '<path d="M12 4 2.8 19.5h18.4z"/><path d="M12 10v4.2M12 16.8v.4"/>',
    "down": '<path d="M12 5v13.5M6.5 13l5.5 5.5 5.5-5.5"/>',
    "save": '<path d="M12 4v10.5M7.5 10l4.5 4.5 4.5-4.5M5 19.5h14"/>',
    "open": '<path d="M14 4h6v6M20 4l-8.5 8.5M18 14v5.5H4.5V6H10"/>',
    "menu": '<circle cx="12" cy="6" r=".6"/><circle cx="12" cy="12" r=".6"/>'
    '<circle cx="12" cy="18" r=".6"/>',
}


def _svg(name: str, color: QColor) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" '
        f'stroke="{color.name()}" stroke-opacity="{color.alphaF():.2f}" stroke-width="1.8" '
        'stroke-linecap="round" '
        f'stroke-linejoin="round">{_PATHS[name]}</svg>'
    ).encode()


class _SvgEngine(QIconEngine):
    def __init__(self, normal: bytes, disabled: bytes) -> None:
        super().__init__()
        self._sources = (normal, disabled)
        self._normal = QSvgRenderer(QByteArray(normal))
        self._disabled = QSvgRenderer(QByteArray(disabled))
        self._pixmaps: dict[tuple[int, int, bool, float], QPixmap] = {}

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        side = min(rect.width(), rect.height())
        device = painter.device()
        scale = device.devicePixelRatioF() if device is not None else 1.0
        pixmap = self.scaledPixmap(QSize(side, side), mode, state, scale)
        painter.drawPixmap(
            QRect(
                rect.x() + (rect.width() - side) // 2,
                rect.y() + (rect.height() - side) // 2,
                side,
                side,
            ),
            pixmap,
        )

    def _render(self, painter: QPainter, rect: QRect, mode: QIcon.Mode) -> None:
        renderer = self._disabled if mode == QIcon.Mode.Disabled else self._normal
        renderer.render(painter, QRectF(rect))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(
        self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float
    ) -> QPixmap:
        key = (size.width(), size.height(), mode == QIcon.Mode.Disabled, scale)
        cached = self._pixmaps.get(key)
        if cached is not None:
            return cached
        pixmap = QPixmap(size * scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._render(painter, QRect(QPoint(0, 0), pixmap.size()), mode)
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        if len(self._pixmaps) < 32:
            self._pixmaps[key] = pixmap
        return pixmap

    def clone(self) -> QIconEngine:
        return _SvgEngine(*self._sources)


@cache
def _icon(name: str, color: str, disabled: str) -> QIcon:
    return QIcon(_SvgEngine(_svg(name, QColor(color)), _svg(name, QColor(disabled))))


def icon(name: str, color: QColor, disabled: QColor | None = None) -> QIcon:
    """A line icon ``name`` (see ``_PATHS``) drawn in ``color``."""
    faded = disabled if disabled is not None else QColor(color.red(), color.green(), color.blue())
    if disabled is None:
        faded.setAlphaF(0.35)
    return _icon(name, color.name(QColor.NameFormat.HexArgb), faded.name(QColor.NameFormat.HexArgb))


def resources_dir() -> Path:
    """``resources/`` next to the package, or inside a frozen app's bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def app_icon() -> QIcon:
    path = resources_dir() / "icons" / "twoway.svg"
    if path.exists():
        return QIcon(str(path))
    return icon("compose", QColor("#1f6fe5"))
