"""The webhook listener: waitress serving the Werkzeug app, on 127.0.0.1 only.

Only loopback is ever bound: the public side is the tunnel (or the user's own reverse
proxy).  Through the tunnel anyone on the internet can reach this port, so the listener is
built to stay responsive to Twilio while slow or hostile clients are connected.

Why waitress and not Werkzeug's development server (measured with
``tests/bench/bench_receiver_attack.py``; figures in the README):

- Werkzeug's server gives every connection a thread and a *per-read* socket timeout that
  restarts with each byte, with no deadline for the whole request.  A client sending one
  byte every few seconds holds a thread forever; 100 of them made every valid webhook wait
  5 s for a slot and get 503 (Twilio does not retry).  A chunked body is drained in large
  reads before the form parser notices the size: 24 endless streams took the process from
  113 MB to 495 MB.  Fixing that means rewriting its request reading, i.e. a new server.
- waitress (pure Python, the same on Windows, macOS and Linux) has an asynchronous front:
  one thread reads every connection with non-blocking sockets and buffers the *whole*
  request (headers and body, within fixed caps) before a worker thread sees it, so a slow
  client costs a socket and a few kilobytes, never a worker.  Body size is capped whatever
  the transfer encoding (413 as soon as the cap is passed, then the connection is closed).
- cheroot (CherryPy's server) is also pure Python but, by its design (not benchmarked
  here), reads each request in a worker thread: slow clients would hold workers as they do
  with Werkzeug.

What this module adds on top of waitress:

- a **deadline for a whole request**: a connection must deliver a complete request within
  ``request_timeout`` (10 s) of being opened or of its previous answer, however it trickles
  bytes; plus waitress's idle timeout (``socket_timeout``) for connections that send nothing;
- a **bound on connections in all** (``max_connections``): when full, a new connection
  pushes out the connection that has waited longest without completing a request, so a
  flood of idle or slow connections cannot lock out Twilio (whose requests arrive whole in
  milliseconds and go straight to a worker);
- a **bound per client** (``max_per_client``) on requests whose body is still arriving.
  Behind ngrok every TCP peer is 127.0.0.1, so the client is the last address in
  ``X-Forwarded-For`` (ngrok appends the address it saw; anything to its left was written by
  the client and is ignored), or the TCP peer when there is no such header.  Past the bound
  the client's oldest unfinished request is closed.  This is a fairness rule only: the
  header is trusted because only the tunnel (or a local program) can reach loopback;
- **strict framing**: two ``Content-Length`` headers, or ``Content-Length`` together with
  ``Transfer-Encoding``, or ``Transfer-Encoding`` in HTTP/1.0, or any protocol version other
  than HTTP/1.0 and 1.1 (an HTTP/2 preface, a bare ``GET /``) is answered 400 — never a
  trace;
- quiet logging: one debug line per request (method, path without query, status); socket
  errors and floods are not logged with tracebacks.

ngrok's ``verify-webhook`` traffic policy action can refuse unsigned requests at the edge as
a first line; this listener does not rely on it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, cast

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import TcpWSGIServer

from desktop.gateway.webhook import MAX_BODY_BYTES

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

LOOPBACK: Final = "127.0.0.1"
#: A whole request (headers and body) must arrive within this many seconds.
REQUEST_TIMEOUT_S: Final = 10.0
#: A connection that sends nothing for this long is closed.
SOCKET_TIMEOUT_S: Final = 10.0
MAX_CONNECTIONS: Final = 256
MAX_PER_CLIENT: Final = 16
WORKER_THREADS: Final = 8
MAX_HEADER_BYTES: Final = 16 * 1024
#: Open-file limit asked for at start where the OS default is lower (macOS: 256).
WANTED_OPEN_FILES: Final = 4096


class ReceiverError(RuntimeError):
    """The listener could not start; ``str()`` says why in plain words."""


class _StrictParser(HTTPRequestParser):
    """waitress's parser, refusing ambiguous framing and protocols other than HTTP/1.x."""

    def parse_header(self, header_plus: bytes) -> None:
        names = [line.split(b":", 1)[0].strip().lower() for line in header_plus.split(b"\r\n")[1:]]
        lengths = names.count(b"content-length")
        encodings = names.count(b"transfer-encoding")
        if lengths > 1:
            raise ParsingError("Content-Length is given more than once")
        if lengths and encodings:
            raise ParsingError("Content-Length and Transfer-Encoding together")
        super().parse_header(header_plus)
        if self.version not in ("1.0", "1.1"):
            raise ParsingError("Only HTTP/1.0 and HTTP/1.1 are spoken here")
        if encodings and self.version == "1.0":
            raise ParsingError("Transfer-Encoding is not allowed in HTTP/1.0")


def client_key(peer: str, forwarded_for: str) -> str:
    """Who a request is from, for per-client bounds: the address the nearest proxy saw."""
    last = forwarded_for.rsplit(",", 1)[-1].strip()
    return last[:64] if last else peer


class _Channel(HTTPChannel):
    """One connection; remembers since when it owes us a request and from whom it is."""

    parser_class = _StrictParser
    server: _Server

    def __init__(self, server: _Server, sock: socket.socket, addr: Any, adj: Any, map: Any) -> None:
        super().__init__(server, sock, addr, adj, map=map)
        self.waiting_since = time.monotonic()
        self.client: str | None = None

    def received(self, data: bytes) -> bool:
        result = bool(super().received(data))
        request = self.request
        if request is not None and request.headers_finished and self.client is None:
            peer = str(self.addr[0]) if isinstance(self.addr, tuple) else LOOPBACK
            self.client = client_key(peer, request.headers.get("X_FORWARDED_FOR", ""))
            self.server.bound_client(self.client)
        return result

    def service(self) -> None:
        super().service()
        self.client = None
        self.waiting_since = time.monotonic()

    @property
    def unfinished(self) -> bool:
        """Open, not being served, not answering, not closing: owing us (part of) a request.

        A connection still sending an answer (an attachment Twilio is fetching) is left to
        waitress's idle timeout, which counts bytes sent as activity.
        """
        return not (
            self.requests or self.will_close or self.close_when_flushed or self.total_outbufs_len
        )

    def drop(self, why: str) -> None:
        self.will_close = True
        logger.debug("Closed a connection: %s", why)


class _Server(TcpWSGIServer):
    """waitress's TCP server plus the deadline, the eviction rule and the per-client bound."""

    channel_class = _Channel

    def __init__(
        self,
        app: WSGIApplication,
        adj: Adjustments,
        *,
        request_timeout: float,
        max_connections: int,
        max_per_client: int,
    ) -> None:
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self.evicted = 0
        self.socket_map: dict[int, Any] = {}
        super().__init__(app, map=self.socket_map, adj=adj, sockinfo=cast(Any, adj.listen)[0])
        self.bound_port = int(cast(socket.socket, self.socket).getsockname()[1])

    def set_reuse_addr(self) -> None:
        if sys.platform == "win32":  # SO_REUSEADDR there lets another program share the port
            with contextlib.suppress(OSError, AttributeError):
                self.socket.setsockopt(
                    socket.SOL_SOCKET,
                    socket.SO_EXCLUSIVEADDRUSE,  # type: ignore[attr-defined]
                    1,
                )
            return
        super().set_reuse_addr()

    def _channels(self) -> list[_Channel]:
        channels = cast("dict[int, Any]", self.active_channels)
        return [c for c in channels.values() if isinstance(c, _Channel)]

    def handle_accept(self) -> None:
        super().handle_accept()
        open_channels = [c for c in self._channels() if not c.will_close]
        if len(open_channels) <= self.max_connections:
            return
        waiting = [c for c in open_channels if c.unfinished]
        if waiting:
            oldest = min(waiting, key=lambda c: c.waiting_since)
            oldest.drop("too many connections; this one had waited longest")
            self._note_eviction("Too many connections at once")

    def bound_client(self, client: str) -> None:
        """Keep at most ``max_per_client`` unfinished requests from ``client``."""
        same = [c for c in self._channels() if c.client == client and c.unfinished]
        if len(same) <= self.max_per_client:
            return
        same.sort(key=lambda c: c.waiting_since)
        for channel in same[: len(same) - self.max_per_client]:
            channel.drop("too many unfinished requests from one client")
        self._note_eviction("Too many unfinished requests from one client")

    def _note_eviction(self, what: str) -> None:
        self.evicted += 1
        if self.evicted in (1, 10, 100) or self.evicted % 1000 == 0:
            logger.warning("%s: closed the slowest (%d so far)", what, self.evicted)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # type: ignore[arg-type]  # the idle timeout (channel_timeout)
        cutoff = time.monotonic() - self.request_timeout
        late = [c for c in self._channels() if c.unfinished and c.waiting_since < cutoff]
        for channel in late:
            channel.drop("the request took longer than the deadline")
        if late:
            logger.info("Closed %d connection(s) that did not finish a request in time", len(late))


class _QuietLog:
    """Wraps the app: one debug line per request, never the query string or the body."""

    def __init__(self, app: WSGIApplication) -> None:
        self._app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def logged(status: str, headers: Any, exc_info: Any = None) -> Any:
            logger.debug(
                "%s %s -> %s",
                environ.get("REQUEST_METHOD", "-"),
                str(environ.get("PATH_INFO", ""))[:200],
                status.split(" ", 1)[0],
            )
            return start_response(status, headers, exc_info)

        return self._app(environ, logged)


def _raise_open_file_limit() -> None:
    """Room for ``MAX_CONNECTIONS`` sockets where the OS default is small (POSIX only)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit for sockets
        return
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = WANTED_OPEN_FILES
        if hard != resource.RLIM_INFINITY:
            wanted = min(hard, wanted)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _quiet_waitress() -> None:
    # "Task queue depth is N" under a burst is expected, not a warning for the user.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


class ReceiverThread:
    """Serves a WSGI app on 127.0.0.1:``port`` (0 = any free port) until :meth:`stop`.

    ``socket_timeout`` closes a connection that sends nothing for that long;
    ``request_timeout`` closes one that has not delivered a whole request in that long.
    """

    def __init__(
        self,
        app: WSGIApplication,
        port: int = 0,
        *,
        max_connections: int = MAX_CONNECTIONS,
        socket_timeout: float = SOCKET_TIMEOUT_S,
        request_timeout: float = REQUEST_TIMEOUT_S,
        max_per_client: int = MAX_PER_CLIENT,
        max_body_bytes: int = MAX_BODY_BYTES,
        threads: int = WORKER_THREADS,
    ) -> None:
        self._app = app
        self._requested_port = port
        self._socket_timeout = socket_timeout
        self._request_timeout = request_timeout
        self._max_connections = max_connections
        self._max_per_client = max_per_client
        self._max_body_bytes = max_body_bytes
        self._threads = threads
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The receiver is not running")
        return self._server.bound_port

    @property
    def running_port(self) -> int | None:
        """The port while it listens, else None (for reports that may come after a stop)."""
        server = self._server
        return None if server is None else server.bound_port

    @property
    def local_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _adjustments(self) -> Adjustments:
        shortest = min(self._socket_timeout, self._request_timeout)
        return Adjustments(
            host=LOOPBACK,
            port=self._requested_port,
            ipv4=True,
            ipv6=False,
            threads=self._threads,
            # waitress refuses a body of max_request_body_size bytes; the cap itself is allowed.
            max_request_body_size=self._max_body_bytes + 1,
            max_request_header_size=MAX_HEADER_BYTES,
            channel_timeout=self._socket_timeout,
            cleanup_interval=max(0.05, min(1.0, shortest / 4)),
            # Our own rule closes the longest-waiting connection first; waitress's limit (it
            # stops accepting) is only a backstop for connections that are all being served.
            connection_limit=self._max_connections + 64,
            backlog=1024,
            asyncore_use_poll=True,
            asyncore_loop_timeout=1,
            ident="",
            expose_tracebacks=False,
            log_socket_errors=False,
            clear_untrusted_proxy_headers=False,
        )

    def start(self, timeout: float = 10.0) -> None:
        """Bind and start serving; returns once the port accepts connections."""
        if self._thread is not None:
            return
        _raise_open_file_limit()
        _quiet_waitress()
        try:
            server = _Server(
                _QuietLog(self._app),
                self._adjustments(),
                request_timeout=self._request_timeout,
                max_connections=self._max_connections,
                max_per_client=self._max_per_client,
            )
        except OSError as exc:
            raise self._bind_error(exc) from None
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(server,), name="webhook-receiver", daemon=True
        )
        self._thread.start()
        logger.info("Webhook listener on %s:%d", LOOPBACK, self.port)

    def _bind_error(self, exc: OSError) -> ReceiverError:
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            return ReceiverError(
                f"Port {self._requested_port} on this computer is already in use by another "
                "program. Choose another port (or 0 for any free port)."
            )
        return ReceiverError(f"The webhook listener could not start: {exc.strerror or exc}")

    def _serve(self, server: _Server) -> None:
        from waitress import wasyncore

        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=1.0, map=server.socket_map, use_poll=True, count=1)
        except Exception:
            logger.exception("The webhook listener stopped unexpectedly")
        finally:
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=2)
            wasyncore.close_all(server.socket_map)

    def stop(self, timeout: float = 5.0) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            server.pull_trigger()
        thread.join(timeout)
        self._server = None
        self._thread = None
        logger.info("Webhook listener stopped")
