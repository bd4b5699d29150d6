"""Lays out and paints message bubbles; also answers "what is under the mouse here?".

Geometry is computed from the message alone (never from a picture still loading), so a
bubble keeps its height while its thumbnail arrives and the list never jumps.  Heights
are cached per message version and bubble width: scrolling and live updates re-use them,
and only a resize to a different bubble width measures text again.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Final

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QPainter,
    QPainterPath,
    QPen,
    QTextLayout,
)
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desktop.store.queries import MediaRow, MessageRow
from desktop.ui import theme as theme_module
from desktop.ui.bubble_geometry import (
    MEDIA_GAP,
    MEDIA_PAD,
    PAD_X,
    PAD_Y,
    RADIUS,
    ROW_MARGIN,
    ROW_PAD_X,
    TAIL_RADIUS,
    Fonts,
    Geometry,
    Hit,
    MediaBox,
    bubble_width_limit,
    media_size,
    rounded_path,
    text_extent,
    wrap_text,
)
from desktop.ui.formatting import day_label, full_timestamp, local_date, time_of
from desktop.ui.icons import icon
from desktop.ui.image_cache import ImageCache, ImageFailed
from desktop.ui.lru import LruDict
from desktop.ui.thread_model import MAX_LOADED, ThreadItem, ThreadModel
from desktop.ui.thread_status import (
    failure_reason,
    is_failed,
    retry_label,
    sender_label,
    status_label,
)

#: Measurements kept: the loaded window twice over (a resize measures at a new width).
SIZE_CACHE: Final = 2 * MAX_LOADED
#: A sender's name in a bubble's footer is cut to this width (names may be 40 characters).
SENDER_MAX_W: Final = 140


class ThreadDelegate(QStyledItemDelegate):
    def __init__(
        self,
        view: QListView,
        model: ThreadModel,
        images: ImageCache,
        media_paths: Callable[[MessageRow, MediaRow], tuple[Path | None, Path | None]],
        explain_code: Callable[[int | None], str],
    ) -> None:
        super().__init__(view)
        self._view = view
        self._model = model
        self._images = images
        self._media_paths = media_paths
        self._explain = explain_code
        self._fonts: Fonts | None = None
        # Bounded: a few loaded windows' worth (the model holds at most MAX_LOADED rows).
        self._heights: LruDict[int, tuple[tuple[int, bool, int], int]] = LruDict(SIZE_CACHE)
        self._text_sizes: LruDict[tuple[int, int], tuple[int, int]] = LruDict(SIZE_CACHE)
        self._layouts: OrderedDict[tuple[int, int, str], QTextLayout] = OrderedDict()
        self._today = dt.date.today()
        self._limit_memo = (-1, 0)
        #: Sender names as drawn (elided once per name, not on every paint).
        self._senders: dict[str, str] = {}

    def tick(self) -> None:
        self._today = dt.date.today()

    def forget(self) -> None:
        """Drop every cached measurement (font change, new conversation)."""
        self._heights.clear()
        self._text_sizes.clear()
        self._layouts.clear()
        self._senders.clear()

    def fonts(self) -> Fonts:
        if self._fonts is None:
            self._fonts = Fonts(self._view.font())
        return self._fonts

    def font_changed(self) -> None:
        """The view's font changed (system font, zoom): measure everything again."""
        self._fonts = None
        self.forget()

    # -- measuring ------------------------------------------------------------------------

    def _text_size(self, message: MessageRow, width: int) -> tuple[int, int]:
        key = (message.id, width)
        size = self._text_sizes.get(key)
        if size is None:
            size = self._single_line(message.body, width)
            if size is None:
                size = text_extent(self._layout(message, width))
            self._text_sizes[key] = size
        return size

    def _single_line(self, body: str, width: int) -> tuple[int, int] | None:
        """Most texts are one short line: measured without a text layout (much cheaper)."""
        if "\n" in body or "\r" in body or len(body) > 200:
            return None
        metrics = self.fonts().body_metrics
        advance = metrics.horizontalAdvance(body)
        if advance > width:
            return None
        return advance + 1, metrics.height()

    def limit(self) -> int:
        """The bubble width limit, from the view's width as if its scroll bar showed, so
        the scroll bar appearing does not re-measure every bubble."""
        view = self._view
        width = view.width()
        if self._limit_memo[0] != width:
            extent = view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, view)
            self._limit_memo = (width, bubble_width_limit(width - 2 * view.frameWidth() - extent))
        return self._limit_memo[1]

    def _layout(self, message: MessageRow, width: int) -> QTextLayout:
        key = (message.id, width, message.body)  # a scheduled text's body can be edited
        layout = self._layouts.get(key)
        if layout is None:
            layout = wrap_text(message.body, self.fonts().body, width)
            self._layouts[key] = layout
            if len(self._layouts) > 300:
                self._layouts.popitem(last=False)
        else:
            self._layouts.move_to_end(key)
        return layout

    def _sender(self, name: str) -> str:
        shown = self._senders.get(name)
        if shown is None:
            if len(self._senders) > 64:
                self._senders.clear()
            metrics = self.fonts().small_metrics
            shown = metrics.elidedText(name, Qt.TextElideMode.ElideRight, SENDER_MAX_W)
            self._senders[name] = shown
        return shown

    def footer_text(self, message: MessageRow) -> str:
        parts = [time_of(message.created_at)]
        if message.direction == "outbound":
            sender = sender_label(message, self._model.team_name)
            if sender:
                parts.insert(0, self._sender(sender))
            label, _tone = status_label(message)
            if label:
                parts.append(label)
        else:
            place = message.from_geo.describe()
            if place:
                parts.append(place)
        return " · ".join(parts)

    def geometry(self, item: ThreadItem, view_width: int) -> Geometry:
        fonts = self.fonts()
        message = item.message
        outbound = message.direction == "outbound"
        limit = self.limit()
        y = ROW_MARGIN
        separator = None
        if item.starts_day:
            separator = QRect(0, y, view_width, fonts.separator_h)
            y += fonts.separator_h

        boxes = self._boxes(message, limit)
        media_w = max((s.width() for s, _ in boxes), default=0)
        text_width = self._text_width(message, limit)
        text_w, text_h = self._text_size(message, text_width) if message.body else (0, 0)
        footer = self.footer_text(message)
        footer_w = fonts.small_metrics.horizontalAdvance(footer) + 1
        width = max(text_w + 2 * PAD_X, footer_w + 2 * PAD_X, 64)
        if boxes:
            width = max(width, media_w + 2 * MEDIA_PAD)
        width = min(width, limit)
        x = view_width - ROW_PAD_X - width if outbound else ROW_PAD_X

        top = 0
        media: list[MediaBox] = []
        if boxes:
            top = MEDIA_PAD
            for index, (size, kind) in enumerate(boxes):
                left = x + (width - size.width()) // 2 if kind == "picture" else x + MEDIA_PAD
                box_w = size.width() if kind == "picture" else width - 2 * MEDIA_PAD
                media.append(MediaBox(index, QRect(left, y + top, box_w, size.height()), kind))
                top += size.height() + MEDIA_GAP
            top -= MEDIA_GAP
        text_rect = None
        if message.body:
            top += PAD_Y if not boxes else PAD_Y - 1
            text_rect = QRect(x + PAD_X, y + top, text_w, text_h)
            top += text_h
        top += 2 if message.body else 4
        footer_rect = QRect(x + width - PAD_X - footer_w, y + top, footer_w, fonts.small_line)
        top += fonts.small_line + PAD_Y - 1
        bubble = QRect(x, y, width, top)
        y += top

        failure = retry = None
        if outbound and is_failed(message):
            reason = f"Not delivered: {failure_reason(message, self._explain)}"
            bound = fonts.small_metrics.boundingRect(
                QRect(0, 0, limit, 10_000), Qt.TextFlag.TextWordWrap, reason
            )
            y += 4
            failure = QRect(
                view_width - ROW_PAD_X - bound.width(), y, bound.width(), bound.height()
            )
            y += bound.height() + 2
            label = retry_label(message)
            label_w = QFontMetrics(fonts.small_bold).horizontalAdvance(label) + 22
            retry = QRect(view_width - ROW_PAD_X - label_w, y, label_w, fonts.small_line + 6)
            y += retry.height()
        y += ROW_MARGIN
        return Geometry(y, separator, bubble, text_rect, media, footer_rect, failure, retry)

    @staticmethod
    def _boxes(message: MessageRow, limit: int) -> list[tuple[QSize, str]]:
        outbound = message.direction == "outbound"
        return [media_size(m, limit - 2 * MEDIA_PAD, outbound) for m in message.media]

    def _text_width(self, message: MessageRow, limit: int) -> int:
        """How wide the text may wrap: a caption wraps to its picture, like in messengers."""
        if not message.media:
            return limit - 2 * PAD_X
        media_w = max(s.width() for s, _ in self._boxes(message, limit)) + 2 * MEDIA_PAD
        return max(min(limit, media_w), 200) - 2 * PAD_X

    def height_for(self, row: int, view_width: int) -> int:
        return self.measure(self._model.item(row), view_width)

    def measure(self, item: ThreadItem, view_width: int) -> int:
        """The row height of ``item`` (cached; also used to measure a page before it is
        shown, so showing it costs no measuring)."""
        key = (item.version, item.starts_day, self.limit())
        cached = self._heights.get(item.message.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        height = self.geometry(item, view_width).height
        self._heights[item.message.id] = (key, height)
        return height

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        width = self._view.viewport().width()
        return QSize(width, self.height_for(index.row(), width))

    # -- hit testing ----------------------------------------------------------------------

    def hit(self, row: int, rect: QRect, pos: QPoint) -> Hit | None:
        item = self._model.item(row)
        geo = self.geometry(item, rect.width())
        local = pos - rect.topLeft()
        if geo.retry is not None and geo.retry.contains(local):
            return Hit("retry")
        for box in geo.media:
            if box.rect.contains(local):
                if box.kind == "picture":
                    preview, _full = self._media_paths(item.message, item.message.media[box.index])
                    if preview is not None and isinstance(
                        self._images.get(preview, box.rect.size(), self._dpr()), ImageFailed
                    ):
                        return Hit("media_retry", box.index)
                    return Hit("picture", box.index)
                if box.kind == "failed":
                    return Hit("media_retry", box.index)
                if box.kind == "file":
                    return Hit("file", box.index)
        return None

    def tooltip(self, row: int, rect: QRect, pos: QPoint) -> str:
        item = self._model.item(row)
        message = item.message
        geo = self.geometry(item, rect.width())
        local = pos - rect.topLeft()
        when = full_timestamp(message.created_at)
        if geo.failure is not None and (geo.failure.contains(local) or geo.footer.contains(local)):
            return failure_reason(message, self._explain)
        for box in geo.media:
            if box.rect.contains(local):
                media = message.media[box.index]
                if box.kind in ("failed", "refused"):
                    return media.last_error or "The picture could not be downloaded."
                return "Open the picture" if box.kind == "picture" else "Open the file"
        if geo.retry is not None and geo.retry.contains(local):
            return "Try sending this message again"
        return when

    def _dpr(self) -> float:
        return float(self._view.devicePixelRatioF())

    # -- painting -------------------------------------------------------------------------

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if not index.isValid():
            return
        t = theme_module.current()
        fonts = self.fonts()
        rect: QRect = option.rect
        item = self._model.item(index.row())
        message = item.message
        outbound = message.direction == "outbound"
        geo = self.geometry(item, rect.width())
        painter.save()
        painter.translate(rect.topLeft())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)

        if geo.separator is not None:
            self._paint_separator(painter, fonts, t, geo.separator, message.created_at)

        bubble = QRectF(geo.bubble)
        radii = (
            (RADIUS, RADIUS, TAIL_RADIUS, RADIUS)
            if outbound
            else (RADIUS, RADIUS, RADIUS, TAIL_RADIUS)
        )
        path = rounded_path(bubble, radii)
        if self._model.highlight_id == message.id:
            painter.setPen(QPen(t.highlight, 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            grown = (radii[0] + 3, radii[1] + 3, radii[2] + 3, radii[3] + 3)
            painter.drawPath(rounded_path(bubble.adjusted(-3, -3, 3, 3), grown))
        painter.setPen(Qt.PenStyle.NoPen if outbound or t.dark else QPen(t.separator, 1))
        painter.setBrush(t.outgoing_bubble if outbound else t.incoming_bubble)
        painter.drawPath(path)
        state = option.state
        if state & QStyle.StateFlag.State_HasFocus and self._view.hasFocus():
            painter.setPen(QPen(t.accent if not outbound else t.text, 1.5, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(rounded_path(bubble.adjusted(-2.5, -2.5, 2.5, 2.5), radii))

        for box in geo.media:
            self._paint_media(painter, fonts, t, message, box, outbound)

        text_color = t.outgoing_text if outbound else t.incoming_text
        if geo.text is not None:
            painter.setPen(text_color)
            width = self._text_width(message, self.limit())
            if self._single_line(message.body, width) is not None:
                painter.setFont(fonts.body)
                painter.drawText(
                    QRectF(geo.text).adjusted(0, 0, 2, 0),
                    Qt.AlignmentFlag.AlignLeft
                    | Qt.AlignmentFlag.AlignTop
                    | Qt.TextFlag.TextSingleLine,
                    message.body,
                )
            else:
                self._layout(message, width).draw(painter, QPointF(geo.text.topLeft()))

        painter.setFont(fonts.small)
        secondary = t.outgoing_secondary if outbound else t.incoming_secondary
        _label, tone = status_label(message) if outbound else ("", "")
        painter.setPen(QColor("#ffd7d4") if tone == "danger" and outbound else secondary)
        painter.drawText(geo.footer, Qt.AlignmentFlag.AlignRight, self.footer_text(message))

        if geo.failure is not None and geo.retry is not None:
            painter.setPen(t.danger)
            painter.drawText(
                geo.failure,
                Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignRight,
                f"Not delivered: {failure_reason(message, self._explain)}",
            )
            retry = QRectF(geo.retry)
            painter.setPen(QPen(t.accent, 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(
                retry.adjusted(0.5, 0.5, -0.5, -0.5), retry.height() / 2, retry.height() / 2
            )
            painter.setFont(fonts.small_bold)
            painter.setPen(t.accent)
            painter.drawText(retry, Qt.AlignmentFlag.AlignCenter, retry_label(message))
        painter.restore()

    def _paint_separator(
        self, painter: QPainter, fonts: Fonts, t: theme_module.Theme, area: QRect, ms: int
    ) -> None:
        text = day_label(local_date(ms), self._today)
        painter.setFont(fonts.small_bold)
        width = fonts.small_metrics.horizontalAdvance(text) + 28
        pill = QRectF(area.center().x() - width / 2, area.top() + 8, width, fonts.small_line + 8)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(t.placeholder)
        painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
        painter.setPen(t.secondary_text)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_media(
        self,
        painter: QPainter,
        fonts: Fonts,
        t: theme_module.Theme,
        message: MessageRow,
        box: MediaBox,
        outbound: bool,
    ) -> None:
        media = message.media[box.index]
        area = QRectF(box.rect)
        corner = RADIUS - 4
        clip = rounded_path(area, (corner, corner, corner, corner))
        on_bubble = t.outgoing_text if outbound else t.incoming_text
        soft = QColor(on_bubble)
        soft.setAlphaF(0.14)
        if box.kind == "picture":
            preview, _full = self._media_paths(message, media)
            got = (
                None if preview is None else self._images.get(preview, box.rect.size(), self._dpr())
            )
            if got is not None and not isinstance(got, ImageFailed):
                painter.save()
                painter.setClipPath(clip)
                source = QRectF(got.rect())
                target_ratio = area.width() / max(1.0, area.height())
                if source.width() / max(1.0, source.height()) > target_ratio:
                    w = source.height() * target_ratio
                    source = QRectF(
                        source.x() + (source.width() - w) / 2, source.y(), w, source.height()
                    )
                else:
                    h = source.width() / target_ratio
                    source = QRectF(
                        source.x(), source.y() + (source.height() - h) / 2, source.width(), h
                    )
                painter.drawPixmap(area, got, source)
                painter.restore()
                return
            text = "Loading picture…" if got is None else "Couldn't show the picture · Retry"
            self._paint_placeholder(painter, fonts, area, clip, soft, on_bubble, text, "picture")
            return
        if box.kind == "pending":
            self._paint_placeholder(
                painter, fonts, area, clip, soft, on_bubble, "Downloading picture…", "picture"
            )
        elif box.kind == "failed":
            self._paint_placeholder(
                painter, fonts, area, clip, soft, on_bubble, "Couldn't download · Retry", "retry"
            )
        elif box.kind == "refused":
            self._paint_placeholder(
                painter, fonts, area, clip, soft, on_bubble, "Picture not shown", "warning"
            )
        else:
            kind = (media.content_type.split("/")[-1] or "file").upper()
            self._paint_placeholder(
                painter,
                fonts,
                area,
                clip,
                soft,
                on_bubble,
                f"{kind} file · Open",
                "file",
                left=True,
            )

    @staticmethod
    def _paint_placeholder(
        painter: QPainter,
        fonts: Fonts,
        area: QRectF,
        clip: QPainterPath,
        fill: QColor,
        ink: QColor,
        text: str,
        icon_name: str,
        *,
        left: bool = False,
    ) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawPath(clip)
        side = 22
        ico = icon(icon_name, ink)
        painter.setFont(fonts.small)
        painter.setPen(ink)
        if left:
            ico.paint(
                painter,
                QRect(int(area.left()) + 12, int(area.center().y()) - side // 2, side, side),
            )
            painter.drawText(
                area.adjusted(12 + side + 10, 0, -8, 0),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                text,
            )
            return
        ico.paint(
            painter,
            QRect(
                int(area.center().x()) - side // 2, int(area.center().y()) - side - 2, side, side
            ),
        )
        painter.drawText(
            area.adjusted(8, area.height() / 2 + 4, -8, 0),
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
            text,
        )
