"""Settings → Team with a real Core in team mode against the simulated account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from desktop.core import Core
from desktop.simulator.server import SimulatedTwilio
from desktop.ui.team_page import TeamPage
from tests.team_helpers import OUR, team_core


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio() as twilio:
        twilio.add_number(OUR)
        yield twilio


def _core(tmp_path: Path, sim: SimulatedTwilio, *, team: bool) -> Core:
    return team_core(tmp_path / "data", sim, "Sam", team_from_environment=team)


def test_the_page_shows_who_is_online_and_who_holds_the_webhook(
    qtbot, tmp_path: Path, sim: SimulatedTwilio
) -> None:
    core = _core(tmp_path, sim, team=True)
    try:
        core.start()
        page = TeamPage(core)
        qtbot.addWidget(page)
        page.show()
        assert page.enabled.isChecked()
        qtbot.waitUntil(
            lambda: (
                page.members.count() == 1
                and page.members.item(0).text() == "Sam (this laptop) — receives texts"
            ),
            timeout=8000,
        )
        assert "This laptop receives" in page.holder.text()
    finally:
        core.stop()


def test_turning_it_on_asks_first_and_a_no_changes_nothing(
    qtbot, tmp_path: Path, sim: SimulatedTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = _core(tmp_path, sim, team=False)
    try:
        asked: list[str] = []

        def no(_parent: object, _title: str, text: str) -> QMessageBox.StandardButton:
            asked.append(text)
            return QMessageBox.StandardButton.No

        monkeypatch.setattr(QMessageBox, "question", no)
        page = TeamPage(core)
        qtbot.addWidget(page)
        page.enabled.setChecked(True)
        assert asked
        assert "billed per request" in asked[0]
        assert not page.enabled.isChecked()
        assert not core.settings.team_enabled
        assert core.team is None
    finally:
        core.stop()


def test_settings_has_a_team_tab_and_still_saves(
    qtbot, tmp_path: Path, sim: SimulatedTwilio
) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from desktop.ui.settings_dialog import SettingsDialog
    from desktop.ui.team_page import TeamSettingsTab

    core = _core(tmp_path, sim, team=False)
    try:
        dialog = SettingsDialog(core.account, core.settings, extra_pages=[TeamSettingsTab(core)])
        qtbot.addWidget(dialog)
        dialog.show()
        titles = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
        assert "Team" in titles
        tab = dialog.tabs.widget(titles.index("Team"))
        assert isinstance(tab, TeamSettingsTab)
        assert not tab.page.enabled.isChecked()
        with qtbot.waitSignal(dialog.accepted, timeout=5000):
            dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    finally:
        core.stop()
