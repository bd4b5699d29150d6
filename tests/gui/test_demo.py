"""The demo, end to end through the real window: customers text in (one with a picture),
and a reply typed by the user is answered.  The simulated minute runs 20× faster."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.core import Core, CoreOptions
from desktop.simulator.personas import JAMAL, MARIA
from desktop.store import queries


def _conversation_id(core: Core, number: str) -> int | None:
    for row in queries.conversations(core.store.reader()):
        if row.contact_number == number:
            return row.id
    return None


def test_demo_shows_texts_and_a_picture_and_answers_a_reply(qtbot: QtBot, tmp_path: Path) -> None:
    from desktop.ui.main_window import MainWindow

    core = Core(CoreOptions(data_dir=tmp_path / "demo", demo=True, environ={}, demo_speed=20.0))
    core.open()
    window = MainWindow(core)
    qtbot.addWidget(window)
    window.resize(1100, 720)
    window.show()
    qtbot.waitExposed(window)
    started = core.start()
    try:
        started.result(30)
        assert core.network.demo is not None
        assert window.demo_banner.isVisible()

        # Customers text in; the demo's customers show by name.
        qtbot.waitUntil(lambda: _conversation_id(core, MARIA.number) is not None, timeout=20000)
        qtbot.waitUntil(
            lambda: any(
                window.list_model.row_at(i).contact_name == MARIA.name
                for i in range(window.list_model.rowCount())
            ),
            timeout=10000,
        )

        # Jamal's picture arrives, is downloaded from the simulated Twilio and thumbnailed.
        def jamal_thumbnail() -> Path | None:
            cid = _conversation_id(core, JAMAL.number)
            if cid is None:
                return None
            for message in queries.thread_page(core.store.reader(), cid):
                for media in message.media:
                    if media.state == "done" and media.thumbnail:
                        return core.paths.thumbnails / media.thumbnail
            return None

        qtbot.waitUntil(lambda: jamal_thumbnail() is not None, timeout=20000)
        thumbnail = jamal_thumbnail()
        assert thumbnail is not None
        assert thumbnail.exists()
        jamal = _conversation_id(core, JAMAL.number)
        assert jamal is not None
        assert window.open_conversation(jamal)
        qtbot.waitUntil(
            lambda: any(
                item.message.media
                for item in (window.pane.model.item(r) for r in range(window.pane.model.rowCount()))
                if getattr(item, "message", None) is not None
            ),
            timeout=5000,
        )

        # The user replies to Maria from the keyboard; Maria answers.
        maria = _conversation_id(core, MARIA.number)
        assert maria is not None
        assert window.open_conversation(maria)
        editor = window.pane.composer.editor
        qtbot.waitUntil(editor.isEnabled, timeout=5000)
        editor.setFocus()
        qtbot.keyClicks(editor, "We have 3:30 on Thursday, would that work?")
        qtbot.keyClick(editor, Qt.Key.Key_Return)

        def answered() -> bool:
            page = queries.thread_page(core.store.reader(), maria)
            sent = [m for m in page if m.direction == "outbound" and "3:30 on Thursday" in m.body]
            if not sent or sent[-1].status != "delivered":
                return False
            return any(m.direction == "inbound" and m.key > sent[-1].key for m in page)

        qtbot.waitUntil(answered, timeout=20000)

        def last_shown() -> str:
            model = window.pane.model
            message = model.item(model.rowCount() - 1).message
            return "" if message is None or message.direction != "inbound" else message.body

        qtbot.waitUntil(lambda: last_shown() in MARIA.answers + MARIA.acks, timeout=5000)
    finally:
        window.close()
        core.stop()
