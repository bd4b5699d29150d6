"""The damage dialog through the real window: at start instead of a half-started app, and
over the window when the page check finds damage after the first paint."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.config import Paths
from desktop.core import Core, CoreOptions
from desktop.domain.store_health import HealthKind
from desktop.store import backups, health
from desktop.store.service import Store
from desktop.ui.damage_dialog import DamageDialog
from desktop.ui.main_window import MainWindow
from desktop.ui.store_guard import open_until_usable, watch_store_health
from tests.damage_helpers import damage_page
from tests.gui.conftest import inbound

Step = Callable[[DamageDialog], bool]


def _seed(data_dir: Path, texts: int = 1500) -> Paths:
    paths = Paths(data_dir)
    paths.create()
    core = Core(CoreOptions(data_dir=data_dir, environ={}))
    core.open()
    for i in range(texts):
        inbound(core, f"Text {i} about Thursday", contact=f"+1971555{i % 12:04d}")
    core.stop()
    return paths


def _drive(steps: list[Step]) -> QTimer:
    """Act on the (modal) dialog from inside its event loop: each step runs until it
    returns True, then the next one."""
    timer = QTimer()
    pending = list(steps)

    def tick() -> None:
        dialogs = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, DamageDialog) and w.isVisible()
        ]
        if pending and dialogs and pending[0](dialogs[0]):
            pending.pop(0)
        if not pending:
            timer.stop()

    timer.timeout.connect(tick)
    timer.start(30)
    return timer


def _click(name: str) -> Step:
    def step(dialog: DamageDialog) -> bool:
        button = dialog.findChild(type(dialog.quit_button), name)
        if button is None or not button.isVisible() or not button.isEnabled():
            return False
        button.click()
        return True

    return step


@pytest.fixture
def built() -> Iterator[list[MainWindow]]:
    windows: list[MainWindow] = []
    yield windows
    for window in windows:
        window.close()


def test_an_empty_database_at_start_offers_the_backup_and_opens_with_it(
    qtbot: QtBot, tmp_path: Path, built: list[MainWindow]
) -> None:
    paths = _seed(tmp_path / "data", texts=30)
    assert backups.back_up_daily(paths.database, paths.backups) is not None
    paths.database.write_bytes(b"")
    core = Core(CoreOptions(data_dir=paths.data_dir, environ={}))
    seen: list[str] = []

    def look(dialog: DamageDialog) -> bool:
        seen.append(dialog.health.kind)
        seen.append(dialog.restore_button.text())
        return True

    driver = _drive([look, _click("restoreButton"), _click("continueButton")])
    window = open_until_usable(core, lambda: MainWindow(core))
    driver.stop()
    try:
        assert window is not None
        built.append(window)
        assert seen[0] is HealthKind.EMPTY_FILE
        assert seen[1].startswith("Restore the backup of")
        assert window.conversation_count() == 12
        assert (paths.data_dir / "damaged").is_dir()  # the empty file was kept aside
    finally:
        core.stop()


def test_a_locked_database_at_start_says_so_and_try_again_opens(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built: list[MainWindow]
) -> None:
    monkeypatch.setattr(health, "LOCK_PROBE_TIMEOUT_S", 0.2)
    paths = _seed(tmp_path / "data", texts=5)
    other = sqlite3.connect(paths.database, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    core = Core(CoreOptions(data_dir=paths.data_dir, environ={}))
    texts: list[str] = []

    def look_then_release(dialog: DamageDialog) -> bool:
        texts.append(dialog.message.text())
        assert not dialog.repair_button.isVisible()
        other.execute("ROLLBACK")
        return True

    driver = _drive([look_then_release, _click("retryButton")])
    window = open_until_usable(core, lambda: MainWindow(core))
    driver.stop()
    other.close()
    try:
        assert window is not None
        built.append(window)
        assert "Another program is using" in texts[0]
        assert core.store.health.current.ok
    finally:
        core.stop()


def test_damage_found_after_the_first_paint_is_shown_and_repaired_over_the_window(
    qtbot: QtBot, tmp_path: Path
) -> None:
    paths = _seed(tmp_path / "data")
    damage_page(paths.database, "messages")
    core = Core(CoreOptions(data_dir=paths.data_dir, environ={}))
    core.open()  # the quick look cannot see a damaged page: the window opens
    window = MainWindow(core)
    qtbot.addWidget(window)
    watch_store_health(window, core, window.bridge.connectionChanged)
    window.show()
    qtbot.waitExposed(window)
    try:
        starter = threading.Thread(target=core.start, name="test-core-start")
        starter.start()
        starter.join(30)

        def dialog() -> DamageDialog | None:
            found = window.findChild(DamageDialog, "damageDialog")
            return found if isinstance(found, DamageDialog) and found.isVisible() else None

        qtbot.waitUntil(lambda: dialog() is not None, timeout=10000)
        assert core.network.receiver is None  # nothing that writes was started
        status = window.sidebar.status
        assert status.headline.text() == "The message database is damaged"
        shown = dialog()
        assert shown is not None
        qtbot.mouseClick(shown.quit_button, Qt.MouseButton.LeftButton)  # "Close": later
        qtbot.waitUntil(lambda: dialog() is None)

        assert status.button.text() == "Repair…"
        qtbot.mouseClick(status.button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog() is not None)
        shown = dialog()
        assert shown is not None
        qtbot.mouseClick(shown.repair_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: shown.report.isVisible(), timeout=30000)
        report = shown.report.toPlainText()
        assert "unreadable" in report
        assert "The damaged file is kept, unchanged" in report
        qtbot.mouseClick(shown.continue_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog() is None)

        # The page check of the repaired file runs as the app restarts, after the report.
        qtbot.waitUntil(lambda: core.store.health.current.kind is HealthKind.OK, timeout=10000)
        qtbot.waitUntil(lambda: status.headline.text() != "The message database is damaged")
        assert window.conversation_count() == 12
        core.messaging.mark_read(1).result(timeout=10)  # writes are accepted again
        store_rows = Store(paths.database, paths.backups)
        store_rows.open()
        try:
            count = store_rows.reader().execute("SELECT count(*) FROM messages").fetchone()[0]
        finally:
            store_rows.close()
        assert 0 < count < 1500  # the damaged page's texts wait for Twilio's log
    finally:
        window.close()
        core.stop()


def test_a_window_that_cannot_be_built_on_damage_becomes_the_repair_at_start(
    qtbot: QtBot, tmp_path: Path, built: list[MainWindow]
) -> None:
    paths = _seed(tmp_path / "data", texts=600)
    damage_page(paths.database, "conversations_by_recency")  # what the first frame reads
    core = Core(CoreOptions(data_dir=paths.data_dir, environ={}))
    kinds: list[HealthKind] = []

    def look(dialog: DamageDialog) -> bool:
        kinds.append(dialog.health.kind)
        return True

    def report_shown(dialog: DamageDialog) -> bool:
        return dialog.report.isVisible()

    driver = _drive([look, _click("repairButton"), report_shown, _click("continueButton")])
    window = open_until_usable(core, lambda: MainWindow(core, fast_start=True))
    driver.stop()
    try:
        assert window is not None
        built.append(window)
        assert kinds == [HealthKind.DAMAGED]
        window.warm_up()
        assert window.conversation_count() == 12
        assert core.store.health.current.ok
    finally:
        core.stop()
