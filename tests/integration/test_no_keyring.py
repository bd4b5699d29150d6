"""A desktop with no secure keyring: keyring's real ``fail`` backend, the simulator as Twilio.

Two ways forward must work there: credentials from the environment (no keyring touched at
all), and credentials sealed with a passphrase in an encrypted file.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from desktop.config import WebhookPolicy
from desktop.core import Core, CoreOptions
from desktop.credentials import CredentialSource
from desktop.domain.connection import Link
from desktop.secret_file import WrongPassphrase
from desktop.secrets import StorageKind
from desktop.setup import SetupResult, TunnelChoice, TwilioLogin
from desktop.simulator.server import SimulatedTwilio
from tests.twilio_helpers import form_body, new_sid, sign

OUR = "+15035550100"
CUSTOMER = "+15035550142"
PUBLIC_URL = "https://texts.harbor.example"
PASSPHRASE = "harbor lights 42"


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def no_keyring() -> Iterator[None]:
    """keyring's own "no backend available" keyring, as on a minimal desktop."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio(friendly_name="Harbor Plumbing") as twilio:
        twilio.add_number(OUR, friendly_name="Main line")
        yield twilio


def _core(data_dir: Path, environ: dict[str, str], **options: object) -> Core:
    core = Core(CoreOptions(data_dir=data_dir, environ=environ, **options))  # type: ignore[arg-type]
    core.open()
    return core


def _post_inbound(core: Core, sim: SimulatedTwilio, body: str) -> tuple[int, str]:
    sid = new_sid()
    params = {
        "MessageSid": sid,
        "AccountSid": sim.account_sid,
        "From": CUSTOMER,
        "To": OUR,
        "Body": body,
        "NumMedia": "0",
    }
    receiver = core.network.receiver
    assert receiver is not None
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/twilio/sms",
            body=form_body(params),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms", params, sim.auth_token),
            },
        )
        return conn.getresponse().status, sid
    finally:
        conn.close()


def test_environment_credentials_need_no_keyring(tmp_path: Path, sim: SimulatedTwilio) -> None:
    environ = {
        "TWILIO_ACCOUNT_SID": sim.account_sid,
        "TWILIO_AUTH_TOKEN": sim.auth_token,
        "TWOWAY_TWILIO_API_URL": sim.base_url,
        "TWOWAY_PHONE_NUMBER": OUR,
    }
    core = _core(tmp_path / "data", environ, public_url=PUBLIC_URL)
    try:
        assert not core.needs_setup(), "the environment names account and number: no wizard"
        core.start().result(30)
        credentials = core.credentials
        assert credentials is not None
        assert credentials.source is CredentialSource.ENVIRONMENT
        assert credentials.api_key is None  # the keyring that cannot answer is not asked
        status, sid = _post_inbound(core, sim, "Is the van coming today?")
        assert status == 200
        stored = core.store.reader().execute("SELECT body FROM messages WHERE sid = ?", (sid,))
        assert stored.fetchone() == ("Is the van coming today?",)
        wait_for(lambda: core.connection.snapshot.link is Link.ONLINE)
        assert "environment" in core.account.keyring_location()
    finally:
        core.stop()


def test_without_the_environment_the_wizard_opens_and_explains(
    tmp_path: Path, sim: SimulatedTwilio
) -> None:
    core = _core(tmp_path / "data", {"TWOWAY_TWILIO_API_URL": sim.base_url})
    try:
        assert core.needs_setup()
        storage = core.account.secret_storage().result(10)
        assert storage.kind is StorageKind.NONE
        core.start().result(30)
        snapshot = core.connection.snapshot
        assert snapshot.link is Link.SIGNED_OUT
        assert "passphrase" in snapshot.problem
    finally:
        core.stop()


def _setup(sim: SimulatedTwilio) -> SetupResult:
    number = sim.number(OUR)
    assert number is not None
    return SetupResult(
        login=TwilioLogin(sim.account_sid, sim.auth_token),
        phone_number=OUR,
        number_sid=number.sid,
        tunnel=TunnelChoice.PUBLIC_URL,
        ngrok_authtoken="",
        ngrok_domain="",
        public_url=PUBLIC_URL,
        poll_interval_s=30,
        take_over_foreign_webhook=False,
        webhook_policy=WebhookPolicy.KEEP.value,
        passphrase=PASSPHRASE,
    )


def test_a_passphrase_seals_the_credentials_and_unlocks_them_after_a_restart(
    tmp_path: Path, sim: SimulatedTwilio
) -> None:
    data_dir = tmp_path / "data"
    environ = {"TWOWAY_TWILIO_API_URL": sim.base_url}
    first = _core(data_dir, environ)
    try:
        first.start().result(30)
        first.account.apply_setup(_setup(sim)).result(30)
        wait_for(lambda: first.connection.snapshot.link is Link.ONLINE)
        assert first.account.secret_storage().result(10).kind is StorageKind.ENCRYPTED_FILE
    finally:
        first.stop()
    # Nothing on disk holds the token or the passphrase in the clear.
    for path in data_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert sim.auth_token.encode() not in content, path
            assert PASSPHRASE.encode() not in content, path
    assert first.paths.encrypted_secrets.exists()

    second = _core(data_dir, environ)
    try:
        second.start().result(30)
        assert second.connection.snapshot.link is Link.LOCKED
        assert not second.needs_setup()
        with pytest.raises(WrongPassphrase, match="does not unlock"):
            second.account.unlock("not the passphrase").result(10)
        assert second.connection.snapshot.link is Link.LOCKED
        second.account.unlock(PASSPHRASE).result(30)
        credentials = second.credentials
        assert credentials is not None
        assert credentials.auth_token == sim.auth_token
        wait_for(lambda: second.connection.snapshot.link is Link.ONLINE)

        second.account.sign_out().result(30)
        assert not second.paths.encrypted_secrets.exists()
        signed_out = second.connection.snapshot
        assert signed_out.link is Link.SIGNED_OUT
    finally:
        second.stop()
