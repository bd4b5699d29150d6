"""Stop signals reach the Qt event loop and ask for a clean quit; a second one forces it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from desktop.ui.session import SessionWatcher

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")


@pytest.fixture
def watcher(qtbot) -> Iterator[tuple[SessionWatcher, list[str]]]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    quits: list[str] = []
    wakes: list[str] = []
    session = SessionWatcher(app, lambda: quits.append("quit"), wakes.append)
    try:
        yield session, quits
    finally:
        session.uninstall()


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_asks_the_event_loop_for_a_clean_quit(qtbot, watcher, number) -> None:
    _session, quits = watcher
    os.kill(os.getpid(), number)
    qtbot.waitUntil(lambda: quits == ["quit"])


def test_the_end_of_the_desktop_session_quits_the_same_way(qtbot, watcher) -> None:
    session, quits = watcher
    session._session_ending()
    assert quits == ["quit"]
    session._session_ending()  # the session manager may ask again: still one quit
    assert quits == ["quit"]


def test_uninstall_gives_the_signal_back(qtbot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = signal.getsignal(signal.SIGTERM)
    session = SessionWatcher(app, lambda: None)
    assert signal.getsignal(signal.SIGTERM) is not before
    session.uninstall()
    assert signal.getsignal(signal.SIGTERM) is before
