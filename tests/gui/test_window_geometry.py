"""The window fits its screen at any scale: at 150 % a 1280×800 laptop screen has 853×533
logical pixels, and the whole window, composer included, must be on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from PySide6.QtCore import QMargins, QRect, QSize

from desktop.ui.screen_fit import centered, fit_rect

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QApplication
    app = QApplication(sys.argv)
    from desktop.core import Core, CoreOptions
    from tests.gui.conftest import inbound
    from desktop.ui.main_window import MainWindow
    core = Core(CoreOptions(data_dir=Path(sys.argv[1]), environ={}))
    core.open()
    result = inbound(core, "Can I move my appointment?")
    window = MainWindow(core)
    window.show()
    window.open_conversation(result.conversation_id)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not window.pane.composer.send_button.isVisible():
        app.processEvents()
    for _ in range(10):
        app.processEvents()
    button = window.pane.composer.send_button
    corner = button.mapToGlobal(button.rect().bottomRight())
    screen = window.screen().availableGeometry()
    frame = window.frameGeometry()
    print(json.dumps({
        "screen": [screen.x(), screen.y(), screen.width(), screen.height()],
        "frame": [frame.x(), frame.y(), frame.width(), frame.height()],
        "send": [corner.x(), corner.y(), button.isVisible()],
    }))
    window.close()
    core.stop()
    """
)


def test_the_window_opens_inside_a_small_high_dpi_screen_with_the_composer_visible(
    tmp_path: Path,
) -> None:
    config = tmp_path / "screen.json"
    config.write_text(
        json.dumps(
            {
                "windowFrameMargins": True,
                "screens": [
                    {"name": "laptop", "x": 0, "y": 0, "width": 853, "height": 533, "dpr": 1.5}
                ],
            }
        ),
        encoding="utf-8",
    )
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    screen = QRect(*shown["screen"])
    assert screen.size() == QSize(853, 533), "the fake screen is in use"
    assert screen.contains(QRect(*shown["frame"])), shown
    x, y, visible = shown["send"]
    assert visible
    assert screen.contains(x, y), "Send is on the screen"


def test_a_window_that_fits_stays_as_it_is() -> None:
    wanted = QRect(100, 80, 900, 600)
    assert fit_rect(wanted, QRect(0, 0, 1920, 1040), QMargins(1, 30, 1, 1)) == wanted


def test_a_big_window_shrinks_and_moves_onto_the_screen_frame_included() -> None:
    available = QRect(0, 0, 853, 503)  # 1280×800 at 150 %, less a 30-pixel taskbar
    frame = QMargins(2, 30, 2, 2)
    fitted = fit_rect(QRect(300, 200, 1100, 720), available, frame)
    assert available.contains(fitted.marginsAdded(frame))
    assert fitted.size() == QSize(849, 471)


def test_a_window_on_a_second_screen_is_kept_on_that_screen() -> None:
    right_screen = QRect(1920, 0, 1280, 800)
    fitted = fit_rect(QRect(3000, 500, 1100, 720), right_screen, QMargins(0, 30, 0, 0))
    assert right_screen.contains(fitted.marginsAdded(QMargins(0, 30, 0, 0)))


def test_the_first_position_is_centred() -> None:
    rect = centered(QSize(600, 400), QRect(0, 0, 1000, 800))
    assert rect.center() == QRect(0, 0, 1000, 800).center()
