"""Regenerate the README screenshots from the real app, in demo mode, on a virtual screen.

    python scripts/screenshots.py [--out docs/screenshots]

Starts Xvfb with a window manager (openbox) unless ``DISPLAY`` is already set, runs the real
window with the demo's simulated customers (sped up so the minute of texts takes seconds),
waits until the texts and the picture have arrived, and captures the screen with
ImageMagick's ``import`` (what a user would see), plus a dark-mode shot.  Needs Debian's
xvfb, openbox and imagemagick.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCREEN = "1280x800x24"


def _virtual_screen() -> list[subprocess.Popen[bytes]]:
    for tool in ("Xvfb", "openbox", "import"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install xvfb openbox imagemagick")
    display = ":97"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", SCREEN, "-nolisten", "tcp"])
    os.environ["DISPLAY"] = display
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
        if time.monotonic() > deadline:
            raise SystemExit("Xvfb did not start")
        time.sleep(0.05)
    wm = subprocess.Popen(["openbox"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return [wm, xvfb]


def _wait(app: object, predicate: Callable[[], bool], timeout: float) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("the demo did not reach the expected state in time")
        QApplication.processEvents()
        time.sleep(0.02)


def _settle(seconds: float) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def _capture(target: Path) -> None:
    subprocess.run(["import", "-window", "root", str(target)], check=True)
    print(f"wrote {target.relative_to(REPO) if target.is_relative_to(REPO) else target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    helpers = [] if os.environ.get("DISPLAY") else _virtual_screen()
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    sys.path.insert(0, str(REPO))
    try:
        shoot(args.out.resolve())
    finally:
        for process in helpers:
            process.terminate()
            process.wait(5)


def shoot(out: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from desktop.core import Core, CoreOptions
    from desktop.simulator.personas import JAMAL, MARIA, PRIYA
    from desktop.store import queries
    from desktop.ui import theme
    from desktop.ui.main_window import MainWindow

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication([sys.argv[0]])
    app.setApplicationName("Twoway")
    with tempfile.TemporaryDirectory() as tmp:
        core = Core(CoreOptions(data_dir=Path(tmp) / "demo", demo=True, environ={}, demo_speed=6.0))
        core.open()
        window = MainWindow(core)
        window.setGeometry(40, 30, 1200, 740)
        window.show()
        core.start()

        def number_of(number: str) -> int | None:
            for row in queries.conversations(core.store.reader()):
                if row.contact_number == number:
                    return row.id
            return None

        def picture_ready() -> bool:
            cid = number_of(JAMAL.number)
            if cid is None:
                return False
            page = queries.thread_page(core.store.reader(), cid)
            return any(m.state == "done" and m.thumbnail for x in page for m in x.media)

        _wait(app, lambda: picture_ready() and number_of(PRIYA.number) is not None, 90)
        jamal = number_of(JAMAL.number)
        assert jamal is not None
        window.open_conversation(jamal)
        _settle(1.5)
        _capture(out / "main-window.png")

        maria = number_of(MARIA.number)
        assert maria is not None
        window.open_conversation(maria)
        window.pane.composer.editor.setPlainText("We have 3:30 on Thursday, would that work? 🙂")
        theme.watcher().force(True)
        _settle(1.0)
        _capture(out / "main-window-dark.png")
        theme.watcher().force(None)
        window.close()
        core.stop()


if __name__ == "__main__":
    main()
