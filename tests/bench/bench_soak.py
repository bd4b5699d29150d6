"""Soak benchmark: the whole app through a simulated week, in accelerated time.

Prints measured numbers; it is not a test (nothing here asserts).

    python -m tests.bench.bench_soak [--scale 1.0]

The app is the real one — ``Core`` with its networking and the main window on Qt's
offscreen platform — in this process; Twilio is the simulator in a child process (so its
sockets and threads are not counted as the app's), ngrok the fake agent driven by the real
pyngrok.  Two weeks' worth of use, one after the other (``--scale`` shrinks
both for a quick look):

1. **Polling week** (``--no-tunnel``): 10,000 poll cycles at an accelerated interval, with
   customers texting in between polls and 2,000 replies sent through the outbox.
2. **Webhook week** (ngrok): 50,000 signed webhooks through the fake ngrok edge (5 % with
   a picture fetched from the simulator's media host), and 20 tunnel drops (the agent is
   killed; the app reconnects, re-points the number and backfills the gap).

At every 10 % of each week it prints open descriptors, threads, resident memory and the
database size, then what grew after warm-up (the first 10 %), and any error in the log.
Goals (issue 11): descriptors and threads flat (±5) after warm-up, RSS growth ≤ 20 MB,
no error in the log.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import http.client
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

from tests.fakes.simulator_process import SimulatorManager

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

OUR = "+15035550100"
CUSTOMERS = [f"+1503555{n:04d}" for n in range(200, 260)]
NGROK_TOKEN = "2fakeNgrokToken_abcdefghijklmnop"
#: A tiny valid JPEG (the media fetcher sniffs and thumbnails what it downloads).
_JPEG_SIZE = (64, 48)


@dataclass
class Sample:
    label: str
    fds: int
    threads: int
    rss_mb: float
    db_mb: float
    sqlite_mb: float
    py_blocks_k: float
    #: Resident memory that is the process's own (heap, stacks) vs. mapped files (libraries,
    #: the database's shared-memory index): only the first can be a leak.
    anon_mb: float = 0.0
    file_mb: float = 0.0


def _resident_split() -> tuple[float, float]:
    """RssAnon and RssFile + RssShmem from /proc (Linux), in MB; zeros elsewhere."""
    found: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("RssAnon", "RssFile", "RssShmem"):
                    found[key] = int(value.split()[0]) / 1024
    except OSError:
        return 0.0, 0.0
    return found.get("RssAnon", 0.0), found.get("RssFile", 0.0) + found.get("RssShmem", 0.0)


def _sqlite_heap() -> Callable[[], int]:
    """SQLite's own count of the heap it holds in this process (page caches, statements)."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    except OSError:  # statically linked: nothing to read
        return lambda: 0
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return lambda: int(lib.sqlite3_memory_used())


_SQLITE_HEAP = _sqlite_heap()


def _sample(label: str, data_dir: Path) -> Sample:
    me = psutil.Process()
    db = sum(
        (data_dir / name).stat().st_size
        for name in ("twoway.sqlite3", "twoway.sqlite3-wal")
        if (data_dir / name).exists()
    )
    return Sample(
        label,
        me.num_fds(),
        me.num_threads(),
        me.memory_info().rss / 2**20,
        db / 2**20,
        _SQLITE_HEAP() / 2**20,
        sys.getallocatedblocks() / 1000,
        *_resident_split(),
    )


def _report(week: str, samples: list[Sample], log: Path) -> None:
    print(f"\n{week}")
    print(
        f"{'progress':>10} {'fds':>6} {'threads':>8} {'RSS MB':>8} {'DB MB':>8}"
        f" {'SQLite MB':>10} {'Py blocks k':>12} {'anon MB':>8} {'files MB':>9}"
    )
    for s in samples:
        print(
            f"{s.label:>10} {s.fds:>6} {s.threads:>8} {s.rss_mb:>8.1f} {s.db_mb:>8.1f}"
            f" {s.sqlite_mb:>10.1f} {s.py_blocks_k:>12.0f} {s.anon_mb:>8.1f} {s.file_mb:>9.1f}"
        )
    warm, last = samples[1], samples[-1]
    fd_range = max(s.fds for s in samples[1:]) - min(s.fds for s in samples[1:])
    thread_range = max(s.threads for s in samples[1:]) - min(s.threads for s in samples[1:])
    print(
        f"after warm-up: descriptors {warm.fds}→{last.fds} (range {fd_range}), threads "
        f"{warm.threads}→{last.threads} (range {thread_range}), RSS {warm.rss_mb:.1f}→"
        f"{last.rss_mb:.1f} MB ({last.rss_mb - warm.rss_mb:+.1f} MB), of which SQLite's heap "
        f"{last.sqlite_mb - warm.sqlite_mb:+.1f} MB, Python objects "
        f"{last.py_blocks_k - warm.py_blocks_k:+.0f}k blocks; anonymous "
        f"{last.anon_mb - warm.anon_mb:+.1f} MB, mapped files {last.file_mb - warm.file_mb:+.1f} MB"
    )
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    errors = [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]
    print(f"errors in the log: {len(errors)}")
    for line in errors[:5]:
        print("   ", line[:200])


def _pump(app: object, seconds: float) -> None:
    from PySide6.QtWidgets import QApplication

    assert isinstance(app, QApplication)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.002)


def _wait(app: object, predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"soak: timed out waiting for {what}")
        _pump(app, 0.02)


def _jpeg() -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage

    image = QImage(*_JPEG_SIZE, QImage.Format.Format_RGB32)
    image.fill(QColor("#3b82d6"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "JPEG")  # type: ignore[call-overload]  # the stubs want bytes, Qt a str
    return bytes(data.data())


def _open_app(data_dir: Path, environ: dict[str, str], **options: object) -> tuple[object, object]:
    from desktop.core import Core, CoreOptions
    from desktop.ui.main_window import MainWindow

    core = Core(CoreOptions(data_dir=data_dir, environ=environ, **options))  # type: ignore[arg-type]
    core.open()
    window = MainWindow(core)
    window.resize(1100, 720)
    window.show()
    core.start().result(60)
    return core, window


def _simulator() -> tuple[SimulatorManager, Any, dict[str, str]]:
    manager = SimulatorManager()
    manager.start()
    sim = manager.Simulator("Soak Dental")  # type: ignore[attr-defined]
    sim.add_number(OUR)
    return manager, sim, sim.info()


def _environ(info: dict[str, str]) -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": info["account_sid"],
        "TWILIO_AUTH_TOKEN": info["auth_token"],
        "TWOWAY_TWILIO_API_URL": info["base_url"],
        "TWOWAY_PHONE_NUMBER": OUR,
    }


def polling_week(app: object, root: Path, polls: int, sends: int) -> None:
    from desktop.logs import setup_logging

    data_dir = root / "polling"
    setup_logging(data_dir / "logs" / "twoway.log", verbose=False)
    manager, sim, info = _simulator()
    with manager:
        environ = _environ(info)
        core, window = _open_app(data_dir, environ, no_tunnel=True, poll_interval_s=0.01)
        from desktop.core import Core

        assert isinstance(core, Core)
        _wait(
            app, lambda: core.network.sync is not None and core.network.sync.polls > 0, 60, "polls"
        )
        sync = core.network.sync
        assert sync is not None
        samples = [_sample("start", data_dir)]
        sent = texted = 0
        step = max(1, polls // 10)
        began = time.perf_counter()
        next_mark = step
        while sync.polls < polls:
            due_sends = sync.polls * sends // polls
            while sent < due_sends:
                customer = CUSTOMERS[sent % len(CUSTOMERS)]
                core.messaging.send(OUR, customer, f"Reply {sent}: see you Thursday at 3")
                sent += 1
            if sync.polls // 3 > texted:
                sim.add_history_message(
                    CUSTOMERS[texted % len(CUSTOMERS)],
                    OUR,
                    f"Text {texted} between polls",
                    datetime.now(UTC),
                )
                texted += 1
            _pump(app, 0.005)
            if sync.polls >= next_mark:
                samples.append(_sample(f"{100 * next_mark // polls}%", data_dir))
                next_mark += step
        seconds = time.perf_counter() - began
        _pump(app, 1.0)
        stored = core.store.reader().execute("SELECT count(*) FROM messages").fetchone()[0]
        print(
            f"\npolling week: {sync.polls} polls, {texted} texts in, {sent} sent, {stored} rows,"
            f" in {seconds:.0f} s ({sync.polls / seconds:.0f} polls/s)"
        )
        window.close()  # type: ignore[attr-defined]
        core.stop()
        sim.stop()
    _report("polling week", samples, data_dir / "logs" / "twoway.log")


def _post(forwarder: str, public_url: str, params: dict[str, str], token: str) -> int | None:
    from tests.twilio_helpers import form_body, sign

    target = urlsplit(forwarder)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(public_url + "/twilio/sms", params, token),
    }
    try:
        conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=15)
        try:
            conn.request("POST", "/twilio/sms", form_body(params), headers)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()
    except OSError:
        return None


def webhook_week(app: object, root: Path, webhooks: int, drops: int) -> None:
    from desktop.core import Core
    from desktop.domain.connection import Link
    from desktop.logs import setup_logging
    from tests.fakes.fake_ngrok import FakeNgrok
    from tests.twilio_helpers import new_sid

    data_dir = root / "webhooks"
    setup_logging(data_dir / "logs" / "twoway.log", verbose=False)
    fake = FakeNgrok(root / "ngrok-bin")
    fake.configure(expected_authtoken=NGROK_TOKEN)
    picture = _jpeg()
    manager, sim, info = _simulator()
    token = info["auth_token"]
    with manager:
        environ = dict(_environ(info), NGROK_AUTHTOKEN=NGROK_TOKEN)
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "settings.json").write_text(
            f'{{"configured": true, "tunnel_mode": "ngrok", "ngrok_path": "{fake.launcher}"}}'
        )
        core, window = _open_app(data_dir, environ)
        assert isinstance(core, Core)

        def online_url() -> str | None:
            snap = core.connection.snapshot
            return snap.public_url if snap.link is Link.ONLINE and snap.public_url else None

        _wait(app, online_url, 60, "the tunnel")
        samples = [_sample("start", data_dir)]
        batch = max(1, webhooks // max(1, drops))
        acked = refused = dropped = 0
        pictures = 0
        began = time.perf_counter()
        step = max(1, webhooks // 10)
        next_mark = step
        sent = 0
        lock = threading.Lock()
        while sent < webhooks:
            url = online_url()
            if url is None:
                _wait(app, online_url, 60, "the tunnel back")
                url = online_url()
            assert url is not None
            forwarder = fake.forwarder_for(url)
            count = min(batch, webhooks - sent)
            jobs: list[dict[str, str]] = []
            for n in range(sent, sent + count):
                customer = CUSTOMERS[n % len(CUSTOMERS)]
                if n % 20 == 0:  # 5 % pictures, known to the simulator's media host
                    stored = sim.add_history_message(
                        customer, OUR, f"Photo {n}", datetime.now(UTC), [("image/jpeg", picture)]
                    )
                    params = {
                        "MessageSid": stored["sid"],
                        "AccountSid": info["account_sid"],
                        "From": customer,
                        "To": OUR,
                        "Body": f"Photo {n}",
                        "NumMedia": "1",
                        "MediaUrl0": stored["media_urls"][0],
                        "MediaContentType0": "image/jpeg",
                    }
                    pictures += 1
                else:
                    params = {
                        "MessageSid": new_sid(),
                        "AccountSid": info["account_sid"],
                        "From": customer,
                        "To": OUR,
                        "Body": f"Text {n}: is Thursday at 3 still free?",
                        "NumMedia": "0",
                    }
                jobs.append(params)

            def send(chunk: list[dict[str, str]], url: str, forwarder: str) -> None:
                nonlocal acked, refused
                for params in chunk:
                    status = _post(forwarder, url, params, token)
                    with lock:
                        if status == 200:
                            acked += 1
                        else:
                            refused += 1

            senders = [
                threading.Thread(target=send, args=(jobs[i::8], url, forwarder)) for i in range(8)
            ]
            for thread in senders:
                thread.start()
            while any(t.is_alive() for t in senders):
                _pump(app, 0.01)
            sent += count
            while sent >= next_mark and next_mark <= webhooks:
                samples.append(_sample(f"{100 * next_mark // webhooks}%", data_dir))
                next_mark += step
            if dropped < drops and sent < webhooks:
                pid = core.network.tunnel.agent_pid if core.network.tunnel else None
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
                    dropped += 1
                    old = url
                    _wait(app, lambda: online_url() != old, 60, "a new address")  # noqa: B023
        seconds = time.perf_counter() - began
        _wait(
            app,
            lambda: (
                core.store.reader()
                .execute("SELECT count(*) FROM media WHERE state = 'pending'")
                .fetchone()[0]
                == 0
            ),
            120,
            "the pictures",
        )
        stored = core.store.reader().execute("SELECT count(*) FROM messages").fetchone()[0]
        print(
            f"\nwebhook week: {acked} acknowledged, {refused} refused, {pictures} pictures, "
            f"{dropped} tunnel drops, {stored} rows, in {seconds:.0f} s ({acked / seconds:.0f}/s)"
        )
        window.close()  # type: ignore[attr-defined]
        core.stop()
        sim.stop()
    _report("webhook week", samples, data_dir / "logs" / "twoway.log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the week (0.1 = a tenth)")
    parser.add_argument("--only", choices=("polling", "webhooks"))
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="twoway-soak-") as tmp:
        root = Path(tmp)
        if args.only in (None, "polling"):
            polling_week(app, root, polls=int(10_000 * args.scale), sends=int(2_000 * args.scale))
        if args.only in (None, "webhooks"):
            webhook_week(
                app, root, webhooks=int(50_000 * args.scale), drops=max(2, int(20 * args.scale))
            )


if __name__ == "__main__":
    main()
