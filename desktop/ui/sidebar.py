"""The left column: search, new-conversation button, the conversation list, connection status.

While the search field has text the list is replaced by search results; Escape clears
the search and returns to the list.  The list is a QListView over
:class:`ConversationListModel` with uniform row heights, so 2,000 conversations scroll
and re-sort without laying out each row.

The list never moves a row the user may be aiming at: while the pointer is over it, a
mouse button is down on it, or keys were pressed in it in the last moments, its model is
held (rows change in place) and a "New texts above" pill offers the new order; the order
is applied when none of those holds any more, or when the pill is clicked.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QEvent, QModelIndex, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QEnterEvent,
    QFont,
    QHideEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QMenu,
    QStackedWidget,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core import Core
from desktop.ui import theme as theme_module
from desktop.ui.conversation_delegate import ConversationDelegate
from desktop.ui.conversation_model import ConversationListModel
from desktop.ui.formatting import NumberFormatter
from desktop.ui.icons import icon
from desktop.ui.status_area import ConnectionStatus
from desktop.ui.widgets import Surface, menu_position, paint_empty_hint, tint

if TYPE_CHECKING:
    from desktop.ui.search import SearchPanel

logger = logging.getLogger(__name__)

#: How long the list stays still after a key press in it (arrowing down to a row).
KEYBOARD_HOLD_MS: Final = 1500
#: A click this soon after the pill appears was aimed at the row beneath it, and goes there.
PILL_ARMING_MS = 400
NEW_TEXTS_ABOVE: Final = "New texts above"


class NewTextsPill(QAbstractButton):
    """A small rounded button floating over the top of the list (painted, no style sheet)."""

    SHADOW: Final = 2  # room below the pill for its shadow

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("newTextsAbove")
        self.setText(NEW_TEXTS_ABOVE)
        self.setAccessibleName(NEW_TEXTS_ABOVE)
        self.setToolTip("Put the conversations in order, newest first")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # clicking it keeps focus in the list
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)
        font = QFont(self.font())
        font.setWeight(QFont.Weight.DemiBold)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.92))
        self.setFont(font)
        self._arming = QTimer(self)
        self._arming.setSingleShot(True)
        self._arming.timeout.connect(
            lambda: self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, False)
        )

    def appear(self) -> None:
        """Show, letting clicks through to the row beneath for a moment: one already on
        its way when the pill popped up under the pointer must not land on the pill."""
        if self.isVisible():
            return
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self._arming.start(PILL_ARMING_MS)
        self.show()
        self.raise_()

    @property
    def armed(self) -> bool:
        """Clicks reach the pill (they pass through while it has only just appeared)."""
        return self.isVisible() and not self._arming.isActive()

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        height = metrics.height() + 12
        arrow = metrics.height() * 0.7
        width = round(metrics.horizontalAdvance(self.text()) + arrow + 6 + 2 * 12)
        return QSize(width, height + self.SHADOW)

    def paintEvent(self, _event: QPaintEvent) -> None:
        t = theme_module.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pill = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5 - self.SHADOW)
        radius = pill.height() / 2
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 70 if t.dark else 38))
        painter.drawRoundedRect(pill.translated(0, 1.5), radius, radius)
        fill = QColor(t.accent)
        if self.isDown():
            fill = fill.darker(115)
        elif self.underMouse():
            fill = fill.lighter(112) if t.dark else fill.darker(106)
        painter.setBrush(fill)
        painter.drawRoundedRect(pill, radius, radius)

        metrics = self.fontMetrics()
        size = metrics.height() * 0.7
        left = pill.left() + 12
        middle = pill.center().y()
        arrow = QPainterPath(QPointF(left + size / 2, middle + size / 2))
        arrow.lineTo(left + size / 2, middle - size / 2)
        arrow.moveTo(left + size * 0.1, middle - size * 0.1)
        arrow.lineTo(left + size / 2, middle - size / 2)
        arrow.lineTo(left + size * 0.9, middle - size * 0.1)
        pen = QPen(t.accent_text, 1.6)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(arrow)
        painter.setFont(self.font())
        text = QRectF(left + size + 6, pill.top(), pill.right() - left - size - 6, pill.height())
        align = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        painter.drawText(text, align, self.text())


class ConversationListView(QListView):
    """Signals: ``renameRequested(int)``, ``markReadRequested(int)`` (conversation ids)."""

    renameRequested = Signal(int)
    markReadRequested = Signal(int)

    def __init__(self, model: ConversationListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationList")
        self.setAccessibleName("Conversations")
        self._model = model
        self.setModel(model)
        self.list_delegate = ConversationDelegate(model, self)
        self.setItemDelegate(self.list_delegate)
        self.setUniformItemSizes(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_Hover)

        self._pointer_inside = False
        self._button_down = False
        self._keys_recent = QTimer(self)
        self._keys_recent.setSingleShot(True)
        self._keys_recent.setInterval(KEYBOARD_HOLD_MS)
        self._keys_recent.timeout.connect(self._update_hold)
        # A child of the view, not of the viewport: it stays put when the list scrolls, and
        # the pointer over it is still over the list (the list keeps holding).
        self.new_texts_above = NewTextsPill(self)
        self.new_texts_above.hide()
        self.new_texts_above.clicked.connect(self.show_newest)
        model.orderPendingChanged.connect(self._on_order_pending)
        # Every row is one height (two lines, three with several of our numbers): that as
        # the view's grid lets Qt lay rows out without asking the model about each one —
        # through Python, a layout of 20,000 rows cost 30–70 ms, a stall on every burst.
        for changed in (
            model.rowsInserted,
            model.dataChanged,
            model.modelReset,
            model.layoutChanged,
        ):
            changed.connect(self._fit_grid)
        self._fit_grid()

    def _fit_grid(self, *_args: object) -> None:
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        height = self.list_delegate.sizeHint(option, QModelIndex()).height()
        grid = QSize(max(1, self.viewport().width()), height)
        if grid != self.gridSize():
            self.setGridSize(grid)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._fit_grid()
        return super().viewportEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_grid()

    # -- holding rows still ---------------------------------------------------------------

    def enterEvent(self, event: QEnterEvent) -> None:
        self._pointer_inside = True
        self._update_hold()
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._pointer_inside = False
        self._update_hold()
        super().leaveEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._pointer_inside = self._button_down = False
        self._keys_recent.stop()
        self._update_hold()
        super().hideEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._button_down = True
        self._update_hold()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        self._button_down = event.buttons() != Qt.MouseButton.NoButton
        self._update_hold()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        self._keys_recent.start()
        self._update_hold()
        super().keyPressEvent(event)

    def _update_hold(self) -> None:
        if self._pointer_inside or self._button_down or self._keys_recent.isActive():
            self._model.hold()
        else:
            self._model.release()

    def _on_order_pending(self, pending: bool) -> None:
        if pending:
            self._place_pill()
            self.new_texts_above.appear()
        else:
            self.new_texts_above.hide()

    def show_newest(self) -> None:
        """The pill: put the rows in order now and show the top of the list."""
        self._model.apply_held_order()
        self.scrollToTop()

    def _place_pill(self) -> None:
        pill = self.new_texts_above
        pill.resize(pill.sizeHint())
        area = self.viewport().geometry()
        pill.move(area.center().x() - pill.width() // 2, area.top() + 8)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_pill()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = (
            self.indexAt(event.pos())
            if event.reason() == QContextMenuEvent.Reason.Mouse
            else self.currentIndex()
        )
        if not index.isValid():
            return
        row = self._model.row_at(index.row())
        menu = QMenu(self)
        menu.addAction("Rename contact…", lambda: self.renameRequested.emit(row.id))
        mark = menu.addAction("Mark as read", lambda: self.markReadRequested.emit(row.id))
        mark.setEnabled(row.unread_count > 0)
        menu.exec(menu_position(self, event, index))
        self._button_down = False  # the menu took the button's release
        self._update_hold()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._model.rowCount() == 0:
            paint_empty_hint(
                self,
                "No conversations yet.\nTexts your customers send will appear here.\n"
                "Press Ctrl+N to text someone.",
                24,
            )


class SearchField(QLineEdit):
    """Signals: ``escaped()`` when Escape clears it, ``downPressed()`` to move to results."""

    escaped = Signal()
    downPressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.clear()
            self.escaped.emit()
            return
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.downPressed.emit()
            return
        super().keyPressEvent(event)


class Sidebar(Surface):
    """Signals:
    conversationActivated(int): the current conversation in the list changed.
    hitActivated(object): a search result was chosen.
    composeRequested(), settingsRequested(): the header buttons.
    """

    conversationActivated = Signal(int)
    hitActivated = Signal(object)
    composeRequested = Signal()
    settingsRequested = Signal()

    def __init__(self, core: Core, numbers: NumberFormatter, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sidebar")
        self._core = core
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 1, 0)  # keep the right border line visible
        layout.setSpacing(0)

        top = QHBoxLayout()
        top.setContentsMargins(12, 12, 8, 8)
        top.setSpacing(4)
        self.search_field = SearchField(self)
        self.search_field.setObjectName("searchField")
        self.search_field.setAccessibleName("Search messages")
        self.search_field.setPlaceholderText("Search messages")
        self.search_field.setClearButtonEnabled(True)
        self.search_field.setToolTip("Search every message (Ctrl+F)")
        self._search_icon = QAction(self.search_field)
        self.search_field.addAction(self._search_icon, QLineEdit.ActionPosition.LeadingPosition)
        top.addWidget(self.search_field, 1)
        self.compose_button = QToolButton(self)
        self.compose_button.setObjectName("newConversationButton")
        self.compose_button.setAutoRaise(True)
        self.compose_button.setIconSize(QSize(22, 22))
        self.compose_button.setToolTip("New conversation (Ctrl+N)")
        self.compose_button.setAccessibleName("New conversation")
        self.compose_button.clicked.connect(self.composeRequested)
        top.addWidget(self.compose_button)
        self.settings_button = QToolButton(self)
        self.settings_button.setObjectName("settingsButton")
        self.settings_button.setAutoRaise(True)
        self.settings_button.setIconSize(QSize(22, 22))
        self.settings_button.setToolTip("Settings")
        self.settings_button.setAccessibleName("Settings")
        self.settings_button.clicked.connect(self.settingsRequested)
        top.addWidget(self.settings_button)
        layout.addLayout(top)

        self.list_model = ConversationListModel(
            core.store.reader,
            numbers,
            self,
            team_name=lambda: core.staff_name() if core.team_enabled() else None,
        )
        self.list_view = ConversationListView(self.list_model, self)
        self._numbers = numbers
        self._search_panel: SearchPanel | None = None
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.list_view)
        layout.addWidget(self.stack, 1)

        self.status = ConnectionStatus(lambda: core.settings.poll_interval_s, self)
        layout.addWidget(self.status)
        self.setFrameShape(QFrame.Shape.NoFrame)

        self.search_field.textChanged.connect(self._on_search_text)
        self.search_field.escaped.connect(self.end_search)
        self.search_field.downPressed.connect(self._to_results)
        self.list_view.selectionModel().currentChanged.connect(self._on_current)
        self.apply_theme()

    @property
    def search_panel(self) -> SearchPanel:
        """Built on first use: most sessions never search, and the first paint is faster."""
        if self._search_panel is None:
            from desktop.ui.search import SearchPanel

            panel = SearchPanel(self._core, self._numbers, self)
            panel.hitActivated.connect(self.hitActivated)
            self.stack.addWidget(panel)
            self._search_panel = panel
            self._tint_list(panel.view)
        return self._search_panel

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.conversationActivated.emit(self.list_model.row_at(current.row()).id)

    def _on_search_text(self, text: str) -> None:
        if not text.strip() and self._search_panel is None:
            return
        self.stack.setCurrentWidget(self.search_panel if text.strip() else self.list_view)
        self.search_panel.set_query(text)

    def _to_results(self) -> None:
        if self.search_field.text().strip():
            if not self.search_panel.model.rowCount():
                self.search_panel.run_now()
            self.search_panel.focus_results()
        else:
            self.list_view.setFocus()

    def start_search(self) -> None:
        self.search_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_field.selectAll()

    def end_search(self) -> None:
        self.search_field.clear()
        self.stack.setCurrentWidget(self.list_view)
        self.list_view.setFocus()

    def select_conversation(self, conversation_id: int) -> bool:
        # Chosen from elsewhere (a notification, a search hit, a new conversation): the
        # user is not aiming at a row, so put the list in order and show it in its place.
        self.list_model.apply_held_order()
        index = self.list_model.index_of(conversation_id)
        if not index.isValid():
            return False
        self.list_view.setCurrentIndex(index)
        self.list_view.scrollTo(index)
        return True

    def _tint_list(self, view: QListView) -> None:
        t = theme_module.current()
        view.viewport().setAutoFillBackground(True)
        palette = view.viewport().palette()
        palette.setColor(view.viewport().backgroundRole(), t.sidebar)
        view.viewport().setPalette(palette)

    def apply_theme(self) -> None:
        t = theme_module.current()
        self.style_surface(t.sidebar, t.separator, right=True)
        self._search_icon.setIcon(icon("search", t.secondary_text))
        self.compose_button.setIcon(icon("compose", t.accent))
        self.settings_button.setIcon(icon("settings", t.secondary_text))
        self._tint_list(self.list_view)
        if self._search_panel is not None:
            self._tint_list(self._search_panel.view)
            tint(self._search_panel.summary, t.secondary_text)
        self.search_field.setStyleSheet(
            f"QLineEdit {{ background: {t.window.name()}; border: 1px solid "
            f"{t.separator.name()}; border-radius: 9px; padding: 5px 6px; "
            f"color: {t.text.name()}; }}"
            f"QLineEdit:focus {{ border: 1.5px solid {t.accent.name()}; }}"
        )
        self.status.apply_theme()
        self.list_view.viewport().update()
        self.list_view.new_texts_above.update()
