"""Search over every message (the store's FTS5 index), shown in place of the conversation list.

Typing waits a moment (so each keystroke is not a query), runs the query on a worker
thread, and drops answers to questions no longer asked.  Activating a result asks the
window to open that conversation at that message.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLabel,
    QListView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core import Core
from desktop.store import queries
from desktop.store.queries import SearchHit
from desktop.ui import theme as theme_module
from desktop.ui.formatting import NumberFormatter, list_time
from desktop.ui.tasks import run_in_background

logger = logging.getLogger(__name__)

DEBOUNCE_MS: Final = 180
RESULT_LIMIT: Final = 200
_MARK = re.compile(r"\[([^\[\]]*)\]")

AnyIndex = QModelIndex | QPersistentModelIndex


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """Split an FTS snippet ("a [match] b") into (text, is_match) runs."""
    parts: list[tuple[str, bool]] = []
    last = 0
    for found in _MARK.finditer(snippet):
        if found.start() > last:
            parts.append((snippet[last : found.start()], False))
        parts.append((found.group(1), True))
        last = found.end()
    if last < len(snippet):
        parts.append((snippet[last:], False))
    return parts


class SearchResultsModel(QAbstractListModel):
    def __init__(self, numbers: NumberFormatter, parent: Any = None) -> None:
        super().__init__(parent)
        self.numbers = numbers
        self.hits: list[SearchHit] = []

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.hits)

    def set_hits(self, hits: list[SearchHit]) -> None:
        self.beginResetModel()
        self.hits = hits
        self.endResetModel()

    def title(self, hit: SearchHit) -> str:
        return hit.contact_name or self.numbers(hit.contact_number)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        hit = self.hits[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            text = "".join(part for part, _ in snippet_parts(hit.snippet))
            who = "You" if hit.direction == "outbound" else self.title(hit)
            return f"{self.title(hit)}: {who}: {text}"
        return None


class SearchDelegate(QStyledItemDelegate):
    def __init__(self, model: SearchResultsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        line = QFontMetrics(option.font).height()
        return QSize(200, 2 * line + 22)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        from PySide6.QtWidgets import QStyle  # its enums cost ~15 ms: not before the first paint

        t = theme_module.current()
        hit = self._model.hits[index.row()]
        rect: QRect = option.rect
        state = option.state
        base: QFont = option.font
        line = QFontMetrics(base).height()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        card = rect.adjusted(6, 2, -6, -2)
        if state & QStyle.StateFlag.State_Selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(t.selection)
            painter.drawRoundedRect(card, 10, 10)
        left, right, top = rect.left() + 18, rect.right() - 16, rect.top() + 9
        small = QFont(base)
        small.setPointSizeF(base.pointSizeF() * 0.86)
        when = list_time(hit.created_at, int(time.time() * 1000))
        painter.setFont(small)
        painter.setPen(t.secondary_text)
        painter.drawText(QRect(left, top, right - left, line), Qt.AlignmentFlag.AlignRight, when)
        bold = QFont(base)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(t.text)
        width = right - left - QFontMetrics(small).horizontalAdvance(when) - 8
        painter.drawText(
            QRect(left, top, width, line),
            Qt.AlignmentFlag.AlignLeft,
            QFontMetrics(bold).elidedText(
                self._model.title(hit), Qt.TextElideMode.ElideRight, width
            ),
        )
        x, y = left, top + line + 3
        prefix = [("You: ", False)] if hit.direction == "outbound" else []
        for text, is_match in prefix + snippet_parts(hit.snippet):
            font = bold if is_match else base
            metrics = QFontMetrics(font)
            room = right - x
            if room <= 8:
                break
            shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, room)
            painter.setFont(font)
            painter.setPen(t.accent if is_match else t.secondary_text)
            painter.drawText(QRect(x, y, room, line), Qt.AlignmentFlag.AlignLeft, shown)
            x += metrics.horizontalAdvance(shown)
            if shown != text:
                break
        painter.restore()


class SearchResultsView(QListView):
    """Signals: ``hitActivated(object)`` — the :class:`SearchHit` chosen."""

    hitActivated = Signal(object)

    def __init__(self, model: SearchResultsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchResults")
        self.setAccessibleName("Search results")
        self.setModel(model)
        self._model = model
        self.setItemDelegate(SearchDelegate(model, self))
        self.setUniformItemSizes(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.activated.connect(self._activate)
        self.clicked.connect(self._activate)

    def _activate(self, index: QModelIndex) -> None:
        if index.isValid():
            self.hitActivated.emit(self._model.hits[index.row()])

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._activate(self.currentIndex())
            return
        super().keyPressEvent(event)


class SearchPanel(QWidget):
    """Results list with a one-line summary; owns the debounce and stale-answer logic.

    Signals: ``hitActivated(object)`` — re-emitted from the results view.
    """

    hitActivated = Signal(object)

    def __init__(self, core: Core, numbers: NumberFormatter, parent: QWidget | None = None):
        super().__init__(parent)
        self._core = core
        self._generation = 0
        self._query = ""
        self.last_query_ms: float | None = None
        self.model = SearchResultsModel(numbers, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.summary = QLabel(self)
        self.summary.setObjectName("searchSummary")
        self.summary.setContentsMargins(18, 4, 18, 6)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.view = SearchResultsView(self.model, self)
        self.view.hitActivated.connect(self.hitActivated)
        layout.addWidget(self.view, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._run)
        self.on_results: Callable[[], None] | None = None

    def set_query(self, text: str) -> None:
        self._query = text.strip()
        self._generation += 1
        if not self._query:
            self._timer.stop()
            self.model.set_hits([])
            self.summary.setText("")
            return
        self.summary.setText("Searching…")
        self._timer.start()

    def run_now(self) -> None:
        self._timer.stop()
        self._run()

    def _run(self) -> None:
        generation, text, store = self._generation, self._query, self._core.store
        started = time.perf_counter()

        def work() -> list[SearchHit]:
            return queries.search(store.reader(), text, limit=RESULT_LIMIT)

        def done(hits: list[SearchHit]) -> None:
            if generation != self._generation:
                return  # the user has typed something else since
            self.last_query_ms = (time.perf_counter() - started) * 1000
            self.model.set_hits(hits)
            if not hits:
                self.summary.setText(f"No messages contain “{text}”.")
            elif len(hits) >= RESULT_LIMIT:
                self.summary.setText(f"Newest {RESULT_LIMIT} messages containing “{text}”")
            else:
                noun = "message" if len(hits) == 1 else "messages"
                self.summary.setText(f"{len(hits)} {noun} containing “{text}”")
            if self.on_results is not None:
                self.on_results()

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                logger.warning("Search failed: %s", exc)
                self.summary.setText("Search failed; try other words.")

        run_in_background(work, done, failed, context=self)

    def focus_results(self) -> None:
        if self.model.rowCount():
            self.view.setFocus()
            if not self.view.currentIndex().isValid():
                self.view.setCurrentIndex(self.model.index(0, 0))
