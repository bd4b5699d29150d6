"""Team mode in the open conversation: who sent each text, "Sam is replying…" above the
composer, and telling colleagues when staff type here.

The team service keeps colleagues' "is replying…" entries in memory (its own worker reads
Sync), so asking who is replying costs no request: the notice asks once a second while a
conversation is open in team mode, and at once when the team's status changes.  The
service's listeners run on its thread; a queued signal brings them to the GUI thread (the
same door as :class:`~desktop.ui.bridge.CoreBridge`).  Typing tells the service, which
rate-limits itself and sends from its thread: nothing here waits on the network.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, Protocol

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

from desktop.ui import theme as theme_module
from desktop.ui.thread_model import ThreadModel
from desktop.ui.widgets import tint

if TYPE_CHECKING:
    from desktop.team.service import TeamService, TeamStatus

logger = logging.getLogger(__name__)

#: How often the notice re-reads who is replying (a read of memory, no request).
REFRESH_MS: Final = 1000


class TeamHost(Protocol):
    """What the pane's team parts need from the core (:class:`desktop.core.Core`)."""

    @property
    def team(self) -> TeamService | None: ...

    def team_enabled(self) -> bool: ...

    def staff_name(self) -> str: ...


def replying_text(names: Sequence[str]) -> str:
    """ "Sam is replying…", "Sam and Alex are replying…"; "" when nobody is."""
    shown = [n.strip() or "A colleague" for n in names]
    if not shown:
        return ""
    if len(shown) == 1:
        return f"{shown[0]} is replying…"
    return f"{', '.join(shown[:-1])} and {shown[-1]} are replying…"


class ReplyingNotice(QLabel):
    """A small line above the composer while a colleague types to the same customer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replyingNotice")
        self.setContentsMargins(20, 4, 20, 0)
        self.setTextFormat(Qt.TextFormat.PlainText)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        font.setItalic(True)
        self.setFont(font)
        self.apply_theme()
        self.hide()

    def show_names(self, names: Sequence[str]) -> None:
        text = replying_text(names)
        if text != self.text():
            self.setText(text)
            self.setAccessibleName(text)
        self.setVisible(bool(text))

    def apply_theme(self) -> None:
        tint(self, theme_module.current().secondary_text)


class ThreadTeam(QObject):
    """Keeps the open conversation's team parts current: the thread model's ``team_name``
    (sent bubbles say who sent them), the replying notice, and "I am typing here".

    ``target()`` is the open conversation's (our number, contact number), or None.
    """

    _statusChanged = Signal()

    def __init__(
        self,
        host: TeamHost,
        model: ThreadModel,
        notice: ReplyingNotice,
        target: Callable[[], tuple[str, str] | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._host = host
        self._model = model
        self._notice = notice
        self._target = target
        self._followed: TeamService | None = None
        #: How to stop listening to the followed service: a plain list, so the slot run
        #: when this object is deleted does not need the object itself.
        self._listening: list[Callable[[], None]] = []
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.sync)
        self._statusChanged.connect(self.refresh)
        self.destroyed.connect(functools.partial(_stop_listening, self._listening))

    # -- GUI thread ------------------------------------------------------------------------

    def sync(self) -> None:
        """Team mode, this laptop's name or the open conversation may have changed."""
        on = self._host.team_enabled()
        self._model.set_team_name(self._host.staff_name() if on else None)
        self._follow(self._host.team if on else None)
        if on and self._target() is not None:
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()
        self.refresh()

    def refresh(self) -> None:
        """Show who is replying in the open conversation now (from the service's memory)."""
        team = self._followed
        target = self._target()
        names: list[str] = []
        if team is not None and target is not None:
            names = team.replying_in(*target)
        self._notice.show_names(names)

    def typing(self) -> None:
        """Staff typed in the composer: colleagues see "<name> is replying…"."""
        team = self._followed
        target = self._target()
        if team is not None and target is not None and self._host.team_enabled():
            team.replying(*target)

    # -- following the running team service --------------------------------------------------

    def _follow(self, team: TeamService | None) -> None:
        """Listen to the team service now running (a new one after each network restart)."""
        if team is self._followed:
            return
        _stop_listening(self._listening)
        self._followed = team
        if team is not None:
            self._listening.append(team.subscribe(self._on_status))

    def _on_status(self, _status: TeamStatus) -> None:
        """On the team thread: wake the GUI thread (a queued signal), nothing more."""
        if shiboken6.isValid(self):
            self._statusChanged.emit()


def _stop_listening(unsubscribes: list[Callable[[], None]], *_args: object) -> None:
    for unsubscribe in unsubscribes:
        unsubscribe()
    unsubscribes.clear()
