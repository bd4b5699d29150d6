"""A loopback TCP forwarder that can drop off the network: one laptop's Wi-Fi.

``url`` forwards to ``target``; :meth:`offline` cuts every open connection and refuses new
ones (the client sees connection errors, as with the Wi-Fi off), :meth:`online` restores.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit


class SwitchableLink:
    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._online = True
        self._closed = False
        threading.Thread(target=self._accept, name="switchable-link", daemon=True).start()

    def offline(self) -> None:
        with self._lock:
            self._online = False
            sockets, self._open = self._open, set()
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def online(self) -> None:
        with self._lock:
            self._online = True

    def close(self) -> None:
        self._closed = True
        self.offline()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            with self._lock:
                online = self._online
            if not online:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
