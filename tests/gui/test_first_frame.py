"""The fast start: the first frame shows the newest conversations, then the real window
takes its place with the same conversations and opens the one chosen meanwhile."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListView
from pytestqt.qtbot import QtBot

from desktop.core import Core
from desktop.store import writes
from desktop.ui.first_frame import FirstFrame
from desktop.ui.main_window import MainWindow
from tests.gui.conftest import inbound


def test_first_frame_then_the_real_window(qtbot: QtBot, gui_core: Core) -> None:
    inbound(gui_core, "Is the office open Saturday?", contact="+15035550142")
    newest = inbound(gui_core, "Running ten minutes late, sorry!", contact="+15035550177")
    gui_core.store.writer.call(
        lambda tx: writes.rename_contact(tx, newest.conversation_id, "Dana Whitfield")
    )
    window = MainWindow(gui_core, fast_start=True)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)

    frame = window.centralWidget()
    assert isinstance(frame, FirstFrame)
    texts = [label.text() for label in frame.findChildren(QLabel)]
    assert "Dana Whitfield" in texts
    assert any(text.startswith("Running ten minutes late") for text in texts)
    assert window.findChild(QListView, "conversationList") is None

    window.warm_up()
    assert not isinstance(window.centralWidget(), FirstFrame)
    assert window.findChild(QListView, "conversationList") is not None
    assert window.conversation_count() == 2
    assert window.list_model.row_at(0).contact_name == "Dana Whitfield"
    # The list took focus before the paint; its first conversation opens after warm-up.
    qtbot.waitUntil(lambda: window.pane.conversation_id == newest.conversation_id, timeout=3000)
