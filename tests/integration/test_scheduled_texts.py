"""Scheduled texts against the simulated Twilio over real sockets, with the real receiver.

Twilio holds a text when our number is in a Messaging Service (``ScheduleType=fixed``,
``SendAt``); otherwise the outbox sends it when due and asks before sending one that is
more than an hour late.  A STOP cancels what waits for that customer, both kinds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from desktop.domain.schedule import Holder
from desktop.gateway.rest_types import TwilioProblem
from desktop.messaging import CannotSend, Messaging
from desktop.store import scheduled
from desktop.store.writer import Tx
from desktop.sync.service import SyncService
from desktop.workers import TaskPool
from tests.integration.test_sync_harness import SyncEnv, sync_env, wait_until
from tests.twilio_helpers import CUSTOMER, OUR_NUMBER


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SyncEnv]:
    with sync_env(tmp_path) as environment:
        yield environment


@pytest.fixture
def tasks() -> Iterator[TaskPool]:
    pool = TaskPool(1, "test-task")
    yield pool
    pool.shutdown()


def _messaging(env: SyncEnv, tasks: TaskPool, service: SyncService | None = None) -> Messaging:
    def in_service(number: str) -> bool:
        directory = service.services.last if service is not None else None
        return directory is not None and directory.service_of(number) is not None

    return Messaging(env.store, env.paths.outgoing_media, tasks, in_service=in_service)


def _with_service(env: SyncEnv) -> tuple[str, SyncService]:
    mg = env.sim.add_messaging_service([OUR_NUMBER], friendly_name="Pearl Dental")
    service = env.service()
    wait_until(lambda: service.webhook_result is not None, what="the webhook set up")
    service.services.refresh()
    return mg, service


def _status(env: SyncEnv, message_id: int) -> str:
    return str(env.scalar("SELECT status FROM messages WHERE id = ?", (message_id,)))


def _sid(env: SyncEnv, message_id: int) -> str | None:
    found = env.scalar("SELECT sid FROM messages WHERE id = ?", (message_id,))
    return None if found is None else str(found)


def _schedule(env: SyncEnv, message_id: int) -> scheduled.Schedule:
    found = scheduled.schedule_of(env.store.reader(), message_id)
    assert found is not None
    return found


def _queue(messaging: Messaging, body: str, at: datetime) -> int:
    return messaging.schedule(OUR_NUMBER, CUSTOMER, body, at).result(5).message_id


def _late(env: SyncEnv, body: str, send_at_ms: int) -> int:
    def job(tx: Tx) -> int:
        return scheduled.queue_scheduled(
            tx, OUR_NUMBER, CUSTOMER, body, send_at_ms, Holder.LOCAL
        ).message_id

    return env.store.writer.call(job)


def _in(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_twilio_holds_a_text_scheduled_through_the_service_and_sends_it_at_its_time(
    env: SyncEnv, tasks: TaskPool
) -> None:
    mg, service = _with_service(env)
    messaging = _messaging(env, tasks, service)
    due = _in(2 * 3600)
    message_id = _queue(messaging, "See you at 9 tomorrow", due)
    assert _schedule(env, message_id).kind is Holder.TWILIO

    wait_until(lambda: _status(env, message_id) == "scheduled", what="Twilio holding it")
    sid = _sid(env, message_id)
    assert sid is not None
    held = env.sim.message(sid)
    assert held is not None
    assert (held.status, held.messaging_service_sid, held.from_) == ("scheduled", mg, OUR_NUMBER)
    assert held.send_at == due.replace(microsecond=0)
    assert [w.message_id for w in messaging.scheduled_texts()] == [message_id]

    env.sim.advance_clock(2 * 3600 + 5)  # the next morning, at Twilio
    wait_until(lambda: _status(env, message_id) == "delivered", what="delivered at its time")
    assert env.sim.create_count(CUSTOMER, "See you at 9 tomorrow") == 1
    assert messaging.scheduled_texts() == []


def test_without_a_service_the_outbox_sends_it_when_due_and_not_before(
    env: SyncEnv, tasks: TaskPool
) -> None:
    env.service()
    messaging = _messaging(env, tasks)
    due = _in(1.0)
    message_id = _queue(messaging, "Your table is ready", due)
    plan = _schedule(env, message_id)
    assert (plan.kind, plan.state) == (Holder.LOCAL, "pending")
    assert env.sim.create_attempt_count(CUSTOMER, "Your table is ready") == 0

    wait_until(lambda: _sid(env, message_id) is not None, what="sent when due")
    sent = env.sim.message(str(_sid(env, message_id)))
    assert sent is not None
    assert sent.date_created >= due - timedelta(milliseconds=50)
    assert _schedule(env, message_id).state == "done"
    wait_until(lambda: _status(env, message_id) == "delivered")


def test_a_local_text_found_over_an_hour_late_waits_for_staff(
    env: SyncEnv, tasks: TaskPool
) -> None:
    # The app was closed (or the laptop asleep) through both texts' time.
    two_hours_ago = int((time.time() - 2 * 3600) * 1000)
    first = _late(env, "Reminder: cleaning at 9", two_hours_ago)
    second = _late(env, "Reminder: bring your forms", two_hours_ago)
    messaging = _messaging(env, tasks)
    env.service()

    wait_until(lambda: len(messaging.late_texts()) == 2, what="both asked about")
    assert env.sim.create_attempt_count(CUSTOMER, "Reminder: cleaning at 9") == 0
    assert _status(env, first) == "pending"

    assert messaging.send_late_now(first).result(5) is True
    assert messaging.cancel_late(second).result(5) == "canceled"
    wait_until(lambda: _sid(env, first) is not None, what="sent after staff said so")
    assert env.sim.create_count(CUSTOMER, "Reminder: cleaning at 9") == 1
    assert _status(env, second) == "canceled"
    assert _schedule(env, second).reason == scheduled.CANCELED_LATE
    assert messaging.late_texts() == []
    assert env.sim.create_attempt_count(CUSTOMER, "Reminder: bring your forms") == 0


def _plan_canceled(env: SyncEnv, message_id: int) -> bool:
    return _schedule(env, message_id).state == "canceled"


def test_a_stop_cancels_everything_waiting_for_that_customer(env: SyncEnv, tasks: TaskPool) -> None:
    _mg, service = _with_service(env)
    messaging = _messaging(env, tasks, service)
    held = _queue(messaging, "Spring offer", _in(3 * 3600))
    soon = _queue(messaging, "Doors open soon", _in(600))
    assert _schedule(env, soon).kind is Holder.LOCAL  # under 15 minutes: the outbox keeps it
    wait_until(lambda: _status(env, held) == "scheduled")
    sid = _sid(env, held)
    assert sid is not None

    env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "STOP")
    wait_until(lambda: _status(env, held) == "canceled", what="the Twilio-held one canceled")
    wait_until(lambda: _status(env, soon) == "canceled", what="the local one canceled")
    remote = env.sim.message(sid)
    assert remote is not None
    assert remote.status == "canceled"
    for message_id in (held, soon):
        # the message shows canceled first; its plan records the cancel right after
        wait_until(partial(_plan_canceled, env, message_id), what="the plan marked canceled")
        plan = _schedule(env, message_id)
        assert (plan.state, plan.reason) == ("canceled", scheduled.CANCELED_BY_STOP)
    assert messaging.scheduled_texts() == []
    with pytest.raises(CannotSend, match="replied STOP"):
        messaging.schedule(OUR_NUMBER, CUSTOMER, "One more", _in(3600))


def test_staff_cancel_and_edit_a_text_twilio_holds(env: SyncEnv, tasks: TaskPool) -> None:
    _mg, service = _with_service(env)
    messaging = _messaging(env, tasks, service)
    first = _queue(messaging, "Pick up at 5", _in(3600))
    second = _queue(messaging, "Pick up at 6", _in(7200))
    wait_until(lambda: _status(env, first) == _status(env, second) == "scheduled")
    first_sid, second_sid = _sid(env, first), _sid(env, second)

    assert messaging.cancel_scheduled(first).result(5) == "canceling"
    wait_until(lambda: _status(env, first) == "canceled", what="canceled at Twilio")
    remote = env.sim.message(str(first_sid))
    assert remote is not None
    assert remote.status == "canceled"
    assert _schedule(env, first).reason == scheduled.CANCELED_BY_STAFF

    new_time = _in(3 * 3600)
    edited = messaging.edit_scheduled(second, "Pick up at 7 instead", new_time).result(5)
    assert edited != second
    wait_until(lambda: _status(env, second) == "canceled" and _status(env, edited) == "scheduled")
    assert _schedule(env, second).reason == scheduled.CANCELED_BY_EDIT
    old = env.sim.message(str(second_sid))
    new = env.sim.message(str(_sid(env, edited)))
    assert old is not None
    assert new is not None
    assert old.status == "canceled"
    assert (new.body, new.send_at) == ("Pick up at 7 instead", new_time.replace(microsecond=0))
    assert [w.message_id for w in messaging.scheduled_texts()] == [edited]


def test_times_outside_the_window_are_refused_in_plain_words(env: SyncEnv, tasks: TaskPool) -> None:
    _mg, service = _with_service(env)
    messaging = _messaging(env, tasks, service)
    with pytest.raises(CannotSend, match="at most 35 days ahead"):
        messaging.schedule(OUR_NUMBER, CUSTOMER, "Next season", _in(36 * 86400))
    with pytest.raises(CannotSend, match="already passed"):
        messaging.schedule(OUR_NUMBER, CUSTOMER, "Yesterday", _in(-60))

    # Twilio's own refusal (SendAt too close), as the gateway reports it.
    with pytest.raises(TwilioProblem) as refused:
        env.gateway().send_message(
            to=CUSTOMER,
            from_=OUR_NUMBER,
            body="Too soon",
            messaging_service_sid=_mg,
            send_at=_in(120),
        )
    assert refused.value.code == 35114
    assert "between 15 minutes and 35 days ahead" in str(refused.value)
    assert refused.value.permanent
