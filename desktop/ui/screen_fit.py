"""Keep a window on its screen: never larger than the space the screen has for windows.

At 150 % scaling a 1280×800 screen has 853×533 logical pixels, less the taskbar; the
window's 1100×720 default would run off it and hide the composer.  Pure geometry, so it
is tested without a screen.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QRect, QSize


def fit_rect(wanted: QRect, available: QRect, frame: QMargins = QMargins()) -> QRect:  # noqa: B008
    """The client rectangle nearest to ``wanted`` whose frame (``wanted`` grown by
    ``frame``) lies inside ``available``: shrunk to fit, then moved onto the screen.
    A window that already fits stays where and as big as it is."""
    room = QSize(
        max(1, available.width() - frame.left() - frame.right()),
        max(1, available.height() - frame.top() - frame.bottom()),
    )
    size = wanted.size().boundedTo(room)
    left_min = available.left() + frame.left()
    top_min = available.top() + frame.top()
    left_max = available.right() - frame.right() - size.width() + 1
    top_max = available.bottom() - frame.bottom() - size.height() + 1
    x = min(max(wanted.x(), left_min), left_max)
    y = min(max(wanted.y(), top_min), top_max)
    return QRect(x, y, size.width(), size.height())


def centered(size: QSize, available: QRect, frame: QMargins = QMargins()) -> QRect:  # noqa: B008
    """``size`` centred on ``available``, shrunk to fit it."""
    rect = QRect(0, 0, size.width(), size.height())
    rect.moveCenter(available.center())
    return fit_rect(rect, available, frame)
