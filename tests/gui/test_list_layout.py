"""The conversation list's rows: one height for all, the right one, and a place that stays
put for someone scrolled down when a text arrives at the top."""

from __future__ import annotations

import itertools
import time

from pytestqt.qtbot import QtBot

from desktop.core import Core
from desktop.ui.main_window import MainWindow
from tests.gui.conftest import inbound

OTHER_NUMBER = "+15035550199"


def _row_height(window: MainWindow, row: int = 0) -> int:
    view = window.list_view
    return view.visualRect(window.list_model.index(row, 0)).height()


def _rows_touch(window: MainWindow) -> bool:
    """Each row starts where the one above it ends: no overlap, no gap."""
    view, model = window.list_view, window.list_model
    rects = [view.visualRect(model.index(i, 0)) for i in range(model.rowCount())]
    return all(b.top() == a.top() + a.height() for a, b in itertools.pairwise(rects))


def test_rows_grow_a_line_when_a_second_number_of_ours_appears_and_fill_the_width(
    qtbot: QtBot, gui_core: Core, window: MainWindow
) -> None:
    inbound(gui_core, "First customer", contact="+15035550111")
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    view = window.list_view
    view.executeDelayedItemsLayout()
    two_lines = _row_height(window)
    assert view.visualRect(window.list_model.index(0, 0)).width() == view.viewport().width()

    inbound(gui_core, "Texting our other number", contact="+15035550122", our=OTHER_NUMBER)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2)
    qtbot.waitUntil(lambda: _row_height(window) > two_lines)  # which number it came to
    assert _row_height(window, 1) == _row_height(window, 0)
    qtbot.waitUntil(lambda: _rows_touch(window))
    for i in range(3):
        inbound(gui_core, f"More {i}", contact=f"+1503555013{i}")
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 5)
    view.executeDelayedItemsLayout()
    assert _rows_touch(window)

    window.resize(window.width() + 120, window.height())
    qtbot.waitUntil(
        lambda: view.visualRect(window.list_model.index(0, 0)).width() == view.viewport().width()
    )


def test_someone_scrolled_down_keeps_their_place_when_a_new_customer_texts(
    qtbot: QtBot, gui_core: Core, window: MainWindow
) -> None:
    now = int(time.time() * 1000) - 10_000_000
    for i in range(300):
        inbound(gui_core, f"Earlier text {i}", contact=f"+1503555{i:04d}", at_ms=now + i)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 300)
    view = window.list_view
    view.executeDelayedItemsLayout()
    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    place = bar.value()

    seen: list[int] = []
    bar.valueChanged.connect(seen.append)
    inbound(gui_core, "Hi, new here!", contact="+19715550001")
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 301)
    view.executeDelayedItemsLayout()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    assert bar.value() == place
    assert seen == []  # not even for a moment
