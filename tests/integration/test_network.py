"""The whole network side as the app runs it: simulator as Twilio, the real pyngrok driving
a fake ngrok agent, the real receiver, sync and store.  Nothing leaves 127.0.0.1."""

from __future__ import annotations

import http.client
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from desktop.config import TunnelMode
from desktop.core import Core, CoreOptions
from desktop.domain.connection import Link
from desktop.secrets import SERVICE_NAME
from desktop.simulator.server import SimulatedTwilio
from tests.fakes.fake_ngrok import FakeNgrok
from tests.fakes.memory_keyring import MemoryKeyring
from tests.twilio_helpers import form_body, inbound_params, new_sid, sign

OUR = "+15035550100"
CUSTOMER = "+15035550142"
NGROK_TOKEN = "2fakeNgrokToken_abcdefghijklmnop"


def wait_for(predicate: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio(friendly_name="Bright Smiles Dental") as twilio:
        twilio.add_number(OUR, friendly_name="Front desk")
        yield twilio


@pytest.fixture
def fake_ngrok(tmp_path: Path) -> FakeNgrok:
    fake = FakeNgrok(tmp_path / "bin")
    fake.configure(expected_authtoken=NGROK_TOKEN)
    return fake


def make_core(tmp_path: Path, sim: SimulatedTwilio, **options: object) -> Core:
    environ = {
        "TWILIO_ACCOUNT_SID": sim.account_sid,
        "TWILIO_AUTH_TOKEN": sim.auth_token,
        "TWOWAY_TWILIO_API_URL": sim.base_url,
        "TWOWAY_PHONE_NUMBER": OUR,
    }
    core = Core(CoreOptions(data_dir=tmp_path / "data", environ=environ, **options))  # type: ignore[arg-type]
    core.open()
    return core


def post_through_edge(forwarder: str, public_url: str, params: dict[str, str], token: str) -> int:
    """What Twilio does: sign for the public URL, and let the edge carry it to us."""
    target = urlsplit(forwarder)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(public_url + "/twilio/sms", params, token),
    }
    conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=10)
    try:
        conn.request("POST", "/twilio/sms", form_body(params), headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def stored_bodies(core: Core) -> set[str]:
    rows = core.store.reader().execute("SELECT body FROM messages").fetchall()
    return {r[0] for r in rows}


def test_tunnel_to_number_to_store_and_recovery_after_the_agent_dies(
    tmp_path: Path, sim: SimulatedTwilio, fake_ngrok: FakeNgrok, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.set_password(SERVICE_NAME, "ngrok_authtoken", NGROK_TOKEN)
    core = make_core(tmp_path, sim)
    core.settings_store.update(
        lambda s: s.replace(tunnel_mode=TunnelMode.NGROK, ngrok_path=str(fake_ngrok.launcher))
    )
    try:
        core.start()
        wait_for(lambda: core.connection.snapshot.link is Link.ONLINE, what="tunnel online")
        first_url = core.connection.snapshot.public_url
        assert first_url.startswith("https://")
        assert first_url.endswith(".ngrok-free.app")
        wait_for(
            lambda: sim.number(OUR).sms_url == first_url + "/twilio/sms",  # type: ignore[union-attr]
            what="number pointed at the tunnel",
        )

        # A customer texts; Twilio signs for the public URL and the edge forwards it.
        params = inbound_params(
            body="Can I move my cleaning to Friday?",
            AccountSid=sim.account_sid,
            From=CUSTOMER,
            To=OUR,
        )
        status = post_through_edge(
            fake_ngrok.forwarder_for(first_url), first_url, params, sim.auth_token
        )
        assert status == 200
        assert "Can I move my cleaning to Friday?" in stored_bodies(core)

        # The agent dies (laptop sleep, crash).  A text arrives at Twilio meanwhile.
        tunnel = core.network.tunnel
        assert tunnel is not None
        assert tunnel.agent_pid is not None
        os.kill(tunnel.agent_pid, signal.SIGKILL)
        sim.add_history_message(
            from_=CUSTOMER, to=OUR, body="Hello? Are you open today?", at=datetime.now(UTC)
        )
        wait_for(
            lambda: (
                core.connection.snapshot.link is Link.ONLINE
                and core.connection.snapshot.public_url not in ("", first_url)
            ),
            timeout=20,
            what="reconnected with a new URL",
        )
        second_url = core.connection.snapshot.public_url
        wait_for(
            lambda: sim.number(OUR).sms_url == second_url + "/twilio/sms",  # type: ignore[union-attr]
            what="number re-pointed",
        )
        wait_for(
            lambda: "Hello? Are you open today?" in stored_bodies(core), what="the gap backfilled"
        )

        # The old URL no longer validates; the new one does.
        late = inbound_params(
            body="via the old address", AccountSid=sim.account_sid, From=CUSTOMER, To=OUR
        )
        new = inbound_params(
            body="via the new address", AccountSid=sim.account_sid, From=CUSTOMER, To=OUR
        )
        forwarder = fake_ngrok.forwarder_for(second_url)
        assert post_through_edge(forwarder, first_url, late, sim.auth_token) == 403
        assert post_through_edge(forwarder, second_url, new, sim.auth_token) == 200
        agent_pid = core.network.tunnel.agent_pid if core.network.tunnel else None
    finally:
        core.stop()
    assert agent_pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(agent_pid, 0)


def test_no_ngrok_binary_and_no_download_falls_back_to_polling(
    tmp_path: Path,
    sim: SimulatedTwilio,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pyngrok import installer

    # Port 9 (discard) is closed: the download fails at once, as it would offline.
    monkeypatch.setattr(installer, "get_ngrok_cdn_url", lambda version: "http://127.0.0.1:9/x")
    memory_keyring.set_password(SERVICE_NAME, "ngrok_authtoken", NGROK_TOKEN)
    core = make_core(tmp_path, sim)
    core.settings_store.update(
        lambda s: s.replace(
            tunnel_mode=TunnelMode.NGROK,
            ngrok_path=str(tmp_path / "nowhere" / "ngrok"),
            poll_interval_s=5,
        )
    )
    try:
        core.start()
        wait_for(
            lambda: core.connection.snapshot.problem.startswith("Couldn't download ngrok"),
            what="a plain failure",
        )
        assert core.connection.snapshot.link is Link.POLLING
        # Polling still brings new texts in.
        sim.add_history_message(
            from_=CUSTOMER, to=OUR, body="Polling works too", at=datetime.now(UTC)
        )
        core.backfill_now("test")
        wait_for(lambda: "Polling works too" in stored_bodies(core), what="polled message")
        assert sim.number(OUR).sms_url == ""  # type: ignore[union-attr]
    finally:
        core.stop()


def test_public_url_option_skips_ngrok_and_points_the_number(
    tmp_path: Path, sim: SimulatedTwilio
) -> None:
    core = make_core(tmp_path, sim, public_url="https://texts.example-dental.com")
    try:
        core.start()
        wait_for(
            lambda: (
                sim.number(OUR).sms_url  # type: ignore[union-attr]
                == "https://texts.example-dental.com/twilio/sms"
            ),
            what="number pointed",
        )
        assert core.network.tunnel is None
        receiver = core.network.receiver
        assert receiver is not None
        params = inbound_params(
            body="Through my own proxy",
            AccountSid=sim.account_sid,
            From=CUSTOMER,
            To=OUR,
            MessageSid=new_sid(),
        )
        status = post_through_edge(
            receiver.local_url, "https://texts.example-dental.com", params, sim.auth_token
        )
        assert status == 200
    finally:
        core.stop()


def test_a_started_app_tidies_composer_pictures_no_draft_refers_to(
    tmp_path: Path, sim: SimulatedTwilio
) -> None:
    core = make_core(tmp_path, sim, public_url="https://texts.example-dental.com")
    folder = core.paths.composer_pictures
    folder.mkdir(parents=True)
    stale = folder / "pasted-from-last-week.jpg"
    stale.write_bytes(b"\xff\xd8" * 1000)
    week_ago = time.time() - 7 * 86_400
    os.utime(stale, (week_ago, week_ago))
    try:
        core.start()
        wait_for(lambda: not stale.exists(), what="the unused pasted picture deleted")
    finally:
        core.stop()
