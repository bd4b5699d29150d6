"""Backfill bookkeeping with a scripted log: windows, light polls, progress wording."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from desktop.config import Paths
from desktop.gateway.rest import RemoteMedia, RemoteMessage
from desktop.store import queries
from desktop.store.service import Store
from desktop.sync.backfill import DAY_MS, WATERMARK_KEY, Backfiller, progress_text

OURS = "+15035550100"
CUSTOMER = "+15035550142"
_sids = (f"SM{n:032x}" for n in itertools.count(1))


@dataclass
class Call:
    to: str | None
    from_: str | None
    after: date | None
    before: date | None
    page_size: int


@dataclass
class FakeLog:
    """Twilio's log, newest first, cut into pages like the real list."""

    messages: list[RemoteMessage] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    pages_served: int = 0

    def iter_message_pages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        sent_on_or_after: date | None = None,
        sent_on_or_before: date | None = None,
        page_size: int = 50,
    ) -> Iterator[list[RemoteMessage]]:
        self.calls.append(Call(to, from_, sent_on_or_after, sent_on_or_before, page_size))
        found = sorted(
            (
                m
                for m in self.messages
                if (to is None or m.to_number == to) and (from_ is None or m.from_number == from_)
            ),
            key=lambda m: m.log_time_ms,
            reverse=True,
        )
        for start in range(0, len(found), page_size):
            self.pages_served += 1
            yield found[start : start + page_size]

    def list_media(self, message_sid: str) -> tuple[RemoteMedia, ...]:
        return ()


def inbound(at_ms: int, body: str = "hi") -> RemoteMessage:
    return RemoteMessage(
        next(_sids), "inbound", CUSTOMER, OURS, body, "received", None, 1, 0, at_ms, at_ms
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    paths = Paths(tmp_path / "data")
    paths.create()
    s = Store(paths.database, paths.backups)
    s.open()
    yield s
    s.close()


def test_the_first_sync_looks_back_a_bounded_window_and_marks_history_read(store: Store) -> None:
    now = time.time()
    log = FakeLog([inbound(int((now - 3600) * 1000)), inbound(int((now - 60) * 1000))])
    result = Backfiller(store, log, first_sync_days=30, clock=lambda: now).run(
        [OURS], reason="start"
    )
    assert result.first_sync
    assert result.since_ms == int(now * 1000) - 30 * DAY_MS
    assert {(c.to, c.from_) for c in log.calls} == {(OURS, None), (None, OURS)}
    assert all(c.after is not None for c in log.calls)
    assert queries.total_unread(store.reader()) == 0
    assert queries.sync_value(store.reader(), WATERMARK_KEY) == int(now * 1000)


def test_a_light_poll_reads_only_the_newest_page_when_nothing_happened(store: Store) -> None:
    now = time.time()
    old = [inbound(int((now - 86400 + i) * 1000), f"old {i}") for i in range(300)]
    log = FakeLog(old)
    clock = [now]
    backfiller = Backfiller(store, log, light_page_size=50, clock=lambda: clock[0])
    backfiller.run([OURS], reason="start")
    log.calls.clear()
    log.pages_served = 0
    clock[0] = now + 15
    log.messages.append(inbound(int((now + 10) * 1000), "new"))

    result = backfiller.run([OURS], reason="poll", light=True)
    assert (result.light, result.added) == (True, 1)
    assert all(c.after is None and c.page_size == 50 for c in log.calls)
    assert log.pages_served == 1  # the inbound listing stops at its first page
    assert queries.total_unread(store.reader()) == 1


@pytest.mark.parametrize(
    ("fetched", "estimate", "text"),
    [
        (1200, 2537, "Fetched 1,200 of ~2,500 messages"),
        (40, 95, "Fetched 40 of ~95 messages"),
        (2500, 2500, "Fetched 2,500 messages"),
        (10, None, "Fetched 10 messages"),
    ],
)
def test_progress_reads_naturally(fetched: int, estimate: int | None, text: str) -> None:
    assert progress_text(fetched, estimate) == text
