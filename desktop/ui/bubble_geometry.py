"""Where each part of a message bubble goes, computed without painting anything.

Pure geometry and text measuring for :mod:`desktop.ui.thread_delegate`: sizes, the
bubble's rounded outline, picture boxes.  A box's size comes from the stored picture
dimensions (or a fixed placeholder), never from a picture still loading, so bubbles keep
their height while thumbnails arrive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

from PySide6.QtCore import QPointF, QRect, QRectF, QSize
from PySide6.QtGui import QFont, QFontMetrics, QPainterPath, QTextLayout, QTextOption

from desktop.store.queries import MediaRow

ROW_PAD_X: Final = 18
PAD_X: Final = 12
PAD_Y: Final = 7
MEDIA_PAD: Final = 4
MEDIA_GAP: Final = 4
MEDIA_MAX_W: Final = 260
MEDIA_MAX_H: Final = 280
ROW_MARGIN: Final = 3
MAX_BUBBLE: Final = 560
RADIUS: Final = 17.0
TAIL_RADIUS: Final = 5.0
CHIP_H: Final = 52


@dataclass(frozen=True, slots=True)
class MediaBox:
    index: int
    rect: QRect
    kind: str  # picture | pending | failed | refused | file


@dataclass(slots=True)
class Geometry:
    height: int
    separator: QRect | None
    bubble: QRect
    text: QRect | None
    media: list[MediaBox] = field(default_factory=list)
    footer: QRect = field(default_factory=QRect)
    failure: QRect | None = None
    retry: QRect | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str  # retry | picture | media_retry | file
    media_index: int = -1


class Fonts:
    def __init__(self, base: QFont) -> None:
        self.key = base.key()
        self.body = QFont(base)
        self.small = QFont(base)
        self.small.setPointSizeF(max(7.0, base.pointSizeF() * 0.82))
        self.small_bold = QFont(self.small)
        self.small_bold.setWeight(QFont.Weight.DemiBold)
        self.body_metrics = QFontMetrics(self.body)
        self.small_metrics = QFontMetrics(self.small)
        self.small_line = self.small_metrics.height()
        self.separator_h = self.small_line + 22


def bubble_width_limit(view_width: int) -> int:
    """Widest a bubble may be; rounded so small resizes keep cached heights."""
    usable = view_width - 2 * ROW_PAD_X
    limit = min(MAX_BUBBLE, max(160, int(usable * 0.76)))
    return limit - limit % 8


def media_size(media: MediaRow, limit: int, outbound: bool) -> tuple[QSize, str]:
    width = min(MEDIA_MAX_W, limit)
    is_picture = media.content_type.startswith("image/") or not media.content_type
    if media.state == "pending":
        return (QSize(width, 170), "pending") if is_picture else (QSize(width, CHIP_H), "pending")
    if media.state in ("failed", "refused"):
        return QSize(width, 68), media.state
    shows_picture = is_picture and (media.thumbnail or (outbound and media.file))
    if media.state == "done" and shows_picture:
        if media.width and media.height:
            scale = min(width / media.width, MEDIA_MAX_H / media.height, 1.0)
            w = max(96, round(media.width * scale))
            h = max(72, round(media.height * scale))
            return QSize(min(w, width), min(h, MEDIA_MAX_H)), "picture"
        return QSize(width, 190), "picture"
    return QSize(width, CHIP_H), "file"


def rounded_path(rect: QRectF, radii: tuple[float, float, float, float]) -> QPainterPath:
    """A rectangle with its own radius per corner: top-left, top-right, bottom-right, -left."""
    tl, tr, br, bl = radii
    path = QPainterPath()
    path.moveTo(rect.left() + tl, rect.top())
    path.lineTo(rect.right() - tr, rect.top())
    path.arcTo(rect.right() - 2 * tr, rect.top(), 2 * tr, 2 * tr, 90, -90)
    path.lineTo(rect.right(), rect.bottom() - br)
    path.arcTo(rect.right() - 2 * br, rect.bottom() - 2 * br, 2 * br, 2 * br, 0, -90)
    path.lineTo(rect.left() + bl, rect.bottom())
    path.arcTo(rect.left(), rect.bottom() - 2 * bl, 2 * bl, 2 * bl, 270, -90)
    path.lineTo(rect.left(), rect.top() + tl)
    path.arcTo(rect.left(), rect.top(), 2 * tl, 2 * tl, 180, -90)
    path.closeSubpath()
    return path


def wrap_text(text: str, font: QFont, width: int) -> QTextLayout:
    layout = QTextLayout(text.replace("\r\n", "\n").replace("\n", "\u2028"), font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    layout.beginLayout()
    y = 0.0
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        line.setPosition(QPointF(0, y))
        y += line.height()
    layout.endLayout()
    return layout


def text_extent(layout: QTextLayout) -> tuple[int, int]:
    width = height = 0.0
    for i in range(layout.lineCount()):
        line = layout.lineAt(i)
        width = max(width, line.naturalTextWidth())
        height += line.height()
    return math.ceil(width), math.ceil(height)
