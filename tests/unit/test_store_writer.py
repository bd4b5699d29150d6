"""The single writer: batched commits, isolation of a failing job, events after commit."""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence

import pytest

from desktop.domain.events import Event, MessageAdded
from desktop.domain.models import Direction, NewMessage, Source
from desktop.store import queries, writes
from desktop.store.service import Store
from desktop.store.writer import Tx, WriterStopped


def _message(sid: str, body: str = "hi", created: int = 1_700_000_000_000) -> NewMessage:
    return NewMessage(
        sid=sid,
        direction=Direction.INBOUND,
        from_number="+15035550142",
        to_number="+15035550100",
        body=body,
        status="received",
        created_at_ms=created,
        source=Source.WEBHOOK,
    )


def test_a_failing_job_is_rolled_back_alone(store: Store) -> None:
    gate = threading.Event()
    store.writer.submit(lambda tx: gate.wait(5))  # holds the writer so the next three batch up

    def broken(tx: Tx) -> None:
        writes.insert_message(tx, _message("SM" + "2" * 32))
        raise ValueError("boom")

    ok1 = store.writer.submit(lambda tx: writes.insert_message(tx, _message("SM" + "1" * 32)))
    bad = store.writer.submit(broken)
    ok2 = store.writer.submit(lambda tx: writes.insert_message(tx, _message("SM" + "3" * 32)))
    gate.set()
    assert ok1.result(5).created
    assert ok2.result(5).created
    with pytest.raises(ValueError, match="boom"):
        bad.result(5)
    sids = {r[0] for r in store.reader().execute("SELECT sid FROM messages")}
    assert sids == {"SM" + "1" * 32, "SM" + "3" * 32}


def test_events_arrive_only_after_commit_and_not_for_rolled_back_jobs(store: Store) -> None:
    seen: list[Event] = []
    visible: list[int] = []

    def listener(events: Sequence[Event]) -> None:
        seen.extend(events)
        # Whoever hears about a message can already read it.
        visible.append(queries.total_unread(store.reader()))

    store.events.subscribe(listener)

    def broken(tx: Tx) -> None:
        writes.insert_message(tx, _message("SM" + "5" * 32))
        raise ValueError("no")

    store.writer.call(lambda tx: writes.insert_message(tx, _message("SM" + "4" * 32)))
    with pytest.raises(ValueError, match="no"):
        store.writer.call(broken)
    added = [e for e in seen if isinstance(e, MessageAdded)]
    assert len(added) == 1
    assert visible == [1]


def test_conversation_summary_follows_the_newest_message_even_when_backfilled_late(
    store: Store,
) -> None:
    store.writer.call(
        lambda tx: writes.insert_message(tx, _message("SM" + "6" * 32, "newer", created=2_000))
    )
    store.writer.call(
        lambda tx: writes.insert_message(tx, _message("SM" + "7" * 32, "older", created=1_000))
    )
    [conversation] = queries.conversations(store.reader())
    assert conversation.snippet == "newer"
    assert conversation.last_message_at == 2_000
    page = queries.thread_page(store.reader(), conversation.id)
    assert [m.body for m in page] == ["older", "newer"]


def test_stop_finishes_queued_writes_then_refuses_new_ones(store: Store) -> None:
    futures = [
        store.writer.submit(functools.partial(writes.insert_message, msg=_message(f"SM{i:032d}")))
        for i in range(50)
    ]
    store.writer.stop()
    assert all(f.result(5).created for f in futures)
    with pytest.raises(WriterStopped):
        store.writer.submit(lambda tx: None).result(1)


def test_opt_out_and_back_in_follow_keywords(store: Store) -> None:
    store.writer.call(lambda tx: writes.insert_message(tx, _message("SM" + "a" * 32, "Stop")))
    assert queries.conversations(store.reader())[0].opted_out
    store.writer.call(lambda tx: writes.insert_message(tx, _message("SM" + "b" * 32, "START")))
    assert not queries.conversations(store.reader())[0].opted_out


def test_search_finds_words_by_prefix_newest_first(store: Store) -> None:
    for i, body in enumerate(["Your crown is ready", "Crowns take two weeks", "Thanks!"]):
        message = _message(f"SM{i:032x}", body, created=1000 + i)
        store.writer.call(functools.partial(writes.insert_message, msg=message))
    hits = queries.search(store.reader(), "crown")
    assert [h.snippet.replace("[", "").replace("]", "") for h in hits] == [
        "Crowns take two weeks",
        "Your crown is ready",
    ]
    assert queries.search(store.reader(), '"; DROP TABLE messages; --') == []
    assert queries.search(store.reader(), "   ") == []
