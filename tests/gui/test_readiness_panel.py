"""The readiness panel in the real window: reachable from Help and the status area, checks run
off the GUI thread, and the demo shows one number that is ready and one that is pending."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.core import Core, CoreOptions
from desktop.domain.connection import Link
from desktop.ui.main_window import MainWindow
from desktop.ui.readiness_panel import ReadinessPanel


def _done(panel: ReadinessPanel) -> bool:
    return panel.report is not None and not panel.is_busy()


def test_the_demo_explains_a_ready_number_and_a_pending_one(qtbot: QtBot, tmp_path: Path) -> None:
    core = Core(CoreOptions(data_dir=tmp_path / "demo", demo=True, environ={}, demo_speed=20.0))
    core.open()
    window = MainWindow(core)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    starter = threading.Thread(target=core.start, name="test-core-start")
    starter.start()
    try:
        starter.join(30)
        qtbot.waitUntil(lambda: core.connection.snapshot.number_points_here is True, timeout=15000)
        window.readiness_action.trigger()  # Help › Can I Text Yet?
        panel = window.readiness_panel
        assert panel is not None
        assert panel.isVisible()
        qtbot.waitUntil(lambda: _done(panel), timeout=20000)
        report = panel.report
        assert report is not None
        assert report.phone_number == "+15035550100"
        assert report.ready, [c for c in report.checks if c.ok is False]
        assert panel.summary.text().startswith("Ready: Twoway can send and receive texts.")
        assert panel.row("us_a2p_10dlc").check.ok is True
        assert "VERIFIED" in panel.row("us_a2p_10dlc").detail.text()
        assert panel.row("webhook_reachable").check.ok is True
        assert panel.row("toll_free_verification").check.ok is None

        [toll_free] = report.other_numbers
        assert toll_free.phone_number == "+18005550199"
        assert not toll_free.ready
        pending = next(c for c in toll_free.checks if c.id == "toll_free_verification")
        assert pending.ok is False
        assert "being reviewed" in pending.detail
        rows = panel.findChildren(type(panel.row("number")))
        assert any(r.check is pending and r.fix is not None for r in rows)

        qtbot.keyClick(panel, Qt.Key.Key_Escape)
        assert not panel.isVisible()
    finally:
        window.close()
        core.stop()


def test_the_status_area_opens_it_and_check_again_reruns(
    qtbot: QtBot, window: MainWindow, gui_core: Core
) -> None:
    gui_core.connection.update(link=Link.SIGNED_OUT, problem="Sign in to start texting.")
    link = window.sidebar.status.readiness_link
    assert link.isVisibleTo(window)
    link.linkActivated.emit("readiness")
    panel = window.readiness_panel
    assert panel is not None
    qtbot.waitUntil(lambda: _done(panel), timeout=10000)
    report = panel.report
    assert report is not None
    assert not report.ready
    credentials = panel.row("credentials")
    assert credentials.check.ok is False
    assert credentials.fix is not None
    assert "Sign in" in credentials.check.detail
    assert panel.summary.text().startswith("Not ready")

    first = panel.report
    with qtbot.waitSignal(panel.recheck.clicked):
        panel.recheck.click()
    qtbot.waitUntil(lambda: _done(panel) and panel.report is not first, timeout=10000)
    assert window.open_readiness() is panel  # one panel, raised and re-run
    qtbot.waitUntil(lambda: _done(panel), timeout=10000)
    panel.close()
