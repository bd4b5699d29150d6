"""Benchmark: signed webhooks committed and acknowledged by the real receiver.

Prints measured numbers; it is not a test (nothing here asserts a time).

    python -m tests.bench.bench_webhooks [--count 3000] [--rate 100] [--seconds 20]

1. Throughput: ``--count`` distinct signed inbound webhooks sent as fast as 16 concurrent
   clients (in two processes) manage; every 200 is checked against the database afterwards.
2. Latency at a steady ``--rate`` per second (open loop: each request leaves on schedule
   whether or not earlier ones have answered): p50/p95/p99/max time to the acknowledgement.

The receiver runs in its own process exactly as the app runs it (store writer with group
commit, ``synchronous=FULL``), on the same 2 cores as the load generator
(:mod:`tests.bench.webhook_load`, also in child processes).
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.bench import webhook_load as load
from tests.bench.webhook_load import Request, Signer
from tests.fakes.receiver_process import spawn
from tests.receiver_fixture import PUBLIC_URL
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN


def signed_requests(count: int, tag: str) -> list[Request]:
    signer = Signer(PUBLIC_URL)
    return [
        load.inbound(signer, f"{tag} message {i}: is Thursday at 3 still free?")
        for i in range(count)
    ]


def throughput(port: int, count: int) -> None:
    result = load.burst(port, signed_requests(count, "burst"))
    print(
        f"throughput: {result.acknowledged}/{count} acknowledged in {result.elapsed:.2f} s "
        f"= {result.rate:.0f} webhooks/s (16 concurrent clients)"
    )


def steady(port: int, rate: float, seconds: float) -> None:
    result = load.steady(port, signed_requests(int(rate * seconds), "steady"), rate)
    latencies = result.latencies()
    failures = len(result.statuses) - result.acknowledged

    def pct(p: float) -> float:
        return load.percentile(latencies, p) * 1000

    print(
        f"steady {rate:.0f}/s for {seconds:.0f} s: {len(latencies)} ok, {failures} failed; "
        f"ack latency p50 {pct(0.50):.1f} ms, p95 {pct(0.95):.1f} ms, "
        f"p99 {pct(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms, "
        f"mean {statistics.fmean(latencies) * 1000:.1f} ms"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
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
