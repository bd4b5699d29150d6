"""Team mode end to end: two and three whole Cores (receiver, sync, outbox, store, team)
on one simulated Twilio account over real sockets, each laptop its own data folder and
listener.  Lease timings are ten times faster than the real ones (TTL 3 s)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop.core import Core
from desktop.domain.auto_reply import AwayMessage
from desktop.domain.hours import BusinessHours
from desktop.simulator.config import SimulatorConfig
from desktop.simulator.server import SimulatedTwilio
from tests.integration.test_sync_harness import wait_until
from tests.team_helpers import OUR, TTL_S, team_core

CUSTOMER = "+15035550142"


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    config = SimulatorConfig(status_step_delay=0.02, random_seed=3)
    with SimulatedTwilio(friendly_name="Bright Smiles Dental", config=config) as twilio:
        twilio.add_number(OUR, friendly_name="Front desk")
        yield twilio


@pytest.fixture
def laptops(tmp_path: Path, sim: SimulatedTwilio) -> Iterator[Callable[[str], Core]]:
    made: list[Core] = []

    def make(name: str) -> Core:
        core = team_core(tmp_path / name, sim, name)
        made.append(core)
        return core

    yield make
    for core in made:
        core.stop()


def _team(core: Core) -> object:
    team = core.team
    assert team is not None
    return team


def _team_holder(core: Core) -> str:
    return core.team.status.holder if core.team is not None else ""


def _name(core: Core) -> str:
    assert core.options.environ is not None
    return core.options.environ["TWOWAY_STAFF_NAME"]


def _owner(*cores: Core) -> list[Core]:
    return [c for c in cores if c.team is not None and c.team.is_owner]


def _bodies(core: Core) -> set[str]:
    return {r[0] for r in core.store.reader().execute("SELECT body FROM messages")}


def _sent_by(core: Core, body: str) -> str | None:
    row = (
        core.store.reader()
        .execute("SELECT sent_by FROM messages WHERE body = ? AND sid IS NOT NULL", (body,))
        .fetchone()
    )
    return None if row is None else str(row[0])


def _points_at(sim: SimulatedTwilio, core: Core) -> bool:
    number = sim.number(OUR)
    return number is not None and number.sms_url.startswith(core.options.public_url or "-")


def _start(*cores: Core) -> Core:
    for core in cores:
        core.start()
    wait_until(lambda: len(_owner(*cores)) == 1, 10, "one webhook owner")
    [owner] = _owner(*cores)
    wait_until(lambda: _points_at(sim_of[0], owner), 10, "the number points at the owner")
    return owner


sim_of: list[SimulatedTwilio] = []


@pytest.fixture(autouse=True)
def _remember_sim(sim: SimulatedTwilio) -> Iterator[None]:
    sim_of[:] = [sim]
    yield
    sim_of.clear()


def test_three_laptops_a_text_and_a_colleagues_reply_show_on_all(
    laptops: Callable[[str], Core], sim: SimulatedTwilio
) -> None:
    cores = [laptops("Sam"), laptops("Alex"), laptops("Kim")]
    owner = _start(*cores)
    sent_at = time.monotonic()
    sim.send_inbound(CUSTOMER, OUR, "Can I move my cleaning to Friday?")
    wait_until(
        lambda: all("Can I move my cleaning to Friday?" in _bodies(c) for c in cores),
        5,
        "the text on every laptop",
    )
    print(f"text on all three laptops after {time.monotonic() - sent_at:.2f} s")
    follower = next(c for c in cores if c is not owner)
    follower.messaging.send(OUR, CUSTOMER, "Friday at 3 works, see you then")
    name = follower.staff_name()
    wait_until(
        lambda: all(_sent_by(c, "Friday at 3 works, see you then") == name for c in cores),
        8,
        "the reply with its sender on every laptop",
    )
    assert len(_owner(*cores)) == 1


def test_a_rename_propagates_and_only_the_owner_auto_replies(
    laptops: Callable[[str], Core], sim: SimulatedTwilio
) -> None:
    a, b = laptops("Sam"), laptops("Alex")
    closed = BusinessHours("UTC", ((),) * 7)
    for core in (a, b):
        core.front_desk.update(
            lambda s: dataclasses.replace(
                s,
                business_hours=closed,
                auto_replies=dataclasses.replace(
                    s.auto_replies, away=AwayMessage(True, "We are closed, back at 8.", 12)
                ),
            )
        )
    _start(a, b)
    sim.send_inbound(CUSTOMER, OUR, "Are you open?")
    wait_until(lambda: all("Are you open?" in _bodies(c) for c in (a, b)), 5, "text on both")
    wait_until(
        lambda: all("We are closed, back at 8." in _bodies(c) for c in (a, b)),
        8,
        "the auto-reply seen on both laptops",
    )
    replies = [m for m in sim.messages(to=CUSTOMER) if m.body == "We are closed, back at 8."]
    assert len(replies) == 1
    conversation = a.store.reader().execute("SELECT id FROM conversations").fetchone()[0]
    a.messaging.rename_contact(int(conversation), "Maria Lopez").result(5)
    wait_until(
        lambda: (
            b.store.reader()
            .execute("SELECT name FROM contacts WHERE e164 = ?", (CUSTOMER,))
            .fetchone()[0]
            == "Maria Lopez"
        ),
        5,
        "the rename on the other laptop",
    )


def test_owner_gone_without_goodbye_colleague_takes_over_and_backfills(
    laptops: Callable[[str], Core], sim: SimulatedTwilio
) -> None:
    a, b = laptops("Sam"), laptops("Alex")
    owner = _start(a, b)
    other = b if owner is a else a
    # The colleague has joined and follows the owner's lease (a laptop still joining when
    # the owner dies counts from its first read: see tests/unit/test_team_lease.py).
    wait_until(lambda: _team_holder(other) == _name(owner), 10, "the colleague follows")
    # The owner's laptop dies: its listener and team vanish, nothing is handed back.
    team = owner.network.team
    assert team is not None
    team.stop(release=False)
    owner.network.team = None
    assert owner.network.receiver is not None
    owner.network.receiver.stop()
    died = time.monotonic()
    sim.send_inbound(CUSTOMER, OUR, "Hello? Anyone there?")  # to the dead laptop's URL
    wait_until(lambda: other.team is not None and other.team.is_owner, TTL_S + 2, "takeover")
    takeover_s = time.monotonic() - died
    wait_until(lambda: _points_at(sim, other), 5, "the number re-pointed")
    wait_until(lambda: "Hello? Anyone there?" in _bodies(other), 5, "the gap backfilled")
    print(f"takeover after {takeover_s:.2f} s with a {TTL_S:.0f} s lease")
    assert takeover_s <= TTL_S + 0.5
    sim.send_inbound(CUSTOMER, OUR, "Great, thanks")
    wait_until(lambda: "Great, thanks" in _bodies(other), 5, "the new owner gets webhooks")
