"""The connection status at the bottom of the sidebar, in words a receptionist can act on.

:func:`describe` turns a :class:`ConnectionSnapshot` into a tone, a headline and a detail
line (pure, so it is tested without widgets); :class:`ConnectionStatus` shows it and
offers the one button that fixes the problem (set up, or open settings).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.domain.connection import ConnectionSnapshot, Link
from desktop.domain.store_health import HealthKind
from desktop.ui import theme as theme_module
from desktop.ui.formatting import ago
from desktop.ui.widgets import Surface, tint


class StatusText(NamedTuple):
    tone: str  # ok | busy | warning | problem | idle
    headline: str
    detail: str
    tooltip: str
    action: str = ""  # "" | "setup" | "settings" | "unlock" | "repair" | "retry"


def describe(
    snapshot: ConnectionSnapshot,
    now_ms: int,
    poll_interval_s: int,
    format_number: Callable[[str], str] = str,
) -> StatusText:
    number = format_number(snapshot.phone_number) if snapshot.phone_number else "your number"
    synced = f"Synced {ago(snapshot.last_sync_ms, now_ms)}" if snapshot.last_sync_ms else ""
    tips = []
    if snapshot.public_url:
        tips.append(f"Twilio sends texts to {snapshot.public_url}")
    if snapshot.detail:
        tips.append(snapshot.detail)
    health = snapshot.store_health
    if health.kind is HealthKind.OK:
        tips.append("Message database checked: no damage found.")
    tooltip = "\n".join(tips)
    link = snapshot.link

    if not health.ok:  # before anything about the network: "Online" must not hide it
        if health.can_repair:
            action = "repair"
        elif health.kind in (HealthKind.DISK_FULL, HealthKind.UNAVAILABLE):
            action = ""  # passes by itself: the next write that succeeds clears it
        else:
            action = "retry"
        return StatusText("problem", health.headline, health.message, health.detail, action)

    if link is Link.SIGNED_OUT:
        return StatusText(
            "idle",
            "Not signed in",
            snapshot.problem or "Sign in with your Twilio account to send and receive texts.",
            tooltip,
            "setup",
        )
    if link is Link.LOCKED:
        return StatusText(
            "idle",
            "Locked",
            snapshot.problem or "Enter your passphrase to unlock your Twilio credentials.",
            tooltip,
            "unlock",
        )
    if link is Link.STARTING:
        return StatusText("busy", "Connecting…", snapshot.sync_progress or "Starting up", tooltip)
    if link is Link.OFFLINE:
        return StatusText(
            "problem",
            "Offline",
            snapshot.problem
            or "Can't reach Twilio. Check the internet connection; texts you send will go out "
            "when it is back.",
            tooltip,
            "settings",
        )
    if link is Link.RECONNECTING:
        return StatusText(
            "warning",
            "Reconnecting…",
            snapshot.problem or "Texts that arrive meanwhile are fetched once reconnected.",
            tooltip,
        )
    if snapshot.number_points_here is False:
        return StatusText(
            "warning",
            f"{number} sends texts elsewhere",
            snapshot.problem or "Open Settings to point the number at Twoway.",
            tooltip,
            "settings",
        )
    detail = snapshot.problem or snapshot.sync_progress or synced
    if link is Link.POLLING:
        headline = f"Checking every {poll_interval_s} s"
        return StatusText(
            "warning" if snapshot.problem else "ok",
            headline,
            detail or f"New texts can take up to {poll_interval_s} s to appear.",
            tooltip or "No tunnel: Twoway checks Twilio's message log on a timer.",
            "settings" if snapshot.problem else "",
        )
    headline = "Online" if not snapshot.demo else "Online (demo)"
    fallback = "Texts arrive instantly." if snapshot.number_points_here else "Ready."
    return StatusText(
        "warning" if snapshot.problem else "ok",
        headline,
        detail or fallback,
        tooltip,
        "settings" if snapshot.problem else "",
    )


#: The status area's one button per action: (label, accessible name).
_BUTTONS = {
    "setup": ("Set up…", "Set up Twilio"),
    "settings": ("Settings…", "Open settings"),
    "unlock": ("Unlock…", "Unlock your Twilio credentials"),
    "repair": ("Repair…", "Repair the message database"),
    "retry": ("Details…", "What happened to the message database"),
}


class _Dot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.color = QColor("#888888")
        self.setFixedSize(10, 10)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.color)
        painter.drawEllipse(QRectF(1, 1, 8, 8))


class ConnectionStatus(Surface):
    """Signals: ``actionRequested(str)`` — "setup", "settings" or "readiness" was clicked."""

    actionRequested = Signal(str)

    def __init__(self, poll_interval: Callable[[], int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionStatus")
        self.setAccessibleName("Connection status")
        self._poll_interval = poll_interval
        self._snapshot = ConnectionSnapshot()
        self._format_number: Callable[[str], str] = str
        self.text = describe(self._snapshot, int(time.time() * 1000), poll_interval())
        outer = QHBoxLayout(self)
        outer.setContentsMargins(14, 8, 10, 10)
        outer.setSpacing(10)
        self._dot = _Dot(self)
        outer.addWidget(self._dot, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        lines = QVBoxLayout()
        lines.setSpacing(1)
        self.headline = QLabel(self)
        self.headline.setObjectName("statusHeadline")
        font = self.headline.font()
        font.setBold(True)
        self.headline.setFont(font)
        lines.addWidget(self.headline)
        self.detail = QLabel(self)
        self.detail.setObjectName("statusDetail")
        self.detail.setWordWrap(True)
        lines.addWidget(self.detail)
        self.readiness_link = QLabel('<a href="readiness">Can I text yet?</a>', self)
        self.readiness_link.setObjectName("statusReadiness")
        self.readiness_link.setAccessibleName("Can I text yet? Check the setup")
        self.readiness_link.linkActivated.connect(self.actionRequested.emit)
        lines.addWidget(self.readiness_link)
        outer.addLayout(lines, 1)
        self.button = QPushButton(self)
        self.button.setObjectName("statusAction")
        self.button.clicked.connect(lambda: self.actionRequested.emit(self.text.action))
        self.button.hide()
        outer.addWidget(self.button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._clock = QTimer(self)
        self._clock.setInterval(30_000)
        self._clock.timeout.connect(self._render)
        self._clock.start()
        self._render()

    def apply_theme(self) -> None:
        t = theme_module.current()
        self.style_surface(None, t.separator, top=True)
        tint(self.detail, t.secondary_text)
        self._render()

    def set_number_formatter(self, format_number: Callable[[str], str]) -> None:
        self._format_number = format_number
        self._render()

    def set_snapshot(self, snapshot: ConnectionSnapshot) -> None:
        self._snapshot = snapshot
        self._render()

    def _render(self) -> None:
        t = theme_module.current()
        self.text = describe(
            self._snapshot, int(time.time() * 1000), self._poll_interval(), self._format_number
        )
        tones = {
            "ok": t.success,
            "busy": t.secondary_text,
            "warning": t.warning,
            "problem": t.danger,
            "idle": t.secondary_text,
        }
        self._dot.color = tones.get(self.text.tone, t.secondary_text)
        self._dot.update()
        self.headline.setText(self.text.headline)
        self.detail.setText(self.text.detail)
        self.setToolTip(self.text.tooltip)
        self.setAccessibleDescription(f"{self.text.headline}. {self.text.detail}")
        if self.text.action:
            label, accessible = _BUTTONS.get(self.text.action, _BUTTONS["settings"])
            self.button.setText(label)
            self.button.setAccessibleName(accessible)
            self.button.show()
        else:
            self.button.hide()
