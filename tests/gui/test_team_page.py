"""Settings → Team with a real Core in team mode against the simulated account."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from desktop.core import Core, CoreOptions
from desktop.simulator.server import SimulatedTwilio
from desktop.ui.team_page import TeamPage

OUR = "+15035550100"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio() as twilio:
        twilio.add_number(OUR)
        yield twilio


def _core(tmp_path: Path, sim: SimulatedTwilio, *, team: bool) -> Core:
    port = _port()
    environ = {
        "TWILIO_ACCOUNT_SID": sim.account_sid,
        "TWILIO_AUTH_TOKEN": sim.auth_token,
        "TWOWAY_TWILIO_API_URL": sim.base_url,
        "TWOWAY_PHONE_NUMBER": OUR,
        "TWOWAY_STAFF_NAME": "Sam",
    }
    if team:
        environ["TWOWAY_TEAM"] = "1"
    core = Core(
        CoreOptions(
            data_dir=tmp_path / "data",
            port=port,
            public_url=f"http://127.0.0.1:{port}",
            environ=environ,
            team_lease_ttl_s=3.0,
        )
    )
    core.open()
    return core


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
