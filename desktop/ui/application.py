"""Starts Qt: the application object, the core's local phase, the window, then the network."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop import APP_NAME, __version__
from desktop.cli import AppArgs
from desktop.core import Core, CoreOptions
from desktop.store.database import StoreError

logger = logging.getLogger(__name__)


def run(args: AppArgs, data_dir: Path) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    core = Core(
        CoreOptions(
            data_dir=data_dir,
            port=args.port,
            public_url=args.public_url,
            no_tunnel=args.no_tunnel,
            demo=args.demo,
        )
    )
    try:
        core.open()
    except (StoreError, OSError) as exc:
        logger.error("Could not open the data folder: %s", exc)
        if args.smoke_test:
            print(f"smoke test failed: {exc}", file=sys.stderr)
            return 1
        QMessageBox.critical(None, APP_NAME, str(exc))
        return 1

    from desktop.ui.main_window import MainWindow

    window = MainWindow(core)
    if args.smoke_test:
        window.show()
        app.processEvents()
        print(
            f"{APP_NAME} {__version__}: main window built "
            f"({window.conversation_count()} conversations)"
        )
        window.close()
        core.stop()
        return 0
    if not args.minimized:
        window.show()

    def start_network() -> None:
        try:
            core.start()
        except Exception:
            logger.exception("Starting the network side failed")

    QTimer.singleShot(
        0, lambda: threading.Thread(target=start_network, name="core-start", daemon=True).start()
    )
    try:
        return app.exec()
    finally:
        core.stop()
