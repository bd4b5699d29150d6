"""``--no-tunnel``: no webhooks at all, so Twoway polls Twilio's log and message statuses."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.domain.connection import Link
from desktop.store import queries
from tests.integration.test_sync_harness import SyncEnv, sync_env, wait_until
from tests.twilio_helpers import CUSTOMER, OUR_NUMBER


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SyncEnv]:
    with sync_env(tmp_path, with_receiver=False) as environment:
        yield environment


def _count(env: SyncEnv, sql: str, params: tuple[object, ...] = ()) -> int:
    return int(env.scalar(sql, params))


def test_polling_picks_up_new_messages_and_delivery_statuses(env: SyncEnv) -> None:
    service = env.service(poll_interval_s=0.1)
    wait_until(lambda: service.last_backfill is not None)
    assert env.board.snapshot.link is Link.POLLING

    inbound = env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "Are you open on Saturday?")
    wait_until(
        lambda: _count(env, "SELECT count(*) FROM messages WHERE sid = ?", (inbound.sid,)) == 1
    )
    source, unread = env.row(
        "SELECT m.source, c.unread_count FROM messages m "
        "JOIN conversations c ON c.id = m.conversation_id WHERE m.sid = ?",
        (inbound.sid,),
    )
    assert (source, unread) == ("poll", 1)  # after the first sync, new texts are unread

    env.sim.faults.mark_landline("+15035550188")
    delivered = env.queue("Yes, 9 to 1")
    undelivered = env.queue("Your prescription is ready", to="+15035550188")
    wait_until(
        lambda: env.scalar("SELECT status FROM messages WHERE id = ?", (delivered,)) == "delivered"
    )
    wait_until(
        lambda: (
            env.row("SELECT status, error_code FROM messages WHERE id = ?", (undelivered,))
            == ("undelivered", 30006)
        )
    )
    assert env.sim.deliveries("status") == []  # nobody could have called us back
    assert _count(env, "SELECT count(*) FROM messages") == 3


def test_twilio_down_shows_offline_then_recovers(env: SyncEnv) -> None:
    service = env.service(poll_interval_s=0.1)
    wait_until(lambda: service.last_backfill is not None)
    env.sim.faults.start_outage(503)
    wait_until(lambda: env.board.snapshot.problem != "")
    assert "Twilio is having trouble" in env.board.snapshot.problem

    env.sim.faults.end_outage()
    env.sim.send_inbound(CUSTOMER, OUR_NUMBER, "Hello again")
    wait_until(lambda: env.board.snapshot.problem == "")
    wait_until(lambda: queries.total_unread(env.store.reader()) == 1)
    assert env.board.snapshot.link is Link.POLLING


def test_no_network_is_shown_as_offline(env: SyncEnv) -> None:
    with socket.socket() as closed:  # bound but not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        env.api_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        service = env.service(poll_interval_s=0.1)
        wait_until(lambda: env.board.snapshot.link is Link.OFFLINE)
        assert "Cannot reach Twilio" in env.board.snapshot.problem
        assert service.last_backfill is None
