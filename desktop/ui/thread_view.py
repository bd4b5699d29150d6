"""The message list widget: lazy loading at both ends, sticky bottom, clicks on bubble parts.

A plain QListView (no widget per message) with per-pixel scrolling.  Scrolling near the
top asks the model for the previous page (the model may drop one at the bottom), near
the bottom for the next one it dropped, and keeps what was on screen where it was; new
messages keep the view at the bottom when it was there, and otherwise show a
"new messages" button instead of yanking the reader away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Final

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QGuiApplication,
    QHelpEvent,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPaintEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QListView,
    QMenu,
    QToolButton,
    QToolTip,
    QWidget,
)

from desktop.ui import theme as theme_module
from desktop.ui.icons import icon
from desktop.ui.thread_delegate import ThreadDelegate
from desktop.ui.thread_model import ID_ROLE, ThreadItem, ThreadModel
from desktop.ui.thread_status import is_failed, is_waiting_scheduled, retry_label
from desktop.ui.widgets import EMPTY_THREAD_TEXT, menu_position, paint_empty_hint

logger = logging.getLogger(__name__)

LOAD_OLDER_PX: Final = 600
#: Closer than this to a loaded end, the next page is read and measured ahead of need.
PREPARE_PX: Final = 4000
#: Measuring a page ahead yields to the event loop after this long (well under a frame).
MEASURE_SLICE_S: Final = 0.004
BOTTOM_SLACK_PX: Final = 24


class ThreadView(QListView):
    """Signals:
    retryRequested(int): message id whose Retry / Send again was chosen.
    mediaActivated(int, int): message id and media index to open in the viewer.
    mediaRetryRequested(int, int): a picture that failed to download or decode.
    fileActivated(int, int): a non-picture attachment to open with the system app.
    olderLoaded(int): how many older messages were just loaded.
    reachedBottom(): the newest loaded message came into view after new ones were waiting.
    """

    retryRequested = Signal(int)
    #: A scheduled text's bubble: "Edit scheduled text…" / "Cancel scheduled text".
    scheduleEditRequested = Signal(int)
    scheduleCancelRequested = Signal(int)
    mediaActivated = Signal(int, int)
    mediaRetryRequested = Signal(int, int)
    fileActivated = Signal(int, int)
    olderLoaded = Signal(int)
    reachedBottom = Signal()

    def __init__(self, model: ThreadModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("threadView")
        self.setAccessibleName("Messages")
        self._model = model
        self._delegate: ThreadDelegate | None = None
        self.setModel(model)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setUniformItemSizes(False)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.verticalScrollBar().setSingleStep(30)
        self.verticalScrollBar().valueChanged.connect(self._on_scroll)
        self._loading_older = False
        self._staging: list[ThreadItem] | None = None
        self._bottom_pending = False
        self._scroll_when_scheduled = 0
        self._unseen = 0
        self.empty_text = EMPTY_THREAD_TEXT

        self.jump_button = QToolButton(self.viewport())
        self.jump_button.setObjectName("jumpToLatest")
        self.jump_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.jump_button.setAccessibleName("Jump to the newest message")
        self.jump_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.jump_button.clicked.connect(self.scroll_to_latest)
        self.jump_button.hide()
        self.apply_theme()

    def set_delegate(self, delegate: ThreadDelegate) -> None:
        self._delegate = delegate
        self.setItemDelegate(delegate)

    def apply_theme(self) -> None:
        t = theme_module.current()
        self.viewport().setAutoFillBackground(True)
        palette = self.viewport().palette()
        palette.setColor(self.viewport().backgroundRole(), t.thread_background)
        self.viewport().setPalette(palette)
        self.jump_button.setIcon(icon("down", t.accent_text))
        self.jump_button.setStyleSheet(
            f"QToolButton#jumpToLatest {{ background: {t.accent.name()}; color: "
            f"{t.accent_text.name()}; border: none; border-radius: 15px; padding: 5px 12px; }}"
        )
        self._place_jump_button()

    # -- scrolling ------------------------------------------------------------------------

    def is_at_bottom(self) -> bool:
        """The newest message is in view (not merely the last one loaded)."""
        if self._model.has_newer:
            return False
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - BOTTOM_SLACK_PX

    def settle(self) -> None:
        """Lay out pending changes now (the view normally waits for the event loop)."""
        self.executeDelayedItemsLayout()

    def scroll_to_latest(self) -> None:
        if self._model.has_newer:
            self._model.reopen_newest()
        waiting, self._unseen = self._unseen, 0
        if waiting:
            self.reachedBottom.emit()  # the pane adds what was waiting
        self.settle()
        self.scrollToBottom()
        self.jump_button.hide()

    def note_unseen(self, count: int) -> None:
        """``count`` new messages wait below; say so on the jump button."""
        self._unseen += count
        self._show_jump_button()

    def after_messages_added(self, was_at_bottom: bool, count: int, mine: bool) -> None:
        """Keep the bottom in view when it was in view (or when staff just sent).

        The re-layout happens on the next turn of the event loop rather than inside the
        event handler, so a burst of messages never blocks the GUI thread in one piece.
        """
        if was_at_bottom or mine:
            self._unseen = 0
            self.jump_button.hide()
            if not self._bottom_pending:
                self._bottom_pending = True
                self._scroll_when_scheduled = self.verticalScrollBar().value()
                QTimer.singleShot(0, self._settle_at_bottom)
        elif count:
            self._unseen += count
            self._show_jump_button()

    def _settle_at_bottom(self) -> None:
        self._bottom_pending = False
        moved = self.verticalScrollBar().value() != self._scroll_when_scheduled
        self.settle()
        if not moved:  # staff scrolled away in the meantime: leave them where they are
            self.scrollToBottom()

    def load_older(self) -> int:
        """Prepend the previous page, keeping the visible messages in place."""
        if self._loading_older or not self._model.has_older:
            return 0
        added = self._keeping_in_place(self._model.fetch_older)
        if added:
            self.olderLoaded.emit(added)
        return added

    def load_newer(self) -> int:
        """Append the next page dropped earlier, keeping the visible messages in place."""
        if self._loading_older or not self._model.has_newer:
            return 0
        return self._keeping_in_place(self._model.fetch_newer)

    def _keeping_in_place(self, fetch: Callable[[], int]) -> int:
        """Run ``fetch`` (which adds and drops rows) and scroll so the message at the top
        of the viewport stays at the same height on screen (its bottom edge: a day
        separator above it may come or go when the page before is added)."""
        self._loading_older = True
        try:
            anchor = self.indexAt(QPoint(1, 1))
            anchor_id = anchor.data(ID_ROLE) if anchor.isValid() else None
            anchor_bottom = self.visualRect(anchor).bottom() if anchor.isValid() else 0
            self._staging = None
            added = fetch()
            if added:
                self.settle()
                row = None if anchor_id is None else self._model.row_of(anchor_id)
                if row is not None:
                    bottom = self.visualRect(self._model.index(row, 0)).bottom()
                    bar = self.verticalScrollBar()
                    bar.setValue(bar.value() + bottom - anchor_bottom)
            return added
        finally:
            self._loading_older = False

    def _on_scroll(self, value: int) -> None:
        if not self._loading_older:
            from_bottom = self.verticalScrollBar().maximum() - value
            if value < LOAD_OLDER_PX and self._model.has_older:
                QTimer.singleShot(0, self.load_older)
            elif self._model.has_newer and from_bottom < LOAD_OLDER_PX:
                QTimer.singleShot(0, self.load_newer)
            elif value < PREPARE_PX and self._model.has_older:
                self._prepare(older=True)
            elif self._model.has_newer and from_bottom < PREPARE_PX:
                self._prepare(older=False)
        if self.is_at_bottom():
            if self._unseen:
                self._unseen = 0
                QTimer.singleShot(0, self.reachedBottom.emit)
            self.jump_button.hide()
        elif self._model.rowCount() and not self.jump_button.isVisible():
            self._show_jump_button()

    def _prepare(self, *, older: bool) -> None:
        """Read the next page and measure it in slices between frames, so showing it
        when the scroll gets there lays out rows already measured."""
        if self._staging is not None or self._delegate is None:
            return
        staged = self._model.stage_older() if older else self._model.stage_newer()
        # A copy to measure from: the model keeps the staged page to show it later.
        self._staging = list(staged)
        if self._staging:
            QTimer.singleShot(0, self._measure_staged)

    def _measure_staged(self) -> None:
        items, delegate = self._staging, self._delegate
        if not items or delegate is None:
            return
        width = self.viewport().width()
        deadline = time.perf_counter() + MEASURE_SLICE_S
        while items and time.perf_counter() < deadline:
            delegate.measure(items.pop(), width)
        if items:
            QTimer.singleShot(0, self._measure_staged)

    def _show_jump_button(self) -> None:
        text = f"{self._unseen} new" if self._unseen else "Latest"
        self.jump_button.setText(text)
        self.jump_button.adjustSize()
        self._place_jump_button()
        self.jump_button.show()

    def _place_jump_button(self) -> None:
        size: QSize = self.jump_button.sizeHint()
        self.jump_button.resize(size)
        area = self.viewport().rect()
        self.jump_button.move(area.right() - size.width() - 18, area.bottom() - size.height() - 14)

    def resizeEvent(self, event: QResizeEvent) -> None:
        at_bottom = self.is_at_bottom()
        super().resizeEvent(event)
        self._place_jump_button()
        if at_bottom and self._model.rowCount():
            self.settle()
            self.scrollToBottom()

    # -- mouse and keyboard ---------------------------------------------------------------

    def _hit_at(self, pos: QPoint) -> tuple[QModelIndex, str, int] | None:
        if self._delegate is None:
            return None
        index = self.indexAt(pos)
        if not index.isValid():
            return None
        hit = self._delegate.hit(index.row(), self.visualRect(index), pos)
        return None if hit is None else (index, hit.kind, hit.media_index)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        hit = self._hit_at(event.position().toPoint())
        shape = Qt.CursorShape.PointingHandCursor if hit else Qt.CursorShape.ArrowCursor
        if self.viewport().cursor().shape() != shape:
            self.viewport().setCursor(shape)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self._hit_at(event.position().toPoint())
        if hit is not None:
            self._activate(*hit)

    def _activate(self, index: QModelIndex, kind: str, media_index: int) -> None:
        message = self._model.item(index.row()).message
        if kind == "retry":
            self.retryRequested.emit(message.id)
        elif kind == "picture":
            self.mediaActivated.emit(message.id, media_index)
        elif kind == "media_retry":
            self.mediaRetryRequested.emit(message.id, media_index)
        elif kind == "file":
            self.fileActivated.emit(message.id, media_index)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        index = self.currentIndex()
        if index.isValid() and event.key() in (
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
            Qt.Key.Key_Space,
        ):
            message = self._model.item(index.row()).message
            if is_failed(message):
                self.retryRequested.emit(message.id)
                return
            if message.media:
                self.mediaActivated.emit(message.id, 0)
                return
        if event.matches(QKeySequence.StandardKey.Copy) and index.isValid():
            QGuiApplication.clipboard().setText(self._model.item(index.row()).message.body)
            return
        super().keyPressEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange and self._delegate is not None:
            self._delegate.font_changed()
            self.scheduleDelayedItemsLayout()
        super().changeEvent(event)

    def focusInEvent(self, event: object) -> None:
        super().focusInEvent(event)  # type: ignore[arg-type]
        if not self.currentIndex().isValid() and self._model.rowCount():
            self.setCurrentIndex(self._model.index(self._model.rowCount() - 1, 0))

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self._delegate is not None:
            assert isinstance(event, QHelpEvent)
            index = self.indexAt(event.pos())
            if index.isValid():
                text = self._delegate.tooltip(index.row(), self.visualRect(index), event.pos())
                QToolTip.showText(event.globalPos(), text, self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = (
            self.indexAt(event.pos())
            if event.reason() == QContextMenuEvent.Reason.Mouse
            else self.currentIndex()
        )
        if not index.isValid():
            return
        message = self._model.item(index.row()).message
        menu = QMenu(self)
        if message.body:
            menu.addAction("Copy text", lambda: QGuiApplication.clipboard().setText(message.body))
        for i, media in enumerate(message.media):
            if media.state == "done":
                label = "Open picture" if media.content_type.startswith("image/") else "Open file"
                if len(message.media) > 1:
                    label += f" {i + 1}"
                menu.addAction(label, partial(self.mediaActivated.emit, message.id, i))
        label = retry_label(message)
        if label:
            menu.addSeparator()
            menu.addAction(label, lambda: self.retryRequested.emit(message.id))
        if is_waiting_scheduled(message):
            menu.addSeparator()
            menu.addAction(
                "Edit scheduled text…", lambda: self.scheduleEditRequested.emit(message.id)
            )
            menu.addAction(
                "Cancel scheduled text", lambda: self.scheduleCancelRequested.emit(message.id)
            )
        if menu.actions():
            menu.exec(menu_position(self, event, index))

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._model.rowCount() == 0:
            paint_empty_hint(self, self.empty_text, 40)
