"""The whole app as a user runs it, stopped the ways a desktop stops it.

Each test starts ``python main.py`` in a child process (see ``app_process.py``): Twilio is
the simulator, ngrok the fake agent behind the real pyngrok, and no keyring is usable
(keyring's ``fail`` backend) — the credentials come from the environment only.
"""

from __future__ import annotations

import http.client
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from desktop.simulator.server import SimulatedTwilio
from tests.fakes.fake_ngrok import FakeNgrok
from tests.integration.app_process import (
    CUSTOMER,
    NGROK_TOKEN,
    OUR,
    AppProcess,
    launch,
    ngrok_settings,
    wait_for,
)
from tests.twilio_helpers import form_body, new_sid, sign

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="real POSIX signals to a child process"
)


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


@pytest.fixture
def app_with_tunnel(
    tmp_path: Path, sim: SimulatedTwilio, fake_ngrok: FakeNgrok
) -> Iterator[tuple[AppProcess, str]]:
    app = launch(
        tmp_path / "data",
        sim,
        settings=ngrok_settings(fake_ngrok),
        environ={"NGROK_AUTHTOKEN": NGROK_TOKEN},
    )
    try:
        wait_for(lambda: sim.number(OUR).sms_url, what="the number pointed at the tunnel")  # type: ignore[union-attr]
        public_url = sim.number(OUR).sms_url.removesuffix("/twilio/sms")  # type: ignore[union-attr]
        yield app, public_url
    finally:
        app.stop()


def _post(forwarder: str, public_url: str, params: dict[str, str], token: str) -> int | None:
    """POST as Twilio would, through the fake edge; None when nothing answered."""
    target = urlsplit(forwarder)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(public_url + "/twilio/sms", params, token),
    }
    try:
        conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=5)
        try:
            conn.request("POST", "/twilio/sms", form_body(params), headers)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()
    except OSError:
        return None


def _params(sim: SimulatedTwilio, body: str) -> dict[str, str]:
    sid = new_sid()
    return {
        "MessageSid": sid,
        "AccountSid": sim.account_sid,
        "From": CUSTOMER,
        "To": OUR,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
    }


def test_sigterm_stops_cleanly_keeps_everything_acknowledged_and_ends_the_agent(
    sim: SimulatedTwilio, fake_ngrok: FakeNgrok, app_with_tunnel: tuple[AppProcess, str]
) -> None:
    app, public_url = app_with_tunnel
    forwarder = fake_ngrok.forwarder_for(public_url)
    [agent] = [a for a in fake_ngrok.agents() if a.get("state") == "online"]
    agent_pid = int(agent["pid"])
    assert psutil.pid_exists(agent_pid)

    acknowledged: list[str] = []
    refused = 0
    stop_sending = threading.Event()

    def send() -> None:
        nonlocal refused
        n = 0
        while not stop_sending.is_set():
            n += 1
            params = _params(sim, f"before the signal {threading.get_ident()} {n}")
            status = _post(forwarder, public_url, params, sim.auth_token)
            if status == 200:
                acknowledged.append(params["MessageSid"])
            else:
                refused += 1

    senders = [threading.Thread(target=send) for _ in range(4)]
    for sender in senders:
        sender.start()
    wait_for(lambda: len(acknowledged) >= 20, what="webhooks acknowledged while running")
    app.signal(signal.SIGTERM)
    began = time.monotonic()
    try:
        code = app.proc.wait(timeout=15)
    finally:
        stop_sending.set()
        for sender in senders:
            sender.join(10)
    took = time.monotonic() - began
    print(f"SIGTERM to exit: {took:.2f} s; {len(acknowledged)} acknowledged, {refused} refused")

    assert code == 0, app.log[-3000:]
    wait_for(lambda: not _alive(agent_pid), timeout=5, what="the ngrok agent to end")
    stored = {row[0] for row in app.stored("SELECT sid FROM messages")}
    assert set(acknowledged) <= stored, "an acknowledged webhook was lost"
    assert "stopped cleanly" in app.log
    assert "Traceback" not in app.log


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGHUP])
def test_interrupt_and_hangup_stop_cleanly_too(
    tmp_path: Path, sim: SimulatedTwilio, number: int
) -> None:
    app = launch(tmp_path / "data", sim, "--no-tunnel")
    try:
        wait_for(lambda: "Backfill" in app.log, what="the first sync")
        app.signal(number)
        assert app.proc.wait(timeout=15) == 0, app.log[-3000:]
        assert "stopped cleanly" in app.log
    finally:
        app.stop()


def test_texts_twilio_could_not_deliver_while_frozen_show_after_resume(
    sim: SimulatedTwilio, app_with_tunnel: tuple[AppProcess, str]
) -> None:
    app, _public_url = app_with_tunnel
    wait_for(lambda: "Backfill (start)" in app.log, what="the first backfill")
    app.signal(signal.SIGSTOP)
    try:
        # While the laptop "sleeps", texts reach Twilio; its webhooks find nobody and
        # are not retried, so they exist only in the message log.
        for n in range(3):
            sim.add_history_message(
                from_=CUSTOMER, to=OUR, body=f"while asleep {n}", at=datetime.now(UTC)
            )
        time.sleep(10)  # the "sleep" itself: the process is frozen, nothing can happen
    finally:
        app.signal(signal.SIGCONT)
    woke = time.monotonic()
    wait_for(
        lambda: {f"while asleep {n}" for n in range(3)} <= app.bodies(),
        timeout=15,
        what="the texts of the sleep to be backfilled",
    )
    print(f"texts of the sleep stored {time.monotonic() - woke:.1f} s after SIGCONT")
    assert "Back after about" in app.log


def test_descriptors_and_threads_stay_flat_over_many_polls(
    tmp_path: Path, sim: SimulatedTwilio
) -> None:
    app = launch(
        tmp_path / "data",
        sim,
        "--no-tunnel",
        settings={"configured": True, "phone_number": OUR, "poll_interval_s": 5},
    )
    try:
        wait_for(lambda: "Backfill (start)" in app.log, what="the first backfill")

        def polls() -> int:
            return app.log.count("backfill (poll)") + app.log.count("Backfill (poll)")

        # The polls themselves log only when they find something: give each one a text.
        samples: list[tuple[int, int]] = []
        for n in range(6):
            sim.add_history_message(from_=CUSTOMER, to=OUR, body=f"poll {n}", at=datetime.now(UTC))
            body = f"poll {n}"
            wait_for(lambda body=body: body in app.bodies(), timeout=20, what=body)  # type: ignore[misc]
            samples.append((app.descriptors(), app.threads()))
        print(f"descriptors, threads after each poll: {samples}")
        warm_fds, warm_threads = samples[1]
        last_fds, last_threads = samples[-1]
        assert last_fds <= warm_fds + 2, samples
        assert last_threads <= warm_threads + 1, samples
        assert polls() >= 5
    finally:
        app.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_environment_credentials_without_a_keyring_need_no_wizard(
    tmp_path: Path, sim: SimulatedTwilio
) -> None:
    port = _free_port()
    public_url = "https://texts.harbor.example"
    app = launch(tmp_path / "data", sim, "--port", str(port), "--public-url", public_url)
    try:
        wait_for(lambda: "Backfill (start)" in app.log, what="the first sync")
        params = _params(sim, "Can I move my appointment?")
        status = _post(f"http://127.0.0.1:{port}", public_url, params, sim.auth_token)
        assert status == 200, app.log[-2000:]
        assert "Can I move my appointment?" in app.bodies()
        assert "setup wizard" not in app.log
        assert "Not signed in" not in app.log
    finally:
        app.stop()
