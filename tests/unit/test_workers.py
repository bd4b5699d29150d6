"""The background-work primitives every service uses: Worker, Backoff, TaskPool."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from desktop.store.service import Store
from desktop.workers import Backoff, TaskPool, Worker


def test_backoff_doubles_up_to_the_cap() -> None:
    backoff = Backoff(initial=1.0, maximum=20.0)
    delays = [backoff.failed() for _ in range(7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
    assert backoff.delay(10_000) == 20.0
    backoff.succeeded()
    assert backoff.failed() == 1.0


def test_backoff_follows_a_fixed_list_and_stays_at_its_end() -> None:
    backoff = Backoff((5.0, 15.0, 60.0))
    assert [backoff.failed() for _ in range(5)] == [5.0, 15.0, 60.0, 60.0, 60.0]


def test_backoff_jitter_only_shortens() -> None:
    backoff = Backoff(initial=10.0, maximum=10.0, jitter=0.5)
    delays = {backoff.delay(1) for _ in range(50)}
    assert all(5.0 <= d <= 10.0 for d in delays)
    assert len(delays) > 1


def test_worker_wakes_early_and_stops_promptly() -> None:
    ran = threading.Semaphore(0)

    def step() -> float:
        ran.release()
        return 3600.0  # would sleep an hour unless woken

    worker = Worker("test-worker", step)
    worker.start()
    assert ran.acquire(timeout=5)
    worker.wake()
    assert ran.acquire(timeout=5), "wake() did not cut the wait short"
    assert worker.stop(timeout=5)
    assert not worker.running


def test_worker_survives_a_failing_step_and_backs_off() -> None:
    calls: list[int] = []
    again = threading.Event()

    def step() -> float | None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        again.set()
        return None

    worker = Worker("test-failing", step, error_backoff=Backoff(initial=0.01, maximum=0.01))
    worker.start()
    assert again.wait(5)
    worker.stop()
    assert len(calls) >= 2


def test_worker_sleep_returns_at_once_when_stopping() -> None:
    entered = threading.Event()
    result: list[bool] = []

    def step() -> float | None:
        entered.set()
        result.append(worker.sleep(3600))
        return None

    worker = Worker("test-sleeper", step)
    worker.start()
    assert entered.wait(5)
    assert worker.stop(timeout=5)
    assert result == [True]


def test_task_pool_runs_calls_and_reports_errors() -> None:
    pool = TaskPool(2, "test-pool")
    assert pool.submit(lambda: 41 + 1).result(5) == 42
    failing = pool.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result(5)
    pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(lambda: 1)


def test_task_pool_keeps_its_threads_however_many_calls() -> None:
    pool = TaskPool(3, "test-flat")
    names = {pool.submit(lambda: threading.current_thread().name).result(5) for _ in range(200)}
    assert len(names) <= 3
    pool.shutdown()


def test_task_pool_shutdown_cancels_what_has_not_started() -> None:
    gate, started = threading.Event(), threading.Event()
    pool = TaskPool(1, "test-cancel")

    def hold() -> bool:
        started.set()
        return gate.wait(5)

    busy = pool.submit(hold)
    assert started.wait(5)
    queued = pool.submit(lambda: "never")
    pool.shutdown(wait=False)
    assert queued.cancelled()
    gate.set()
    assert busy.result(5) is True


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to count descriptors")
def test_readers_of_ended_threads_are_closed(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3", tmp_path / "backups")
    store.open()
    try:
        before = _open_descriptors()
        for _ in range(40):
            thread = threading.Thread(target=lambda: store.reader().execute("SELECT 1"))
            thread.start()
            thread.join()
        assert store.open_readers() == 0
        assert _open_descriptors() <= before + 2
    finally:
        store.close()
