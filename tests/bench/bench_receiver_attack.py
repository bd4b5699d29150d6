"""Benchmark: valid webhooks while hostile clients attack the real receiver process.

Prints measured numbers; it is not a test (nothing here asserts a time).

    python -m tests.bench.bench_receiver_attack [--seconds 15] [--slow 100] [--interval 3]
        [--chunk-seconds 6] [--streams 8,24]

1. Slow clients: ``--slow`` connections (half send a header line byte by byte, half send a
   complete header block and then one body byte) at one byte every ``--interval`` seconds,
   for ``--seconds``; meanwhile one signed inbound webhook every 0.1 s on a fresh
   connection.  Prints the worst and p99 time to a 200 and how many were not a 200.
2. Endless chunked bodies: for each count in ``--streams``, that many connections send
   ``Transfer-Encoding: chunked`` bodies as fast as they can (reconnecting when cut off)
   for ``--chunk-seconds``; prints the receiver process's peak RSS and the answers seen.

The receiver runs in its own process (``tests.fakes.receiver_process``), exactly as the app
builds it.  Only APIs older than this file are used, so it can be run against an older
checkout for a before/after comparison.
"""

from __future__ import annotations

import argparse
import http.client
import signal
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import psutil

from tests.fakes.receiver_process import spawn
from tests.receiver_fixture import PUBLIC_URL
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, form_body, inbound_params, sign


def post_valid(port: int, tag: str) -> tuple[int, float]:
    params = inbound_params(body=f"{tag}: is Thursday at 3 still free?")
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms", params),
    }
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/twilio/sms", form_body(params), headers)
        response = conn.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0
    finally:
        conn.close()
    return status, time.perf_counter() - began


def _slow_client(port: int, body: bool, interval: float, stop: threading.Event) -> None:
    """One attacker: a byte every ``interval`` s; reconnects when the server cuts it off."""
    while not stop.is_set():
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            stop.wait(interval)
            continue
        try:
            if body:
                sock.sendall(
                    b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n"
                    b"X-Twilio-Signature: AAAA\r\nContent-Length: 60000\r\n\r\n"
                )
                trickle = b"a" * 60000
            else:
                sock.sendall(b"POST /twilio/sms HTTP/1.1\r\n")
                trickle = b"X-Slow: " + b"z" * 60000
            for byte in trickle:
                if stop.wait(interval):
                    break
                sock.sendall(bytes([byte]))
        except OSError:
            pass
        finally:
            sock.close()


def slow_attack(port: int, clients: int, interval: float, seconds: float) -> None:
    stop = threading.Event()
    attackers = [
        threading.Thread(target=_slow_client, args=(port, i % 2 == 1, interval, stop), daemon=True)
        for i in range(clients)
    ]
    for thread in attackers:
        thread.start()
    time.sleep(min(2 * interval, 5.0))  # let every attacker get its foot in the door
    times: list[float] = []
    statuses: Counter[int] = Counter()
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        status, took = post_valid(port, f"attack {i}")
        statuses[status] += 1
        times.append(took)
        i += 1
        time.sleep(0.1)
    stop.set()
    times.sort()
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    bad = sum(n for s, n in statuses.items() if s != 200)
    print(
        f"{clients} slow clients (a byte every {interval:g} s) for {seconds:g} s: "
        f"{len(times)} valid webhooks, worst {times[-1] * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, not 200: {bad} {dict(statuses)}"
    )
    for thread in attackers:
        thread.join(timeout=10)


def _chunk_stream(port: int, stop: threading.Event, answers: Counter[str]) -> None:
    chunk = b"%x\r\n%s\r\n" % (65536, b"b" * 65536)
    while not stop.is_set():
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            stop.wait(0.05)
            continue
        try:
            sock.sendall(
                b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"X-Twilio-Signature: AAAA\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            while not stop.is_set():
                sock.sendall(chunk)
        except OSError:
            pass
        try:
            sock.settimeout(1)
            head = sock.recv(64)
            answers[head.split(b"\r\n", 1)[0].decode("latin-1") or "(closed)"] += 1
        except OSError:
            answers["(reset)"] += 1
        finally:
            sock.close()


def chunked_attack(port: int, pid: int, streams: int, seconds: float) -> None:
    proc = psutil.Process(pid)
    before = proc.memory_info().rss
    stop = threading.Event()
    answers: Counter[str] = Counter()
    threads = [
        threading.Thread(target=_chunk_stream, args=(port, stop, answers), daemon=True)
        for _ in range(streams)
    ]
    for thread in threads:
        thread.start()
    peak = before
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        peak = max(peak, proc.memory_info().rss)
        time.sleep(0.02)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    status, took = post_valid(port, "after chunked")
    print(
        f"{streams} endless chunked streams for {seconds:g} s: RSS {before / 2**20:.0f} MB -> "
        f"peak {peak / 2**20:.0f} MB; answers {dict(answers.most_common(4))}; "
        f"a valid webhook after: {status} in {took * 1000:.0f} ms"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--slow", type=int, default=100)
    parser.add_argument("--interval", type=float, default=3.0)
    parser.add_argument("--chunk-seconds", type=float, default=6.0)
    parser.add_argument("--streams", default="8,24")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        proc, port = spawn(data_dir, PUBLIC_URL, ACCOUNT_SID, AUTH_TOKEN)
        try:
            status, took = post_valid(port, "warm-up")
            print(f"quiet: a valid webhook answered {status} in {took * 1000:.0f} ms")
            if args.slow:
                slow_attack(port, args.slow, args.interval, args.seconds)
            for streams in (int(s) for s in args.streams.split(",") if s):
                chunked_attack(port, proc.pid, streams, args.chunk_seconds)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait()


if __name__ == "__main__":
    main()
