"""One Twoway per data folder: a second launch brings the running window forward.

The running app listens on a local socket named after the user and the data folder (so
the demo and real data can run side by side).  A new launch first tries to connect: if
someone answers, it asks them to show their window and exits.  On Linux and macOS the
check uses a plain Unix socket (QtNetwork costs 10–25 ms to import, too much before the
first paint); on Windows, where the server is a named pipe, it uses QLocalSocket.

Signals of :class:`InstanceServer`: ``activated()`` — another launch asked us to show.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import logging
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, Signal

logger = logging.getLogger(__name__)

SHOW: Final = b"show"
CONNECT_TIMEOUT_S: Final = 0.5


def instance_key(data_dir: Path) -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in containers without a passwd entry
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    digest = hashlib.sha256(f"{user}:{data_dir.resolve()}".encode()).hexdigest()[:16]
    return f"twoway-{digest}"


def server_name(key: str) -> str:
    """What QLocalServer listens on: a socket path on POSIX, a pipe name on Windows."""
    if sys.platform == "win32":
        return key
    return str(Path(tempfile.gettempdir()) / key)


def _message() -> bytes:
    token = os.environ.get("XDG_ACTIVATION_TOKEN", "")
    return SHOW + (b" " + token.encode() if token else b"") + b"\n"


def ask_running_instance_to_show(key: str) -> bool:
    """True when another Twoway answered (it will raise its window)."""
    if sys.platform == "win32":
        from PySide6.QtNetwork import QLocalSocket

        local = QLocalSocket()
        local.connectToServer(server_name(key))
        if not local.waitForConnected(int(CONNECT_TIMEOUT_S * 1000)):
            return False
        local.write(_message())
        local.waitForBytesWritten(int(CONNECT_TIMEOUT_S * 1000))
        local.disconnectFromServer()
        return True
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CONNECT_TIMEOUT_S)
        try:
            sock.connect(server_name(key))
            sock.sendall(_message())
        except OSError:
            return False  # nobody there, or a stale socket left by a crash
    return True


class InstanceServer(QObject):
    activated = Signal()

    def __init__(self, key: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtNetwork import QLocalServer

        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_connection)
        name = server_name(key)
        QLocalServer.removeServer(name)  # a crashed run may have left its socket file
        if not self._server.listen(name):
            logger.warning("Single-instance listener failed: %s", self._server.errorString())

    def _on_connection(self) -> None:
        while self._server.hasPendingConnections():
            connection = self._server.nextPendingConnection()
            connection.readyRead.connect(self._on_ready_read)
            connection.disconnected.connect(connection.deleteLater)

    def _on_ready_read(self) -> None:
        from PySide6.QtNetwork import QLocalSocket

        connection = self.sender()
        if not isinstance(connection, QLocalSocket) or not connection.canReadLine():
            return
        line = bytes(connection.readLine(256).data()).strip()
        command, _, token = line.partition(b" ")
        if command == SHOW:
            if token and sys.platform.startswith("linux"):
                # Wayland only lets a window take focus with the launcher's token.
                with contextlib.suppress(UnicodeDecodeError):
                    os.environ["XDG_ACTIVATION_TOKEN"] = token.decode()
            self.activated.emit()

    def close(self) -> None:
        self._server.close()
