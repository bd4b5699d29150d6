"""The conversation list holds still while staff aim at it: no row jumps under the pointer,
under a click in progress or under keyboard navigation; "New texts above" offers the order."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QWidget

from desktop.core import Core
from desktop.ui import sidebar
from desktop.ui.conversation_model import ConversationListModel
from desktop.ui.formatting import NumberFormatter
from desktop.ui.main_window import MainWindow
from desktop.ui.sidebar import ConversationListView, NewTextsPill
from tests.gui.conftest import inbound

A, B, C, D = "+15035550111", "+15035550122", "+15035550133", "+15035550144"
NEW = "+15035550155"


def order(model: ConversationListModel) -> list[str]:
    return [model.row_at(i).contact_number for i in range(model.rowCount())]


def four_conversations(core: Core) -> dict[str, int]:
    """A newest, then B, C, D; returns their conversation ids."""
    now = int(time.time() * 1000)
    ids = {}
    for age, number in enumerate((A, B, C, D), start=1):
        result = inbound(core, f"Earlier from {number}", contact=number, at_ms=now - age * 60_000)
        ids[number] = result.conversation_id
    return ids


def listed(qtbot, window: MainWindow, count: int) -> ConversationListView:
    qtbot.waitUntil(lambda: window.list_model.rowCount() == count)
    view = window.list_view
    view.executeDelayedItemsLayout()
    return view


def row_centre(view: ConversationListView, number: str) -> QPoint:
    model = view.model()
    assert isinstance(model, ConversationListModel)
    row = order(model).index(number)
    return view.visualRect(model.index(row, 0)).center()


def under(view: ConversationListView, point: QPoint) -> str:
    model = view.model()
    assert isinstance(model, ConversationListModel)
    return model.row_at(view.indexAt(point).row()).contact_number


def pill(window: MainWindow) -> NewTextsPill:
    found = window.findChild(NewTextsPill, "newTextsAbove")
    assert found is not None
    return found


def text_arrived(qtbot, model: ConversationListModel, number: str, body: str) -> None:
    """Wait until the list shows ``body`` for ``number`` (moving it, if it moves, is the
    same step, so after this the order is what it is going to be)."""
    qtbot.waitUntil(
        lambda: any(
            model.row_at(i).contact_number == number and model.row_at(i).snippet == body
            for i in range(model.rowCount())
        )
    )


def click_where(qtbot, window: MainWindow, widget: QWidget, point: QPoint) -> None:
    """Click as the window system does: the window finds the widget under the point."""
    handle = window.windowHandle()
    assert handle is not None
    qtbot.mouseClick(handle, Qt.MouseButton.LeftButton, pos=widget.mapTo(window, point))


def current_number(view: ConversationListView) -> str:
    model = view.model()
    assert isinstance(model, ConversationListModel)
    return model.row_at(view.currentIndex().row()).contact_number


def selected_numbers(view: ConversationListView) -> list[str]:
    model = view.model()
    assert isinstance(model, ConversationListModel)
    return [model.row_at(i.row()).contact_number for i in view.selectedIndexes()]


# -- the pointer over the list -------------------------------------------------------------


def test_a_text_to_a_lower_row_waits_while_the_pointer_is_over_the_list(
    qtbot, window: MainWindow
) -> None:
    four_conversations(window.core)
    view = listed(qtbot, window, 4)
    model = window.list_model
    aim = row_centre(view, C)
    qtbot.mouseMove(view.viewport(), aim)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=aim)
    assert current_number(view) == C

    inbound(window.core, "Are you open Sunday?", contact=D)
    text_arrived(qtbot, model, D, "Are you open Sunday?")
    assert order(model) == [A, B, C, D]  # changed where it is, not moved
    assert under(view, aim) == C
    qtbot.waitUntil(pill(window).isVisible)
    bubble = pill(window).geometry()
    assert view.viewport().geometry().contains(bubble)
    assert bubble.top() - view.viewport().geometry().top() < bubble.height()
    assert pill(window).text() == "New texts above"

    QCursor.setPos(5000, 5000)  # the pointer leaves the list
    qtbot.waitUntil(lambda: order(model) == [D, A, B, C])
    assert current_number(view) == C
    assert selected_numbers(view) == [C]
    assert not pill(window).isVisible()
    assert window.pane.conversation is not None
    assert window.pane.conversation.contact_number == C


def test_a_new_conversation_waits_at_the_bottom_and_goes_to_the_top_on_leaving(
    qtbot, window: MainWindow
) -> None:
    four_conversations(window.core)
    view = listed(qtbot, window, 4)
    model = window.list_model
    aim = row_centre(view, A)
    qtbot.mouseMove(view.viewport(), aim)

    inbound(window.core, "Hi, first time texting", contact=NEW)
    text_arrived(qtbot, model, NEW, "Hi, first time texting")
    assert order(model) == [A, B, C, D, NEW]
    assert under(view, aim) == A
    qtbot.waitUntil(pill(window).isVisible)

    qtbot.mouseMove(window.pane, QPoint(20, 20))
    qtbot.waitUntil(lambda: order(model) == [NEW, A, B, C, D])
    assert not pill(window).isVisible()


def test_a_text_to_the_top_row_needs_no_pill(qtbot, window: MainWindow) -> None:
    four_conversations(window.core)
    view = listed(qtbot, window, 4)
    model = window.list_model
    qtbot.mouseMove(view.viewport(), row_centre(view, B))
    inbound(window.core, "One more thing", contact=A)
    text_arrived(qtbot, model, A, "One more thing")
    assert order(model) == [A, B, C, D]
    assert not model.order_pending
    assert not pill(window).isVisible()

    inbound(window.core, "Me too", contact=C)  # this one would move: it waits
    text_arrived(qtbot, model, C, "Me too")
    assert order(model) == [A, B, C, D]
    qtbot.waitUntil(pill(window).isVisible)


def test_clicking_the_pill_puts_the_list_in_order_and_shows_the_top(
    qtbot, window: MainWindow
) -> None:
    core = window.core
    now = int(time.time() * 1000)
    numbers = [f"+150355502{i:02d}" for i in range(40)]
    for age, number in enumerate(numbers, start=1):
        inbound(core, "Earlier", contact=number, at_ms=now - age * 60_000, unread=False)
    view = listed(qtbot, window, 40)
    model = window.list_model
    view.scrollToBottom()
    bar = view.verticalScrollBar()
    assert bar.value() > 0
    lowest = numbers[-1]
    aim = row_centre(view, lowest)
    qtbot.mouseMove(view.viewport(), aim)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=aim)
    assert current_number(view) == lowest

    inbound(core, "Still there?", contact=numbers[-2])
    text_arrived(qtbot, model, numbers[-2], "Still there?")
    assert order(model) == numbers
    assert under(view, aim) == lowest
    qtbot.waitUntil(pill(window).isVisible)

    qtbot.waitUntil(lambda: pill(window).armed)
    click_where(qtbot, window, pill(window), pill(window).rect().center())
    assert order(model)[0] == numbers[-2]
    assert bar.value() == 0
    assert not pill(window).isVisible()
    assert current_number(view) == lowest
    assert model.held  # the pointer is still over the list: later texts wait again


def test_a_click_already_on_its_way_when_the_pill_appears_goes_to_the_row_beneath(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sidebar, "PILL_ARMING_MS", 60_000)  # "just appeared" for this test
    four_conversations(window.core)
    view = listed(qtbot, window, 4)
    model = window.list_model
    aim = QPoint(view.viewport().width() // 2, row_centre(view, A).y() - 12)
    qtbot.mouseMove(view.viewport(), aim)
    inbound(window.core, "Hello?", contact=D)
    qtbot.waitUntil(pill(window).isVisible)
    assert pill(window).geometry().contains(view.viewport().mapTo(view, aim))

    click_where(qtbot, window, view.viewport(), aim)
    qtbot.waitUntil(lambda: view.currentIndex().isValid())
    assert current_number(view) == A
    assert order(model) == [A, B, C, D]
    assert pill(window).isVisible()


def test_opening_a_held_back_conversation_from_elsewhere_shows_it_in_its_place(
    qtbot, window: MainWindow
) -> None:
    four_conversations(window.core)
    view = listed(qtbot, window, 4)
    model = window.list_model
    qtbot.mouseMove(view.viewport(), row_centre(view, B))
    result = inbound(window.core, "Hi, first time texting", contact=NEW)
    text_arrived(qtbot, model, NEW, "Hi, first time texting")
    assert order(model)[-1] == NEW

    assert window.open_conversation(result.conversation_id)  # e.g. its notification
    assert order(model) == [NEW, A, B, C, D]
    assert view.currentIndex().row() == 0
    assert not pill(window).isVisible()


# -- a click in progress, keyboard navigation ----------------------------------------------


def test_a_pressed_mouse_button_holds_the_list_until_it_is_released(
    qtbot, window: MainWindow
) -> None:
    four_conversations(window.core)
    view = listed(qtbot, window, 4)
    model = window.list_model
    aim = row_centre(view, C)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=aim)

    inbound(window.core, "Quick question", contact=D)
    text_arrived(qtbot, model, D, "Quick question")
    assert order(model) == [A, B, C, D]
    assert under(view, aim) == C
    qtbot.waitUntil(pill(window).isVisible)

    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=aim)
    qtbot.waitUntil(lambda: order(model) == [D, A, B, C])
    assert current_number(view) == C
    assert not pill(window).isVisible()


def test_the_list_holds_for_a_moment_after_arrowing_through_it(qtbot, window: MainWindow) -> None:
    four_conversations(window.core)
    view = listed(qtbot, window, 4)
    model = window.list_model
    view.setFocus()
    view.setCurrentIndex(model.index(1, 0))
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert current_number(view) == C

    inbound(window.core, "Hello again", contact=D)
    text_arrived(qtbot, model, D, "Hello again")
    assert order(model) == [A, B, C, D]
    qtbot.waitUntil(pill(window).isVisible)

    qtbot.waitUntil(lambda: order(model) == [D, A, B, C], timeout=5000)
    assert current_number(view) == C
    assert not pill(window).isVisible()


def test_without_a_hold_a_text_moves_its_conversation_to_the_top_at_once(
    qtbot, window: MainWindow
) -> None:
    four_conversations(window.core)
    view = listed(qtbot, window, 4)
    model = window.list_model
    view.setCurrentIndex(model.index(2, 0))
    inbound(window.core, "Right away", contact=D)
    text_arrived(qtbot, model, D, "Right away")
    assert order(model) == [D, A, B, C]
    assert current_number(view) == C
    assert not pill(window).isVisible()


# -- the model alone -----------------------------------------------------------------------


def test_a_held_model_changes_rows_in_place_and_orders_them_once_released(
    qtbot, gui_core: Core
) -> None:
    ids = four_conversations(gui_core)
    model = ConversationListModel(gui_core.store.reader, NumberFormatter())
    model.load()
    selection = QItemSelectionModel(model)
    selection.setCurrentIndex(model.index_of(ids[C]), QItemSelectionModel.SelectionFlag.Select)
    moves: list[str] = []
    model.rowsMoved.connect(lambda *_args: moves.append("move"))
    model.layoutChanged.connect(lambda *_args: moves.append("layout"))

    model.hold()
    inbound(gui_core, "Later", contact=D)
    fresh = inbound(gui_core, "New here", contact=NEW)
    with qtbot.waitSignal(model.orderPendingChanged, check_params_cb=lambda p: p is True):
        model.refresh([ids[D], fresh.conversation_id])
    assert order(model) == [A, B, C, D, NEW]
    assert model.get(ids[D]) is not None
    assert model.row_at(3).snippet == "Later"
    assert model.row_at(3).unread_count == 2
    assert model.position(fresh.conversation_id) == 4
    assert moves == []

    with qtbot.waitSignal(model.orderPendingChanged, check_params_cb=lambda p: p is False):
        model.release()
    assert order(model) == [NEW, D, A, B, C]
    assert moves == ["layout"]
    assert [model.position(ids[n]) for n in (A, B, C, D)] == [2, 3, 4, 1]
    assert model.row_at(selection.currentIndex().row()).contact_number == C
    assert [model.row_at(i.row()).contact_number for i in selection.selectedIndexes()] == [C]

    inbound(gui_core, "And again", contact=B)  # released: moves at once, as before
    model.refresh([ids[B]])
    assert order(model) == [B, NEW, D, A, C]


def test_a_held_model_keeps_its_rows_still_through_a_full_reread(qtbot, gui_core: Core) -> None:
    ids = four_conversations(gui_core)
    model = ConversationListModel(gui_core.store.reader, NumberFormatter())
    model.load()
    model.hold()
    inbound(gui_core, "Burst", contact=C)
    inbound(gui_core, "New here", contact=NEW)
    model.reload_all()  # what a burst of more than BULK_THRESHOLD conversations does
    assert order(model) == [A, B, C, D, NEW]
    changed = model.get(ids[C])
    assert changed is not None
    assert changed.snippet == "Burst"
    assert model.position(ids[C]) == 2
    assert model.order_pending
    model.release()
    assert order(model) == [NEW, C, A, B, D]
