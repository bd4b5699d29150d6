"""How fast the window is with years of history: prints numbers, asserts nothing.

    QT_QPA_PLATFORM=offscreen python -m tests.bench.bench_gui [--messages 100000]
        [--conversations 2000] [--big-thread 10000] [--burst 1000] [--runs 5]

Measures, on a generated data folder (direct SQL inserts through the writer, in big
transactions): time to the first painted window versus a bare PySide6 window (each in
fresh subprocesses, median of ``--runs``), time to open a 10k-message thread, search
time, the longest GUI-thread stall while 1,000 picture messages arrive, and peak RSS.
The seeding helpers are also used by the GUI tests (a 10k-message thread).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop.domain import status
from desktop.store.queries import ConversationRow
from desktop.store.service import Store
from desktop.store.writer import Tx

OUR_NUMBER: Final = "+15035550100"
_TEXT: Final = (
    "appointment tomorrow thanks please confirm cleaning invoice paid order ready pickup "
    "delivery address office open Saturday price quote window door kitchen repair parts "
    "arrived running late sorry great perfect see you then call back question schedule "
    "reschedule Monday Tuesday Thursday Friday morning afternoon evening picture receipt"
)
WORDS: Final = tuple(_TEXT.split(" "))
FIRST: Final = ("Maria", "Tom", "Priya", "Alan", "Jordan", "Sam", "Lee", "Ana", "Chen", "Olu")
LAST: Final = ("Lopez", "Ng", "Raman", "Smith", "Okafor", "Kim", "Silva", "Rossi", "Haddad")


@dataclass(frozen=True)
class Seeded:
    conversations: int
    messages: int
    big_conversation_id: int | None


def _body(rng: random.Random, serial: int) -> str:
    words = rng.choices(WORDS, k=rng.randint(3, 22))
    return f"{' '.join(words).capitalize()} #{serial}"


def bulk_seed(
    store: Store,
    *,
    conversations: int,
    messages: int,
    big_thread: int = 0,
    now_ms: int | None = None,
    seed: int = 7,
) -> Seeded:
    """Fill ``store`` fast: ``messages`` spread over ``conversations`` (the first one gets
    ``big_thread`` of them), spanning two years, with summaries, unread counts and FTS."""
    rng = random.Random(seed)
    now = now_ms or int(time.time() * 1000)
    span = 2 * 365 * 24 * 3600 * 1000

    def job(tx: Tx) -> Seeded:
        conn = tx.conn
        contacts = []
        for i in range(conversations):
            number = f"+1503{5550000 + i:07d}"[:12] if i < 9000 else f"+1971{i:07d}"
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}" if i % 3 else ""
            contacts.append((number, name))
        conn.executemany("INSERT OR IGNORE INTO contacts (e164, name) VALUES (?, ?)", contacts)
        ids = dict(conn.execute("SELECT e164, id FROM contacts").fetchall())
        conn.executemany(
            "INSERT OR IGNORE INTO conversations (contact_id, our_number, created_at) "
            "VALUES (?, ?, ?)",
            [(ids[number], OUR_NUMBER, now - span) for number, _ in contacts],
        )
        convo = {
            contact_id: cid
            for cid, contact_id in conn.execute("SELECT id, contact_id FROM conversations")
        }
        targets = [(convo[ids[number]], number) for number, _ in contacts]
        big_id = targets[0][0] if big_thread else None
        rows = []
        rest = max(0, messages - big_thread)
        plan = [targets[0]] * big_thread + [rng.choice(targets) for _ in range(rest)]
        times = sorted(now - rng.randrange(span) for _ in range(len(plan)))
        for serial, ((cid, number), at) in enumerate(zip(plan, times, strict=True)):
            inbound = rng.random() < 0.55
            status_text = "received" if inbound else "delivered"
            rows.append(
                (
                    f"SM{serial:032x}",
                    cid,
                    "inbound" if inbound else "outbound",
                    number if inbound else OUR_NUMBER,
                    OUR_NUMBER if inbound else number,
                    _body(rng, serial),
                    status_text,
                    status.rank(status_text),
                    "backfill",
                    at,
                    at,
                )
            )
        conn.executemany(
            "INSERT INTO messages (sid, conversation_id, direction, from_number, to_number, "
            "body, status, status_rank, source, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute(
            """
            UPDATE conversations SET
                last_message_id = m.id, last_message_at = m.created_at,
                last_direction = m.direction, last_status = m.status,
                snippet = substr(m.body, 1, 120)
            FROM (SELECT conversation_id, id, created_at, direction, status, body,
                         row_number() OVER (PARTITION BY conversation_id
                                            ORDER BY created_at DESC, id DESC) AS rn
                  FROM messages) AS m
            WHERE m.conversation_id = conversations.id AND m.rn = 1
            """
        )
        conn.execute(
            "UPDATE conversations SET unread_count = abs(random() % 3) "
            "WHERE last_direction = 'inbound' AND id % 4 = 0"
        )
        return Seeded(conversations, len(rows), big_id)

    return store.writer.call(job, timeout=900)


# -- measurements in fresh processes ----------------------------------------------------------

_BARE: Final = """
import sys, time
t0 = float(sys.argv[1])
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setCentralWidget(QLabel("Hello"))
window.resize(1100, 720)
class First(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            print(f"PAINT {(time.time() - t0) * 1000:.1f}", flush=True)
            QTimer.singleShot(0, app.quit)
            self.eventFilter = lambda *a: False
        return False
first = First()
window.installEventFilter(first)
window.show()
app.exec()
"""

_TWOWAY: Final = """
import os, sys, time
t0 = float(sys.argv[1])
from desktop import cli
from desktop.paths import Paths
from desktop.logs import setup_logging
args = cli.parse(["--data-dir", sys.argv[2]])
setup_logging(Paths(args.data_dir).log_file)  # as desktop.app.main does
from desktop.ui.application import run
def painted():
    print(f"PAINT {(time.time() - t0) * 1000:.1f}", flush=True)
    heavy = [m for m in ("twilio", "werkzeug", "keyring", "pyngrok", "requests")
             if m in sys.modules]
    print("HEAVY " + ",".join(heavy), flush=True)
    import resource
    print(f"RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}", flush=True)
    os._exit(0)
run(args, args.data_dir, on_first_paint=painted)
"""


def _child(script: str, *extra: str) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    started = time.time()
    out = subprocess.run(
        [sys.executable, "-c", script, repr(started), *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
        check=False,
    ).stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        found[key] = value
    return found


def first_paint(data_dir: Path, runs: int) -> tuple[float, float, str, float]:
    import compileall

    # As installed (pip and the .deb compile it): no module compiled afresh at each start.
    compileall.compile_dir(Path(__file__).resolve().parents[2] / "desktop", quiet=1)
    bare, ours, heavy, rss = [], [], "", 0.0
    _child(_BARE)  # warm the file cache once for both
    _child(_TWOWAY, str(data_dir))
    for _ in range(runs):
        bare.append(float(_child(_BARE)["PAINT"]))
        result = _child(_TWOWAY, str(data_dir))
        ours.append(float(result["PAINT"]))
        heavy = result.get("HEAVY", "")
        rss = max(rss, float(result.get("RSS", 0)))
    return statistics.median(bare), statistics.median(ours), heavy, rss


# -- measurements in this process --------------------------------------------------------------


def _burst(store: Store, targets: list[ConversationRow], count: int, done: dict[str, int]) -> None:
    """What a burst of picture webhooks does to the store, from a non-GUI thread."""
    from desktop.domain.models import Direction, Geo, MediaRef, NewMessage, Source
    from desktop.store import writes

    def insert(message: NewMessage) -> Callable[[Tx], writes.InsertResult]:
        return lambda tx: writes.insert_message(tx, message)

    def stored(media_id: int, n: int) -> Callable[[Tx], None]:
        name = f"bench{n % 8}.jpg"
        return lambda tx: writes.media_stored(
            tx,
            media_id,
            file=name,
            thumbnail=name,
            content_type="image/jpeg",
            size=1000,
            width=480,
            height=360,
        )

    run = random.getrandbits(64)
    for i in range(count):
        target = targets[i % len(targets)]
        sid = f"MM{run:016x}{i:016x}"
        message = NewMessage(
            sid=sid,
            direction=Direction.INBOUND,
            from_number=target.contact_number,
            to_number=target.our_number,
            body=f"Burst picture {i}",
            status="received",
            created_at_ms=int(time.time() * 1000),
            source=Source.WEBHOOK,
            media=(MediaRef(0, f"https://api.twilio.com/x/{sid}/Media/ME{i:032x}", "image/jpeg"),),
            from_geo=Geo("PORTLAND", "OR", "97201", "US"),
        )
        result = store.writer.call(insert(message))
        media_id = (
            store.reader()
            .execute("SELECT id FROM media WHERE message_id = ?", (result.message_id,))
            .fetchone()[0]
        )
        store.writer.submit(stored(int(media_id), i))
        done["n"] += 1


def in_process(
    data_dir: Path, big_id: int | None, burst: int, older_pages: int = 30
) -> dict[str, float]:
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.core import Core, CoreOptions
    from desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    core = Core(CoreOptions(data_dir=data_dir, demo=True, environ={}))
    core.open()
    results: dict[str, float] = {}
    started = time.perf_counter()
    window = MainWindow(core)
    window.show()
    app.processEvents()
    results["window_build_ms"] = (time.perf_counter() - started) * 1000

    if big_id is not None:
        row = window.list_model.get(big_id)
        other = window.list_model.row_at(0 if window.list_model.row_at(0).id != big_id else 1)
        assert row is not None
        opens = []
        for _ in range(7):
            window.pane.show_conversation(other)  # switching away forgets cached sizes
            app.processEvents()
            started = time.perf_counter()
            window.pane.show_conversation(row)
            window.pane.view.viewport().repaint()
            opens.append((time.perf_counter() - started) * 1000)
        results["open_10k_thread_ms_median"] = statistics.median(opens)
        results["open_10k_thread_ms_best"] = min(opens)
        view = window.pane.view
        bar = view.verticalScrollBar()

        def read_back(pages: int, *, ahead: bool) -> list[float]:
            """Page by page to the top; ``ahead``: as a reader scrolls (the view reads and
            measures the next page between frames), else jumping straight to the top."""
            times: list[float] = []
            settle = time.perf_counter() + 0.3  # the open thread's layout and pictures
            while time.perf_counter() < settle:
                app.processEvents()
            for _ in range(pages):
                if ahead:
                    bar.setValue(1000)  # nearing the top, a few wheel turns away
                    pump_until = time.perf_counter() + 0.08
                    while time.perf_counter() < pump_until:
                        app.processEvents()
                model = window.pane.model
                if not model.has_older:
                    break
                oldest = model.oldest_key
                started = time.perf_counter()
                bar.setValue(0)  # the view loads the page on the next turn of the loop
                give_up = time.monotonic() + 5
                while model.oldest_key == oldest and time.monotonic() < give_up:
                    app.processEvents()
                if model.oldest_key == oldest:
                    break
                view.viewport().repaint()
                times.append((time.perf_counter() - started) * 1000)
            return times

        for label, ahead in (("cold", False), ("scrolled", True)):
            view.scroll_to_latest()
            window.pane.delegate.forget()
            pages = read_back(older_pages, ahead=ahead)
            results[f"load_older_page_{label}_ms_median"] = statistics.median(pages)
            results[f"load_older_page_{label}_ms_p90"] = sorted(pages)[int(len(pages) * 0.9)]
            results[f"load_older_page_{label}_ms_max"] = max(pages)
        results["loaded_rows_after_reading_back"] = window.pane.model.rowCount()
        view.scroll_to_latest()

    from desktop.store import queries

    conn = core.store.reader()
    searches = []
    for words in ("kitchen repair", "invoice", "tomorrow morning", "#12345", "zzz nothing"):
        started = time.perf_counter()
        queries.search(conn, words, limit=200)
        searches.append((time.perf_counter() - started) * 1000)
    results["search_ms_median"] = statistics.median(searches)
    results["search_ms_worst"] = max(searches)

    # A burst of picture messages while the GUI thread is timed by a 5 ms ticker.
    thumbs = data_dir / "media" / "thumbnails"
    thumbs.mkdir(parents=True, exist_ok=True)
    from PySide6.QtGui import QColor, QImage

    for i in range(8):
        image = QImage(480, 360, QImage.Format.Format_RGB32)
        image.fill(QColor.fromHsv(i * 40, 160, 220))
        image.save(str(thumbs / f"bench{i}.jpg"))
    targets = [window.list_model.row_at(i) for i in range(min(50, window.list_model.rowCount()))]
    big = window.list_model.get(big_id) if big_id is not None else None
    if big is not None:
        targets.append(big)
    gaps: list[float] = []
    ticker = QElapsedTimer()
    ticker.start()

    def tick() -> None:
        gaps.append(float(ticker.restart()))

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    done = {"n": 0}
    t_burst = time.perf_counter()

    def feed() -> None:
        import threading

        threading.Thread(
            target=_burst, args=(core.store, targets, burst, done), daemon=True
        ).start()

    QTimer.singleShot(0, feed)
    deadline = time.monotonic() + 120
    while done["n"] < burst and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.001)
    for _ in range(50):
        app.processEvents()
        time.sleep(0.005)
    timer.stop()
    results["burst_s"] = time.perf_counter() - t_burst
    gaps.sort()
    results["burst_max_stall_ms"] = gaps[-1] if gaps else 0.0
    results["burst_p99_stall_ms"] = gaps[int(len(gaps) * 0.99)] if gaps else 0.0
    results["burst_ticks_over_50ms"] = sum(1 for g in gaps if g > 50)
    import resource

    results["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    window.close()
    core.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--big-thread", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--older-pages", type=int, default=30, help="pages read back")
    parser.add_argument("--data-dir", type=Path, help="reuse (or create) this data folder")
    parser.add_argument(
        "--skip-first-paint", action="store_true", help="only the in-process measurements"
    )
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="twoway-bench-")) / "data"

    from desktop.config import Paths

    paths = Paths(data_dir)
    big_id: int | None = None
    if not paths.database.exists():
        paths.create()
        store = Store(paths.database, paths.backups)
        store.open()
        started = time.perf_counter()
        seeded = bulk_seed(
            store,
            conversations=args.conversations,
            messages=args.messages,
            big_thread=args.big_thread,
        )
        store.close()
        big_id = seeded.big_conversation_id
        print(
            f"seeded {seeded.messages:,} messages in {seeded.conversations:,} conversations "
            f"in {time.perf_counter() - started:.1f} s ({data_dir})"
        )
    elif args.big_thread:  # a reused folder: its biggest conversation
        import sqlite3

        with sqlite3.connect(f"file:{paths.database}?mode=ro", uri=True) as conn:
            biggest = conn.execute(
                "SELECT conversation_id FROM messages GROUP BY conversation_id "
                "ORDER BY count(*) DESC LIMIT 1"
            ).fetchone()
        big_id = int(biggest[0]) if biggest else None

    if not args.skip_first_paint:
        bare, ours, heavy, rss = first_paint(data_dir, args.runs)
        print(f"first paint, bare PySide6 window: {bare:7.1f} ms (median of {args.runs})")
        print(f"first paint, Twoway window:       {ours:7.1f} ms  = {ours / bare:.2f}x bare")
        print(f"heavy modules before first paint: {heavy or 'none'}")
        print(f"RSS at first paint:               {rss:7.0f} MB")
    import shutil

    scratch = Path(tempfile.mkdtemp(prefix="twoway-bench-run-")) / "data"
    shutil.copytree(data_dir, scratch)  # the burst adds messages: keep the seed data as it was
    try:
        measured = in_process(scratch, big_id, args.burst, args.older_pages)
    finally:
        shutil.rmtree(scratch.parent, ignore_errors=True)
    for key, value in measured.items():
        print(f"{key.replace('_', ' '):33s} {value:9.1f}")


if __name__ == "__main__":
    main()
