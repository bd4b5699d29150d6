"""The real app (``python main.py``) in a child process, headless, against local stand-ins.

Twilio is the simulator, ngrok the fake agent driven by the real pyngrok, and the keyring
is keyring's own ``fail`` backend: credentials come from the environment only, as on a
desktop without a Secret Service.  Tests send it real signals.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from desktop.simulator.server import SimulatedTwilio
from tests.fakes.fake_ngrok import FakeNgrok

REPO = Path(__file__).resolve().parents[2]
OUR = "+15035550100"
CUSTOMER = "+15035550142"
NGROK_TOKEN = "2fakeNgrokToken_abcdefghijklmnop"


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)


@dataclass
class AppProcess:
    proc: subprocess.Popen[bytes]
    data_dir: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def log(self) -> str:
        path = self.data_dir / "logs" / "twoway.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def stored(self, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"{(self.data_dir / 'twoway.sqlite3').as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute(query, args).fetchall()
        finally:
            conn.close()

    def bodies(self) -> set[str]:
        return {row[0] for row in self.stored("SELECT body FROM messages")}

    def descriptors(self) -> int:
        return psutil.Process(self.pid).num_fds()

    def threads(self) -> int:
        return psutil.Process(self.pid).num_threads()

    def signal(self, number: int) -> None:
        os.kill(self.pid, number)

    def stop(self) -> None:
        """End the app as a logout does (SIGTERM, so it stops its ngrok agent too); kill it
        only if it does not end by itself."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a test may have left it frozen
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(10)


def launch(
    data_dir: Path,
    sim: SimulatedTwilio,
    *args: str,
    settings: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> AppProcess:
    """Start ``python main.py --data-dir DATA_DIR *args`` with environment credentials."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if settings is not None:
        (data_dir / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "TWOWAY_", "NGROK_", "PYNGROK_"))
    }
    env.update(
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(REPO),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        TWILIO_ACCOUNT_SID=sim.account_sid,
        TWILIO_AUTH_TOKEN=sim.auth_token,
        TWOWAY_TWILIO_API_URL=sim.base_url,
        TWOWAY_PHONE_NUMBER=OUR,
    )
    env.update(environ or {})
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "--data-dir", str(data_dir), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return AppProcess(proc, data_dir)


def ngrok_settings(fake: FakeNgrok) -> dict[str, Any]:
    return {
        "configured": True,
        "phone_number": OUR,
        "tunnel_mode": "ngrok",
        "ngrok_path": str(fake.launcher),
    }
