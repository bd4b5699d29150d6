"""The fast start: the first frame shows the newest conversations, then the real window
takes its place with the same conversations and opens the one chosen meanwhile."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QLabel, QListView
from pytestqt.qtbot import QtBot

from desktop.core import Core, CoreOptions
from desktop.paths import Paths
from desktop.store import writes
from desktop.ui.first_frame import ENV_PHONE_NUMBER, EarlyLook, FirstFrame, read_early_look
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


def test_the_app_paints_from_a_look_at_the_files_before_its_core_exists(
    qtbot: QtBot, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    seeded = Core(CoreOptions(data_dir=data, environ={}))
    seeded.open()
    inbound(seeded, "Can I move my cleaning to Friday?", contact="+15035550142")
    seeded.settings_store.replace(seeded.settings.replace(phone_number="+15035550100"))
    seeded.stop()

    look = read_early_look(Paths(data), demo=False, environ={})
    assert [row.contact_number for row in look.rows] == ["+15035550142"]
    assert look.home_number == "+15035550100"
    window = MainWindow(None, early=look)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    frame = window.centralWidget()
    assert isinstance(frame, FirstFrame)
    texts = [label.text() for label in frame.findChildren(QLabel)]
    assert "(503) 555-0142" in texts  # read nationally: our number is American too
    assert not window.attached

    core = Core(CoreOptions(data_dir=data, environ={}))
    core.open()
    try:
        window.attach(core)
        window.warm_up()
        assert window.findChild(QListView, "conversationList") is not None
        assert window.conversation_count() == 1
    finally:
        window.close()
        core.stop()


def test_a_window_closed_before_its_core_came_closes_quietly(qtbot: QtBot, tmp_path: Path) -> None:
    window = MainWindow(None, early=EarlyLook(demo=True))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.close()


def test_the_look_is_empty_where_the_files_cannot_be_read(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "new")
    assert read_early_look(paths, demo=False, environ={}).rows == []  # first start: no file
    paths.create()
    paths.database.write_bytes(b"not a database at all" * 200)
    paths.settings.write_text("{not json", encoding="utf-8")
    look = read_early_look(paths, demo=True, environ={ENV_PHONE_NUMBER: "+447700900123"})
    assert look.rows == []
    assert look.home_number == "+447700900123"  # the environment wins, as in the core
    assert look.demo


def test_the_look_reads_the_same_variable_as_the_core() -> None:
    from desktop import config

    assert config.ENV_PHONE_NUMBER == ENV_PHONE_NUMBER
