"""The webhook listener: Werkzeug's threaded server, on 127.0.0.1 only, in a background thread.

Only loopback is ever bound: the public side is the tunnel (or the user's own reverse
proxy).  Each connection has a socket timeout so a slow sender is cut off, and at most
``max_connections`` are served at once; beyond that a connection waits briefly for a slot
and is then answered 503, so a flood cannot exhaust threads or memory.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any, ClassVar, Final

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

logger = logging.getLogger(__name__)

LOOPBACK: Final = "127.0.0.1"
SOCKET_TIMEOUT_S: Final = 10.0
MAX_CONNECTIONS: Final = 64
SLOT_WAIT_S: Final = 5.0


class ReceiverError(RuntimeError):
    """The listener could not start; ``str()`` says why in plain words."""


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler with a socket timeout, a connection cap and quiet, scrubbed logs."""

    timeout = SOCKET_TIMEOUT_S
    slots: ClassVar[threading.BoundedSemaphore]
    _has_slot: bool = False

    def setup(self) -> None:
        super().setup()
        self._has_slot = self.slots.acquire(timeout=SLOT_WAIT_S)

    def handle(self) -> None:
        if not self._has_slot:
            with contextlib.suppress(OSError):
                self.wfile.write(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n"
                )
            logger.warning("Too many connections at once; turned one away")
            return
        super().handle()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self._has_slot:
                self._has_slot = False
                self.slots.release()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s -> %s", self.command, self.path.split("?", 1)[0], code)

    def log_error(self, format: str, *args: Any) -> None:
        logger.info("HTTP: " + format, *args)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("HTTP: " + format, *args)


class ReceiverThread:
    """Serves a WSGI app on 127.0.0.1:``port`` (0 = any free port) until :meth:`stop`."""

    def __init__(
        self,
        app: WSGIApplication,
        port: int = 0,
        *,
        max_connections: int = MAX_CONNECTIONS,
        socket_timeout: float = SOCKET_TIMEOUT_S,
    ) -> None:
        self._app = app
        self._socket_timeout = socket_timeout
        self._requested_port = port
        self._max_connections = max_connections
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The receiver is not running")
        return int(self._server.port)

    @property
    def local_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Bind and start serving; returns once the port accepts connections."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._serve, name="webhook-receiver", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise ReceiverError("The webhook listener did not start in time.")
        if self._error is not None:
            error = self._error
            self._thread = None
            raise error

    def _serve(self) -> None:
        handler = type(
            "_BoundHandler",
            (_Handler,),
            {
                "slots": threading.BoundedSemaphore(self._max_connections),
                "timeout": self._socket_timeout,
            },
        )
        try:
            server = make_server(
                LOOPBACK, self._requested_port, self._app, threaded=True, request_handler=handler
            )
        except SystemExit:  # Werkzeug exits the process when the port is taken
            self._error = ReceiverError(
                f"Port {self._requested_port} on this computer is already in use by another "
                "program. Choose another port (or 0 for any free port)."
            )
            self._ready.set()
            return
        except OSError as exc:
            self._error = ReceiverError(f"The webhook listener could not start: {exc.strerror}")
            self._ready.set()
            return
        self._server = server
        logger.info("Webhook listener on %s:%d", LOOPBACK, server.port)
        self._ready.set()
        server.serve_forever(poll_interval=0.1)

    def stop(self, timeout: float = 5.0) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        thread.join(timeout)
        self._server = None
        self._thread = None
        logger.info("Webhook listener stopped")
