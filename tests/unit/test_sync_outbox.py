"""Outbox decisions with a scripted gateway: ordering, backoff, give-up, matching, pictures."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pytest

from desktop.config import Paths
from desktop.gateway.rest import RateLimited, RemoteMessage, SentMessage
from desktop.gateway.rest_types import TwilioProblem
from desktop.store import outbox_writes, writes
from desktop.store.service import Store
from desktop.sync.outbox import (
    NO_PUBLIC_URL_TEXT,
    WAITING_FOR_URL_TEXT,
    OutboxPolicy,
    OutboxWorker,
    same_text,
)

OURS = "+15035550100"
CUSTOMER = "+15035550142"
_sids = (f"SM{n:032x}" for n in itertools.count(1))


@dataclass
class Send:
    to: str
    body: str
    media_urls: tuple[str, ...]
    status_callback: str | None
    outbox_state_at_call: str


@dataclass
class FakeGateway:
    """Answers sends from a script; the log is what Twilio "has"."""

    store: Store
    script: list[Callable[[], SentMessage]] = field(default_factory=list)
    log: list[RemoteMessage] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    listings: int = 0
    list_error: TwilioProblem | None = None

    def send_message(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        media_urls: Sequence[str] = (),
        status_callback: str | None = None,
        send_at: datetime | None = None,
    ) -> SentMessage:
        state = self.store.reader().execute("SELECT state FROM outbox").fetchall()
        self.sends.append(Send(to, body, tuple(media_urls), status_callback, state[-1][0]))
        if self.script:
            return self.script.pop(0)()
        return SentMessage(next(_sids), "queued")

    def cancel_message(self, sid: str) -> RemoteMessage:
        raise AssertionError("no scheduled texts here")

    def iter_message_pages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        sent_on_or_after: date | None = None,
        sent_on_or_before: date | None = None,
        page_size: int = 50,
    ) -> Iterator[list[RemoteMessage]]:
        self.listings += 1
        if self.list_error is not None:
            raise self.list_error
        yield [m for m in self.log if m.to_number == to and m.from_number == from_]


def raises(problem: TwilioProblem) -> Callable[[], SentMessage]:
    def answer() -> SentMessage:
        raise problem

    return answer


def remote(body: str, *, at_ms: int, sid: str | None = None) -> RemoteMessage:
    return RemoteMessage(
        sid or next(_sids), "outbound-api", OURS, CUSTOMER, body, "sent", None, 1, 0, at_ms, at_ms
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    paths = Paths(tmp_path / "data")
    paths.create()
    s = Store(paths.database, paths.backups)
    s.open()
    yield s
    s.close()


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def run_once(worker: OutboxWorker) -> None:
    """Process what is due on this thread (no background thread in unit tests)."""
    worker._work_once()


def make(
    store: Store,
    gateway: FakeGateway,
    tmp_path: Path,
    clock: Clock,
    public_url: str | None = "https://calm-otter.ngrok-free.app",
    **policy: object,
) -> OutboxWorker:
    from desktop.gateway.webhook import MediaShelf

    defaults: dict[str, object] = {"retry_delays_s": (2.0, 5.0, 30.0), "settle_s": 3.0}
    defaults.update(policy)
    return OutboxWorker(
        store,
        gateway,
        outgoing_media_dir=tmp_path,
        public_url=lambda: public_url,
        shelf=MediaShelf(),
        policy=OutboxPolicy(**defaults),  # type: ignore[arg-type]
        clock=clock,
    )


def queue(
    store: Store, body: str, attachments: tuple[outbox_writes.OutgoingAttachment, ...] = ()
) -> int:
    return store.writer.call(
        lambda tx: outbox_writes.queue_outbound(tx, OURS, CUSTOMER, body, attachments)
    ).message_id


def outbox(store: Store, message_id: int) -> tuple[str, int, str, int | None]:
    row = (
        store.reader()
        .execute(
            "SELECT state, next_attempt_at, last_error, error_code FROM outbox "
            "WHERE message_id = ?",
            (message_id,),
        )
        .fetchone()
    )
    return (row[0], row[1], row[2], row[3])


def test_sending_is_recorded_before_the_request_and_the_status_callback_is_ours(
    store: Store, tmp_path: Path
) -> None:
    gateway, clock = FakeGateway(store), Clock()
    worker = make(store, gateway, tmp_path, clock)
    message_id = queue(store, "Hi")
    run_once(worker)
    [send] = gateway.sends
    assert send.outbox_state_at_call == "sending"
    assert send.status_callback == "https://calm-otter.ngrok-free.app/twilio/status"
    assert outbox(store, message_id)[0] == "sent"


def test_temporary_failures_back_off_and_honour_retry_after(store: Store, tmp_path: Path) -> None:
    network = TwilioProblem("Cannot reach Twilio: the internet connection seems to be down.")
    limited = RateLimited("slow down", code=20429, status=429, retry_after_s=45.0)
    gateway, clock = (
        FakeGateway(store, script=[raises(network), raises(network), raises(limited)]),
        Clock(),
    )
    reachability: list[TwilioProblem | None] = []
    worker = make(store, gateway, tmp_path, clock)
    worker._on_reachability = reachability.append
    message_id = queue(store, "Hi")

    waits = []
    for _ in range(3):
        run_once(worker)
        state, next_at, error, _ = outbox(store, message_id)
        assert state == "queued"
        waits.append(round(next_at / 1000 - clock.now))
        clock.now = next_at / 1000
    assert waits == [2, 5, 45]  # capped backoff; Twilio's Retry-After wins when longer
    assert error == "slow down"
    run_once(worker)
    assert outbox(store, message_id)[0] == "sent"
    assert reachability == [network, network, None, None]


def test_maybe_sent_waits_for_the_log_then_finds_the_message(store: Store, tmp_path: Path) -> None:
    timeout = TwilioProblem("Twilio did not answer in time.", maybe_sent=True)
    gateway, clock = FakeGateway(store, script=[raises(timeout)]), Clock()
    worker = make(store, gateway, tmp_path, clock, retry_delays_s=(0.5,))
    message_id = queue(store, "It’s ready — come by…")
    run_once(worker)
    state, next_at, _, _ = outbox(store, message_id)
    assert state == "unknown"
    assert next_at / 1000 - clock.now == pytest.approx(3.0, abs=0.01)

    # Twilio's Smart Encoding stored plain punctuation; an older identical text is known.
    known = remote("It's ready - come by...", at_ms=int(clock.now * 1000), sid="SM" + "a" * 32)
    store.writer.call(lambda tx: outbox_writes.queue_outbound(tx, OURS, CUSTOMER, "other"))
    store.writer.call(lambda tx: writes.mark_sent(tx, 2, known.sid, "delivered"))
    ours = remote("It's ready - come by...", at_ms=int(clock.now * 1000) + 10)
    gateway.log = [ours, known]
    clock.now = next_at / 1000
    run_once(worker)
    assert outbox(store, message_id)[0] == "sent"
    sid = store.reader().execute("SELECT sid FROM messages WHERE id = ?", (message_id,)).fetchone()
    assert sid[0] == ours.sid
    assert len(gateway.sends) == 1


def test_a_maybe_sent_message_that_is_not_in_the_log_is_sent_again(
    store: Store, tmp_path: Path
) -> None:
    dropped = TwilioProblem("The connection broke off.", maybe_sent=True)
    gateway, clock = FakeGateway(store, script=[raises(dropped)]), Clock()
    worker = make(store, gateway, tmp_path, clock, settle_s=0.0, retry_delays_s=(0.0,))
    message_id = queue(store, "Hi")
    run_once(worker)
    assert outbox(store, message_id)[0] == "unknown"
    # An identical text from long before our first attempt does not count.
    gateway.log = [remote("Hi", at_ms=int((clock.now - 3600) * 1000))]
    run_once(worker)
    assert outbox(store, message_id)[0] == "sent"
    assert len(gateway.sends) == 2
    assert gateway.listings == 1


def test_an_unanswerable_lookup_keeps_the_row_unknown_and_never_sends(
    store: Store, tmp_path: Path
) -> None:
    gateway, clock = FakeGateway(store), Clock()
    gateway.list_error = TwilioProblem("Cannot reach Twilio.")
    worker = make(store, gateway, tmp_path, clock, give_up_after_s=600.0)
    message_id = queue(store, "Hi")
    store.writer.call(lambda tx: outbox_writes.mark_sending(tx, message_id))
    store.writer.call(outbox_writes.recover_interrupted_sends)
    run_once(worker)
    assert outbox(store, message_id)[0] == "unknown"
    assert gateway.sends == []

    clock.now += 3600
    run_once(worker)
    state, _, error, _ = outbox(store, message_id)
    assert state == "failed"
    assert "could not confirm whether this message was sent" in error
    assert gateway.sends == []


def test_messages_that_could_not_go_for_hours_fail_instead_of_going_out_late(
    store: Store, tmp_path: Path
) -> None:
    gateway, clock = FakeGateway(store), Clock()
    worker = make(store, gateway, tmp_path, clock, give_up_after_s=3600.0)
    message_id = queue(store, "On my way")
    clock.now += 2 * 3600
    run_once(worker)
    state, _, error, _ = outbox(store, message_id)
    assert state == "failed"
    assert "Press Retry" in error
    assert gateway.sends == []
    assert store.writer.call(lambda tx: outbox_writes.requeue(tx, message_id))


def test_pictures_wait_briefly_for_the_tunnel_then_fail_plainly(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "p.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    attachment = outbox_writes.OutgoingAttachment("p.png", "image/png", 8)
    gateway, clock = FakeGateway(store), Clock()
    worker = make(store, gateway, tmp_path, clock, public_url=None, media_wait_s=60.0)
    message_id = queue(store, "", (attachment,))
    run_once(worker)
    assert outbox(store, message_id)[:1] == ("queued",)
    assert outbox(store, message_id)[2] == WAITING_FOR_URL_TEXT
    clock.now += 120
    run_once(worker)
    assert outbox(store, message_id)[0] == "failed"
    assert outbox(store, message_id)[2] == NO_PUBLIC_URL_TEXT
    assert gateway.sends == []


def test_pictures_are_offered_through_the_shelf_and_a_missing_file_fails(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "p.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    gateway, clock = FakeGateway(store), Clock()
    worker = make(store, gateway, tmp_path, clock)
    good = queue(store, "x-ray", (outbox_writes.OutgoingAttachment("p.png", "image/png", 8),))
    gone = queue(store, "lost", (outbox_writes.OutgoingAttachment("gone.png", "image/png", 8),))
    run_once(worker)
    [send] = gateway.sends
    [url] = send.media_urls
    assert url.startswith("https://calm-otter.ngrok-free.app/media/")
    assert len(url) > 60
    assert outbox(store, good)[0] == "sent"
    assert outbox(store, gone)[0] == "failed"
    assert "missing" in outbox(store, gone)[2]


def test_21610_marks_the_conversation_opted_out(store: Store, tmp_path: Path) -> None:
    stop = TwilioProblem(
        "replied STOP (Twilio error 21610)", code=21610, status=400, permanent=True
    )
    gateway, clock = FakeGateway(store, script=[raises(stop)]), Clock()
    worker = make(store, gateway, tmp_path, clock)
    first = queue(store, "one")
    second = queue(store, "two")
    run_once(worker)
    assert outbox(store, first)[0] == "failed"
    assert outbox(store, first)[3] == 21610
    assert outbox(store, second)[0] == "failed"  # refused before calling Twilio
    assert len(gateway.sends) == 1
    opted = store.reader().execute("SELECT opted_out FROM conversations").fetchone()[0]
    assert opted == 1


def test_the_worker_thread_wakes_on_queue_and_stops_quickly(store: Store, tmp_path: Path) -> None:
    gateway = FakeGateway(store)
    worker = make(store, gateway, tmp_path, Clock())
    worker._clock = time.time
    worker.start()
    try:
        message_id = queue(store, "Hi")
        deadline = time.monotonic() + 5
        while outbox(store, message_id)[0] != "sent":
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        started = time.monotonic()
        worker.stop()
        assert time.monotonic() - started < 1.0
    assert not any(t.name == "outbox" for t in threading.enumerate())


@pytest.mark.parametrize(
    ("ours", "theirs", "same"),
    [
        ("Hello", "Hello", True),
        ("“Quoted” – fine…", '"Quoted" - fine...', True),
        ("two  spaces ", "two spaces", True),
        ("Hello", "Hello!", False),
        ("", "", True),
    ],
)
def test_same_text_allows_for_smart_encoding(ours: str, theirs: str, same: bool) -> None:
    assert same_text(ours, theirs) is same


def test_two_identical_texts_in_flight_are_never_merged_into_one(
    store: Store, tmp_path: Path
) -> None:
    """A backfill may adopt the wrong one of two "OK"s; the right SID must not delete the other."""
    from desktop.domain.models import Direction, NewMessage, Source

    gateway, clock = FakeGateway(store), Clock()
    worker = make(store, gateway, tmp_path, clock, settle_s=0.0, retry_delays_s=(0.0,))
    first = queue(store, "OK")
    second = queue(store, "OK")
    store.writer.call(lambda tx: outbox_writes.mark_sending(tx, first))
    store.writer.call(outbox_writes.recover_interrupted_sends)  # first: outcome unknown
    store.writer.call(lambda tx: outbox_writes.mark_sending(tx, second))  # second: in flight
    twilio_has = remote("OK", at_ms=int(clock.now * 1000))  # only the second reached Twilio
    backfilled = NewMessage(
        twilio_has.sid, Direction.OUTBOUND, OURS, CUSTOMER, "OK", "sent", 1, Source.BACKFILL
    )
    store.writer.call(lambda tx: writes.insert_message(tx, backfilled))  # adopts `first`
    store.writer.call(lambda tx: writes.mark_sent(tx, second, twilio_has.sid, "queued"))

    assert outbox(store, first)[0] == "unknown"
    gateway.log = [twilio_has]
    run_once(worker)
    rows = store.reader().execute("SELECT id, sid FROM messages ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [first, second]
    assert rows[1][1] == twilio_has.sid
    assert rows[0][1] not in (None, twilio_has.sid)  # sent once, on its own
    assert len(gateway.sends) == 1
