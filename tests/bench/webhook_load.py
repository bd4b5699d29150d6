"""The webhook load generator the ingest benchmarks share, and a do-nothing server to aim it at.

Two shapes of load, both in child processes (``spawn``: the parent may be running Qt and
threads, which a ``fork`` would copy half-way), so the generator never shares the GIL of
what it measures:

- :func:`burst`: every request as fast as ``processes × threads`` concurrent senders
  manage (16 = 2 × 8 by default), one fresh connection per request as Twilio does;
- :func:`steady`: an open loop at a fixed rate (each request leaves on schedule whether or
  not earlier ones have answered), with each request's send and answer times.

Times are ``time.monotonic()`` read in the child: on Linux that is ``CLOCK_MONOTONIC``,
one clock for every process, so a parent can compare them with its own readings.

:func:`start_null_server` runs :func:`null_app` (read the body, answer 200 with an empty
TwiML ``<Response />``) on the app's own HTTP server (:class:`ReceiverThread`: waitress
with the same adjustments) in a child process: the ceiling the generator and the HTTP
server allow on this machine, with no signature check and no database.
"""

from __future__ import annotations

import contextlib
import http.client
import multiprocessing
import multiprocessing.connection
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, form_body, inbound_params, sign

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

#: One request: the form body and its headers (signed for a public URL).
Request = tuple[bytes, dict[str, str]]
SMS_PATH: Final = "/twilio/sms"
_CONTEXT = multiprocessing.get_context("spawn")
EMPTY_TWIML: Final = b'<?xml version="1.0" encoding="UTF-8"?><Response />'


@dataclass(frozen=True)
class Signer:
    """Signs webhooks as Twilio would for one account and one public URL."""

    public_url: str
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN

    def request(self, params: dict[str, str]) -> Request:
        params = dict(params, AccountSid=self.account_sid)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(self.public_url + SMS_PATH, params, self.auth_token),
        }
        return form_body(params), headers


def inbound(
    signer: Signer, body: str, customer: str | None = None, to: str | None = None
) -> Request:
    """A signed inbound text, as Twilio posts it (with a new MessageSid)."""
    extra = {"FromCity": "PORTLAND", "FromState": "OR", "FromCountry": "US"}
    if customer is not None:
        extra["From"] = customer
    if to is not None:
        extra["To"] = to
    return signer.request(inbound_params(body=body, **extra))


def sid_of(request: Request) -> str:
    """The MessageSid a request carries (to check it against the database)."""
    from urllib.parse import parse_qs

    return parse_qs(request[0].decode())["MessageSid"][0]


def post(port: int, request: Request, timeout: float = 30.0) -> int:
    """POST one webhook on a new connection; the status, or 0 when the connection failed."""
    body, headers = request
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", SMS_PATH, body, headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


# -- burst: as fast as 16 senders manage ----------------------------------------------------------


@dataclass
class BurstResult:
    statuses: list[int]
    #: From the first child's first request to the last child's last answer.
    elapsed: float

    @property
    def acknowledged(self) -> int:
        return self.statuses.count(200)

    @property
    def rate(self) -> float:
        return self.acknowledged / self.elapsed if self.elapsed > 0 else 0.0


def _blast(args: tuple[int, list[Request], int]) -> tuple[float, float, list[int]]:
    port, requests, threads = args
    began = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(lambda r: post(port, r), requests))
    return began, time.monotonic(), statuses


def _ready(*_args: object) -> None:
    """Nothing: warms a pool's children up (spawned and imported) before the clock starts."""


def burst(
    port: int, requests: Sequence[Request], *, processes: int = 2, threads: int = 8
) -> BurstResult:
    """Send ``requests`` split over ``processes`` children of ``threads`` senders each.

    Blocking; statuses come back in the order of ``requests``.
    """
    parts = [list(requests[i::processes]) for i in range(processes)]
    with _CONTEXT.Pool(processes) as pool:
        pool.map(_ready, range(processes), chunksize=1)
        results = pool.map(_blast, [(port, part, threads) for part in parts], chunksize=1)
    statuses = [0] * len(requests)
    for i, (_began, _ended, part) in enumerate(results):
        statuses[i::processes] = part
    elapsed = max(r[1] for r in results) - min(r[0] for r in results)
    return BurstResult(statuses, elapsed)


# -- steady: an open loop at a fixed rate ---------------------------------------------------------


@dataclass
class SteadyResult:
    rate: float
    #: Per request, in order: (sent at, answered at) on ``time.monotonic()``, and the status.
    sent: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    #: How late the loop sent its most delayed request (the generator falling behind).
    worst_lag: float = 0.0

    def latencies(self) -> list[float]:
        """Acknowledgement latencies of the 200s, in seconds, sorted."""
        pairs = zip(self.sent, self.answered, self.statuses, strict=True)
        return sorted(a - s for s, a, status in pairs if status == 200)

    @property
    def acknowledged(self) -> int:
        return self.statuses.count(200)


def _steady(args: tuple[int, list[Request], float, int]) -> SteadyResult:
    port, requests, rate, threads = args
    n = len(requests)
    result = SteadyResult(rate, [0.0] * n, [0.0] * n, [0] * n)

    def one(i: int) -> None:
        result.sent[i] = time.monotonic()
        status = post(port, requests[i])
        result.answered[i] = time.monotonic()
        result.statuses[i] = status

    start = time.monotonic() + 0.05
    with ThreadPoolExecutor(threads) as pool:
        for i in range(n):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                result.worst_lag = max(result.worst_lag, -delay)
            pool.submit(one, i)
    return result


class SteadyRun:
    """:func:`steady` started in a child process; :meth:`result` waits for it."""

    def __init__(self, port: int, requests: Sequence[Request], rate: float, threads: int) -> None:
        self._pool = _CONTEXT.Pool(1)
        self._pool.apply(_ready)
        self._pending = self._pool.apply_async(_steady, ((port, list(requests), rate, threads),))

    def ready(self) -> bool:
        return self._pending.ready()

    def result(self, timeout: float | None = None) -> SteadyResult:
        try:
            return self._pending.get(timeout)
        finally:
            self._pool.close()
            self._pool.join()


def steady(
    port: int, requests: Sequence[Request], rate: float, *, threads: int = 64
) -> SteadyResult:
    """Send ``requests`` at ``rate`` per second from a child process; blocking."""
    return SteadyRun(port, requests, rate, threads).result()


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The value below which a fraction ``p`` of ``sorted_values`` lies (nearest rank)."""
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def summary_ms(sorted_values: Sequence[float], points: Iterable[float] = (0.5, 0.95, 0.99)) -> str:
    """ "p50 1.2 ms, p95 …, max … ms" for latencies in seconds."""
    if not sorted_values:
        return "no samples"
    parts = [f"p{round(p * 100)} {percentile(sorted_values, p) * 1000:.1f} ms" for p in points]
    parts.append(f"max {sorted_values[-1] * 1000:.1f} ms")
    return ", ".join(parts)


# -- a do-nothing server on the app's HTTP server -------------------------------------------------


def null_app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    """Read the body, answer 200 with empty TwiML: no signature check, no database."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response(
        "200 OK",
        [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(EMPTY_TWIML)))],
    )
    return [EMPTY_TWIML]


def _serve_null(conn: multiprocessing.connection.Connection) -> None:
    from desktop.gateway.receiver import ReceiverThread

    receiver = ReceiverThread(null_app, 0)
    receiver.start()
    conn.send(receiver.port)
    conn.recv()  # anything (or the parent gone) means stop
    receiver.stop()


class NullServer:
    """:func:`null_app` served by :class:`ReceiverThread` in a child process."""

    def __init__(self, process: Any, conn: multiprocessing.connection.Connection, port: int):
        self._process = process
        self._conn = conn
        self.port = port

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    def __enter__(self) -> NullServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_null_server(timeout: float = 30.0) -> NullServer:
    ours, theirs = _CONTEXT.Pipe()
    process = _CONTEXT.Process(target=_serve_null, args=(theirs,), daemon=True)
    process.start()
    if not ours.poll(timeout):
        process.kill()
        raise RuntimeError("the do-nothing server did not start")
    return NullServer(process, ours, int(ours.recv()))
