"""Backfill against the simulated Twilio: pages, duplicates, concurrent webhooks, media."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop.domain.events import Event, MessageAdded
from desktop.simulator.images import landscape_png
from desktop.store import outbox_writes, queries
from desktop.sync.backfill import DAY_MS, WATERMARK_KEY, Backfiller
from tests.integration.test_sync_harness import SyncEnv, sync_env, wait_until
from tests.twilio_helpers import CUSTOMER, OUR_NUMBER, form_body, inbound_params, sign


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SyncEnv]:
    with sync_env(tmp_path) as environment:
        yield environment


def _post_webhook(env: SyncEnv, params: dict[str, str]) -> int:
    assert env.receiver is not None
    assert env.public_url is not None
    signature = sign(env.public_url + "/twilio/sms", params)
    conn = http.client.HTTPConnection("127.0.0.1", env.receiver.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/twilio/sms",
            form_body(params),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _stored_sids(env: SyncEnv) -> list[str]:
    rows = env.store.reader().execute("SELECT sid FROM messages WHERE sid IS NOT NULL")
    return [str(r[0]) for r in rows]


def test_2500_messages_over_several_pages_while_webhooks_arrive(
    env: SyncEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert env.public_url is not None
    seeded = env.sim.seed_history(2500, our_number=OUR_NUMBER, contacts=60, days=10)
    env.sim.set_sms_url(OUR_NUMBER, env.public_url + "/twilio/sms")
    replays = [m for m in env.sim.messages(to=OUR_NUMBER) if m.direction == "inbound"][::6]
    progress: list[tuple[int, int | None]] = []
    backfiller = Backfiller(env.store, env.gateway(), page_size=400)
    statuses: list[int] = []
    go = threading.Event()

    def webhooks() -> None:
        go.wait(5)
        with ThreadPoolExecutor(8) as pool:
            live = [
                pool.submit(env.sim.send_inbound, f"+1971555{9000 + i:04d}", OUR_NUMBER, f"New {i}")
                for i in range(20)
            ]
            statuses.extend(
                pool.map(
                    lambda m: _post_webhook(
                        env, inbound_params(m.sid, m.body, From=m.from_, To=m.to)
                    ),
                    replays,
                )
            )
            for future in live:
                future.result()

    sender = threading.Thread(target=webhooks)
    sender.start()

    def report(fetched: int, estimate: int | None) -> None:
        go.set()
        progress.append((fetched, estimate))

    result = backfiller.run([OUR_NUMBER], reason="test", progress=report)
    sender.join(10)
    env.sim.wait_for_deliveries(20, kind="incoming")
    expected = {m.sid for m in env.sim.messages()}
    wait_until(lambda: len(_stored_sids(env)) >= len(expected), 5)

    with capsys.disabled():
        print(f"\nbackfill of {result.fetched} messages: {result.seconds:.2f} s")
    stored = _stored_sids(env)
    assert len(stored) == len(set(stored)) == len(expected)
    assert set(stored) == expected
    assert set(seeded) <= set(stored)
    assert statuses == [200] * len(replays)
    assert result.first_sync
    assert result.fetched >= 2500
    assert len(progress) >= 6  # several pages in each direction
    assert any(f < 2000 and e is not None and 2000 <= e <= 3200 for f, e in progress)
    # A first sync stores history as read; only the webhooks that won the race are unread.
    unread = queries.total_unread(env.store.reader())
    assert 20 <= unread <= 20 + len(replays)
    assert result.seconds < 15


def test_later_backfills_fill_the_gap_notify_and_thread_messages_sent_elsewhere(
    env: SyncEnv,
) -> None:
    env.sim.seed_history(30, our_number=OUR_NUMBER, contacts=[CUSTOMER], days=2)
    backfiller = Backfiller(env.store, env.gateway(), page_size=50)
    first = backfiller.run([OUR_NUMBER], reason="start")
    assert first.first_sync
    assert first.added == 30
    assert queries.total_unread(env.store.reader()) == 0

    events: list[Event] = []
    env.store.events.subscribe(lambda batch: events.extend(batch))
    watermark = queries.sync_value(env.store.reader(), WATERMARK_KEY)
    now = datetime.now(UTC)
    # Written by a colleague in the Twilio Console, and a reply that arrived while offline:
    console = env.sim.add_history_message(
        from_=OUR_NUMBER,
        to=CUSTOMER,
        body="Sent from the console",
        at=now,
        direction="outbound-api",
    )
    missed = env.sim.add_history_message(
        from_=CUSTOMER, to=OUR_NUMBER, body="Got it, thanks", at=now + timedelta(seconds=1)
    )
    # Logged with a time before our last sync: only the one-day overlap finds it.
    late = env.sim.add_history_message(
        from_=CUSTOMER, to=OUR_NUMBER, body="Late entry", at=now - timedelta(hours=3)
    )

    second = backfiller.run([OUR_NUMBER], reason="woke up")
    assert not second.first_sync
    assert second.added == 3
    assert second.since_ms == watermark - DAY_MS
    conn = env.store.reader()
    [conversation] = queries.conversations(conn)
    thread = queries.thread_page(conn, conversation.id)
    assert {m.sid for m in thread} >= {console.sid, missed.sid, late.sid}
    assert thread[-1].body == "Got it, thanks"
    assert conversation.unread_count == 2
    notified = [e for e in events if isinstance(e, MessageAdded) and e.notify]
    assert len(notified) == 2
    third = backfiller.run([OUR_NUMBER], reason="again")
    assert third.added == 0


def test_backfilled_pictures_are_fetched_like_live_ones(env: SyncEnv) -> None:
    env.sim.seed_history(6, our_number=OUR_NUMBER, contacts=[CUSTOMER], days=1, media_every=2)
    picture = landscape_png(48, 32)
    env.sim.add_history_message(
        from_=CUSTOMER,
        to=OUR_NUMBER,
        body="",
        at=datetime.now(UTC),
        media=[("image/png", picture)],
    )
    Backfiller(env.store, env.gateway()).run([OUR_NUMBER], reason="start")
    fetcher = env.media_fetcher()
    try:
        wait_until(lambda: env.scalar("SELECT count(*) FROM media WHERE state = 'done'") == 4, 10)
    finally:
        fetcher.stop()
    files = [
        r[0]
        for r in env.store.reader().execute("SELECT file FROM media WHERE thumbnail IS NOT NULL")
    ]
    assert len(files) == 4
    assert any((env.paths.media / f).read_bytes() == picture for f in files)


def test_a_send_whose_outcome_was_never_heard_is_adopted_not_duplicated(env: SyncEnv) -> None:
    message_id = env.queue("See you at noon")
    env.store.writer.call(lambda tx: outbox_writes.mark_sending(tx, message_id))
    sent = env.gateway().send_message(to=CUSTOMER, from_=OUR_NUMBER, body="See you at noon")

    Backfiller(env.store, env.gateway()).run([OUR_NUMBER], reason="start")
    assert env.outbox_state(message_id) == "sent"
    assert env.scalar("SELECT sid FROM messages WHERE id = ?", (message_id,)) == sent.sid
    assert env.scalar("SELECT count(*) FROM messages") == 1


def test_the_service_backfills_on_start_and_on_demand_with_progress(env: SyncEnv) -> None:
    env.sim.seed_history(900, our_number=OUR_NUMBER, days=5)
    seen: list[str] = []
    env.board.subscribe(lambda snapshot: seen.append(snapshot.sync_progress))
    service = env.service(backfill_page_size=200)
    wait_until(lambda: service.last_backfill is not None, 10)
    assert env.scalar("SELECT count(*) FROM messages") == 900
    assert any(text.startswith("Fetched ") and " of ~" in text for text in seen)
    assert env.board.snapshot.sync_progress == ""
    assert env.board.snapshot.last_sync_ms is not None

    env.sim.add_history_message(
        from_=CUSTOMER, to=OUR_NUMBER, body="While you were away", at=datetime.now(UTC)
    )
    result = service.backfill_now("laptop woke up").result(timeout=10)
    assert (result.reason, result.added) == ("laptop woke up", 1)


def test_backfill_stops_when_the_service_stops(env: SyncEnv) -> None:
    env.sim.seed_history(400, our_number=OUR_NUMBER, days=2)
    env.sim.faults.set_latency(0.05)
    service = env.service(backfill_page_size=20)
    wait_until(lambda: env.scalar("SELECT count(*) FROM messages") > 0, 10)
    started = time.perf_counter()
    service.stop()
    assert time.perf_counter() - started < 2.5
    assert env.scalar("SELECT count(*) FROM messages") < 400
    assert queries.sync_value(env.store.reader(), WATERMARK_KEY) is None
