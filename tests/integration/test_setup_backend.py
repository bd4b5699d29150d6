"""Core as the setup wizard's backend, against the simulator: sign in, choose, sign out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop.config import TunnelMode, WebhookPolicy
from desktop.core import Core, CoreOptions
from desktop.domain.connection import Link
from desktop.gateway.rest_types import TwilioProblem
from desktop.secrets import SERVICE_NAME
from desktop.setup import SetupResult, TunnelChoice, TwilioLogin
from desktop.simulator.server import SimulatedTwilio
from tests.fakes.memory_keyring import MemoryKeyring

OUR = "+15035550100"
VOICE_ONLY = "+15035550111"


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio(friendly_name="Harbor Plumbing") as twilio:
        twilio.add_number(OUR, friendly_name="Main line", sms_url="https://old.example.com/sms")
        twilio.add_number(VOICE_ONLY, capabilities={"sms": False, "mms": False, "voice": True})
        yield twilio


@pytest.fixture
def core(tmp_path: Path, sim: SimulatedTwilio) -> Iterator[Core]:
    c = Core(
        CoreOptions(data_dir=tmp_path / "data", environ={"TWOWAY_TWILIO_API_URL": sim.base_url})
    )
    c.open()
    c.start().result(30)  # signed out: nothing stored yet
    yield c
    c.stop()


def _result(sim: SimulatedTwilio, *, take_over: bool) -> SetupResult:
    number = sim.number(OUR)
    assert number is not None
    return SetupResult(
        login=TwilioLogin(sim.account_sid, sim.auth_token),
        phone_number=OUR,
        number_sid=number.sid,
        tunnel=TunnelChoice.PUBLIC_URL,
        ngrok_authtoken="",
        ngrok_domain="",
        public_url="https://texts.harbor.example",
        poll_interval_s=30,
        take_over_foreign_webhook=take_over,
        webhook_policy=WebhookPolicy.RESTORE_ON_QUIT.value,
    )


def test_check_login_lists_the_numbers_and_explains_bad_credentials(
    core: Core, sim: SimulatedTwilio
) -> None:
    assert core.connection.snapshot.link is Link.SIGNED_OUT
    account = core.account.check_login(TwilioLogin(sim.account_sid, sim.auth_token)).result(10)
    assert account.friendly_name == "Harbor Plumbing"
    assert [n.e164 for n in account.sms_numbers] == [OUR]
    assert {n.e164 for n in account.numbers} == {OUR, VOICE_ONLY}
    with pytest.raises(TwilioProblem) as problem:
        core.account.check_login(TwilioLogin(sim.account_sid, "0" * 32)).result(10)
    assert problem.value.code == 20003
    assert "Auth Token" in str(problem.value) or "credentials" in str(problem.value).lower()


def test_apply_setup_stores_secrets_in_the_keyring_and_takes_over_only_with_consent(
    core: Core, sim: SimulatedTwilio, memory_keyring: MemoryKeyring
) -> None:
    core.account.apply_setup(_result(sim, take_over=True)).result(20)
    assert memory_keyring.values[(SERVICE_NAME, "twilio_auth_token")] == sim.auth_token
    settings_text = core.paths.settings.read_text()
    assert sim.auth_token not in settings_text
    assert core.settings.configured
    assert core.settings.tunnel_mode is TunnelMode.PUBLIC_URL
    wait_for(
        lambda: (
            sim.number(OUR).sms_url  # type: ignore[union-attr]
            == "https://texts.harbor.example/twilio/sms"
        )
    )
    assert core.connection.snapshot.link is Link.ONLINE
    # The previous address is remembered, and restoring puts it back.
    assert "https://old.example.com/sms" in core.settings.previous_sms_urls.values()
    message = core.account.restore_previous_webhook().result(10)
    assert message
    wait_for(lambda: sim.number(OUR).sms_url == "https://old.example.com/sms")  # type: ignore[union-attr]


def test_without_consent_a_foreign_webhook_is_left_alone(core: Core, sim: SimulatedTwilio) -> None:
    core.account.apply_setup(_result(sim, take_over=False)).result(20)
    time.sleep(1.0)  # give the sync a moment in which it must not touch the number
    assert sim.number(OUR).sms_url == "https://old.example.com/sms"  # type: ignore[union-attr]


def test_sign_out_removes_the_secrets(
    core: Core, sim: SimulatedTwilio, memory_keyring: MemoryKeyring
) -> None:
    core.account.apply_setup(_result(sim, take_over=False)).result(20)
    assert core.account.current_login() is not None
    core.account.sign_out().result(20)
    assert not any(service == SERVICE_NAME for service, _ in memory_keyring.values)
    assert core.connection.snapshot.link is Link.SIGNED_OUT
    assert not core.settings.configured
    assert core.account.current_login() is None
