"""Paints one conversation row: avatar, name, time, snippet, unread badge, opted-out tag.

Every row has the same height (the list uses uniform item sizes, so 2,000 rows lay out
in constant time) and nothing here allocates per row beyond the strings it draws.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QCursor,
    QFont,
    QFontMetrics,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QAbstractItemView, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop.domain.status import is_failure
from desktop.ui import theme as theme_module
from desktop.ui.conversation_model import ConversationListModel
from desktop.ui.formatting import list_time
from desktop.ui.metrics import AVATAR, GAP, PAD_X, PAD_Y, initials


class Fonts:
    """The handful of fonts a row uses, derived from the view's font."""

    def __init__(self, base: QFont) -> None:
        self.key = base.key()
        self.name = QFont(base)
        self.name.setWeight(QFont.Weight.DemiBold)
        self.name_unread = QFont(base)
        self.name_unread.setWeight(QFont.Weight.Bold)
        self.body = QFont(base)
        self.small = QFont(base)
        self.small.setPointSizeF(max(7.0, base.pointSizeF() * 0.86))
        self.badge = QFont(self.small)
        self.badge.setWeight(QFont.Weight.Bold)
        self.avatar = QFont(base)
        self.avatar.setWeight(QFont.Weight.DemiBold)
        self.avatar.setPointSizeF(base.pointSizeF() * 1.05)
        self.line = QFontMetrics(self.name).height()
        self.small_line = QFontMetrics(self.small).height()


def draw_person(painter: QPainter, rect: QRectF, color: QColor) -> None:
    """A head-and-shoulders glyph for contacts without a name."""
    painter.setBrush(color)
    painter.setPen(Qt.PenStyle.NoPen)
    w = rect.width()
    painter.drawEllipse(QPointF(rect.center().x(), rect.top() + w * 0.38), w * 0.17, w * 0.17)
    shoulders = QPainterPath()
    shoulders.addEllipse(
        QRectF(rect.center().x() - w * 0.3, rect.top() + w * 0.62, w * 0.6, w * 0.46)
    )
    clip = QPainterPath()
    clip.addEllipse(rect)
    painter.drawPath(shoulders.intersected(clip))


class ConversationDelegate(QStyledItemDelegate):
    def __init__(self, model: ConversationListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._fonts: Fonts | None = None
        self._avatars: dict[tuple[int, str, str, float], QPixmap] = {}
        self._now_ms = int(time.time() * 1000)

    def _avatar(self, color: QColor, letters: str, fonts: Fonts, dpr: float) -> QPixmap:
        """A round avatar, drawn once per colour, initials and screen scale."""
        key = (color.rgb(), letters, fonts.key, dpr)
        pixmap = self._avatars.get(key)
        if pixmap is None:
            pixmap = QPixmap(round(AVATAR * dpr), round(AVATAR * dpr))
            pixmap.setDevicePixelRatio(dpr)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            area = QRectF(0, 0, AVATAR, AVATAR)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawEllipse(area)
            if letters:
                painter.setFont(fonts.avatar)
                painter.setPen(QColor("#ffffff"))
                painter.drawText(area, Qt.AlignmentFlag.AlignCenter, letters)
            else:
                draw_person(painter, area, QColor(255, 255, 255, 230))
            painter.end()
            if len(self._avatars) > 2000:
                self._avatars.clear()
            self._avatars[key] = pixmap
        return pixmap

    def _state(self, index: QModelIndex | QPersistentModelIndex) -> tuple[bool, bool, bool]:
        """Selected, under the mouse, focused — read from the view, not ``option.state``.

        Reading ``option.state`` makes PySide build Python enums for all of ``QStyle``
        (~15 ms), which would land on the path to the first paint.
        """
        view = self.parent()
        if not isinstance(view, QAbstractItemView):
            return (False, False, False)
        selection = view.selectionModel()
        selected = selection is not None and selection.isSelected(index)
        viewport = view.viewport()
        hovered = (
            viewport.underMouse() and view.indexAt(viewport.mapFromGlobal(QCursor.pos())) == index
        )
        focused = view.hasFocus() and view.isActiveWindow() and view.currentIndex() == index
        return (selected, hovered, focused)

    def tick(self) -> None:
        """Relative times ("Yesterday") are computed against this clock; refresh it."""
        self._now_ms = int(time.time() * 1000)

    def _fonts_for(self, base: QFont) -> Fonts:
        if self._fonts is None or self._fonts.key != base.key():
            self._fonts = Fonts(base)
        return self._fonts

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        fonts = self._fonts_for(option.font)
        height = PAD_Y * 2 + fonts.line + 3 + fonts.line
        if self._model.several_numbers:
            height += fonts.small_line + 1
        return QSize(200, max(height, AVATAR + PAD_Y * 2))

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if not index.isValid():
            return
        t = theme_module.current()
        row = self._model.row_at(index.row())
        fonts = self._fonts_for(option.font)
        rect: QRect = option.rect
        selected, hovered, focused = self._state(index)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)

        card = QRectF(rect).adjusted(6, 2, -6, -2)
        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(t.selection)
            painter.drawRoundedRect(card, 10, 10)
        elif hovered:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(t.hover)
            painter.drawRoundedRect(card, 10, 10)
        if focused:
            painter.setPen(QPen(t.accent, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(card.adjusted(0.75, 0.75, -0.75, -0.75), 10, 10)

        title = self._model.title(row)
        avatar = QRectF(rect.left() + PAD_X, rect.center().y() - AVATAR / 2 + 0.5, AVATAR, AVATAR)
        painter.drawPixmap(
            avatar.topLeft(),
            self._avatar(
                t.avatar_color(row.contact_number),
                initials(row.contact_name),
                fonts,
                painter.device().devicePixelRatioF(),
            ),
        )

        left = int(avatar.right()) + GAP
        right = rect.right() - PAD_X
        unread = row.unread_count > 0
        top = rect.top() + PAD_Y
        if self._model.several_numbers:
            top -= 1

        # Line 1: name and time.
        when = list_time(row.last_message_at, self._now_ms)
        painter.setFont(fonts.small)
        small_metrics = painter.fontMetrics()
        when_width = small_metrics.horizontalAdvance(when)
        painter.setPen(t.accent if unread else t.secondary_text)
        line1 = QRect(left, top, right - left, fonts.line)
        painter.drawText(line1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, when)
        painter.setFont(fonts.name_unread if unread else fonts.name)
        painter.setPen(t.text)
        name_width = right - left - when_width - 8
        painter.drawText(
            QRect(left, top, name_width, fonts.line),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, name_width),
        )

        # Line 2: snippet, then badge / opted-out tag on the right.
        top2 = top + fonts.line + 3
        tag_right = right
        if unread:
            tag_right = self._draw_badge(painter, fonts, t, right, top2, row.unread_count)
        if row.opted_out:
            tag_right = self._draw_tag(painter, fonts, t, tag_right, top2, "Opted out")
        snippet = row.snippet or ""
        prefix = ""
        snippet_color = t.text if unread else t.secondary_text
        if row.last_direction == "outbound":
            prefix = self._model.snippet_prefix(row)  # "You: ", or a colleague's name
            if is_failure(row.last_status):
                prefix = "Not delivered: "
                snippet_color = t.danger
        painter.setFont(fonts.body)
        painter.setPen(snippet_color)
        width = tag_right - left - 6
        painter.drawText(
            QRect(left, top2, width, fonts.line),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(prefix + snippet, Qt.TextElideMode.ElideRight, width),
        )

        # Line 3 (only with several numbers): which of our numbers.
        if self._model.several_numbers:
            painter.setFont(fonts.small)
            painter.setPen(t.secondary_text)
            painter.drawText(
                QRect(left, top2 + fonts.line + 1, right - left, fonts.small_line),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                f"To {self._model.numbers(row.our_number)}",
            )
        painter.restore()

    @staticmethod
    def _draw_badge(
        painter: QPainter, fonts: Fonts, t: theme_module.Theme, right: int, top: int, count: int
    ) -> int:
        text = "99+" if count > 99 else str(count)
        painter.setFont(fonts.badge)
        metrics = painter.fontMetrics()
        height = metrics.height() + 2
        width = max(height, metrics.horizontalAdvance(text) + 12)
        y = top + (fonts.line - height) / 2
        pill = QRectF(right - width, y, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(t.accent)
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setPen(t.accent_text)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
        return int(pill.left()) - 6

    @staticmethod
    def _draw_tag(
        painter: QPainter, fonts: Fonts, t: theme_module.Theme, right: int, top: int, text: str
    ) -> int:
        painter.setFont(fonts.small)
        metrics = painter.fontMetrics()
        height = metrics.height() + 2
        width = metrics.horizontalAdvance(text) + 12
        y = top + (fonts.line - height) / 2
        pill = QRectF(right - width, y, width, height)
        painter.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        painter.setPen(QPen(t.danger, 1))
        painter.drawRoundedRect(pill.adjusted(0.5, 0.5, -0.5, -0.5), height / 2, height / 2)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
        return int(pill.left()) - 6
