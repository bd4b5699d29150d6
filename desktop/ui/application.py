"""Starts Qt: the application object, the window's first frame, the core, then the network.

The order is what makes the window appear fast.  Before the first paint there is only a
read-only look at the files (the newest conversations, our number) and the window's first
frame; right after it (:class:`_Startup`) the core is imported and opened — settings, the
database, with the damage dialog when it cannot be used — the window takes its core and
builds its real parts, and the network side (credentials in the keyring, the webhook
listener, Twilio, ngrok) starts on a background thread, together with the tray and, on
first run, the setup wizard.  Nothing on the first-paint path imports the core, twilio,
werkzeug, keyring, pyngrok or requests.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from desktop import APP_NAME, __version__
from desktop.cli import AppArgs

if TYPE_CHECKING:
    from desktop.core import Core, CoreOptions
    from desktop.ui.main_window import MainWindow
    from desktop.ui.session import SessionWatcher

logger = logging.getLogger(__name__)

#: Slow to import (0.1–0.2 s each); none of them may be on the path to the first paint.
NETWORK_LIBRARIES = ("twilio", "werkzeug", "keyring", "pyngrok", "requests")


class _FirstPaint(QObject):
    """Calls ``then`` once, right after ``window`` is painted for the first time."""

    def __init__(self, window: QWidget, then: Callable[[], None]) -> None:
        super().__init__(window)
        self._then: Callable[[], None] | None = then
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self._then is not None:
            then, self._then = self._then, None
            # Let this paint reach the screen before doing anything else.
            QTimer.singleShot(0, then)
        return False

    def fire_now(self) -> None:
        if self._then is not None:
            then, self._then = self._then, None
            then()


def _image_formats() -> str:
    from PySide6.QtGui import QImageReader

    return ", ".join(sorted(bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()))


def run(
    args: AppArgs,
    data_dir: Path,
    *,
    on_first_paint: Callable[[], None] | None = None,
) -> int:
    """Run the app until it quits; ``on_first_paint`` is a hook for the start-up benchmark."""
    from desktop.ui.single_instance import ask_running_instance_to_show, instance_key

    key = instance_key(data_dir)
    if not args.smoke_test and ask_running_instance_to_show(key):
        logger.info("Twoway is already running for this data folder; asked it to show itself")
        print(f"{APP_NAME} is already running; its window was brought forward.")
        return 0
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("twoway")
    if args.smoke_test:
        return _smoke_test(app, args, data_dir)

    from PySide6.QtGui import QIcon

    from desktop.paths import Paths
    from desktop.platform_support import resource_path
    from desktop.ui.first_frame import read_early_look
    from desktop.ui.main_window import MainWindow
    from desktop.ui.session import SessionWatcher

    app.setWindowIcon(QIcon(str(resource_path("icons", "twoway.svg"))))
    # The first frame comes from a look at the files; the core is imported and opened
    # right after it is painted (see _Startup).
    look = read_early_look(Paths(data_dir), demo=args.demo, environ=os.environ)
    window = MainWindow(None, early=look)
    startup = _Startup(app, window, args, data_dir, key, on_first_paint)
    # Signals and the session's end quit the way the tray's Quit does (see session.py).
    session = SessionWatcher(app, window.quit_app, startup.resumed)
    startup.session = session
    hook = _FirstPaint(window, startup.begin)
    tray_possible = _tray_possible()
    if args.minimized and tray_possible:
        QTimer.singleShot(0, hook.fire_now)
    elif args.minimized:
        window.showMinimized()
    else:
        window.show()
    try:
        code = app.exec()
        return startup.exit_code if startup.exit_code is not None else code
    finally:
        startup.stop()
        session.uninstall()
        from desktop.ui import tasks

        tasks.shutdown()
        logger.info("%s stopped cleanly", APP_NAME)


class _Startup:
    """What happens right after the first paint: the core, the real window, the network.

    The core's modules (settings loader, store, network) are imported only here, after
    the first frame is on screen.  A data folder that cannot be opened shows the damage
    dialog (or a plain error) and ends the app with exit code 1."""

    def __init__(
        self,
        app: QApplication,
        window: MainWindow,
        args: AppArgs,
        data_dir: Path,
        key: str,
        on_first_paint: Callable[[], None] | None,
    ) -> None:
        self._app = app
        self._window = window
        self._args = args
        self._data_dir = data_dir
        self._key = key
        self._on_first_paint = on_first_paint
        self.core: Core | None = None
        self.session: SessionWatcher | None = None
        self.exit_code: int | None = None

    def resumed(self, how: str) -> None:
        if self.core is not None:
            self.core.resumed(how)

    def begin(self) -> None:
        if self._on_first_paint is not None:
            self._on_first_paint()
        window, args = self._window, self._args
        from desktop.core import Core
        from desktop.store.database import StoreError
        from desktop.ui.store_guard import open_until_usable, watch_store_health

        try:
            core = Core(_core_options(args, self._data_dir))
        except (StoreError, OSError, ValueError) as exc:  # ValueError: a malformed environment
            logger.error("Could not open the data folder: %s", exc)
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(window, APP_NAME, f"{APP_NAME} could not open its data.\n\n{exc}")
            self._fail()
            return
        self.core = core

        def attach() -> MainWindow:
            window.attach(core)
            return window

        # A damaged, empty, read-only or locked database: a dialog with the way out, not a
        # half-started window.
        if open_until_usable(core, attach) is None:
            self._fail()
            return
        watch_store_health(window, core, window.bridge.connectionChanged)
        window.warm_up()
        if self.session is not None:
            self.session.watch_wake()
        _listen_for_second_launches(window, self._key)
        core.start()
        _start_tray(self._app, window, args.minimized)
        if core.needs_setup():
            QTimer.singleShot(0, window.open_setup)

    def _fail(self) -> None:
        self.exit_code = 1
        self._window.hide()
        self._app.exit(1)

    def stop(self) -> None:
        """After the event loop: stop listening, then stop the core (a clean stop)."""
        if self.core is None:
            return
        if self._window.attached:
            self._window.bridge.detach()
        self.core.stop()


def _core_options(args: AppArgs, data_dir: Path) -> CoreOptions:
    from desktop.core import CoreOptions  # not before the first paint

    return CoreOptions(
        data_dir=data_dir,
        port=args.port,
        public_url=args.public_url,
        no_tunnel=args.no_tunnel,
        demo=args.demo,
    )


def _smoke_test(app: QApplication, args: AppArgs, data_dir: Path) -> int:
    """Build the whole window off screen, report what this build can do, and quit."""
    from PySide6.QtGui import QIcon

    from desktop.core import Core
    from desktop.platform_support import resource_path
    from desktop.store.database import StoreError
    from desktop.ui.main_window import MainWindow
    from desktop.ui.store_guard import open_until_usable

    app.setWindowIcon(QIcon(str(resource_path("icons", "twoway.svg"))))
    try:
        core = Core(_core_options(args, data_dir))
    except (StoreError, OSError, ValueError) as exc:
        logger.error("Could not open the data folder: %s", exc)
        print(f"smoke test failed: {exc}", file=sys.stderr)
        return 1
    window = open_until_usable(core, lambda: MainWindow(core), smoke_test=True)
    if window is None:
        core.stop()
        return 1
    from PySide6.QtGui import QGuiApplication

    window.show()
    app.processEvents()
    print(
        f"{APP_NAME} {__version__}: main window built "
        f"({window.conversation_count()} conversations) on Qt platform "
        f"{QGuiApplication.platformName()}; image formats: {_image_formats()}"
    )
    # Checked before the report below, which imports everything on purpose.
    early = [m for m in NETWORK_LIBRARIES if m in sys.modules]
    print(f"network libraries loaded before the window: {', '.join(early) or 'none'}")
    from desktop.platform_support import smoke_report

    print("\n".join(smoke_report()))
    window.close()
    core.stop()
    return 0


def _listen_for_second_launches(window: QWidget, key: str) -> None:
    from desktop.ui.main_window import MainWindow
    from desktop.ui.single_instance import InstanceServer

    assert isinstance(window, MainWindow)
    server = InstanceServer(key, window)
    server.activated.connect(window.show_and_raise)


def _tray_possible() -> bool:
    from PySide6.QtWidgets import QSystemTrayIcon

    return QSystemTrayIcon.isSystemTrayAvailable()


def _start_tray(app: QApplication, window: QWidget, minimized: bool) -> None:
    from desktop.ui.main_window import MainWindow

    assert isinstance(window, MainWindow)
    try:
        from desktop.ui.tray import TrayController
    except ImportError:
        logger.info("No tray integration in this build")
        if minimized and not window.isVisible():
            window.showMinimized()
        return
    tray = TrayController(window, window.core, window.bridge)
    window.set_tray(tray)
    if tray.available():
        app.setQuitOnLastWindowClosed(False)
    elif minimized and not window.isVisible():
        window.showMinimized()
