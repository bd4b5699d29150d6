"""The desktop session around the app: stop signals, logging out, and waking from sleep.

**Stop signals.**  Python runs its signal handlers only when the interpreter gets control,
which a Qt event loop rarely gives.  So SIGTERM, SIGINT and SIGHUP (what a logout, a
shutdown, a service manager or Ctrl+C send) are routed through ``signal.set_wakeup_fd``
into a socket that a ``QSocketNotifier`` watches: the event loop wakes, and the first
signal asks for the same clean quit as the tray's Quit (stop taking webhooks, let the
writer commit, stop the ngrok agent, exit 0).  A second signal while that runs forces the
exit.  The session manager's ``commitDataRequest`` (the desktop is ending) quits the same
way.

**Waking up.**  On Linux, logind announces ``PrepareForSleep(false)`` on the system bus when
the machine resumes; that is passed to :meth:`desktop.core.Core.resumed` so the gap is
closed at once (the core's own heartbeat notices a resume too, a few seconds later, and
on every platform).  Windows' power broadcast and macOS's did-wake notification are left
to that heartbeat.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import Final

from PySide6.QtCore import SLOT, QObject, QSocketNotifier, Slot
from PySide6.QtGui import QGuiApplication

logger = logging.getLogger(__name__)

STOP_SIGNALS: Final = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)


class SessionWatcher(QObject):
    """Calls ``quit_cleanly`` on the first stop signal or session end; ``on_wake`` on resume.

    Create it on the GUI thread after the QApplication; call :meth:`uninstall` at exit.
    """

    def __init__(
        self,
        app: QGuiApplication,
        quit_cleanly: Callable[[], None],
        on_wake: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(app)
        self._quit_cleanly = quit_cleanly
        self._quitting = False
        self._previous_handlers: dict[int, object] = {}
        self._previous_wakeup_fd = -1
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None
        self._notifier: QSocketNotifier | None = None
        self._install_signals()
        app.commitDataRequest.connect(self._session_ending)
        self._on_wake = on_wake

    def watch_wake(self) -> None:
        """Listen for the OS's "woke up" signal (Linux: logind's PrepareForSleep).  Called
        after the first paint: QtDBus and the system bus are not on its path."""
        if self._on_wake is not None and sys.platform.startswith("linux"):
            self._watch_logind()

    # -- stop signals --------------------------------------------------------------------------

    def _install_signals(self) -> None:
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        try:
            self._previous_wakeup_fd = signal.set_wakeup_fd(
                writer.fileno(), warn_on_full_buffer=False
            )
        except ValueError:  # not the main thread (tests that build the app elsewhere)
            reader.close()
            writer.close()
            return
        self._reader, self._writer = reader, writer
        for number in STOP_SIGNALS:
            # The handler only has to exist: the wakeup fd carries the signal's number.
            self._previous_handlers[number] = signal.signal(number, _note_signal)
        self._notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_signal_bytes)

    @Slot()
    def _on_signal_bytes(self) -> None:
        assert self._reader is not None
        try:
            data = self._reader.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        for number in data:
            if number in STOP_SIGNALS:
                self._stop_requested(signal.Signals(number).name)

    def _stop_requested(self, why: str) -> None:
        if self._quitting:
            logger.warning("%s again while quitting: leaving now", why)
            logging.shutdown()
            os._exit(1)
        self._quitting = True
        logger.info("%s received: quitting cleanly", why)
        self._quit_cleanly()

    @Slot()
    def _session_ending(self) -> None:
        if not self._quitting:
            self._stop_requested("The desktop session is ending")

    def uninstall(self) -> None:
        """Give the signals back (at exit, after the clean stop)."""
        if self._notifier is not None:
            self._notifier.setEnabled(False)
        for number, previous in self._previous_handlers.items():
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(number, previous)  # type: ignore[arg-type]
        self._previous_handlers.clear()
        if self._writer is not None:
            with contextlib.suppress(ValueError):
                signal.set_wakeup_fd(self._previous_wakeup_fd)
            self._writer.close()
            self._writer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # -- waking up (Linux: logind) --------------------------------------------------------------

    def _watch_logind(self) -> None:
        try:
            from PySide6.QtDBus import QDBusConnection
        except ImportError:
            return
        bus = QDBusConnection.systemBus()
        if not bus.isConnected():
            logger.debug("No system bus: waking up is noticed by the heartbeat alone")
            return
        connected = bus.connect(
            "org.freedesktop.login1",
            "/org/freedesktop/login1",
            "org.freedesktop.login1.Manager",
            "PrepareForSleep",
            self,
            SLOT("_prepare_for_sleep(bool)").encode(),
        )
        if not connected:
            logger.debug("Could not listen to logind's PrepareForSleep")

    @Slot(bool)
    def _prepare_for_sleep(self, going_to_sleep: bool) -> None:
        if not going_to_sleep and self._on_wake is not None:
            self._on_wake("the computer woke up")


def _note_signal(number: int, frame: object) -> None:
    """Python-level handler: the work happens in the event loop (see the module docstring)."""
