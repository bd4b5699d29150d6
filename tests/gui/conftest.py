"""GUI test fixtures: a real Core on a temporary data folder, and the real main window.

Messages are written the way the app writes them (through the store's writer), so the
window learns about them through the same events it gets in production.  The offscreen
platform warns that it "does not support propagateSizeHints()" for every main window;
that one message is not a failure.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core import Core, CoreOptions
from desktop.domain.models import Direction, Geo, MediaRef, NewMessage, Source
from desktop.store import writes
from desktop.store.writes import InsertResult

OUR_NUMBER = "+15035550100"
CUSTOMER = "+15035550142"
_GUI_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == _GUI_DIR:
            item.add_marker(
                pytest.mark.qt_log_ignore(
                    "does not support propagateSizeHints", "This plugin does not support raise"
                )
            )


@pytest.fixture(autouse=True)
def pointer_far_away(qapp) -> None:
    """Park the pointer off every window: a list under the pointer holds its rows still,
    and a test that moved the pointer over a list must not leave the next one holding."""
    from PySide6.QtGui import QCursor

    QCursor.setPos(5000, 5000)


@pytest.fixture
def gui_core(tmp_path: Path) -> Iterator[Core]:
    core = Core(CoreOptions(data_dir=tmp_path / "data", environ={}))
    core.open()
    yield core
    core.stop()


@pytest.fixture
def window(qtbot, gui_core: Core):
    from desktop.ui.main_window import MainWindow

    win = MainWindow(gui_core)
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    yield win
    win.close()


def new_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


def inbound(
    core: Core,
    body: str = "Hello",
    *,
    contact: str = CUSTOMER,
    our: str = OUR_NUMBER,
    at_ms: int | None = None,
    media: tuple[MediaRef, ...] = (),
    geo: Geo | None = None,
    unread: bool = True,
) -> InsertResult:
    sid = new_sid("MM" if media else "SM")
    message = NewMessage(
        sid=sid,
        direction=Direction.INBOUND,
        from_number=contact,
        to_number=our,
        body=body,
        status="received",
        created_at_ms=at_ms or int(time.time() * 1000),
        source=Source.WEBHOOK,
        media=media,
        from_geo=geo or Geo(),
        unread=unread,
    )
    return core.store.writer.call(lambda tx: writes.insert_message(tx, message))


def outbound(
    core: Core,
    body: str,
    *,
    contact: str = CUSTOMER,
    status: str = "delivered",
    at_ms: int | None = None,
) -> InsertResult:
    message = NewMessage(
        sid=new_sid(),
        direction=Direction.OUTBOUND,
        from_number=OUR_NUMBER,
        to_number=contact,
        body=body,
        status=status,
        created_at_ms=at_ms or int(time.time() * 1000),
        source=Source.BACKFILL,
    )
    return core.store.writer.call(lambda tx: writes.insert_message(tx, message))


def write_picture(path: Path, width: int = 640, height: int = 480) -> Path:
    from PySide6.QtGui import QColor, QImage

    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#3b82d6"))
    path.parent.mkdir(parents=True, exist_ok=True)
    assert image.save(str(path))
    return path
