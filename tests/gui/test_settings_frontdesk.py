"""Settings → Quick replies, Business hours, Auto-replies: saved through the front desk with
a real core (signed out, and in the demo), shown again on reopening, and the setup file
imported and exported from the dialog."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QTableWidgetItem

from desktop.core import Core, CoreOptions
from desktop.frontdesk.setup_file import local_time_zone, setup_path
from desktop.ui.frontdesk_access import front_desk
from desktop.ui.settings_auto_replies import AutoRepliesPage
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.settings_hours import HoursPage
from desktop.ui.settings_quick_replies import QuickRepliesPage


@pytest.fixture
def demo_core(tmp_path: Path) -> Iterator[Core]:
    core = Core(CoreOptions(data_dir=tmp_path / "demo", demo=True, environ={}))
    core.open()
    yield core
    core.stop()


def open_settings(qtbot, core: Core) -> SettingsDialog:
    dialog = SettingsDialog(core.account, core.settings, front_desk=front_desk(core))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def save_and_close(qtbot, dialog: SettingsDialog) -> None:
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()


def pages(dialog: SettingsDialog) -> tuple[QuickRepliesPage, HoursPage, AutoRepliesPage]:
    quick = dialog.page("Quick replies")
    hours = dialog.page("Business hours")
    auto = dialog.page("Auto-replies")
    assert isinstance(quick, QuickRepliesPage)
    assert isinstance(hours, HoursPage)
    assert isinstance(auto, AutoRepliesPage)
    return quick, hours, auto


def cell(page: AutoRepliesPage, row: int, column: int) -> QTableWidgetItem:
    item = page.keywords.item(row, column)
    assert item is not None
    return item


def test_the_away_message_saves_in_the_demo_and_is_shown_on_reopening(
    qtbot, demo_core: Core
) -> None:
    dialog = open_settings(qtbot, demo_core)
    assert dialog.build_result() is None, "the demo counts as signed out"
    _quick, _hours, auto = pages(dialog)
    dialog.show_page("Auto-replies")
    auto.away_on.setChecked(True)
    auto.away_text.setPlainText("Back Monday at 8! Our hours: {hours}.")
    auto.once_per.setValue(6)
    save_and_close(qtbot, dialog)

    again = open_settings(qtbot, demo_core)
    _q, _h, auto_again = pages(again)
    assert auto_again.away_on.isChecked()
    assert auto_again.away_text.toPlainText() == "Back Monday at 8! Our hours: {hours}."
    assert auto_again.once_per.value() == 6
    on_disk = json.loads(setup_path(demo_core.paths.data_dir).read_text(encoding="utf-8"))
    assert on_disk["auto_replies"]["away"] == {
        "enabled": True,
        "text": "Back Monday at 8! Our hours: {hours}.",
        "once_per_hours": 6,
    }


def test_quick_replies_are_added_edited_and_deleted_signed_out(qtbot, gui_core: Core) -> None:
    dialog = open_settings(qtbot, gui_core)
    quick, _h, _a = pages(dialog)
    dialog.show_page("Quick replies")
    assert quick.list.count() == 0
    qtbot.mouseClick(quick.add_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(quick.name, "Directions")
    quick.text.setPlainText("We're at 12 Main St, {first_name}.")
    qtbot.mouseClick(quick.add_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(quick.name, "Late")
    quick.text.setPlainText("Running late, sorry!")
    save_and_close(qtbot, dialog)
    names = [(r.name, r.text) for r in front_desk(gui_core).setup.quick_replies]
    assert names == [
        ("Directions", "We're at 12 Main St, {first_name}."),
        ("Late", "Running late, sorry!"),
    ]

    dialog = open_settings(qtbot, gui_core)
    quick, _h, _a = pages(dialog)
    assert [quick.list.item(i).text() for i in range(quick.list.count())] == [
        "Directions",
        "Late",
    ]
    quick.list.setCurrentRow(0)
    quick.name.selectAll()
    qtbot.keyClicks(quick.name, "Where we are")
    quick.list.setCurrentRow(1)
    qtbot.mouseClick(quick.delete_button, Qt.MouseButton.LeftButton)
    save_and_close(qtbot, dialog)
    assert [r.name for r in front_desk(gui_core).setup.quick_replies] == ["Where we are"]


def test_hours_with_breaks_closed_dates_and_a_time_zone(qtbot, gui_core: Core) -> None:
    dialog = open_settings(qtbot, gui_core)
    _q, hours, _a = pages(dialog)
    dialog.show_page("Business hours")
    assert hours.zone.currentText() == local_time_zone(), "a new install uses this computer's"
    hours.days[0].setText("8:00-12:00, 13:00 - 17:30")
    hours.days[5].setText("22:00–2:00")
    hours.days[4].clear()
    hours.zone.setCurrentText("America/Chicago")
    hours.add_closed_date(date(2026, 12, 25))
    hours.add_closed_date(date(2026, 1, 1))
    save_and_close(qtbot, dialog)

    saved = front_desk(gui_core).setup.business_hours
    assert saved.time_zone == "America/Chicago"
    assert [i.as_pair() for i in saved.weekly[0]] == [("08:00", "12:00"), ("13:00", "17:30")]
    assert saved.weekly[4] == ()
    assert [i.as_pair() for i in saved.weekly[5]] == [("22:00", "02:00")]
    assert saved.closed_dates == {date(2026, 12, 25), date(2026, 1, 1)}

    again = open_settings(qtbot, gui_core)
    _q, hours_again, _a = pages(again)
    assert hours_again.days[0].text() == "8:00–12:00, 13:00–17:30"
    assert hours_again.closed_dates() == [date(2026, 1, 1), date(2026, 12, 25)]


def test_bad_hours_are_explained_on_their_tab_and_nothing_is_saved(qtbot, gui_core: Core) -> None:
    _ = gui_core.front_desk  # the setup file is written on first use (start() at the latest)
    before = setup_path(gui_core.paths.data_dir).read_bytes()
    dialog = open_settings(qtbot, gui_core)
    _q, hours, _a = pages(dialog)
    hours.days[1].setText("9:00-12:00, 11:00-17:00")
    dialog.show_page("Quick replies")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert dialog.isVisible()
    assert dialog.tabs.currentWidget() is hours
    assert "overlap" in dialog.status._text.text()
    hours.days[1].setText("9 to 5")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert "Tuesday" in dialog.status._text.text()
    assert setup_path(gui_core.paths.data_dir).read_bytes() == before


def test_keyword_answers_are_saved_and_twilios_own_words_refused(qtbot, gui_core: Core) -> None:
    dialog = open_settings(qtbot, gui_core)
    _q, _h, auto = pages(dialog)
    dialog.show_page("Auto-replies")
    qtbot.mouseClick(auto.add_keyword, Qt.MouseButton.LeftButton)
    cell(auto, 0, 0).setText("STOP")
    cell(auto, 0, 1).setText("Bye")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert dialog.isVisible()
    assert "Twilio answers it itself" in dialog.status._text.text()
    cell(auto, 0, 0).setText("hours")
    cell(auto, 0, 1).setText("We're open {hours}.")
    save_and_close(qtbot, dialog)
    rules = front_desk(gui_core).setup.auto_replies.keywords
    assert [(r.word, r.text) for r in rules] == [("hours", "We're open {hours}.")]


def test_a_bad_setup_file_is_refused_whole_with_the_reason(
    qtbot, gui_core: Core, tmp_path: Path
) -> None:
    before = front_desk(gui_core).setup
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "quick_replies": [{"name": "Fine", "text": "ok"}],
                "business_hours": {"time_zone": "Central Time"},
            }
        ),
        encoding="utf-8",
    )
    dialog = open_settings(qtbot, gui_core)
    quick, _h, _a = pages(dialog)
    assert dialog.setup_file is not None
    dialog.setup_file.import_from(bad)
    qtbot.waitUntil(lambda: dialog.setup_file.import_button.isEnabled())
    shown = dialog.status._text.text()
    assert "bad.json was not imported" in shown
    assert "business_hours.time_zone" in shown
    assert "Central Time" in shown
    assert front_desk(gui_core).setup == before
    assert quick.list.count() == 0, "nothing of the refused file shows"


def test_import_shows_the_file_and_export_writes_what_config_export_writes(
    qtbot, gui_core: Core, tmp_path: Path
) -> None:
    from tests.integration.test_cli_frontdesk import SETUP

    good = tmp_path / "good.json"
    good.write_text(json.dumps(SETUP), encoding="utf-8")
    dialog = open_settings(qtbot, gui_core)
    quick, hours, auto = pages(dialog)
    assert dialog.setup_file is not None
    dialog.setup_file.import_from(good)
    qtbot.waitUntil(lambda: quick.list.count() == 1)
    assert "in use now" in dialog.status._text.text()
    assert hours.zone.currentText() == "America/Chicago"
    assert auto.keywords.rowCount() == 1
    assert front_desk(gui_core).setup.business_hours.time_zone == "America/Chicago"

    out = tmp_path / "exported.json"
    dialog.setup_file.export_to(out)
    qtbot.waitUntil(lambda: out.exists() and dialog.setup_file.export_button.isEnabled())
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == json.loads(gui_core.front_desk.export_text())
    assert written["from_a_newer_version"] == {"kept": True}, "unknown keys survive the dialog"
    save_and_close(qtbot, dialog)
    assert json.loads(gui_core.front_desk.export_text())["from_a_newer_version"] == {"kept": True}
