"""The dismissible notice line at the top of the thread side.

It carries in-window notifications (when there is no system tray) and short messages
from the thread; clicking one opens the conversation it is about.
"""

from __future__ import annotations

from typing import Any, Final

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from desktop.ui import theme as theme_module
from desktop.ui.icons import icon

NOTICE_MS: Final = 8000


class NoticeBar(QWidget):
    """A dismissible line at the top of the thread; clicking it opens its conversation.

    Signals: ``clicked(int)`` — the conversation id the notice is about (-1: none).
    """

    clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 6, 8, 6)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setCursor(Qt.CursorShape.PointingHandCursor)
        layout.addWidget(self.label, 1)
        close = QToolButton(self)
        close.setAutoRaise(True)
        close.setAccessibleName("Dismiss")
        close.setIcon(icon("close", theme_module.current().banner_text))
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self._conversation = -1
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.label.installEventFilter(self)
        self.hide()

    def show_text(self, text: str, conversation_id: int | None) -> None:
        self.label.setText(text)
        self._conversation = -1 if conversation_id is None else conversation_id
        self.show()
        self._timer.start(NOTICE_MS)

    def eventFilter(self, watched: Any, event: QEvent) -> bool:
        if watched is self.label and event.type() == QEvent.Type.MouseButtonRelease:
            self.clicked.emit(self._conversation)
            self.hide()
            return True
        return super().eventFilter(watched, event)
