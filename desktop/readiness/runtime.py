"""What the running app tells ``twoway doctor``: a small file in the data folder's ``state/``.

The doctor is another process; to test the webhook through the public URL it must know
that URL, which exists only while the app runs (a free ngrok address changes on every
start).  The app keeps ``state/running.json`` up to date from its connection board —
process id, the receiver's loopback port, the public URL Twilio is given, how texts arrive
(``link``), the polling interval — and removes it on a clean quit.  It holds no secret.

The doctor trusts the file only if something still listens on that loopback port, so a
file left behind by a crash reads as "not running".
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from desktop.domain.connection import ConnectionSnapshot, Link

logger = logging.getLogger(__name__)

FILE_NAME: Final = "running.json"


@dataclass(frozen=True, slots=True)
class RunningApp:
    pid: int
    local_port: int
    #: The URL Twilio is told about ("" without one: polling, or the tunnel is down).
    public_url: str
    link: str
    poll_interval_s: int
    demo: bool = False
    updated_at: float = 0.0

    @property
    def receives_webhooks(self) -> bool:
        return bool(self.public_url) and self.link in (Link.ONLINE, Link.RECONNECTING)

    @property
    def polls(self) -> bool:
        return self.link == Link.POLLING or not self.public_url

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "local_port": self.local_port,
            "public_url": self.public_url,
            "link": self.link,
            "poll_interval_s": self.poll_interval_s,
            "demo": self.demo,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunningApp:
        return cls(
            pid=int(data["pid"]),
            local_port=int(data["local_port"]),
            public_url=str(data.get("public_url") or ""),
            link=str(data.get("link") or ""),
            poll_interval_s=int(data.get("poll_interval_s") or 15),
            demo=bool(data.get("demo", False)),
            updated_at=float(data.get("updated_at") or 0.0),
        )


def runtime_file(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def read_running_app(state_dir: Path) -> RunningApp | None:
    """The app's last published state, or None when there is no readable file."""
    try:
        data = json.loads(runtime_file(state_dir).read_text(encoding="utf-8"))
        return RunningApp.from_json(data) if isinstance(data, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_listening(port: int, timeout: float = 1.0) -> bool:
    """Something accepts connections on 127.0.0.1:``port`` (the app's receiver)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def write_running_app(state_dir: Path, app: RunningApp) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".running-", dir=state_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(app.to_json(), handle)
        os.replace(tmp, runtime_file(state_dir))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RuntimePublisher:
    """Keeps ``state/running.json`` in step with the connection board (call from any thread)."""

    def __init__(
        self,
        state_dir: Path,
        local_port: Callable[[], int | None],
        poll_interval_s: Callable[[], int],
    ) -> None:
        self._state_dir = state_dir
        self._local_port = local_port
        self._poll_interval_s = poll_interval_s
        self._lock = threading.Lock()
        self._last: RunningApp | None = None
        self._closed = False

    def on_snapshot(self, snapshot: ConnectionSnapshot) -> None:
        port = self._local_port()
        if port is None:
            return
        app = RunningApp(
            pid=os.getpid(),
            local_port=port,
            public_url=snapshot.public_url,
            link=str(snapshot.link),
            poll_interval_s=self._poll_interval_s(),
            demo=snapshot.demo,
        )
        with self._lock:
            if self._closed or app == self._last:
                return
            self._last = app
            try:
                write_running_app(
                    self._state_dir,
                    RunningApp(**{**app.to_json(), "updated_at": time.time()}),
                )
            except OSError as exc:
                logger.warning("Could not record the running state for the doctor: %s", exc)

    def clear(self) -> None:
        """On quit: the doctor must not find a stale address."""
        with self._lock:
            self._closed = True
            self._last = None
            with contextlib.suppress(OSError):
                runtime_file(self._state_dir).unlink(missing_ok=True)
