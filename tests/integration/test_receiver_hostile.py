"""The receiver under attack from the internet: slow clients, floods, endless bodies, junk.

Through the tunnel anyone can reach the listener; Twilio does not retry a webhook that
times out or gets a 5xx, so a valid webhook must keep being answered quickly however many
hostile connections are open.  Every receiver here is the real one on a loopback port;
``default_receiver`` is built exactly as :mod:`desktop.network` builds it (no tuning).
"""

from __future__ import annotations

import http.client
import logging
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress

import psutil
import pytest

from desktop.gateway.ingest import StoreIngest
from desktop.gateway.receiver import ReceiverThread
from desktop.gateway.webhook import WebhookApp, WebhookCredentials
from desktop.store.service import Store
from tests.receiver_fixture import PUBLIC_URL, RunningReceiver
from tests.twilio_helpers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    form_body,
    inbound_params,
    new_sid,
    sign,
    status_params,
)

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def default_receiver(store: Store) -> Iterator[RunningReceiver]:
    credentials = WebhookCredentials(ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL)
    app = WebhookApp(StoreIngest(store), lambda: credentials)
    receiver = ReceiverThread(app, 0)  # as desktop/network.py builds it
    receiver.start()
    yield RunningReceiver(store, receiver, app)
    receiver.stop()


def timed_valid_webhook(
    target: RunningReceiver, forwarded_for: str | None = None
) -> tuple[int, float]:
    params = inbound_params()
    headers = {"Content-Type": FORM, "X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms", params)}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    began = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=3)
    try:
        conn.request("POST", "/twilio/sms", form_body(params), headers)
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - began
    except OSError:
        return 0, time.monotonic() - began
    finally:
        conn.close()


def raw(port: int, data: bytes, timeout: float = 5) -> bytes:
    """Send ``data`` as is; return everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(4096):
            out += chunk
        return out


def status_code(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


class Trickle:
    """Hostile clients that each send one byte every ``interval`` seconds, from one thread."""

    SLOW_HEADER = b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nX-Slow: "
    SLOW_BODY = (
        b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode() + b"\r\n"
        b"X-Twilio-Signature: AAAA\r\nContent-Length: 60000\r\n"
    )

    def __init__(self, port: int, interval: float) -> None:
        self.port = port
        self.interval = interval
        self.sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def open(self, count: int, prefix: bytes, headers: bytes = b"") -> list[socket.socket]:
        opened = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(prefix + headers + (b"\r\n" if prefix.endswith(b"\r\n") else b""))
            opened.append(sock)
        self.sockets += opened
        return opened

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for sock in self.sockets:
                with suppress(OSError):
                    sock.send(b"a")

    def __enter__(self) -> Trickle:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()


def closed_by_server(sockets: list[socket.socket], want: int, within: float) -> int:
    """How many of ``sockets`` the server closed, waiting until ``want`` or ``within`` s."""
    closed: set[socket.socket] = set()
    deadline = time.monotonic() + within
    while len(closed) < want and (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([s for s in sockets if s not in closed], [], [], left)
        for sock in ready:
            try:
                if not sock.recv(4096):
                    closed.add(sock)
            except OSError:
                closed.add(sock)
    return len(closed)


# -- slow and idle clients -----------------------------------------------------------------


def test_valid_webhooks_answered_fast_beside_100_slow_header_and_body_clients(
    default_receiver: RunningReceiver,
) -> None:
    with Trickle(default_receiver.port, interval=0.5) as trickle:
        trickle.open(50, Trickle.SLOW_HEADER)
        trickle.open(50, Trickle.SLOW_BODY)
        results = []
        for _ in range(10):  # spread over three trickle rounds
            results.append(timed_valid_webhook(default_receiver))
            time.sleep(0.15)
    assert [status for status, _ in results] == [200] * 10
    assert max(took for _, took in results) < 1.0, results
    assert default_receiver.count() == 10


def test_valid_webhooks_answered_fast_beside_1000_idle_connections(
    default_receiver: RunningReceiver,
) -> None:
    with ExitStack() as stack:
        for _ in range(1000):
            stack.enter_context(socket.create_connection(("127.0.0.1", default_receiver.port)))
        results = [timed_valid_webhook(default_receiver) for _ in range(10)]
    assert [status for status, _ in results] == [200] * 10
    assert max(took for _, took in results) < 1.0, results


def test_a_request_trickled_byte_by_byte_is_cut_off_at_the_whole_request_deadline(
    store: Store,
) -> None:
    credentials = WebhookCredentials(ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL)
    app = WebhookApp(StoreIngest(store), lambda: credentials)
    receiver = ReceiverThread(app, 0, socket_timeout=30.0, request_timeout=1.0)
    receiver.start()
    try:
        with Trickle(receiver.port, interval=0.1) as trickle:
            slow = trickle.open(2, Trickle.SLOW_HEADER) + trickle.open(2, Trickle.SLOW_BODY)
            started = time.monotonic()
            assert closed_by_server(slow, want=4, within=5.0) == 4
            assert time.monotonic() - started < 3.0
    finally:
        receiver.stop()


def test_one_client_behind_the_tunnel_cannot_hold_more_than_its_share(
    default_receiver: RunningReceiver,
) -> None:
    # Behind ngrok every TCP peer is 127.0.0.1; the client is the last X-Forwarded-For entry.
    with Trickle(default_receiver.port, interval=0.5) as trickle:
        attacker = b"X-Forwarded-For: 10.9.9.9, 203.0.113.9\r\n"
        slow = trickle.open(40, Trickle.SLOW_BODY, attacker)
        assert closed_by_server(slow, want=24, within=3.0) == 24
        status, took = timed_valid_webhook(default_receiver, forwarded_for="54.172.60.1")
    assert status == 200
    assert took < 1.0


# -- bodies ---------------------------------------------------------------------------------


def test_endless_chunked_bodies_get_413_and_memory_stays_bounded(
    running_receiver: RunningReceiver,
) -> None:
    process = psutil.Process()
    before = process.memory_info().rss
    peak = before
    answers: list[bytes] = []
    chunk = b"%x\r\n%s\r\n" % (65536, b"Body=" + b"x" * 65531)

    def stream() -> None:
        with socket.create_connection(("127.0.0.1", running_receiver.port), timeout=5) as sock:
            sock.sendall(
                b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: " + FORM.encode() + b"\r\nX-Twilio-Signature: AAAA\r\n\r\n"
            )
            try:
                for _ in range(2000):  # 128 MiB if nobody stops us
                    sock.sendall(chunk)
            except OSError:
                pass
            try:
                answers.append(sock.recv(64))
            except OSError:
                answers.append(b"(reset)")

    threads = [threading.Thread(target=stream) for _ in range(8)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, process.memory_info().rss)
        time.sleep(0.01)
    assert [status_code(answer) for answer in answers] == [413] * 8, answers
    assert peak - before < 40 * 2**20
    assert running_receiver.count() == 0
    assert running_receiver.post_signed("/twilio/sms", inbound_params()).status == 200


def test_chunked_body_over_the_cap_is_413_not_403(running_receiver: RunningReceiver) -> None:
    params = inbound_params(Body="x" * (70 * 1024))
    body = form_body(params)
    head = (
        b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: " + FORM.encode() + b"\r\n"
        b"X-Twilio-Signature: " + sign(PUBLIC_URL + "/twilio/sms", params).encode() + b"\r\n\r\n"
    )
    answer = raw(running_receiver.port, head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert status_code(answer) == 413
    assert running_receiver.count() == 0


# -- strict input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"NumMedia": "²"},
        {"NumSegments": "٣"},
        {"NumSegments": "¹"},
        {"NumSegments": "1\u00a0"},
        {"NumMedia": "\uff10"},  # a full-width zero
    ],
)
def test_non_ascii_or_signed_numbers_in_an_inbound_webhook_are_400(
    running_receiver: RunningReceiver, extra: dict[str, str]
) -> None:
    reply = running_receiver.post_signed("/twilio/sms", inbound_params(**extra))
    assert reply.status == 400
    assert running_receiver.count() == 0


def test_non_ascii_error_code_in_a_status_callback_is_400(
    running_receiver: RunningReceiver,
) -> None:
    reply = running_receiver.post_signed("/twilio/status", status_params(new_sid(), "failed", "³"))
    assert reply.status == 400


def _signed_head(params: dict[str, str], *extra_headers: bytes) -> tuple[bytes, bytes]:
    body = form_body(params)
    head = (
        b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode() + b"\r\n"
        b"X-Twilio-Signature: " + sign(PUBLIC_URL + "/twilio/sms", params).encode() + b"\r\n"
    )
    return head + b"".join(extra_headers), body


@pytest.mark.parametrize("second", [0, -5])
def test_two_content_length_headers_are_400(running_receiver: RunningReceiver, second: int) -> None:
    head, body = _signed_head(inbound_params())
    lengths = b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(body), len(body) + second)
    answer = raw(running_receiver.port, head + lengths + b"\r\n" + body)
    assert status_code(answer) == 400
    assert running_receiver.count() == 0


def test_content_length_with_transfer_encoding_is_400(running_receiver: RunningReceiver) -> None:
    head, body = _signed_head(inbound_params())
    framing = b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % len(body)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    answer = raw(running_receiver.port, head + framing + chunked)
    assert status_code(answer) == 400
    assert running_receiver.count() == 0


@pytest.mark.parametrize(
    "junk",
    [
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        b"POST\r\n\r\n",
        b"\x00\xff\xfe garbage \x01\r\n\r\n",
    ],
)
def test_unparseable_request_lines_are_4xx_without_a_traceback(
    running_receiver: RunningReceiver,
    junk: bytes,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = raw(running_receiver.port, junk)
    assert 400 <= status_code(answer) < 500, answer
    assert running_receiver.post_signed("/twilio/sms", inbound_params()).status == 200
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert "Traceback" not in capfd.readouterr().err


# -- status callbacks -------------------------------------------------------------------------


def _row(target: RunningReceiver, sid: str) -> tuple[str, int | None]:
    row = (
        target.store.reader()
        .execute("SELECT status, error_code FROM messages WHERE sid = ?", (sid,))
        .fetchone()
    )
    return row[0], row[1]


def test_a_signed_status_callback_cannot_rewrite_an_inbound_text(
    running_receiver: RunningReceiver,
) -> None:
    sid = new_sid()
    assert running_receiver.post_signed("/twilio/sms", inbound_params(sid)).status == 200
    for status in ("failed", "undelivered", "read"):
        reply = running_receiver.post_signed("/twilio/status", status_params(sid, status, "30006"))
        assert reply.status == 200  # acknowledged, so Twilio does not keep trying
    assert _row(running_receiver, sid) == ("received", None)


def test_a_status_parked_before_an_inbound_text_arrives_is_not_applied_to_it(
    running_receiver: RunningReceiver,
) -> None:
    sid = new_sid()
    assert (
        running_receiver.post_signed("/twilio/status", status_params(sid, "failed", "30006")).status
        == 200
    )
    assert running_receiver.post_signed("/twilio/sms", inbound_params(sid)).status == 200
    assert _row(running_receiver, sid) == ("received", None)
