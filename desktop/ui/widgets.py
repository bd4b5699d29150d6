"""Small painted building blocks, used instead of style sheets.

Style sheets re-polish a widget's whole subtree and cost milliseconds each, which shows
on the first paint; these widgets paint their own background and borders from the
theme, and :func:`tint` colours text through the palette.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, QRectF, Qt
from PySide6.QtGui import QColor, QContextMenuEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QAbstractItemView, QFrame, QSplitter, QSplitterHandle, QWidget

from desktop.ui import theme as theme_module
from desktop.ui.metrics import EMPTY_THREAD_TEXT as EMPTY_THREAD_TEXT


def tint(widget: QWidget, text: QColor | None = None, background: QColor | None = None) -> None:
    """Set a widget's text and/or background colour through its palette."""
    palette = widget.palette()
    if text is not None:
        for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text):
            palette.setColor(role, text)
    if background is not None:
        for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base):
            palette.setColor(role, background)
        widget.setAutoFillBackground(True)
    widget.setPalette(palette)


class Surface(QFrame):
    """A frame that fills itself and draws chosen edges (or a rounded outline)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fill: QColor | None = None
        self.border: QColor | None = None
        self.edges: tuple[bool, bool, bool, bool] = (False, False, False, False)  # t, r, b, l
        self.radius = 0.0

    def style_surface(
        self,
        fill: QColor | None,
        border: QColor | None = None,
        *,
        top: bool = False,
        right: bool = False,
        bottom: bool = False,
        left: bool = False,
        radius: float = 0.0,
    ) -> None:
        self.fill, self.border, self.radius = fill, border, radius
        self.edges = (top, right, bottom, left)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        area = QRectF(self.rect())
        if self.radius:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(self.border, 1) if self.border else Qt.PenStyle.NoPen)
            painter.setBrush(self.fill if self.fill else Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(area.adjusted(0.5, 0.5, -0.5, -0.5), self.radius, self.radius)
            return
        if self.fill is not None:
            painter.fillRect(self.rect(), self.fill)
        if self.border is not None:
            painter.setPen(QPen(self.border, 1))
            top, right, bottom, left = self.edges
            r = self.rect()
            if top:
                painter.drawLine(r.topLeft(), r.topRight())
            if right:
                painter.drawLine(r.topRight(), r.bottomRight())
            if bottom:
                painter.drawLine(r.bottomLeft(), r.bottomRight())
            if left:
                painter.drawLine(r.topLeft(), r.bottomLeft())


class _LineHandle(QSplitterHandle):
    def paintEvent(self, event: QPaintEvent) -> None:
        QPainter(self).fillRect(self.rect(), theme_module.current().separator)


class LineSplitter(QSplitter):
    """A splitter whose handle is a thin line in the theme's separator colour."""

    def createHandle(self) -> QSplitterHandle:
        return _LineHandle(self.orientation(), self)


def paint_empty_hint(view: QAbstractItemView, text: str, margin: int) -> None:
    """Centred grey text over an empty list (call after the view painted itself)."""
    painter = QPainter(view.viewport())
    painter.setPen(theme_module.current().secondary_text)
    painter.drawText(
        view.viewport().rect().adjusted(margin, 0, -margin, 0),
        Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
        text,
    )
    painter.end()


def menu_position(view: QAbstractItemView, event: QContextMenuEvent, index: QModelIndex) -> QPoint:
    """Where a context menu opens: at the mouse, or on the item when opened by keyboard."""
    if event.reason() == QContextMenuEvent.Reason.Mouse:
        return event.globalPos()
    return view.viewport().mapToGlobal(view.visualRect(index).center())
