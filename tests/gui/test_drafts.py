"""Drafts: what staff typed (and attached) stays with its conversation, across restarts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from desktop.core import Core, CoreOptions
from desktop.ui.main_window import MainWindow
from tests.gui.conftest import inbound, write_picture

OTHER = "+15035550199"


def open_by_number(window: MainWindow, contact: str) -> int:
    for i in range(window.list_model.rowCount()):
        row = window.list_model.row_at(i)
        if row.contact_number == contact:
            window.open_conversation(row.id)
            return row.id
    raise AssertionError(f"no conversation with {contact}")


def two_conversations(qtbot, window: MainWindow) -> None:
    inbound(window.core, "Can I move my cleaning?", unread=False)
    inbound(window.core, "Do you take my insurance?", contact=OTHER, unread=False)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2)


def test_a_half_written_reply_and_its_picture_come_back_after_switching(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    from tests.gui.conftest import CUSTOMER

    two_conversations(qtbot, window)
    composer = window.pane.composer
    first = open_by_number(window, CUSTOMER)
    composer.editor.setFocus()
    qtbot.keyClicks(composer.editor, "Sure, would Thursday")
    picture = write_picture(tmp_path / "xray.png")
    composer.add_pictures([picture])
    qtbot.waitUntil(lambda: composer.attachments == [picture])

    open_by_number(window, OTHER)
    assert composer.text() == ""
    assert composer.attachments == []
    qtbot.keyClicks(composer.editor, "Yes we do")

    open_by_number(window, CUSTOMER)
    assert composer.text() == "Sure, would Thursday"
    qtbot.waitUntil(lambda: composer.attachments == [picture])
    open_by_number(window, OTHER)
    assert composer.text() == "Yes we do"
    qtbot.waitUntil(lambda: window.pane.front_desk.draft(first) is not None)
    saved = window.pane.front_desk.draft(first)
    assert saved is not None
    assert (saved.body, saved.attachments) == ("Sure, would Thursday", (str(picture),))


def test_a_draft_survives_closing_the_app_without_switching(qtbot, tmp_path: Path) -> None:
    data = tmp_path / "data"
    core = Core(CoreOptions(data_dir=data, environ={}))
    core.open()
    window = MainWindow(core)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    inbound(core, "Is the office open Monday?", unread=False)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    window.open_conversation(window.list_model.row_at(0).id)
    composer = window.pane.composer
    composer.editor.setFocus()
    qtbot.keyClicks(composer.editor, "Yes, from 8 to")  # no pause, no switch: closed at once
    window.close()
    core.stop()

    again = Core(CoreOptions(data_dir=data, environ={}))
    again.open()
    try:
        reopened = MainWindow(again)
        qtbot.addWidget(reopened)
        reopened.show()
        qtbot.waitExposed(reopened)
        reopened.open_conversation(reopened.list_model.row_at(0).id)
        assert reopened.pane.composer.text() == "Yes, from 8 to"
        reopened.close()
    finally:
        again.stop()


def test_sending_clears_the_draft(qtbot, window: MainWindow) -> None:
    from tests.gui.conftest import CUSTOMER

    two_conversations(qtbot, window)
    composer = window.pane.composer
    first = open_by_number(window, CUSTOMER)
    composer.editor.setFocus()
    qtbot.keyClicks(composer.editor, "See you Thursday")
    open_by_number(window, OTHER)
    qtbot.waitUntil(lambda: window.pane.front_desk.draft(first) is not None)

    open_by_number(window, CUSTOMER)
    assert composer.text() == "See you Thursday"
    qtbot.keyClick(composer.editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.pane.model.rowCount() == 2)
    qtbot.waitUntil(lambda: window.pane.front_desk.draft(first) is None)
    open_by_number(window, OTHER)
    open_by_number(window, CUSTOMER)
    assert composer.text() == ""
