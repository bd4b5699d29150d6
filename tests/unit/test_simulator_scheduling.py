"""Simulated time: delays shrink with speed, and work stops with the simulator."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from desktop.simulator.scheduling import Scheduler, SimClock


def test_clock_runs_faster_and_keeps_order() -> None:
    clock = SimClock(100, start=datetime(2026, 1, 1, tzinfo=UTC))
    first = clock.now()
    time.sleep(0.01)  # real time must pass for simulated time to move
    assert (clock.now() - first).total_seconds() >= 1.0
    assert clock.to_real(50) == 0.5


def test_scheduler_runs_in_due_order_and_drops_work_after_stop() -> None:
    scheduler = Scheduler(SimClock(100), max_workers=1)
    scheduler.start()
    ran: list[str] = []
    done = threading.Event()

    def late() -> None:
        ran.append("late")
        done.set()

    scheduler.call_later(2.0, late)
    scheduler.call_later(1.0, lambda: ran.append("early"))
    assert done.wait(2)
    scheduler.stop()
    scheduler.call_later(0, lambda: ran.append("after stop"))
    assert ran == ["early", "late"]
    assert not scheduler.sleep(1)


def test_a_failing_task_does_not_kill_the_scheduler() -> None:
    scheduler = Scheduler(SimClock(100))
    scheduler.start()
    done = threading.Event()

    def boom() -> None:
        raise RuntimeError("task failed")

    scheduler.call_later(0, boom)
    scheduler.call_later(0.5, done.set)
    assert done.wait(2)
    scheduler.stop()


def test_advancing_the_clock_runs_what_fell_due_in_order() -> None:
    clock = SimClock(1, start=datetime(2026, 1, 1, tzinfo=UTC))
    scheduler = Scheduler(clock, max_workers=1)
    scheduler.start()
    ran: list[str] = []
    done = threading.Event()

    def tomorrow() -> None:
        ran.append("tomorrow")
        done.set()

    scheduler.call_at(datetime(2026, 1, 2, 9, tzinfo=UTC), tomorrow)
    scheduler.call_later(3600, lambda: ran.append("in an hour"))
    scheduler.advance(34 * 3600)
    assert done.wait(2)
    scheduler.stop()
    assert ran == ["in an hour", "tomorrow"]
    assert clock.now() >= datetime(2026, 1, 2, 10, tzinfo=UTC)
