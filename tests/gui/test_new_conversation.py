"""Ctrl+N's dialog: numbers as people type them, reasons inline, keyboard all the way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop.core import Core, CoreOptions
from desktop.credentials import TwilioCredentials
from desktop.domain.connection import Link
from desktop.store import writes
from desktop.ui.new_conversation import EXPLAIN_AFTER_MS, WANTS_SETUP, NewConversationDialog

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")

PORTLAND = ("+15035550100", "PN" + "1" * 32, "Front desk", True, True, "")
VOICE_ONLY = ("+15035550199", "PN" + "2" * 32, "Phones", False, False, "")
LONDON = ("+442079460000", "PN" + "3" * 32, "London office", True, False, "")


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Core]:
    c = Core(CoreOptions(data_dir=tmp_path / "data", environ={}))
    c.open()
    c.settings_store.update(lambda s: s.replace(phone_number=PORTLAND[0]))
    yield c
    c.stop()


def save_numbers(core: Core, *numbers: tuple[str, str, str, bool, bool, str]) -> None:
    core.store.writer.call(lambda tx: writes.save_our_numbers(tx, list(numbers)))


def open_dialog(qtbot, core: Core) -> NewConversationDialog:
    dialog = NewConversationDialog(core)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


@pytest.fixture
def dialog(qtbot, core: Core) -> NewConversationDialog:
    save_numbers(core, PORTLAND, VOICE_ONLY)
    return open_dialog(qtbot, core)


def test_typed_number_tab_message_enter_sends(qtbot, dialog) -> None:
    assert QApplication.focusWidget() is dialog.number
    qtbot.keyClicks(dialog.number, "(503) 555-0142")
    assert dialog.contact_e164() == "+15035550142"
    qtbot.keyClick(dialog.number, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is dialog.message
    qtbot.keyClicks(dialog.message, "Your order is ready")
    with qtbot.waitSignal(dialog.accepted):
        qtbot.keyClick(dialog.message, Qt.Key.Key_Return)
    assert dialog.result_conversation() == ("+15035550100", "+15035550142", "Your order is ready")


def test_enter_in_the_number_field_moves_to_the_message(qtbot, dialog) -> None:
    qtbot.keyClicks(dialog.number, "503.555.0142")
    qtbot.keyClick(dialog.number, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert QApplication.focusWidget() is dialog.message


def test_shift_enter_adds_a_line(qtbot, dialog) -> None:
    qtbot.keyClicks(dialog.number, "5035550142")
    dialog.message.setFocus()
    qtbot.keyClicks(dialog.message, "Hi")
    qtbot.keyClick(dialog.message, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(dialog.message, "there")
    assert dialog.isVisible()
    assert dialog.message.toPlainText() == "Hi\nthere"


def test_an_invalid_number_is_explained_once_typing_pauses(qtbot, dialog) -> None:
    qtbot.keyClicks(dialog.number, "555-0142")
    dialog.message.setPlainText("Hello")
    assert not dialog.send_button.isEnabled()
    assert dialog.number_status.kind() == "", "no complaint while still typing"
    qtbot.waitUntil(lambda: dialog.number_status.kind() == "error", timeout=EXPLAIN_AFTER_MS * 5)
    assert dialog.number_status.text() == "That number is missing its area code."
    qtbot.keyClick(dialog.message, Qt.Key.Key_Return)
    assert dialog.isVisible(), "Enter does not send to a bad number"
    assert dialog.result_conversation() is None

    dialog.number.setText("(503) 555-0142")
    assert dialog.number_status.kind() == "ok", "a fixed number clears the complaint at once"
    assert dialog.number_status.text() == "(503) 555-0142"
    assert dialog.send_button.isEnabled()


def test_enter_on_a_bad_number_explains_immediately(qtbot, dialog) -> None:
    qtbot.keyClicks(dialog.number, "12")
    qtbot.keyClick(dialog.number, Qt.Key.Key_Return)
    assert dialog.number_status.kind() == "error"
    assert "too short" in dialog.number_status.text()


def test_numbers_without_sms_are_not_offered(dialog) -> None:
    offered = [dialog.sender_choice.itemData(i) for i in range(dialog.sender_choice.count())]
    assert offered == ["+15035550100"]
    assert not dialog.sender_choice.isEnabled(), "nothing to choose between"


def test_the_sender_follows_the_recipients_country(qtbot, core) -> None:
    save_numbers(core, PORTLAND, LONDON)
    dialog = open_dialog(qtbot, core)
    assert dialog.sender_e164() == "+15035550100", "the configured number is preselected"
    qtbot.keyClicks(dialog.number, "+44 20 7946 0958")
    assert dialog.sender_e164() == "+442079460000"
    assert dialog.sender_status.kind() == ""


def test_a_warning_when_no_number_suits_the_recipient(qtbot, dialog) -> None:
    qtbot.keyClicks(dialog.number, "+44 20 7946 0958")
    assert dialog.contact_e164() == "+442079460958"
    assert dialog.sender_status.kind() == "warning"
    assert "International texts cost more" in dialog.sender_status.text()


def test_before_the_first_sync_the_configured_number_is_offered(qtbot, core) -> None:
    dialog = open_dialog(qtbot, core)
    assert dialog.sender_e164() == "+15035550100"


def test_signed_in_without_any_number_nothing_can_be_sent(qtbot, core) -> None:
    core.settings_store.update(lambda s: s.replace(phone_number=""))
    core.network.credentials = TwilioCredentials("AC" + "0" * 32, "token")
    dialog = open_dialog(qtbot, core)
    qtbot.keyClicks(dialog.number, "(503) 555-0142")
    dialog.message.setPlainText("Hello")
    assert not dialog.send_button.isEnabled()
    assert "no phone numbers" in dialog.sender_status.text()
    assert dialog.fix_button is None


def test_signed_out_it_says_to_sign_in_and_offers_the_way(qtbot, core) -> None:
    core.settings_store.update(lambda s: s.replace(phone_number=""))
    assert core.credentials is None
    dialog = open_dialog(qtbot, core)
    shown = dialog.sender_status.text()
    assert "no phone numbers" not in shown
    assert "not signed in" in shown
    assert dialog.fix_button is not None
    assert dialog.fix_button.text() == "Sign in…"
    with qtbot.waitSignal(dialog.finished) as finished:
        dialog.fix_button.click()
    assert finished.args == [WANTS_SETUP]


def test_locked_it_says_to_unlock(qtbot, core) -> None:
    core.settings_store.update(lambda s: s.replace(phone_number=""))
    core.connection.update(link=Link.LOCKED)
    dialog = open_dialog(qtbot, core)
    assert "locked" in dialog.sender_status.text()
    assert dialog.fix_button is not None
    assert dialog.fix_button.text() == "Unlock…"


def test_escape_closes(qtbot, dialog) -> None:
    qtbot.keyClicks(dialog.number, "(503) 555-0142")
    with qtbot.waitSignal(dialog.rejected):
        qtbot.keyClick(dialog.number, Qt.Key.Key_Escape)
    assert dialog.result_conversation() is None
