"""Benchmark: signed webhooks committed and acknowledged by the real receiver.

Prints measured numbers; it is not a test (nothing here asserts a time).

    python -m tests.bench.bench_webhooks [--count 3000] [--rate 100] [--seconds 20]

1. Throughput: ``--count`` distinct signed inbound webhooks sent as fast as 16 concurrent
   clients (in two processes) manage; every 200 is checked against the database afterwards.
2. Latency at a steady ``--rate`` per second (open loop: each request leaves on schedule
   whether or not earlier ones have answered): p50/p95/p99/max time to the acknowledgement.

The receiver runs in its own process exactly as the app runs it (store writer with group
commit, ``synchronous=FULL``), on the same 2 cores as the load generator.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import signal
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.fakes.receiver_process import spawn
from tests.receiver_fixture import PUBLIC_URL
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, form_body, inbound_params, sign

Request = tuple[bytes, dict[str, str]]


def signed_requests(count: int, tag: str) -> list[Request]:
    out = []
    for i in range(count):
        params = inbound_params(
            body=f"{tag} message {i}: is Thursday at 3 still free?",
            FromCity="PORTLAND",
            FromState="OR",
            FromCountry="US",
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms", params),
        }
        out.append((form_body(params), headers))
    return out


def post(port: int, request: Request) -> int:
    body, headers = request
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/twilio/sms", body, headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _blast(args: tuple[int, list[Request], int]) -> list[int]:
    port, requests, threads = args
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda r: post(port, r), requests))


def throughput(port: int, count: int) -> None:
    requests = signed_requests(count, "burst")
    halves = [requests[: count // 2], requests[count // 2 :]]
    started = time.perf_counter()
    with multiprocessing.Pool(2) as pool:
        results = pool.map(_blast, [(port, half, 8) for half in halves])
    elapsed = time.perf_counter() - started
    statuses = [s for part in results for s in part]
    ok = statuses.count(200)
    print(
        f"throughput: {ok}/{count} acknowledged in {elapsed:.2f} s "
        f"= {ok / elapsed:.0f} webhooks/s (16 concurrent clients)"
    )


def steady(port: int, rate: float, seconds: float) -> None:
    count = int(rate * seconds)
    requests = signed_requests(count, "steady")
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def one(request: Request) -> None:
        nonlocal failures
        began = time.perf_counter()
        status = post(port, request)
        took = time.perf_counter() - began
        with lock:
            if status == 200:
                latencies.append(took)
            else:
                failures += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(64) as pool:
        for i, request in enumerate(requests):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, request)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(
        f"steady {rate:.0f}/s for {seconds:.0f} s: {len(latencies)} ok, {failures} failed; "
        f"ack latency p50 {pct(0.50):.1f} ms, p95 {pct(0.95):.1f} ms, "
        f"p99 {pct(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms, "
        f"mean {statistics.fmean(latencies) * 1000:.1f} ms"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        proc, port = spawn(data_dir, PUBLIC_URL, ACCOUNT_SID, AUTH_TOKEN)
        try:
            print(f"cores: {os.cpu_count()}, SQLite {sqlite3.sqlite_version}, synchronous=FULL")
            throughput(port, args.count)
            steady(port, args.rate, args.seconds)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        conn = sqlite3.connect(data_dir / "twoway.sqlite3")
        stored = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        conn.close()
        print(f"stored messages: {stored} (expected {args.count + int(args.rate * args.seconds)})")


if __name__ == "__main__":
    main()
