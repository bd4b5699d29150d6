"""How long shrinking a picture over Twilio's 5 MB takes (on a worker thread, not the GUI).

Run: QT_QPA_PLATFORM=offscreen PYTHONPATH=. python tests/bench/bench_picture_shrink.py
Random pixels are the worst case for JPEG; a camera photo shrinks faster.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from PySide6.QtGui import QGuiApplication, QImage

from desktop.ui import picture_shrink


def main() -> None:
    _app = QGuiApplication([])
    folder = Path(tempfile.mkdtemp())
    for width, height in ((1600, 1200), (2400, 1800), (4032, 3024)):
        data = os.urandom(width * height * 3)
        image = QImage(data, width, height, width * 3, QImage.Format.Format_RGB888).copy()
        source = folder / f"noise-{width}.jpg"
        image.save(str(source), quality=100)
        started = time.perf_counter()
        ready = picture_shrink.prepare_file(source, folder / "out")
        seconds = time.perf_counter() - started
        print(
            f"{width}x{height}: {picture_shrink.describe_size(source.stat().st_size)} → "
            f"{picture_shrink.describe_size(ready.size)} in {seconds:.2f} s"
        )


if __name__ == "__main__":
    main()
