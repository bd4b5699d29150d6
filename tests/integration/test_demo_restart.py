"""Restarting the demo on the same data folder: its built-in history is stored once, and no
old text turns unread or is announced again."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from desktop.core import Core, CoreOptions
from desktop.domain.events import Event, MessageAdded
from desktop.store import queries
from desktop.sync.backfill import FINISHED_KEY

HISTORY_BODIES = ("Do you take Delta Dental insurance?", "C", "Good to know, thank you")


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def run_demo_until_backfilled(data_dir: Path) -> tuple[list[MessageAdded], dict[str, int]]:
    core = Core(CoreOptions(data_dir=data_dir, demo=True, environ={}))
    core.open()
    before = queries.sync_value(core.store.reader(), FINISHED_KEY)
    added: list[MessageAdded] = []

    def collect(events: Sequence[Event]) -> None:
        added.extend(e for e in events if isinstance(e, MessageAdded))

    core.store.events.subscribe(collect)
    try:
        core.start()
        wait_for(
            lambda: queries.sync_value(core.store.reader(), FINISHED_KEY) not in (None, before),
            what="the start-up backfill",
        )
        reader = core.store.reader()
        history_ids = {
            int(r[0])
            for r in reader.execute(
                "SELECT id FROM messages WHERE body IN (SELECT value FROM json_each(?))",
                (json.dumps(list(HISTORY_BODIES)),),
            )
        }
        counts = {
            body: int(
                reader.execute("SELECT count(*) FROM messages WHERE body = ?", (body,)).fetchone()[
                    0
                ]
            )
            for body in HISTORY_BODIES
        }
        return [e for e in added if e.message_id in history_ids], counts
    finally:
        core.stop()


def test_a_restarted_demo_adds_no_duplicate_history(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    first_added, first_counts = run_demo_until_backfilled(data_dir)
    assert first_counts == dict.fromkeys(HISTORY_BODIES, 1)
    assert first_added  # the first start stores the history…
    assert not any(e.notify for e in first_added)  # …as read, without notifications

    second_added, second_counts = run_demo_until_backfilled(data_dir)
    assert second_counts == dict.fromkeys(HISTORY_BODIES, 1)
    assert second_added == []
