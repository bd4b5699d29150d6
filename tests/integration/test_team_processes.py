"""Team mode with two real apps: two ``python main.py`` processes on one simulated Twilio
account, each its own data folder and listener (``--port`` / ``--public-url``, no tunnel).

The child processes run the default team timings (the lease's TTL is 30 s: the command
line and the environment have no test-only knob for it, see DESIGN.md), so this test
takes about half a minute.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop.simulator.errors import TwilioApiError
from desktop.simulator.server import SimulatedTwilio
from desktop.team.lease import LeaseTimings
from desktop.team.service import LIVE_MAP
from tests.integration.app_process import CUSTOMER, OUR, AppProcess, launch, wait_for
from tests.team_helpers import free_port

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="real POSIX signals to a child process"
)

LEASE_TTL_S = LeaseTimings().ttl_s
#: After the lease runs out: the claim itself, re-pointing the number (one REST request)
#: and a scheduling slack for a loaded machine.
TAKEOVER_MARGIN_S = 5.0


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio(friendly_name="Bright Smiles Dental") as twilio:
        twilio.add_number(OUR, friendly_name="Front desk")
        yield twilio


def _laptop(tmp_path: Path, sim: SimulatedTwilio, name: str) -> tuple[AppProcess, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = launch(
        tmp_path / name,
        sim,
        "--port",
        str(port),
        "--public-url",
        url,
        environ={"TWOWAY_TEAM": "1", "TWOWAY_STAFF_NAME": name},
    )
    return app, url


def _online(sim: SimulatedTwilio) -> set[str]:
    """The names with a presence item in Sync: a laptop writes its presence right after
    its first read of the webhook lease, so a name here is a laptop that follows it."""
    names: set[str] = set()
    for service in sim.sync.services(sim.account_sid):
        try:
            items = sim.sync.items(service, LIVE_MAP)
        except TwilioApiError:  # the map is not made yet
            continue
        names.update(str(i.data.get("name")) for i in items if i.key.startswith("p"))
    return names


def _points_at(sim: SimulatedTwilio) -> str:
    number = sim.number(OUR)
    return "" if number is None else number.sms_url.removesuffix("/twilio/sms")


def _first_times(conditions: dict[str, Callable[[], bool]], timeout: float) -> dict[str, float]:
    """When (monotonic) each condition first held; fails if one never did."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(conditions):
        for what, condition in conditions.items():
            if what not in seen and condition():
                seen[what] = time.monotonic()
        if time.monotonic() > deadline:
            missing = sorted(set(conditions) - set(seen))
            raise AssertionError(f"timed out waiting for {', '.join(missing)}")
        time.sleep(0.05)
    return seen


@pytest.mark.slow
def test_kill_9_of_the_webhook_owner_the_colleague_takes_over_and_keeps_every_text(
    tmp_path: Path, sim: SimulatedTwilio
) -> None:
    sam, sam_url = _laptop(tmp_path, sim, "Sam")
    alex, alex_url = _laptop(tmp_path, sim, "Alex")
    apps = {sam_url: sam, alex_url: alex}
    try:
        wait_for(lambda: _points_at(sim) in apps, 30, "the number pointed at one laptop")
        wait_for(lambda: _online(sim) == {"Sam", "Alex"}, 30, "both laptops in the team")
        owner_url = _points_at(sim)
        owner = apps[owner_url]
        [(survivor_url, survivor)] = [(u, a) for u, a in apps.items() if u != owner_url]

        owner.signal(signal.SIGKILL)  # the laptop dies: no goodbye, the lease stays taken
        died = time.monotonic()
        owner.proc.wait(10)
        # A customer texts while nobody holds the webhook: Twilio's POST finds no one.
        sim.send_inbound(CUSTOMER, OUR, "Hello? Anyone there?")
        seen = _first_times(
            {
                "takeover": lambda: _points_at(sim) == survivor_url,
                "gap text": lambda: "Hello? Anyone there?" in survivor.bodies(),
            },
            timeout=LEASE_TTL_S + TAKEOVER_MARGIN_S + 10,
        )
        takeover_s, gap_text_s = seen["takeover"] - died, seen["gap text"] - died
        print(
            f"takeover (number re-pointed at the survivor) {takeover_s:.1f} s after kill -9 "
            f"(lease TTL {LEASE_TTL_S:.0f} s); the text sent in the gap stored after "
            f"{gap_text_s:.1f} s"
        )
        assert takeover_s <= LEASE_TTL_S + TAKEOVER_MARGIN_S

        # From now on Twilio's webhooks reach the survivor.
        sim.send_inbound(CUSTOMER, OUR, "Great, thanks")
        wait_for(lambda: "Great, thanks" in survivor.bodies(), 10, "a webhook at the new owner")
        assert survivor.proc.poll() is None
        assert "Traceback" not in survivor.log, survivor.log[-3000:]
    finally:
        for app in apps.values():
            app.stop()
