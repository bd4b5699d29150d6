"""The composer: Enter sends, Shift+Enter breaks the line, the counter, pictures, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktop.ui.composer import AttachmentChip, ComposerBar
from desktop.ui.main_window import MainWindow
from tests.gui.conftest import inbound, write_picture


@pytest.fixture
def bar(qtbot) -> ComposerBar:
    widget = ComposerBar()
    qtbot.addWidget(widget)
    widget.show()
    return widget


@pytest.fixture
def thread(qtbot, window: MainWindow) -> MainWindow:
    inbound(window.core, "Hi there", unread=False)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    window.open_conversation(window.list_model.row_at(0).id)
    window.pane.composer.editor.setFocus()
    return window


def test_counter_shows_segments_encoding_and_capacity(qtbot, bar: ComposerBar) -> None:
    assert bar.counter.text() == ""
    qtbot.keyClicks(bar.editor, "Hello")
    assert bar.counter.text() == "1 segment · GSM-7 · 5/160"
    bar.editor.setPlainText("x" * 161)
    assert bar.counter.text() == "2 segments · GSM-7 · 161/306"
    assert bar.editor.extraSelections() == []


def test_characters_forcing_ucs2_are_named_and_highlighted(qtbot, bar: ComposerBar) -> None:
    bar.editor.setPlainText("🙂 We’re open")
    text = bar.counter.text()
    assert text.startswith("1 segment · UCS-2 · 13/70")
    assert "’" in text
    assert "🙂" in text
    spans = [
        (s.cursor.selectionStart(), s.cursor.selectionEnd())  # type: ignore[attr-defined]
        for s in bar.editor.extraSelections()
    ]
    # UTF-16 positions: the emoji is two code units, so the quote sits at 5, not 4.
    assert spans == [(0, 2), (5, 6)]
    assert "UCS-2" in bar.counter.toolTip()


def test_too_long_disables_send(qtbot, bar: ComposerBar) -> None:
    bar.editor.setPlainText("a" * 1601)
    assert bar.counter.text() == "Too long: 1,601/1,600 characters"
    assert not bar.send_button.isEnabled()


def test_shift_enter_breaks_the_line_and_enter_sends(qtbot, bar: ComposerBar) -> None:
    sent: list[tuple[str, list[Path]]] = []
    bar.sendRequested.connect(lambda body, files: sent.append((body, files)))
    qtbot.keyClicks(bar.editor, "Line one")
    qtbot.keyClick(bar.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(bar.editor, "Line two")
    assert sent == []
    assert bar.editor.toPlainText() == "Line one\nLine two"
    qtbot.keyClick(bar.editor, Qt.Key.Key_Return)
    assert sent == [("Line one\nLine two", [])]


def test_enter_on_an_empty_box_sends_nothing(qtbot, bar: ComposerBar) -> None:
    sent: list[object] = []
    bar.sendRequested.connect(lambda *args: sent.append(args))
    qtbot.keyClicks(bar.editor, "   ")
    qtbot.keyClick(bar.editor, Qt.Key.Key_Return)
    assert sent == []


def test_pictures_become_chips_that_can_be_removed(qtbot, bar: ComposerBar, tmp_path: Path) -> None:
    first = write_picture(tmp_path / "a.jpg")
    second = write_picture(tmp_path / "b.png")
    bar.add_pictures([first, second])
    qtbot.waitUntil(lambda: bar.attachments == [first, second])
    assert bar.send_button.isEnabled()  # a picture alone can be sent
    chips = bar.findChildren(AttachmentChip, "attachmentChip")
    assert len(chips) == 2
    bar.remove_picture(first)
    assert bar.attachments == [second]


def test_typing_and_enter_queues_a_pending_message_in_the_thread(qtbot, thread: MainWindow) -> None:
    composer = thread.pane.composer
    qtbot.keyClicks(composer.editor, "See you at 3")
    qtbot.keyClick(composer.editor, Qt.Key.Key_Return)
    model = thread.pane.model
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    message = model.item(1).message
    assert (message.direction, message.body, message.status) == (
        "outbound",
        "See you at 3",
        "pending",
    )
    assert message.outbox_state == "queued"
    assert composer.editor.toPlainText() == ""
    assert thread.pane.view.is_at_bottom()
    assert thread.list_model.row_at(0).snippet == "See you at 3"


def test_a_picture_message_is_sent_with_its_file(qtbot, thread: MainWindow, tmp_path: Path) -> None:
    composer = thread.pane.composer
    composer.add_pictures([write_picture(tmp_path / "photo.jpg")])
    qtbot.waitUntil(lambda: composer.send_button.isEnabled())
    qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    model = thread.pane.model
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    message = model.item(1).message
    assert len(message.media) == 1
    assert message.media[0].content_type == "image/jpeg"
    assert message.media[0].file is not None
    assert (thread.core.paths.outgoing_media / message.media[0].file).exists()
    assert composer.attachments == []
    geometry = thread.pane.delegate.geometry(model.item(1), thread.pane.view.viewport().width())
    assert [box.kind for box in geometry.media] == ["picture"]


def test_a_file_that_is_no_picture_is_refused_when_attached_not_at_send(
    qtbot, thread: MainWindow, tmp_path: Path
) -> None:
    composer = thread.pane.composer
    notes = tmp_path / "notes.gif"
    notes.write_text("not a picture")
    composer.add_pictures([notes])
    qtbot.waitUntil(lambda: composer.notice.isVisible())
    assert "notes.gif is not a picture Twoway can read" in composer.notice.text()
    assert composer.attachments == []
    assert composer.findChildren(AttachmentChip, "attachmentChip") == [] or all(
        not chip.isVisible() for chip in composer.findChildren(AttachmentChip, "attachmentChip")
    )
    qtbot.keyClicks(composer.editor, "Here is the file")
    assert not composer.notice.isVisible()  # typing again clears the complaint
    qtbot.keyClick(composer.editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: thread.pane.model.rowCount() == 2)
    assert thread.pane.model.item(1).message.num_media == 0
