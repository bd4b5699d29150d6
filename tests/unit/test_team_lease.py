"""The webhook lease's timing rules, on a manual clock against an in-memory document.

Three promises: a laptop that quits hands over at the colleague's next read; a dead holder
is replaced within the TTL of its last renewal (also when the follower's first read comes
after that renewal); and a live holder — even one whose renewals keep failing — has
stepped down before any follower may claim."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from desktop.team.client import Conflict, Entry, Missing, SyncClient
from desktop.team.lease import LEASE_DOCUMENT, LeaseTimings, WebhookLease

TIMINGS = LeaseTimings(ttl_s=30.0, renew_s=10.0, check_s=10.0)


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Documents:
    """One Sync document with revisions and If-Match, as Twilio keeps it (no TTL sweep)."""

    entry: Entry | None = None
    revisions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    offline: set[str] = field(default_factory=set)
    clock: Clock = field(default_factory=Clock)
    written_at: float = 0.0

    def _write(self, data: dict[str, Any]) -> Entry:
        self.entry = Entry(LEASE_DOCUMENT, str(next(self.revisions)), dict(data))
        self.written_at = self.clock()
        return self.entry


class FakeClient:
    def __init__(self, docs: Documents, laptop: str) -> None:
        self._docs = docs
        self._laptop = laptop

    def _check(self) -> None:
        if self._laptop in self._docs.offline:
            raise OSError("offline")

    def get_document(self, name: str) -> Entry | None:
        self._check()
        return self._docs.entry

    def create_document(self, name: str, data: dict[str, Any], ttl: int) -> Entry:
        self._check()
        if self._docs.entry is not None:
            raise Conflict("exists")
        return self._docs._write(data)

    def update_document(self, name: str, data: dict[str, Any], *, ttl: int, if_match: str) -> Entry:
        self._check()
        if self._docs.entry is None:
            raise Missing("gone")
        if self._docs.entry.revision != if_match:
            raise Conflict("stale")
        return self._docs._write(data)


def _lease(docs: Documents, laptop: str, clock: Clock) -> WebhookLease:
    client: SyncClient = FakeClient(docs, laptop)  # type: ignore[assignment]
    return WebhookLease(client, laptop, lambda: laptop, TIMINGS, clock=clock)


def _run(leases: dict[WebhookLease, float], clock: Clock, until: float) -> None:
    """Step each lease when it is due, in time order, until ``until``; errors back off 1 s."""
    while True:
        lease, due = min(leases.items(), key=lambda item: item[1])
        if due > until:
            clock.now = until
            return
        clock.now = max(clock.now, due)
        try:
            leases[lease] = clock.now + lease.step()
        except OSError:
            leases[lease] = clock.now + 1.0


def test_a_dead_holder_is_replaced_within_the_ttl_even_if_the_first_read_came_late() -> None:
    clock = Clock()
    docs = Documents(clock=clock)
    holder = _lease(docs, "sam", clock)
    holder.step()
    assert holder.owner
    renewed = clock.now
    # The holder dies at once; the colleague's laptop opens 9 s later and reads for the
    # first time: it cannot know the renewal was 9 s old, but must not wait a full TTL more.
    clock.now += 9.0
    follower = _lease(docs, "alex", clock)
    _run({follower: clock.now}, clock, renewed + TIMINGS.ttl_s + 0.01)
    assert follower.owner
    assert follower.holder is not None
    assert follower.holder.laptop_id == "alex"


def test_a_follower_reading_all_along_takes_over_within_the_ttl() -> None:
    clock = Clock()
    docs = Documents(clock=clock)
    holder, follower = _lease(docs, "sam", clock), _lease(docs, "alex", clock)
    leases = {holder: clock.now, follower: clock.now + 3.0}
    _run(leases, clock, clock.now + 95.0)
    assert holder.owner
    assert not follower.owner
    del leases[holder]  # it dies without a goodbye
    _run(leases, clock, docs.written_at + TIMINGS.ttl_s + 0.01)
    assert follower.owner


def test_a_live_holder_that_cannot_renew_steps_down_before_anyone_claims() -> None:
    clock = Clock()
    docs = Documents(clock=clock)
    holder, follower = _lease(docs, "sam", clock), _lease(docs, "alex", clock)
    leases = {holder: clock.now, follower: clock.now + 7.0}
    _run(leases, clock, clock.now + 45.0)
    assert holder.owner
    docs.offline.add("sam")  # its renewals fail from now on; the document stays
    # Step second by second and check the rule at every moment: never two owners.
    for _ in range(80):
        _run(leases, clock, clock.now + 1.0)
        assert not (holder.owner and follower.owner)
    assert holder.changes == 2  # it held, then gave up — once
    assert follower.owner
    assert not holder.owner


def test_a_healthy_holder_is_never_taken_over_and_nobody_flaps() -> None:
    clock = Clock()
    docs = Documents(clock=clock)
    laptops = [_lease(docs, name, clock) for name in ("sam", "alex", "kim")]
    leases = {lease: clock.now + i * 4.3 for i, lease in enumerate(laptops)}
    _run(leases, clock, clock.now + 3600.0)
    assert [lease.owner for lease in laptops].count(True) == 1
    assert sum(lease.changes for lease in laptops) == 1


def test_a_holder_that_quits_hands_over_at_the_next_read() -> None:
    clock = Clock()
    docs = Documents(clock=clock)
    holder, follower = _lease(docs, "sam", clock), _lease(docs, "alex", clock)
    leases = {holder: clock.now, follower: clock.now + 3.0}
    _run(leases, clock, clock.now + 50.0)
    assert holder.owner
    holder.release()
    assert (holder.owner, follower.owner) == (False, False)
    quit_at = clock.now
    del leases[holder]
    _run(leases, clock, quit_at + TIMINGS.check_s + 0.01)  # one read, not a whole TTL
    assert follower.owner


def test_a_stale_hand_back_never_clobbers_the_new_holder() -> None:
    clock = Clock()
    docs = Documents(clock=clock)
    asleep = Clock(clock.now)  # Linux's monotonic clock stands still while suspended
    holder, follower = _lease(docs, "sam", asleep), _lease(docs, "alex", clock)
    holder.step()
    assert holder.owner
    _run({follower: clock.now + 1.0}, clock, clock.now + 3600.0)  # an hour asleep
    assert follower.owner
    holder.release()  # woke up believing it still held the lease, and quit
    assert docs.entry is not None
    assert docs.entry.data["laptop"] == "alex"
    _run({follower: clock.now}, clock, clock.now + 60.0)
    assert follower.owner
