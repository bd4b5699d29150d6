"""The outbox against the simulated Twilio over real HTTP: exactly once, or a visible failure."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.simulator.images import landscape_png
from desktop.store import outbox_writes, queries, writes
from desktop.store.service import Store
from desktop.sync.outbox import NO_PUBLIC_URL_TEXT
from tests.integration.test_sync_harness import SyncEnv, sync_env, wait_until
from tests.twilio_helpers import CUSTOMER, OUR_NUMBER


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SyncEnv]:
    with sync_env(tmp_path) as environment:
        yield environment


def _sent(env: SyncEnv, message_id: int, timeout: float = 5.0) -> str:
    wait_until(lambda: env.outbox_state(message_id) == "sent", timeout, f"message {message_id}")
    return str(env.scalar("SELECT sid FROM messages WHERE id = ?", (message_id,)))


def _failed(env: SyncEnv, message_id: int) -> tuple[str, int | None, str]:
    wait_until(lambda: env.outbox_state(message_id) == "failed", 5.0, f"message {message_id}")
    state = queries.outbox_state(env.store.reader(), message_id)
    assert state is not None
    status = str(env.scalar("SELECT status FROM messages WHERE id = ?", (message_id,)))
    return state[1], state[2], status


def test_a_text_goes_out_once_and_late_callbacks_never_move_it_backwards(env: SyncEnv) -> None:
    env.sim.faults.set_callbacks_out_of_order(True)  # "sent" arrives after "delivered"
    env.service()
    message_id = env.queue("Your appointment is confirmed for 3:30")

    sid = _sent(env, message_id)
    sent = env.sim.message(sid)
    assert sent is not None
    assert (sent.from_, sent.to, sent.body) == (OUR_NUMBER, CUSTOMER, sent.body)
    assert sent.status_callback == f"{env.public_url}/twilio/status"
    env.sim.wait_for_deliveries(3, kind="status", message_sid=sid)
    statuses = [a.param("MessageStatus") for a in env.sim.deliveries("status", sid)]
    assert statuses == ["sending", "delivered", "sent"]
    assert all(a.status_code == 200 for a in env.sim.deliveries("status", sid))
    wait_until(
        lambda: env.scalar("SELECT status FROM messages WHERE id = ?", (message_id,)) == "delivered"
    )
    assert env.sim.create_count(CUSTOMER, "Your appointment is confirmed for 3:30") == 1


def test_a_picture_is_fetched_by_twilio_from_the_receiver(env: SyncEnv) -> None:
    picture = landscape_png(40, 30)
    (env.paths.outgoing_media / "xray.png").write_bytes(picture)
    attachment = outbox_writes.OutgoingAttachment("xray.png", "image/png", len(picture))
    env.service()
    message_id = env.queue("Here is your x-ray", attachments=(attachment,))

    sid = _sent(env, message_id)
    assert sid.startswith("MM")
    delivered = env.sim.wait_for_status(sid, "delivered")
    assert [m.data for m in delivered.media] == [picture]
    [fetch] = env.sim.deliveries("media_fetch", sid)
    assert fetch.url.startswith(f"{env.public_url}/media/")
    assert fetch.status_code == 200


def test_without_a_public_url_pictures_are_refused_plainly_and_texts_still_go(
    env: SyncEnv,
) -> None:
    env.public_url = None
    (env.paths.outgoing_media / "a.png").write_bytes(landscape_png(8, 8))
    attachment = outbox_writes.OutgoingAttachment("a.png", "image/png", 10)
    env.service()
    picture_id = env.queue("See attached", attachments=(attachment,))
    text_id = env.queue("Just text")

    error, code, status = _failed(env, picture_id)
    assert error == NO_PUBLIC_URL_TEXT
    assert (code, status) == (None, "failed")
    sid = _sent(env, text_id)
    sent = env.sim.message(sid)
    assert sent is not None
    assert sent.status_callback == ""
    assert env.sim.create_attempt_count(CUSTOMER, "See attached") == 0


@pytest.mark.parametrize(
    ("setup", "to", "code", "words"),
    [
        ("none", "+1555", 21211, "not a valid phone number"),
        ("not_mobile", CUSTOMER, 21614, "not a mobile number"),
        ("region", "+442079460958", 21408, "Geo permissions"),
        ("opted_out", CUSTOMER, 21610, "replied STOP"),
        ("bad_sender", CUSTOMER, 21606, "Choose another of your numbers"),
    ],
)
def test_permanent_refusals_stop_at_once_and_say_why(
    env: SyncEnv, setup: str, to: str, code: int, words: str
) -> None:
    if setup == "not_mobile":
        env.sim.faults.mark_not_mobile(to)
    elif setup == "region":
        env.sim.faults.disable_region("GB")
    elif setup == "opted_out":
        env.sim.state.set_opted_out(to, OUR_NUMBER, True)
    elif setup == "bad_sender":
        env.sim.faults.fail_next_creates(1, code=21606, status=400)
    env.service()
    message_id = env.queue("Reminder: cleaning tomorrow", to=to)

    error, error_code, status = _failed(env, message_id)
    assert words in error
    assert f"(Twilio error {code})" in error
    assert (error_code, status) == (code, "failed")
    assert env.sim.create_attempt_count(to, "Reminder: cleaning tomorrow") == 1
    assert env.sim.create_count(to, "Reminder: cleaning tomorrow") == 0
    conversation = queries.conversation(
        env.store.reader(),
        int(env.scalar("SELECT conversation_id FROM messages WHERE id = ?", (message_id,))),
    )
    assert conversation is not None
    assert conversation.opted_out == (code == 21610)


def test_rate_limits_and_outages_are_retried_until_the_message_goes(env: SyncEnv) -> None:
    env.sim.faults.fail_next_creates(2, code=20429, status=429)
    env.service()
    first = env.queue("Slow down")
    _sent(env, first)
    assert env.sim.create_attempt_count(CUSTOMER, "Slow down") == 3
    assert env.sim.create_count(CUSTOMER, "Slow down") == 1

    env.sim.faults.start_outage(503, seconds=0.3)
    second = env.queue("During an outage")
    _sent(env, second)
    assert env.sim.create_count(CUSTOMER, "During an outage") == 1


def test_a_dropped_connection_after_create_never_sends_twice(env: SyncEnv) -> None:
    env.service()
    earlier = env.queue("On my way")
    earlier_sid = _sent(env, earlier)
    env.sim.faults.drop_next_create_response()
    again = env.queue("On my way")  # staff really sent the same words twice

    sid = _sent(env, again)
    assert sid != earlier_sid  # not mistaken for the earlier identical text
    assert env.sim.create_attempt_count(CUSTOMER, "On my way") == 2
    assert env.sim.create_count(CUSTOMER, "On my way") == 2
    assert env.scalar("SELECT count(*) FROM messages WHERE body = 'On my way'") == 2


def test_a_timeout_after_the_request_was_written_never_sends_twice(env: SyncEnv) -> None:
    env.sim.faults.set_latency(0.6)  # Twilio answers after we stopped listening
    env.service(gateway=env.gateway(read_timeout=0.3))
    message_id = env.queue("Are you still coming?")

    env.sim.wait_until(lambda: env.sim.create_count(CUSTOMER, "Are you still coming?") == 1)
    wait_until(lambda: env.outbox_state(message_id) == "unknown")
    env.sim.faults.set_latency(0.0)
    sid = _sent(env, message_id)
    assert env.sim.message(sid) is not None
    assert env.sim.create_attempt_count(CUSTOMER, "Are you still coming?") == 1


def test_unsent_messages_survive_a_restart_and_each_goes_out_once(env: SyncEnv) -> None:
    env.sim.faults.set_latency(0.02)
    service = env.service()
    ids = [env.queue(f"Batch message {i}") for i in range(20)]
    wait_until(lambda: env.scalar("SELECT count(*) FROM outbox WHERE state = 'sent'") >= 5)
    service.stop()
    env.store.close()
    # A crash between Twilio accepting a message and us hearing about it:
    gateway = env.gateway()
    crashed = gateway.send_message(to=CUSTOMER, from_=OUR_NUMBER, body="Batch message 19")
    reopened = Store(env.paths.database, env.paths.backups)
    reopened.open()
    env.store = reopened
    reopened.writer.call(lambda tx: outbox_writes.mark_sending(tx, ids[-1]))
    env.sim.faults.set_latency(0.0)

    env.service()
    for message_id in ids:
        _sent(env, message_id)
    for i in range(20):
        assert env.sim.create_count(CUSTOMER, f"Batch message {i}") == 1, i
    assert env.scalar("SELECT sid FROM messages WHERE id = ?", (ids[-1],)) == crashed.sid
    reopened.close()


def test_a_queued_message_to_an_opted_out_customer_never_reaches_twilio(env: SyncEnv) -> None:
    env.store.writer.call(lambda tx: writes.set_opted_out(tx, OUR_NUMBER, CUSTOMER, True))
    env.service()
    message_id = env.queue("Special offer!")
    error, code, _ = _failed(env, message_id)
    assert "replied STOP" in error
    assert code == 21610
    assert env.sim.create_attempt_count(CUSTOMER, "Special offer!") == 0


def test_throughput_of_the_outbox(env: SyncEnv, capsys: pytest.CaptureFixture[str]) -> None:
    env.public_url = None  # no status callbacks: measure the outbox alone
    env.service()
    started = time.perf_counter()
    ids = [env.queue(f"Bulk {i}", to=f"+1503555{2000 + i:04d}") for i in range(200)]
    wait_until(
        lambda: env.scalar("SELECT count(*) FROM outbox WHERE state = 'sent'") == len(ids), 20
    )
    rate = len(ids) / (time.perf_counter() - started)
    with capsys.disabled():
        print(f"\noutbox throughput: {rate:.0f} sends/s")
    assert rate > 20
