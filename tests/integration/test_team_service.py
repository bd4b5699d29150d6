"""Team mode's Qt-free service: two and three laptops (each its own database and data
folder) sharing one simulated account's Twilio Sync over real sockets."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop.config import Paths
from desktop.gateway.rest import RestGateway
from desktop.simulator.scheduling import SimClock
from desktop.simulator.server import SimulatedTwilio
from desktop.store import outbox_writes, writes
from desktop.store.service import Store
from desktop.team.service import LIVE_MAP, TeamService, TeamTimings, typing_key
from tests.fakes.switchable_link import SwitchableLink
from tests.integration.test_sync_harness import Credentials, wait_until
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN

OURS = "+15035550100"
CUSTOMER = "+15035550123"
TTL_S = 3.0


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as s:
        s.add_number(OURS)
        yield s


class Laptop:
    def __init__(
        self, root: Path, name: str, base_url: str, timings: TeamTimings | None = None
    ) -> None:
        self.paths = Paths(root / name)
        self.paths.create()
        self.store = Store(self.paths.database, self.paths.backups)
        self.store.open()
        self.name = name
        self.gateway = RestGateway(Credentials(), base_url, read_timeout=5)
        self.owner_changes: list[bool] = []
        self.team = TeamService(
            self.gateway,
            self.store,
            state_dir=self.paths.state,
            name=lambda: self.name,
            timings=timings or TeamTimings.scaled(TTL_S),
            on_owner_changed=self.owner_changes.append,
        )

    def conversation(self) -> int:
        return self.store.writer.call(lambda tx: writes.ensure_conversation(tx, OURS, CUSTOMER))

    def contact_name(self) -> str:
        row = (
            self.store.reader()
            .execute("SELECT name FROM contacts WHERE e164 = ?", (CUSTOMER,))
            .fetchone()
        )
        return str(row[0]) if row else ""

    def close(self, *, release: bool = True) -> None:
        self.team.stop(release=release)
        self.store.close()
        self.gateway.close()


@pytest.fixture
def laptops(tmp_path: Path, sim: SimulatedTwilio) -> Iterator[Callable[..., Laptop]]:
    made: list[Laptop] = []

    def make(name: str, timings: TeamTimings | None = None) -> Laptop:
        laptop = Laptop(tmp_path, name, sim.base_url, timings)
        made.append(laptop)
        return laptop

    yield make
    for laptop in made:
        laptop.close()


def _owners(*laptops: Laptop) -> list[str]:
    return [laptop.name for laptop in laptops if laptop.team.is_owner]


def test_three_laptops_one_owner_and_no_flapping(laptops: Callable[..., Laptop]) -> None:
    team = [laptops(n) for n in ("Sam", "Alex", "Kim")]
    for laptop in team:
        laptop.team.start()
    wait_until(lambda: len(_owners(*team)) == 1, 5, "one owner")
    wait_until(
        lambda: all(len(x.team.status.members) == 3 for x in team), 5, "everyone sees everyone"
    )
    owner = next(x for x in team if x.team.is_owner)
    # Over two lease lifetimes the owner never changes and nobody else ever held it.
    until = time.monotonic() + 2 * TTL_S
    while time.monotonic() < until:
        assert _owners(*team) == [owner.name]
        time.sleep(0.05)
    assert owner.owner_changes == [True]
    assert all(x.owner_changes == [] for x in team if x is not owner)
    assert {x.team.status.holder for x in team} == {owner.name}


def _owner_and_follower(
    laptops: Callable[..., Laptop],
) -> tuple[Laptop, Laptop, threading.Event]:
    """Sam holds the webhook and Alex follows; the event is set when Alex takes over."""
    first, second = laptops("Sam"), laptops("Alex")
    first.team.start()
    wait_until(lambda: first.team.is_owner, 5, "first owner")
    second.team.start()
    wait_until(lambda: second.team.status.holder == "Sam", 5, "second follows")
    took_over = threading.Event()
    second.team.subscribe(lambda s: took_over.set() if s.owner else None)
    return first, second, took_over


def test_a_vanished_owner_is_replaced_within_the_lease_time(
    laptops: Callable[..., Laptop],
) -> None:
    first, _second, took_over = _owner_and_follower(laptops)
    first.team.stop(release=False)  # as if the laptop died: no goodbye
    gone = time.monotonic()
    assert took_over.wait(TTL_S + 2)
    takeover_s = time.monotonic() - gone
    print(f"takeover after {takeover_s:.2f} s (lease TTL {TTL_S} s)")
    assert takeover_s <= TTL_S + 0.5


def test_an_owner_that_quits_hands_the_webhook_over_without_waiting_for_the_lease(
    laptops: Callable[..., Laptop],
) -> None:
    first, second, took_over = _owner_and_follower(laptops)
    first.team.stop()  # quits: hands the lease back
    quit_at = time.monotonic()
    assert took_over.wait(TTL_S + 2)
    handover_s = time.monotonic() - quit_at
    print(f"hand-over after {handover_s:.2f} s (reads every {second.team.timings.lease.check_s} s)")
    assert handover_s < TTL_S * 0.75  # one read period and a claim, not the lease running out


def test_a_rename_propagates_and_concurrent_renames_settle_by_revision(
    laptops: Callable[..., Laptop], sim: SimulatedTwilio
) -> None:
    a, b = laptops("Sam"), laptops("Alex")
    conv_a, conv_b = a.conversation(), b.conversation()
    a.team.start()
    b.team.start()
    wait_until(lambda: a.team.status.synced and b.team.status.synced, 5, "joined")
    a.store.writer.call(lambda tx: writes.rename_contact(tx, conv_a, "Maria Lopez"))
    wait_until(lambda: b.contact_name() == "Maria Lopez", 5, "rename reached Alex")
    # Both rename at once: one write meets 54205, re-reads, re-applies; both end equal.
    a.store.writer.call(lambda tx: writes.rename_contact(tx, conv_a, "Maria L."))
    b.store.writer.call(lambda tx: writes.rename_contact(tx, conv_b, "Mrs Lopez"))
    wait_until(
        lambda: a.contact_name() == b.contact_name() and a.contact_name() != "Maria Lopez",
        5,
        "both laptops agree",
    )
    assert a.contact_name() in ("Maria L.", "Mrs Lopez")
    assert len(a.team.pending) == len(b.team.pending) == 0


def test_an_idle_laptop_makes_at_most_30_sync_requests_a_minute(
    laptops: Callable[..., Laptop], sim: SimulatedTwilio
) -> None:
    team = [laptops("Sam"), laptops("Alex")]
    for laptop in team:
        laptop.team.start()
    wait_until(lambda: all(len(x.team.status.members) == 2 for x in team), 5, "settled")
    # Timings are 10x the real ones (TTL 3 s instead of 30 s): 6 s here is a minute there.
    minute = 60 * TTL_S / 30
    before = [x.team.client.requests for x in team]
    account_before = sim.sync.requests(ACCOUNT_SID)
    time.sleep(minute)
    per_laptop = [x.team.client.requests - b for x, b in zip(team, before, strict=True)]
    account = sim.sync.requests(ACCOUNT_SID) - account_before
    print(f"idle Sync requests a minute: per laptop {per_laptop}, the account saw {account}")
    assert max(per_laptop) <= 30


def test_edits_made_offline_are_applied_on_reconnect_even_after_a_restart(
    tmp_path: Path, laptops: Callable[..., Laptop], sim: SimulatedTwilio
) -> None:
    link = SwitchableLink(sim.base_url)
    try:
        a = laptops("Sam")
        b = Laptop(tmp_path, "Alex", link.url)
        a.conversation()
        conv_b = b.conversation()
        a.team.start()
        b.team.start()
        wait_until(lambda: a.team.status.synced and b.team.status.synced, 5, "joined")
        link.offline()  # Alex's Wi-Fi drops
        b.store.writer.call(lambda tx: writes.rename_contact(tx, conv_b, "Maria Lopez"))
        wait_until(lambda: len(b.team.pending) == 1, 5, "the edit queued")
        wait_until(lambda: b.team.status.problem != "", 5, "Alex knows he is offline")
        # Alex quits while offline; the queued edit is on disk.
        b.close(release=False)
        link.online()
        again = Laptop(tmp_path, "Alex", link.url)
        try:
            again.team.start()
            wait_until(lambda: a.contact_name() == "Maria Lopez", 5, "the offline rename arrived")
            wait_until(lambda: len(again.team.pending) == 0, 5, "nothing left queued")
        finally:
            again.close()
    finally:
        link.close()


def test_sync_rate_limits_are_waited_out(
    laptops: Callable[..., Laptop], sim: SimulatedTwilio
) -> None:
    sim.sync.throttle(ACCOUNT_SID, 3)  # the next three requests get 429 / 54009
    a = laptops("Sam")
    a.team.start()
    wait_until(lambda: a.team.is_owner, 10, "joined and took the lease despite 429s")
    assert a.team.status.problem == ""


def _replying(laptop: Laptop) -> list[str]:
    return laptop.team.replying_in(OURS, CUSTOMER)


@pytest.mark.parametrize(
    "sync_clock_ahead_s", [0.0, 3600.0, -3600.0], ids=["same-clock", "sync-ahead", "sync-behind"]
)
def test_is_replying_ends_when_the_typing_entry_expires_not_at_the_next_read(
    tmp_path: Path, sync_clock_ahead_s: float
) -> None:
    """Alex reads Sync only every minute here, yet "Sam is replying…" ends when Sam's
    typing entry expires — also when Alex's clock and Sync's disagree by an hour."""
    clock = SimClock(start=datetime.now(UTC) + timedelta(seconds=sync_clock_ahead_s))
    typing_ttl = 2
    timings = dataclasses.replace(
        TeamTimings.scaled(TTL_S), poll_s=60.0, presence_s=60.0, typing_ttl_s=typing_ttl
    )
    with SimulatedTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, clock=clock) as sim:
        sim.add_number(OURS)
        sam = Laptop(tmp_path, "Sam", sim.base_url, timings)
        alex = Laptop(tmp_path, "Alex", sim.base_url, timings)
        try:
            sam.team.start()
            alex.team.start()
            wait_until(lambda: sam.team.status.synced and alex.team.status.synced, 5, "joined")
            typed = time.monotonic()
            sam.team.replying(OURS, CUSTOMER)

            def alex_reads_sam_typing() -> bool:
                alex.team.live.refresh(always=True)  # a read of Sync, as Alex's poll does
                return _replying(alex) == ["Sam"]

            wait_until(alex_reads_sam_typing, 5, "Alex sees Sam typing")
            wait_until(lambda: _replying(alex) == [], typing_ttl + 1.0, "the notice to end")
            lasted = time.monotonic() - typed
            print(f"'Sam is replying' lasted {lasted:.2f} s (typing TTL {typing_ttl} s)")
            # Sync dates to the second: the notice may end up to a second before the TTL.
            assert lasted >= typing_ttl - 1.2
        finally:
            sam.close()
            alex.close()


def test_sending_ends_is_replying_for_colleagues_at_their_next_read(
    laptops: Callable[..., Laptop],
) -> None:
    timings = dataclasses.replace(TeamTimings.scaled(TTL_S), poll_s=0.5, typing_ttl_s=60)
    sam, alex = laptops("Sam", timings), laptops("Alex", timings)
    sam.team.start()
    alex.team.start()
    wait_until(lambda: sam.team.status.synced and alex.team.status.synced, 5, "joined")
    sam.team.replying(OURS, CUSTOMER)
    wait_until(lambda: _replying(alex) == ["Sam"], 5, "Alex sees Sam typing")

    sam.store.writer.call(
        lambda tx: outbox_writes.queue_outbound(tx, OURS, CUSTOMER, "Friday at 3 works")
    )
    sent = time.monotonic()
    wait_until(lambda: _replying(alex) == [], 5, "the notice to end once Sam sent")
    gone = time.monotonic() - sent
    print(f"'Sam is replying' gone {gone:.2f} s after Sam sent (Alex reads every 0.5 s)")
    assert sam.team.client.get_item(LIVE_MAP, typing_key(OURS, CUSTOMER)) is None

    # Sam starts the next text: colleagues see it again at once, not after a rate limit.
    sam.team.replying(OURS, CUSTOMER)
    wait_until(lambda: _replying(alex) == ["Sam"], 5, "Alex sees Sam typing again")


def test_a_laptop_whose_team_service_vanished_joins_the_one_left(
    laptops: Callable[..., Laptop], sim: SimulatedTwilio
) -> None:
    """Two laptops creating the team at once keep the oldest service and delete the other;
    a third that joined the deleted one meanwhile joins the one left, not fail forever."""
    doomed = sim.sync.create_service(ACCOUNT_SID, "Twoway team", None)
    kim = laptops("Kim")
    conversation = kim.conversation()
    kim.team.start()
    wait_until(lambda: kim.team.is_owner and kim.team.status.synced, 5, "Kim joined")
    assert kim.team.client.service_sid == doomed.sid
    kept = sim.sync.create_service(ACCOUNT_SID, "Twoway team", None)
    sim.sync.delete_service(doomed)

    wait_until(lambda: kim.team.client.service_sid == kept.sid, 10, "Kim joins the kept one")
    wait_until(lambda: kim.team.is_owner and kim.team.status.synced, 10, "Kim holds the lease")
    alex = laptops("Alex")
    alex.team.start()
    wait_until(lambda: alex.team.status.holder == "Kim", 10, "Alex follows Kim")
    kim.store.writer.call(lambda tx: writes.rename_contact(tx, conversation, "Maria Lopez"))
    wait_until(lambda: alex.contact_name() == "Maria Lopez", 10, "the rename reached Alex")
