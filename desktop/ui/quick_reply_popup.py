"""Quick replies from the keyboard: type ``/`` and a few letters, pick one, it is filled in.

:class:`QuickReplyCompletion` watches the composer: when the word before the cursor starts
with ``/`` it asks for matching replies and shows them in a small list above the box.
Up/Down choose, Enter or Tab insert (the ``/word`` is replaced by the reply with its
placeholders filled for the open conversation), Escape closes the list until another
``/`` is typed.  The list is a child of the window, not a popup window of its own, so the
composer keeps the keyboard focus and typing goes on filtering.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.quick_replies import QuickReply
from desktop.ui import theme as theme_module

#: ``/`` at the start of a word, then anything but spaces, up to the cursor.
TRIGGER: Final = re.compile(r"(?:^|(?<=\s))/(\S*)$")
MAX_SHOWN: Final = 8
PREVIEW_CHARS: Final = 60

Lookup = Callable[[str], list[QuickReply]]
Render = Callable[[QuickReply], str]


def trigger_at(text_before_cursor: str) -> tuple[int, str] | None:
    """(offset of the ``/`` in the line, the letters after it), if the cursor is in a
    ``/word``; a ``/`` inside a word ("and/or", a URL) is not a trigger."""
    match = TRIGGER.search(text_before_cursor)
    if match is None:
        return None
    return match.start(), match[1]


class QuickReplyList(QFrame):
    """The list shown above the composer.  Signals: ``chosen(int)`` — a row was clicked."""

    chosen = Signal(int)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("quickReplyPopup")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAutoFillBackground(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.list = QListWidget(self)
        self.list.setObjectName("quickReplyList")
        self.list.setAccessibleName("Quick replies")
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemClicked.connect(lambda item: self.chosen.emit(self.list.row(item)))
        layout.addWidget(self.list)
        self.replies: list[QuickReply] = []
        self.hide()

    def show_replies(self, replies: list[QuickReply]) -> None:
        self.replies = list(replies)
        self.list.clear()
        for reply in self.replies:
            preview = " ".join(reply.text.split())
            if len(preview) > PREVIEW_CHARS:
                preview = preview[: PREVIEW_CHARS - 1] + "…"
            item = QListWidgetItem(f"{reply.name} — {preview}")
            item.setToolTip(reply.text)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        t = theme_module.current()
        self.setStyleSheet(
            f"QFrame#quickReplyPopup {{ background: {t.thread_background.name()}; "
            f"border: 1px solid {t.separator.name()}; border-radius: 8px; }}"
        )
        rows = min(len(self.replies), MAX_SHOWN)
        row_height = max(self.list.sizeHintForRow(0), self.fontMetrics().height() + 2)
        frame = 2 * self.list.frameWidth() + 4
        self.setFixedHeight(rows * row_height + frame)

    @property
    def current(self) -> int:
        return self.list.currentRow()

    def move_selection(self, step: int) -> None:
        count = self.list.count()
        if count:
            self.list.setCurrentRow((self.list.currentRow() + step) % count)


class QuickReplyCompletion(QObject):
    """Connects a composer to the quick replies.  Signals: ``inserted(str)`` — the text
    put in place of the ``/word``."""

    inserted = Signal(str)

    def __init__(self, editor: QPlainTextEdit, lookup: Lookup, render: Render) -> None:
        super().__init__(editor)
        self._editor = editor
        self._lookup = lookup
        self._render = render
        self._popup: QuickReplyList | None = None
        #: The ``/`` position Escape dismissed: stay closed until another ``/``.
        self._dismissed: int | None = None
        self._start = 0
        editor.textChanged.connect(self.update)
        editor.cursorPositionChanged.connect(self.update)
        editor.installEventFilter(self)

    @property
    def popup(self) -> QuickReplyList | None:
        return self._popup

    def is_open(self) -> bool:
        return self._popup is not None and self._popup.isVisible()

    def _trigger(self) -> tuple[int, str] | None:
        cursor = self._editor.textCursor()
        if cursor.hasSelection():
            return None
        block = cursor.block()
        found = trigger_at(block.text()[: cursor.positionInBlock()])
        if found is None:
            return None
        offset, query = found
        return block.position() + offset, query

    def update(self) -> None:
        found = self._trigger()
        if found is None:
            self._dismissed = None
            self.close()
            return
        start, query = found
        if self._dismissed == start:
            return
        replies = self._lookup(query)[:MAX_SHOWN]
        if not replies:
            self.close()
            return
        self._start = start
        popup = self._ensure_popup()
        popup.show_replies(replies)
        self._place(popup)
        popup.show()
        popup.raise_()

    def _ensure_popup(self) -> QuickReplyList:
        window = self._editor.window()
        if self._popup is None or self._popup.parentWidget() is not window:
            if self._popup is not None:
                self._popup.deleteLater()
            self._popup = QuickReplyList(window)
            self._popup.chosen.connect(self.insert)
        return self._popup

    def _place(self, popup: QuickReplyList) -> None:
        """Above the composer, starting under the ``/``, inside the window."""
        window = popup.parentWidget()
        assert window is not None
        width = min(420, max(240, self._editor.width()))
        popup.setFixedWidth(width)
        cursor = QTextCursor(self._editor.document())
        cursor.setPosition(self._start)
        at = self._editor.cursorRect(cursor).topLeft()
        origin = self._editor.viewport().mapTo(window, at)
        top_of_editor = self._editor.mapTo(window, QPoint(0, 0)).y()
        x = max(4, min(origin.x(), window.width() - width - 4))
        y = top_of_editor - popup.height() - 4
        if y < 0:  # no room above: below the line instead
            y = origin.y() + self._editor.cursorRect(cursor).height() + 4
        popup.move(x, y)

    def close(self) -> None:
        if self._popup is not None:
            self._popup.hide()

    def dismiss(self) -> None:
        self._dismissed = self._start
        self.close()

    def insert(self, row: int | None = None) -> bool:
        """Replace the ``/word`` with the chosen reply, filled in; False if none is chosen."""
        popup = self._popup
        if popup is None or not popup.isVisible():
            return False
        index = popup.current if row is None else row
        if not 0 <= index < len(popup.replies):
            return False
        text = self._render(popup.replies[index])
        cursor = self._editor.textCursor()
        cursor.setPosition(self._start, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(text)
        self._editor.setTextCursor(cursor)
        self.close()
        self.inserted.emit(text)
        return True

    def handle_key(self, event: QKeyEvent) -> bool:
        """Keys the open list takes before the composer does (True: handled)."""
        if not self.is_open():
            return False
        assert self._popup is not None
        key = event.key()
        if key == Qt.Key.Key_Up:
            self._popup.move_selection(-1)
            return True
        if key == Qt.Key.Key_Down:
            self._popup.move_selection(1)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
            return self.insert()
        if key == Qt.Key.Key_Escape:
            self.dismiss()
            return True
        return False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._editor:
            kind = event.type()
            if kind in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
                assert isinstance(event, QKeyEvent)
                if self.is_open() and event.key() in (
                    Qt.Key.Key_Up,
                    Qt.Key.Key_Down,
                    Qt.Key.Key_Return,
                    Qt.Key.Key_Enter,
                    Qt.Key.Key_Tab,
                    Qt.Key.Key_Escape,
                ):
                    if kind == QEvent.Type.ShortcutOverride:
                        event.accept()  # Escape must not close a dialog, Enter not send
                        return True
                    return self.handle_key(event)
            elif kind == QEvent.Type.FocusOut or kind == QEvent.Type.Hide:
                self.close()
        return super().eventFilter(watched, event)
