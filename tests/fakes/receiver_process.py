"""A bare receiver process (store + webhook app, no GUI) that tests can kill -9.

Usage: python -m tests.fakes.receiver_process DATA_DIR PUBLIC_URL PORT_FILE
Credentials come from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN in the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from desktop.config import Paths
from desktop.gateway.ingest import StoreIngest
from desktop.gateway.receiver import ReceiverThread
from desktop.gateway.webhook import WebhookApp, WebhookCredentials
from desktop.store.service import Store

REPO = Path(__file__).resolve().parents[2]


def spawn(
    data_dir: Path, public_url: str, account_sid: str, auth_token: str, *, timeout: float = 20.0
) -> tuple[subprocess.Popen[bytes], int]:
    """Start this module in a child process; return it and its listening port."""
    port_file = data_dir.parent / f"{data_dir.name}.port"
    port_file.unlink(missing_ok=True)
    env = dict(
        os.environ,
        TWILIO_ACCOUNT_SID=account_sid,
        TWILIO_AUTH_TOKEN=auth_token,
        PYTHONPATH=str(REPO),
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.receiver_process",
            str(data_dir),
            public_url,
            str(port_file),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    while not port_file.exists():
        if proc.poll() is not None:
            error = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"the receiver process died: {error[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the receiver process did not start")
        time.sleep(0.02)
    return proc, int(port_file.read_text())


def main() -> None:
    data_dir, public_url, port_file = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    paths = Paths(data_dir)
    paths.create()
    store = Store(paths.database, paths.backups)
    store.open()
    credentials = WebhookCredentials(
        os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"], public_url
    )
    receiver = ReceiverThread(WebhookApp(StoreIngest(store), lambda: credentials), 0)
    receiver.start()
    partial = port_file.with_suffix(".part")
    partial.write_text(str(receiver.port))
    partial.replace(port_file)
    threading.Event().wait()


if __name__ == "__main__":
    main()
