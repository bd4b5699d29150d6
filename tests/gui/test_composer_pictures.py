"""Pictures in the composer: pasted screenshots, dropped files, shrinking under 5 MB."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QColor, QImage, QImageReader
from PySide6.QtWidgets import QApplication

from desktop.ui import picture_shrink
from desktop.ui.composer import AttachmentChip
from desktop.ui.main_window import MainWindow
from desktop.ui.picture_shrink import MAX_MMS_BYTES, PictureRefused
from tests.gui.conftest import inbound


@pytest.fixture
def thread(qtbot, window: MainWindow) -> MainWindow:
    inbound(window.core, "Can you send me the form?", unread=False)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    window.open_conversation(window.list_model.row_at(0).id)
    window.pane.composer.editor.setFocus()
    return window


def noise_photo(path: Path, width: int = 1600, height: int = 1200) -> Path:
    """A JPEG that compresses badly (random pixels): about 8 MB at full quality."""
    data = os.urandom(width * height * 3)
    image = QImage(data, width, height, width * 3, QImage.Format.Format_RGB888).copy()
    assert image.save(str(path), quality=100)  # JPEG, from the name
    return path


def test_pasting_a_screenshot_attaches_it_and_it_is_sent(qtbot, thread: MainWindow) -> None:
    composer = thread.pane.composer
    screenshot = QImage(800, 500, QImage.Format.Format_RGB32)
    screenshot.fill(QColor("#e8eef7"))
    QApplication.clipboard().setImage(screenshot)
    qtbot.keyClick(composer.editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(composer.attachments) == 1)
    [pasted] = composer.attachments
    assert pasted.suffix == ".png"
    assert pasted.parent == thread.core.paths.media / "composer"
    assert QImageReader(str(pasted)).size().width() == 800
    assert composer.editor.toPlainText() == ""  # the picture, not its description, went in
    [chip] = composer.findChildren(AttachmentChip, "attachmentChip")
    assert chip.size_label.text().endswith("KB")

    qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    model = thread.pane.model
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    assert [m.content_type for m in model.item(1).message.media] == ["image/png"]


def test_a_dropped_photo_over_5_mb_is_shrunk_to_a_jpeg_that_fits(
    qtbot, thread: MainWindow, tmp_path: Path
) -> None:
    composer = thread.pane.composer
    photo = noise_photo(tmp_path / "IMG_0042.jpg")
    assert photo.stat().st_size > MAX_MMS_BYTES
    dropped = QMimeData()
    dropped.setUrls([QUrl.fromLocalFile(str(photo))])
    assert composer.editor.canInsertFromMimeData(dropped)
    composer.editor.insertFromMimeData(dropped)  # what a drop (or pasting a file) does
    assert not composer.send_button.isEnabled()  # not before it is ready
    qtbot.waitUntil(lambda: len(composer.attachments) == 1, timeout=10_000)
    [ready] = composer.attachments
    assert ready != photo
    assert ready.suffix == ".jpg"
    assert ready.stat().st_size <= MAX_MMS_BYTES
    assert photo.stat().st_size > MAX_MMS_BYTES  # the original is left alone
    [chip] = composer.findChildren(AttachmentChip, "attachmentChip")
    assert "shrunk from" in chip.size_label.text()
    assert composer.send_button.isEnabled()

    qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)
    model = thread.pane.model
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    [media] = model.item(1).message.media
    assert media.content_type == "image/jpeg"
    assert media.file is not None
    assert (thread.core.paths.outgoing_media / media.file).stat().st_size <= MAX_MMS_BYTES


def test_a_bmp_is_converted_and_the_picker_offers_every_twilio_image_type(
    qtbot, thread: MainWindow, tmp_path: Path
) -> None:
    composer = thread.pane.composer
    scan = QImage(300, 200, QImage.Format.Format_RGB32)
    scan.fill(QColor("#ffffff"))
    assert scan.save(str(tmp_path / "scan.bmp"))
    composer.add_pictures([tmp_path / "scan.bmp"])
    qtbot.waitUntil(lambda: len(composer.attachments) == 1)
    assert composer.attachments[0].suffix == ".jpg"  # phones may not show a BMP
    offered = picture_shrink.picture_suffixes()
    assert {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".webp"} <= set(
        offered
    )


def test_a_picture_that_cannot_fit_is_refused_in_plain_words(tmp_path: Path) -> None:
    photo = noise_photo(tmp_path / "huge.jpg", 800, 800)
    with pytest.raises(PictureRefused, match="could not be made smaller than"):
        picture_shrink.prepare_file(photo, tmp_path / "out", budget=2_000)
