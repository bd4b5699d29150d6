"""The real start-up in a child process: what is loaded when the first frame is painted.

The window must come up on what a look at the files gives, before the core, the settings
loader, the store and anything network-related are imported (they come right after)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from desktop.core import Core, CoreOptions
from tests.gui.conftest import inbound

REPO = Path(__file__).resolve().parents[2]

_CHILD = """
import json, os, sys
from desktop import cli
from desktop.logs import setup_logging
from desktop.paths import Paths
args = cli.parse(["--data-dir", sys.argv[1]])
setup_logging(Paths(args.data_dir).log_file)
from desktop.ui.application import run
def painted():
    from PySide6.QtWidgets import QApplication, QLabel
    texts = [label.text() for w in QApplication.topLevelWidgets()
             for label in w.findChildren(QLabel)]
    print(json.dumps({"modules": sorted(sys.modules), "texts": texts}), flush=True)
    os._exit(0)
run(args, args.data_dir, on_first_paint=painted)
"""

HEAVY = (
    "desktop.core",
    "desktop.config",
    "desktop.store.service",
    "desktop.network",
    "msgspec",
    "twilio",
    "werkzeug",
    "waitress",
    "keyring",
    "pyngrok",
    "requests",
    "phonenumbers",
)


def test_the_first_frame_shows_the_newest_texts_before_the_core_is_imported(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    core = Core(CoreOptions(data_dir=data, environ={}))
    core.open()
    try:
        inbound(core, "Is the 4:30 cleaning still on?", contact="+15035550142")
    finally:
        core.stop()

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(data)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-2000:]
    seen = json.loads(lines[-1])
    loaded = set(seen["modules"])
    early = sorted(
        name for name in loaded if any(name == h or name.startswith(h + ".") for h in HEAVY)
    )
    assert early == []
    assert any(text.startswith("Is the 4:30 cleaning") for text in seen["texts"])
