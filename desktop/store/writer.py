"""The single database writer: every write goes through one thread, in batched commits.

Why one thread: SQLite allows one writer at a time anyway, and funnelling writes through a
queue means no thread ever waits on a lock held by another (the GUI thread included).
Why batches: a durable commit costs an fsync; jobs that arrive together (a burst of
webhooks) share one commit ("group commit"), and each job's future completes only after
that commit, so a webhook is acknowledged only once its message is on disk.

Each job runs inside its own SAVEPOINT: a job that raises is rolled back alone and its
caller gets the exception; the others in the batch still commit.  If the COMMIT itself
fails (disk full, I/O error) every job of the batch fails.

Errors that say something about the database go to the store's
:class:`~desktop.store.health.HealthMonitor`.  Once the database is known to be damaged
(or read-only) the writer refuses every write, the current batch included, instead of
writing into a damaged file: a webhook then gets 503, stays in Twilio's message log,
and comes back with the backfill after the repair.  After two idle seconds the writer
checkpoints and empties the write-ahead log, so it never holds disk space at rest.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

from desktop.domain.events import Event, EventHub
from desktop.store.database import BUSY_TIMEOUT_MS, StoreUnavailable, connect
from desktop.store.health import HealthMonitor

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BATCH: Final = 256
#: Checkpoint (and empty the WAL) once no write came for this long.
IDLE_CHECKPOINT_S: Final = 2.0
#: How long the idle checkpoint waits for readers to finish before trying again later.
CHECKPOINT_BUSY_MS: Final = 100


class Tx:
    """What a job sees: the writer's connection, and a way to announce post-commit events."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._events: list[Event] = []

    def emit(self, event: Event) -> None:
        self._events.append(event)

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)


Job = Callable[[Tx], T]


@dataclass
class _Pending(Generic[T]):
    job: Job[T]
    future: Future[T] = field(default_factory=Future)


class WriterStopped(RuntimeError):
    pass


class StoreWriter:
    """Owns the write connection and runs submitted jobs in batched transactions."""

    def __init__(
        self, path: Path, events: EventHub | None = None, health: HealthMonitor | None = None
    ) -> None:
        self._path = path
        self.events = events or EventHub()
        self.health = health or HealthMonitor(path, None)
        self._queue: queue.SimpleQueue[_Pending[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stopping = False
        self._lock = threading.Lock()
        #: Test hook: runs on the writer connection once, before any job.
        self.on_connect: Callable[[sqlite3.Connection], None] | None = None

    @property
    def stopped(self) -> bool:
        """Stopped for good (a store that reopens makes a new writer)."""
        return self._stopping

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
            self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            raise self._start_error

    def submit(self, job: Job[T]) -> Future[T]:
        """Queue ``job``; its future resolves after the commit that includes it."""
        pending: _Pending[T] = _Pending(job)
        refusal = self._refusal()
        if refusal is not None:
            pending.future.set_exception(refusal)
            return pending.future
        with self._lock:
            if self._stopping or self._thread is None:
                pending.future.set_exception(WriterStopped("The database is closed."))
                return pending.future
            self._queue.put(pending)
        return pending.future

    def _refusal(self) -> StoreUnavailable | None:
        health = self.health.current
        return None if health.writable else StoreUnavailable(health)

    def call(self, job: Job[T], timeout: float | None = 30.0) -> T:
        """Submit and wait.  Never call this from the GUI thread."""
        return self.submit(job).result(timeout=timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish every queued job, then close the connection."""
        with self._lock:
            if self._thread is None or self._stopping:
                return
            self._stopping = True
            self._queue.put(None)
            thread = self._thread
        thread.join(timeout)

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            conn = connect(self._path)
            if self.on_connect is not None:
                self.on_connect(conn)
        except BaseException as exc:
            self._start_error = exc
            self._ready.set()
            return
        self._ready.set()
        dirty = False
        try:
            while True:
                try:
                    first = (
                        self._queue.get(timeout=IDLE_CHECKPOINT_S) if dirty else (self._queue.get())
                    )
                except queue.Empty:
                    self._checkpoint(conn)
                    dirty = False
                    continue
                if first is None:
                    break
                batch: list[_Pending[Any]] = [first]
                stop_after = False
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop_after = True
                        break
                    batch.append(item)
                self._run_batch(conn, batch)
                dirty = True
                if stop_after:
                    break
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """Copy the WAL into the database and truncate it; skipped while readers hold it,
        and never into a damaged file."""
        if not self.health.current.writable:
            return
        try:
            conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_BUSY_MS}")
            busy, log, done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                logger.debug("Idle checkpoint: readers busy (%s of %s pages)", done, log)
        except sqlite3.Error as exc:
            logger.debug("Idle checkpoint failed: %s", exc)
            if self.health.report(exc) is not None:
                logger.warning("The idle checkpoint failed: %s", exc)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Pending[Any]]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        events: list[Event] = []
        refusal = self._refusal()
        if refusal is not None:
            for pending in batch:
                if pending.future.set_running_or_notify_cancel():
                    pending.future.set_exception(refusal)
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self.health.report(exc)
            for pending in batch:
                pending.future.set_exception(exc)
            return
        for pending in batch:
            if not pending.future.set_running_or_notify_cancel():
                outcomes.append((False, None))
                continue
            tx = Tx(conn)
            conn.execute("SAVEPOINT job")
            try:
                result = pending.job(tx)
            except BaseException as exc:
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                outcomes.append((False, exc))
                if not isinstance(exc, (ValueError, LookupError)):
                    logger.warning("A database write failed: %s", exc)
                    if isinstance(exc, (sqlite3.Error, OSError)):
                        self.health.report(exc)
                continue
            conn.execute("RELEASE job")
            outcomes.append((True, result))
            events.extend(tx._events)
        refusal = self._refusal()
        if refusal is not None:
            # Damage found during this batch: nothing of it goes into the damaged file.
            logger.error("Not committing %d writes: %s", len(batch), refusal.health.headline)
            self._fail_batch(conn, batch, refusal)
            return
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            logger.error("Commit failed, %d writes lost: %s", len(batch), exc)
            self.health.report(exc)
            self._fail_batch(conn, batch, exc)
            return
        self.health.commit_succeeded()
        for pending, (ok, value) in zip(batch, outcomes, strict=True):
            if not pending.future.running():
                continue
            if ok:
                pending.future.set_result(value)
            else:
                pending.future.set_exception(value)
        self.events.publish(events)

    @staticmethod
    def _fail_batch(
        conn: sqlite3.Connection, batch: list[_Pending[Any]], exc: BaseException
    ) -> None:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as problem:
                logger.warning("Rollback failed: %s", problem)
        for pending in batch:
            if pending.future.running():
                pending.future.set_exception(exc)
