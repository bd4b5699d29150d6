"""Benchmark: signed webhooks into the whole app, window included, against a do-nothing server.

Prints measured numbers; it is not a test (nothing here asserts a time).

    python -m tests.bench.bench_app_ingest [--count 3000] [--rate 100] [--seconds 20] [--runs 2]

The app is the real one, in this process: ``Core`` with its networking (receiver, sync,
media fetcher; Twilio is the simulator in a child process, reached with
``TWOWAY_TWILIO_API_URL``; ``--public-url`` instead of ngrok) and the main window with its
tray controller on Qt's offscreen platform, the Qt event loop running while the load
arrives.  The load generator (:mod:`tests.bench.webhook_load`) runs in child processes, so
it does not share the app's GIL; the webhooks are signed for the app's public URL and
POSTed to its receiver port on 127.0.0.1.  Each run opens a fresh data folder and measures:

1. **burst** into the app: ``--count`` signed texts from 400 customers as fast as 16
   concurrent senders (2 processes × 8 threads) manage; every 200 is then looked up in
   the database by its MessageSid;
2. the same burst into a **do-nothing** WSGI app (read the body, answer an empty TwiML
   ``<Response />``) on the receiver's own HTTP server (waitress, same settings) in a child
   process: the ratio app / do-nothing says what the app costs over the HTTP round trip;
   and into the **headless receiver** (store + webhook app, no GUI, no sync; the process
   ``bench_webhooks`` measures) for a third point between them;
3. **steady** ``--rate`` per second for ``--seconds`` through the app (open loop):
   p50/p95/p99/max acknowledgement latency;
4. **POST → conversation list**: for a sample of the steady webhooks, each from its own
   customer (half of them new, half known from the burst and silent since), the time from
   the sender starting the POST to the window's conversation list model
   (``window.list_model``, the sidebar's :class:`ConversationListModel`) holding that text
   as the row's snippet — seen in the model's own signals on the GUI thread.  Both ends
   read ``time.monotonic()`` (``CLOCK_MONOTONIC`` on Linux: one clock for all processes).

Each phase also prints the app process's CPU time by thread (psutil), exact and free of
profiler overhead.  For a profile by function, run it under py-spy, e.g.
``py-spy record --threads --format raw -o prof.txt -- python -m tests.bench.bench_app_ingest
--runs 1 --skip-headless`` (``--gil`` for the GIL holder only); py-spy counts threads waiting
in ``Condition.wait``, ``queue.get`` and waitress's ``poll`` as busy here, so leave those out
when reading it.  ``--show-threads`` prints the app's thread names and idents.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.bench import webhook_load as load
from tests.bench.webhook_load import Request, Signer
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

T = TypeVar("T")
OUR = "+15035550100"
PUBLIC_URL = "https://bench-ingest.example.net"
#: Customers texting during the burst (conversations the list holds before the steady run).
BURST_CUSTOMERS = 400
#: At most this many steady webhooks are followed into the conversation list.
MAX_SAMPLES = 200
#: After the steady run, how long the list may take to show the last sampled texts.
SETTLE_S = 10.0


def customer(n: int) -> str:
    return f"+1971555{n:04d}"


# -- the Qt side ----------------------------------------------------------------------------------


def in_event_loop(work: Callable[[], T]) -> T:
    """Run ``work`` on a plain thread while the Qt event loop runs here; return its result."""
    from PySide6.QtCore import QEventLoop, QObject, Signal

    class Done(QObject):
        finished = Signal()

    loop = QEventLoop()
    done = Done()
    done.finished.connect(loop.quit)  # queued: emitted from the worker thread
    box: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            box.append(work())
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.finished.emit()

    thread = threading.Thread(target=run, name="bench-load", daemon=True)
    thread.start()
    loop.exec()
    thread.join()
    if errors:
        raise errors[0]
    return box[0]


class SnippetWatcher:
    """Notes when each awaited text becomes its customer's row snippet in the list model.

    Listens to the model's own signals (rows inserted, moved, changed, a new layout or a
    reset) and reads only the rows they name; ``expected`` maps a contact number to the
    snippet awaited for it.
    """

    def __init__(self, model: Any, expected: dict[str, str]) -> None:
        self._model = model
        self._pending = dict(expected)
        self.seen: dict[str, float] = {}
        self.on_all_seen: Callable[[], None] = lambda: None
        model.rowsInserted.connect(lambda _parent, first, last: self._check(first, last))
        model.rowsMoved.connect(
            lambda _p, start, end, _d, row: self._check(min(start, row), max(end, row))
        )
        model.dataChanged.connect(lambda top, bottom, *_roles: self._check(top.row(), bottom.row()))
        model.layoutChanged.connect(lambda *_args: self._check_all())
        model.modelReset.connect(self._check_all)

    @property
    def missing(self) -> int:
        return len(self._pending)

    def _check_all(self) -> None:
        self._check(0, self._model.rowCount() - 1)

    def _check(self, first: int, last: int) -> None:
        if not self._pending:
            return
        now = time.monotonic()
        last = min(last, self._model.rowCount() - 1)
        pending = self._pending
        for i in range(max(first, 0), last + 1):
            row = self._model.row_at(i)
            if pending.get(row.contact_number) == row.snippet:
                del pending[row.contact_number]
                self.seen[row.contact_number] = now
        if not pending:
            self.on_all_seen()


@dataclass
class OpenApp:
    core: Any
    window: Any
    data_dir: Path

    def close(self) -> None:
        # As the app quits: the window stops listening before the core stops, and goes,
        # so the next run's event loop does not deliver this run's last events to it.
        self.window.bridge.detach()
        self.window.close()
        self.core.stop()
        self.window.deleteLater()


def open_app(data_dir: Path, environ: dict[str, str]) -> OpenApp:
    """The app as ``desktop.ui.application`` builds it: core, window, tray (toasts offscreen)."""
    from desktop.core import Core, CoreOptions
    from desktop.domain.connection import Link
    from desktop.ui.main_window import MainWindow
    from desktop.ui.tray import TrayController

    core = Core(CoreOptions(data_dir=data_dir, environ=environ, public_url=PUBLIC_URL))
    core.open()
    window = MainWindow(core)
    window.resize(1100, 720)
    window.show()
    window.set_tray(TrayController(window, core, window.bridge))
    core.start().result(60)

    def settled() -> bool:
        snap = core.connection.snapshot
        return snap.link is Link.ONLINE and snap.public_url == PUBLIC_URL

    in_event_loop(lambda: _wait_for(settled, 60, "the app to go online"))
    in_event_loop(lambda: time.sleep(1.0))  # the start's backfill and webhook check
    return OpenApp(core, window, data_dir)


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}")
        time.sleep(0.05)


# -- the load ---------------------------------------------------------------------------------


def burst_requests(signer: Signer, count: int) -> list[Request]:
    return [
        load.inbound(
            signer,
            f"burst {i}: is Thursday at 3 still free?",
            customer(i % BURST_CUSTOMERS),
            OUR,
        )
        for i in range(count)
    ]


@dataclass
class SteadyPlan:
    requests: list[Request]
    #: Request index → (customer, expected snippet, "new" or "known").
    samples: dict[int, tuple[str, str, str]]


def steady_plan(signer: Signer, count: int, known: int) -> SteadyPlan:
    """``count`` texts; a sample of them (at random places, so that they fall at every
    phase of the window's 100 ms update timer) each come from their own customer,
    alternately a new one and one known from the burst (``known`` customers there) that
    texts only that once; the other texts come from the remaining known customers."""
    from desktop.store.writes import snippet_for

    wanted = min(MAX_SAMPLES, count // 10)
    reserved_known = min(wanted // 2, known // 2)
    regulars = list(range(reserved_known, max(known, reserved_known + 1)))
    chosen = set(random.Random(20).sample(range(count), wanted))
    requests: list[Request] = []
    samples: dict[int, tuple[str, str, str]] = {}
    new_n = known_n = 0
    for i in range(count):
        body = f"steady {i}: can we move my cleaning to Friday?"
        if i in chosen:
            if len(samples) % 2 == 1 and known_n < reserved_known:
                number, kind = customer(known_n), "known"
                known_n += 1
            else:
                number, kind = customer(5000 + new_n), "new"
                new_n += 1
            samples[i] = (number, snippet_for(body, ()), kind)
        else:
            number = customer(regulars[i % len(regulars)])
        requests.append(load.inbound(signer, body, number, OUR))
    return SteadyPlan(requests, samples)


def stored_sids(database: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT sid FROM messages WHERE sid IS NOT NULL")}
    finally:
        conn.close()


def check_stored(label: str, requests: Sequence[Request], statuses: Sequence[int], db: Path) -> str:
    acked = [load.sid_of(r) for r, s in zip(requests, statuses, strict=True) if s == 200]
    stored = stored_sids(db)
    missing = sum(1 for sid in acked if sid not in stored)
    return f"{label}: {len(acked)} acknowledged, {len(acked) - missing} of them in the database"


def burst_line(label: str, result: load.BurstResult) -> str:
    others = len(result.statuses) - result.acknowledged
    return (
        f"  {label}: {result.acknowledged}/{len(result.statuses)} acknowledged in "
        f"{result.elapsed:.2f} s = {result.rate:.0f} webhooks/s"
        + (f" ({others} not 200: {sorted(set(result.statuses) - {200})})" if others else "")
    )


# -- where the app's CPU went ----------------------------------------------------------------


def _group(name: str | None) -> str:
    if name is None:
        return "native (Qt's own threads)"
    if name == "MainThread":
        return "GUI thread"
    if name.startswith("bench-") or "(_handle_" in name:
        return "benchmark's own (load control)"
    return re.sub(r"[-_]\d+$", "", name)


@dataclass
class CpuSnapshot:
    at: float
    process: float
    threads: dict[str, float]

    @classmethod
    def take(cls) -> CpuSnapshot:
        import psutil

        me = psutil.Process()
        names = {t.native_id: t.name for t in threading.enumerate()}
        threads: dict[str, float] = {}
        for t in me.threads():
            group = _group(names.get(t.id))
            threads[group] = threads.get(group, 0.0) + t.user_time + t.system_time
        times = me.cpu_times()
        return cls(time.monotonic(), times.user + times.system, threads)

    def since(self, before: CpuSnapshot) -> str:
        """CPU seconds by thread group since ``before``, as a share of one core's time."""
        wall = self.at - before.at
        spent = {k: v - before.threads.get(k, 0.0) for k, v in self.threads.items()}
        top = sorted(((v, k) for k, v in spent.items() if v >= 0.01), reverse=True)
        parts = [f"{k} {v:.2f} s ({100 * v / wall:.0f} %)" for v, k in top[:7]]
        total = self.process - before.process
        return (
            f"app process CPU {total:.2f} s in {wall:.2f} s ({100 * total / wall:.0f} % of one "
            f"core): " + ", ".join(parts)
        )


# -- one run ----------------------------------------------------------------------------------


def one_run(root: Path, args: argparse.Namespace) -> None:
    from tests.fakes.receiver_process import spawn
    from tests.fakes.simulator_process import SimulatorManager
    from tests.receiver_fixture import PUBLIC_URL as HEADLESS_URL

    manager = SimulatorManager()
    manager.start()
    try:
        sim = manager.Simulator("Bench Dental")  # type: ignore[attr-defined]
        sim.add_number(OUR)
        info = sim.info()
        environ = {
            "TWILIO_ACCOUNT_SID": info["account_sid"],
            "TWILIO_AUTH_TOKEN": info["auth_token"],
            "TWOWAY_TWILIO_API_URL": info["base_url"],
            "TWOWAY_PHONE_NUMBER": OUR,
        }
        data_dir = root / "app"
        from desktop.logs import setup_logging

        setup_logging(data_dir / "logs" / "twoway.log", verbose=False)
        started = time.perf_counter()
        app = open_app(data_dir, environ)
        port = app.core.network.receiver.port
        print(f"  app open and online in {time.perf_counter() - started:.1f} s (port {port})")
        if args.show_threads:
            for thread in threading.enumerate():
                print(f"  thread {thread.name}: ident 0x{thread.ident or 0:x}")
        database = app.core.paths.database
        signer = Signer(PUBLIC_URL, info["account_sid"], info["auth_token"])
        try:
            requests = burst_requests(signer, args.count)
            before = CpuSnapshot.take()
            result = in_event_loop(lambda: load.burst(port, requests))
            used = CpuSnapshot.take().since(before)
            print(burst_line("burst, whole app", result))
            print("    " + used)
            print("    " + check_stored("checked", requests, result.statuses, database))

            with load.start_null_server() as null:
                nothing = load.burst(null.port, burst_requests(signer, args.count))
            print(burst_line("burst, do-nothing server", nothing))
            ratio = result.rate / nothing.rate if nothing.rate else 0.0
            print(f"  app / do-nothing: {ratio:.2f}")

            if not args.skip_headless:
                headless_dir = root / "headless"
                proc, headless_port = spawn(headless_dir, HEADLESS_URL, ACCOUNT_SID, AUTH_TOKEN)
                try:
                    headless_requests = burst_requests(Signer(HEADLESS_URL), args.count)
                    headless = load.burst(headless_port, headless_requests)
                finally:
                    proc.terminate()
                    proc.wait()
                print(burst_line("burst, headless receiver", headless))
                if headless.rate:
                    print(f"  app / headless receiver: {result.rate / headless.rate:.2f}")

            steady_run(app, signer, database, args)
        finally:
            app.close()
        errors = _log_errors(data_dir / "logs" / "twoway.log")
        print(f"  errors in the app's log: {len(errors)}")
        for line in errors[:5]:
            print("   ", line[:200])
        sim.stop()
    finally:
        manager.shutdown()


def steady_run(app: OpenApp, signer: Signer, database: Path, args: argparse.Namespace) -> None:
    from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal

    count = int(args.rate * args.seconds)
    plan = steady_plan(signer, count, min(BURST_CUSTOMERS, args.count))
    watcher = SnippetWatcher(app.window.list_model, {c: s for c, s, _k in plan.samples.values()})

    class Done(QObject):
        finished = Signal()

    loop = QEventLoop()
    done = Done()
    box: list[load.SteadyResult] = []
    sending = load.SteadyRun(app.core.network.receiver.port, plan.requests, args.rate, 64)

    def wait() -> None:
        box.append(sending.result())
        done.finished.emit()

    def sent_all() -> None:
        if watcher.missing == 0:
            loop.quit()
        else:
            watcher.on_all_seen = loop.quit
            QTimer.singleShot(int(SETTLE_S * 1000), loop.quit)

    done.finished.connect(sent_all)
    before = CpuSnapshot.take()
    threading.Thread(target=wait, name="bench-steady", daemon=True).start()
    loop.exec()
    used = CpuSnapshot.take().since(before)
    watcher.on_all_seen = lambda: None
    result = box[0]
    latencies = result.latencies()
    failed = len(result.statuses) - result.acknowledged
    print(
        f"  steady {args.rate:.0f}/s for {args.seconds:.0f} s, whole app: "
        f"{result.acknowledged} ok, {failed} failed; ack latency {load.summary_ms(latencies)}"
        f" (generator at most {result.worst_lag * 1000:.0f} ms behind schedule)"
    )
    print("    " + check_stored("checked", plan.requests, result.statuses, database))
    print("    " + used)
    by_kind: dict[str, list[float]] = {"new": [], "known": []}
    for i, (number, _snippet, kind) in plan.samples.items():
        seen = watcher.seen.get(number)
        if seen is not None and result.statuses[i] == 200:
            by_kind[kind].append(seen - result.sent[i])
    everything = sorted(by_kind["new"] + by_kind["known"])
    print(
        f"  POST → row in the conversation list ({len(everything)}/{len(plan.samples)} "
        f"samples seen): {load.summary_ms(everything)}"
    )
    for kind, label in (("new", "new customers"), ("known", "known customers")):
        values = sorted(by_kind[kind])
        print(f"    {label} ({len(values)}): {load.summary_ms(values, (0.5, 0.99))}")


def _log_errors(log: Path) -> list[str]:
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    return [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="webhooks in each burst")
    parser.add_argument("--rate", type=float, default=100.0, help="steady webhooks per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the steady run")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--skip-headless", action="store_true", help="no headless receiver")
    parser.add_argument("--show-threads", action="store_true", help="print the app's threads")
    args = parser.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    _app = QApplication.instance() or QApplication([])
    print(
        f"cores: {os.cpu_count()}, SQLite {sqlite3.sqlite_version}, Qt platform "
        f"{os.environ.get('QT_QPA_PLATFORM')}, load: 16 senders in 2 processes"
    )
    for run in range(1, args.runs + 1):
        print(f"run {run}/{args.runs}")
        with tempfile.TemporaryDirectory(prefix="twoway-ingest-") as tmp:
            one_run(Path(tmp), args)


if __name__ == "__main__":
    main()
