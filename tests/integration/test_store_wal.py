"""The write-ahead log stays small while texts arrive one by one, and empties when idle.

(Bytes per text, before and after, are measured by ``python -m tests.bench.bench_wal``.)
"""

from __future__ import annotations

import functools
import time

from desktop.domain.models import Direction, NewMessage, Source
from desktop.store import writes
from desktop.store.database import JOURNAL_SIZE_LIMIT, WAL_AUTOCHECKPOINT
from desktop.store.service import Store
from tests.integration.test_sync_harness import wait_until
from tests.twilio_helpers import OUR_NUMBER, new_sid

#: One commit may add its ~13 pages on top of the checkpoint threshold.
BOUND = max(JOURNAL_SIZE_LIMIT, (WAL_AUTOCHECKPOINT + 64) * 4120)


def test_many_single_texts_never_grow_the_wal_past_its_bound_and_it_empties(
    store: Store,
) -> None:
    wal = store.path.with_name(store.path.name + "-wal")
    largest = 0
    for i in range(200):  # ~10 MB of WAL frames in all, one commit per text
        message = NewMessage(
            sid=new_sid(),
            direction=Direction.INBOUND,
            from_number=f"+1971555{i % 40:04d}",
            to_number=OUR_NUMBER,
            body=f"Text {i}: running ten minutes late, sorry!",
            status="received",
            created_at_ms=int(time.time() * 1000) + i,
            source=Source.WEBHOOK,
        )
        store.writer.call(functools.partial(writes.insert_message, msg=message))
        store.reader().execute("SELECT count(*) FROM conversations").fetchone()
        largest = max(largest, wal.stat().st_size)
    assert 0 < largest <= BOUND
    wait_until(lambda: wal.stat().st_size == 0, timeout=10, what="the idle checkpoint")
    assert store.reader().execute("SELECT count(*) FROM messages").fetchone()[0] == 200
