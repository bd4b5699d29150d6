"""Opt-out keywords as Twilio applies them: single words, any case, per sender number."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desktop.simulator.config import SimulatorConfig
from desktop.simulator.server import SimulatedTwilio

OURS, OTHER = "+15035550100", "+18005550199"
CUSTOMER = "+15035550123"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio(config=SimulatorConfig(status_step_delay=0.01)) as simulator:
        simulator.add_number(OURS)
        simulator.add_number(OTHER)
        yield simulator


@pytest.mark.parametrize(
    "word",
    ["STOP", "stopall", " Unsubscribe ", "cancel", "END", "Quit", "revoke", "OPTOUT\n"],
)
def test_single_opt_out_words_opt_out_and_start_words_opt_back_in(
    sim: SimulatedTwilio, word: str
) -> None:
    sim.send_inbound(CUSTOMER, OURS, word)
    assert sim.is_opted_out(CUSTOMER, OURS)
    assert not sim.is_opted_out(CUSTOMER, OTHER)
    for back_in in ("start", "YES", " Unstop"):
        sim.send_inbound(CUSTOMER, OURS, "STOP")
        sim.send_inbound(CUSTOMER, OURS, back_in)
        assert not sim.is_opted_out(CUSTOMER, OURS)


@pytest.mark.parametrize("body", ["stop please", "Don't stop", "help"])
def test_other_messages_do_not_opt_out(sim: SimulatedTwilio, body: str) -> None:
    sim.send_inbound(CUSTOMER, OURS, body)
    assert not sim.is_opted_out(CUSTOMER, OURS)
