"""Settings → Team: turn team mode on (with consent), this laptop's name, who is online,
which laptop holds the webhook, and leaving the team.

The page reads the team's status (a value kept in memory by the team worker; no network)
once a second and changes the setting through :meth:`Core.set_team`, which restarts the
network side on the lifecycle thread; nothing here blocks the GUI thread.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Protocol

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.team.service import TeamService, TeamStatus
from desktop.ui.settings_pages import SettingsPage
from desktop.ui.tasks import deliver

#: What turning team mode on does to the account, shown before it happens.
CONSENT_TEXT = (
    "Team mode lets several laptops text from this number together. Twoway creates (or "
    "joins) a Twilio Sync service named “Twoway team” in your Twilio account and keeps "
    "contact names, notes, read state and the front-desk setup there, so every laptop "
    "sees the same. One laptop at a time receives Twilio's webhooks; the others read "
    "Twilio's message log every 2 seconds.\n\n"
    "Sync is billed per request: an idle laptop makes about 20 a minute (under 1 million a "
    "month for a laptop left on day and night). Turn team mode on?"
)


class TeamHost(Protocol):
    """What the page needs from the core (``desktop.core.Core`` provides it)."""

    @property
    def team(self) -> TeamService | None: ...

    def team_enabled(self) -> bool: ...

    def staff_name(self) -> str: ...

    def set_team(self, enabled: bool, staff_name: str | None = None) -> Future[None]: ...


class TeamPage(QWidget):
    """The Team page of the settings dialog."""

    def __init__(self, host: TeamHost, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("teamPage")
        self._host = host
        intro = QLabel(
            "Share this number with colleagues: names, notes, what has been read and the "
            "front-desk setup stay the same on every laptop, and each message shows who sent it."
        )
        intro.setWordWrap(True)
        self.enabled = QCheckBox("Use team mode on this laptop")
        self.enabled.setObjectName("teamEnabled")
        self.name = QLineEdit(host.staff_name())
        self.name.setObjectName("teamStaffName")
        self.name.setPlaceholderText("Your name, as colleagues will see it")
        self.name.setMaxLength(40)
        self.save_name = QPushButton("Save name")
        self.members = QListWidget()
        self.members.setObjectName("teamMembers")
        self.holder = QLabel()
        self.holder.setObjectName("teamWebhookHolder")
        self.holder.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.leave = QPushButton("Leave the team")
        self.leave.setObjectName("teamLeave")

        name_row = QHBoxLayout()
        name_row.addWidget(self.name, 1)
        name_row.addWidget(self.save_name)
        form = QFormLayout()
        form.addRow("Display name", name_row)
        form.addRow("Online now", self.members)
        form.addRow("Receives texts", self.holder)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.enabled)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.leave)
        layout.addStretch(1)

        self.enabled.setChecked(host.team_enabled())
        self.enabled.toggled.connect(self._toggled)
        self.save_name.clicked.connect(self._save_name)
        self.leave.clicked.connect(lambda: self.enabled.setChecked(False))
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    # -- actions -------------------------------------------------------------------------------

    def _toggled(self, on: bool) -> None:
        if on and not self._host.team_enabled():
            answer = QMessageBox.question(self, "Turn on team mode", CONSENT_TEXT)
            if answer != QMessageBox.StandardButton.Yes:
                self.enabled.blockSignals(True)
                self.enabled.setChecked(False)
                self.enabled.blockSignals(False)
                return
        self._apply(on)

    def _save_name(self) -> None:
        self._apply(self.enabled.isChecked())

    def _apply(self, on: bool) -> None:
        self.problem.setText("Joining the team…" if on else "Leaving the team…")
        deliver(
            self._host.set_team(on, self.name.text().strip()),
            lambda _r: self.refresh(),
            lambda exc: self.problem.setText(f"Could not change team mode: {exc}"),
            context=self,
        )

    # -- what is shown ----------------------------------------------------------------------

    def refresh(self) -> None:
        team = self._host.team
        on = self._host.team_enabled()
        for widget in (self.members, self.leave, self.holder):
            widget.setEnabled(on)
        if team is None:
            self.members.clear()
            self.holder.setText("" if not on else "Connecting to the team…")
            if not on:
                self.problem.setText("")
            return
        self._show(team.status)

    def _show(self, status: TeamStatus) -> None:
        names = [
            f"{m.name or 'Unnamed laptop'}{' (this laptop)' if m.me else ''}"
            f"{' — receives texts' if m.owner else ''}"
            for m in status.members
        ]
        if [self.members.item(i).text() for i in range(self.members.count())] != names:
            self.members.clear()
            self.members.addItems(names)
        if status.owner:
            self.holder.setText("This laptop receives the number's texts and sends auto-replies.")
        elif status.holder:
            self.holder.setText(
                f"{status.holder}'s laptop receives the texts; this one reads Twilio's log."
            )
        else:
            self.holder.setText("No laptop yet; one takes over within 30 seconds.")
        waiting = (
            f" {status.pending_edits} change(s) will be shared when back online."
            if status.pending_edits
            else ""
        )
        self.problem.setText((status.problem + waiting).strip())


class TeamSettingsTab(SettingsPage):
    """Settings → Team: the :class:`TeamPage` as a tab of the settings dialog.

    The page applies its own changes (turning team mode on asks first), so Save has
    nothing more to do for it.
    """

    title = "Team"

    def __init__(self, host: TeamHost, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = TeamPage(host, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.page)
