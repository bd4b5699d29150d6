"""Small widgets the setup wizard, the settings dialog and the new-conversation dialog share.

A spinner, a one-line status (busy, error, warning, fine), a password field with a
"Show" toggle and a few colour and label helpers, all painted from the palette so they
follow light and dark mode.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStyle,
    QWidget,
)


class Spinner(QWidget):
    """A small turning arc: "working on it" without a progress number."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        side = max(16, self.fontMetrics().height())
        self.setFixedSize(side, side)
        self._angle = 0
        self._timer = QTimer(self)
        self._timer.setInterval(40)
        self._timer.timeout.connect(self._turn)
        self.setAccessibleName("Working")

    def start(self) -> None:
        self._timer.start()
        self.show()

    def stop(self) -> None:
        self._timer.stop()
        self.hide()

    def is_spinning(self) -> bool:
        return self._timer.isActive()

    def _turn(self) -> None:
        self._angle = (self._angle + 30) % 360
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = max(2.0, self.width() / 8)
        pen = QPen(self.palette().color(QPalette.ColorRole.Highlight), width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        margin = width
        rect = QRectF(self.rect()).adjusted(margin, margin, -margin, -margin)
        painter.drawArc(rect, -self._angle * 16, 270 * 16)
        painter.end()


class StatusLine(QWidget):
    """One line of feedback: busy (spinner), a problem, or a success, always in words."""

    def __init__(self, parent: QWidget | None = None, *, object_name: str = "") -> None:
        super().__init__(parent)
        self._spinner = Spinner(self)
        self._icon = QLabel(self)
        self._text = QLabel(self)
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        if object_name:
            self._text.setObjectName(object_name)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._spinner, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._text, 1)
        self._kind = ""
        self.clear()

    def kind(self) -> str:
        """ "" (nothing shown), "busy", "error", "ok" or "info"."""
        return self._kind

    def text(self) -> str:
        return self._text.text() if self._kind else ""

    def is_busy(self) -> bool:
        return self._kind == "busy"

    def clear(self) -> None:
        self._show("", "", None)

    def show_busy(self, text: str) -> None:
        self._show("busy", text, None)

    def show_error(self, text: str) -> None:
        self._show("error", text, QStyle.StandardPixmap.SP_MessageBoxWarning)

    def show_warning(self, text: str) -> None:
        """Allowed, but likely to cost more or go wrong."""
        self._show("warning", text, QStyle.StandardPixmap.SP_MessageBoxWarning)

    def show_ok(self, text: str) -> None:
        self._show("ok", text, QStyle.StandardPixmap.SP_DialogApplyButton)

    def show_info(self, text: str) -> None:
        self._show("info", text, QStyle.StandardPixmap.SP_MessageBoxInformation)

    def _show(self, kind: str, text: str, icon: QStyle.StandardPixmap | None) -> None:
        self._kind = kind
        self._text.setText(text)
        self._text.setAccessibleName(text)
        if kind == "busy":
            self._spinner.start()
        else:
            self._spinner.stop()
        if icon is None:
            self._icon.hide()
        else:
            side = self._spinner.width()
            self._icon.setPixmap(self.style().standardIcon(icon).pixmap(side, side))
            self._icon.show()
        pick = {"error": problem_color, "warning": warning_color}.get(kind)
        color = pick(self.palette()) if pick else None
        self._text.setStyleSheet(f"color: {color.name()};" if color else "")
        self.setVisible(bool(kind))


def problem_color(palette: QPalette) -> QColor:
    """A red that stays readable on light and dark backgrounds."""
    dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
    return QColor("#ff8a80") if dark else QColor("#b3261e")


def warning_color(palette: QPalette) -> QColor:
    """Amber: "check this", not "this failed"."""
    dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
    return QColor("#ffcc80") if dark else QColor("#8a4b00")


def hint_label(text: str, parent: QWidget | None = None) -> QLabel:
    """Secondary explanatory text, a little quieter than the question it explains."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setOpenExternalLinks(True)
    label.setTextFormat(Qt.TextFormat.RichText if "<a " in text else Qt.TextFormat.PlainText)
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, quiet_color(palette))
    label.setPalette(palette)
    return label


def quiet_color(palette: QPalette) -> QColor:
    """Softer than body text but still easy to read (placeholder grey is too faint)."""
    return _mix(
        palette.color(QPalette.ColorRole.WindowText), palette.color(QPalette.ColorRole.Window), 0.3
    )


def callout_frame(parent: QWidget | None = None) -> QFrame:
    """A softly framed box for the one thing on a page that needs a decision."""
    frame = QFrame(parent)
    frame.setObjectName("callout")
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    highlight = frame.palette().color(QPalette.ColorRole.Highlight)
    background = _tint(highlight, frame.palette())
    frame.setStyleSheet(
        f"QFrame#callout {{ border: 1px solid {highlight.name()}; border-radius: 6px; "
        f"background: {background.name()}; }}"
    )
    return frame


def _tint(color: QColor, palette: QPalette) -> QColor:
    return _mix(palette.color(QPalette.ColorRole.Base), color, 0.12)


def _mix(base: QColor, other: QColor, amount: float) -> QColor:
    """``base`` moved ``amount`` of the way towards ``other``."""
    return QColor(
        round(base.red() * (1 - amount) + other.red() * amount),
        round(base.green() * (1 - amount) + other.green() * amount),
        round(base.blue() * (1 - amount) + other.blue() * amount),
    )


def secret_field(parent: QWidget, object_name: str, accessible_name: str) -> QLineEdit:
    """A password-echo field with a "Show" toggle, so a pasted token can be checked."""
    edit = QLineEdit(parent)
    edit.setObjectName(object_name)
    edit.setAccessibleName(accessible_name)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    button = QPushButton("Show", edit)
    button.setObjectName(f"{object_name}Show")
    button.setAccessibleName(f"Show {accessible_name}")
    button.setCheckable(True)
    button.setFlat(True)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def toggle(on: bool) -> None:
        edit.setEchoMode(QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password)
        button.setText("Hide" if on else "Show")

    button.toggled.connect(toggle)
    layout = QHBoxLayout(edit)
    layout.setContentsMargins(0, 0, 2, 0)
    layout.addStretch(1)
    layout.addWidget(button)
    edit.setTextMargins(0, 0, button.sizeHint().width(), 0)
    return edit
