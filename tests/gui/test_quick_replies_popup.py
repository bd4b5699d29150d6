"""Quick replies from the composer: "/" and a few letters, or the Quick replies menu."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt

from desktop.domain.quick_replies import QuickReply
from desktop.store import writes
from desktop.ui.main_window import MainWindow
from desktop.ui.quick_reply_popup import trigger_at
from tests.gui.conftest import inbound

REPLIES = (
    QuickReply("Confirm appointment", "Hi {first_name}, you're all set for tomorrow."),
    QuickReply("Running late", "We're running about 15 minutes behind, sorry {name}!"),
    QuickReply("Directions", "We're at 1200 SW Park Ave."),
)


@pytest.fixture
def thread(qtbot, window: MainWindow) -> MainWindow:
    core = window.core
    desk = window.pane.front_desk
    desk.replace_setup(dataclasses.replace(desk.setup, quick_replies=REPLIES))
    result = inbound(core, "Am I still on for tomorrow?", unread=False)
    conversation_id = result.conversation_id
    core.store.writer.call(lambda tx: writes.rename_contact(tx, conversation_id, "Ada Byron"))
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    window.open_conversation(conversation_id)
    window.pane.composer.editor.setFocus()
    return window


def popup_names(window: MainWindow) -> list[str]:
    popup = window.pane.composer.completion.popup
    assert popup is not None
    return [reply.name for reply in popup.replies]


def test_slash_and_letters_list_matches_and_enter_inserts_the_filled_in_reply(
    qtbot, thread: MainWindow
) -> None:
    composer = thread.pane.composer
    completion = composer.completion
    qtbot.keyClicks(composer.editor, "Thanks! /")
    assert completion.is_open()
    assert popup_names(thread) == ["Confirm appointment", "Running late", "Directions"]
    qtbot.keyClicks(composer.editor, "la")
    assert popup_names(thread) == ["Running late"]
    qtbot.keyClick(composer.editor, Qt.Key.Key_Backspace)
    qtbot.keyClick(composer.editor, Qt.Key.Key_Backspace)
    qtbot.keyClicks(composer.editor, "c")
    assert popup_names(thread)[0] == "Confirm appointment"

    qtbot.keyClick(composer.editor, Qt.Key.Key_Return)
    assert not completion.is_open()
    assert composer.text() == "Thanks! Hi Ada, you're all set for tomorrow."
    assert thread.pane.model.rowCount() == 1  # Enter chose the reply; it did not send


def test_arrows_choose_tab_inserts_and_escape_closes(qtbot, thread: MainWindow) -> None:
    composer = thread.pane.composer
    completion = composer.completion
    qtbot.keyClicks(composer.editor, "/")
    qtbot.keyClick(composer.editor, Qt.Key.Key_Down)
    qtbot.keyClick(composer.editor, Qt.Key.Key_Down)
    qtbot.keyClick(composer.editor, Qt.Key.Key_Up)
    qtbot.keyClick(composer.editor, Qt.Key.Key_Tab)
    assert composer.text() == "We're running about 15 minutes behind, sorry Ada Byron!"
    assert composer.editor.hasFocus()  # Tab inserted instead of moving on

    qtbot.keyClicks(composer.editor, " /dir")
    assert completion.is_open()
    qtbot.keyClick(composer.editor, Qt.Key.Key_Escape)
    assert not completion.is_open()
    qtbot.keyClicks(composer.editor, "e")  # still the dismissed word: stays closed
    assert not completion.is_open()
    qtbot.keyClick(composer.editor, Qt.Key.Key_Return)  # and Enter sends again
    qtbot.waitUntil(lambda: thread.pane.model.rowCount() == 2)
    assert thread.pane.model.item(1).message.body.endswith("sorry Ada Byron! /dire")


def test_the_quick_replies_menu_inserts_at_the_cursor(qtbot, thread: MainWindow) -> None:
    composer = thread.pane.composer
    qtbot.keyClicks(composer.editor, "Hello! ")
    composer._fill_quick_menu()
    names = [a.text() for a in composer.quick_menu.actions()]
    assert names == ["Confirm appointment", "Running late", "Directions"]
    composer.quick_menu.actions()[2].trigger()
    assert composer.text() == "Hello! We're at 1200 SW Park Ave."


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("/", (0, "")), ("hi /con", (3, "con")), ("and/or", None), ("http://x", None), ("/a b", None)],
)
def test_only_a_slash_starting_a_word_opens_the_list(
    typed: str, expected: tuple[int, str] | None
) -> None:
    assert trigger_at(typed) == expected
