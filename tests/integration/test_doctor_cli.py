"""``python main.py doctor`` as a user runs it, next to the real running app.

The app (the real core and network side, with ``--public-url`` pointing at its own
listener) runs against the simulator; the doctor runs as a separate process with
environment credentials and a keyring that refuses everything, finds the app through
``state/running.json``, and answers with its exit status and JSON.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop.core import Core, CoreOptions
from desktop.domain.connection import Link
from desktop.readiness.model import CHECK_IDS
from desktop.readiness.runtime import read_running_app
from desktop.simulator.server import SimulatedTwilio

ROOT = Path(__file__).resolve().parents[2]
OUR = "+15035550100"


def wait_for(predicate: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    with SimulatedTwilio(friendly_name="Bright Smiles Dental") as twilio:
        twilio.add_number(OUR, friendly_name="Front desk")
        service = twilio.add_messaging_service([OUR], friendly_name="Bright Smiles")
        twilio.console.add_campaign(service, "VERIFIED")
        yield twilio


def credentials_env(sim: SimulatedTwilio) -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": sim.account_sid,
        "TWILIO_AUTH_TOKEN": sim.auth_token,
        "TWOWAY_TWILIO_API_URL": sim.base_url,
        "TWOWAY_PHONE_NUMBER": OUR,
    }


def doctor(data_dir: Path, sim: SimulatedTwilio, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "TWOWAY_", "NGROK_"))
    }
    env.update(credentials_env(sim))
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # no keyring at all
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "doctor", "--data-dir", str(data_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_doctor_finds_the_running_app_and_reports_ready_then_not_running(
    tmp_path: Path, sim: SimulatedTwilio
) -> None:
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    core = Core(
        CoreOptions(
            data_dir=data_dir, port=port, public_url=public_url, environ=credentials_env(sim)
        )
    )
    core.open()
    try:
        core.start()
        wait_for(lambda: core.connection.snapshot.link is Link.ONLINE)
        wait_for(lambda: core.connection.snapshot.number_points_here is True)
        running = read_running_app(core.paths.state)
        assert running is not None
        assert (running.public_url, running.local_port, running.pid) == (
            public_url,
            port,
            os.getpid(),
        )

        ready = doctor(data_dir, sim, "--json")
        assert ready.returncode == 0, ready.stdout + ready.stderr
        report = json.loads(ready.stdout)
        assert report["ready"] is True
        assert [c["id"] for c in report["checks"]] == list(CHECK_IDS)
        assert {c["id"]: c["ok"] for c in report["checks"]}["webhook_reachable"] is True
        assert sim.auth_token not in ready.stdout + ready.stderr
    finally:
        core.stop()
    assert read_running_app(core.paths.state) is None  # removed on quit

    stopped = doctor(data_dir, sim)
    assert stopped.returncode == 1
    assert "[!!] Twilio can reach Twoway" in stopped.stdout
    assert "Twoway is not running" in stopped.stdout
    assert "Not ready: “Twilio can reach Twoway” needs attention." in stopped.stdout
    assert sim.auth_token not in stopped.stdout + stopped.stderr

    as_json = doctor(data_dir, sim, "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["ready"] is False


def test_doctor_help_and_a_bad_api_url(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "doctor", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert shown.returncode == 0
    assert "--json" in shown.stdout
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TWOWAY_TWILIO_API_URL": "ftp://nowhere"}
    bad = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "doctor", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert bad.returncode == 1
    assert "TWOWAY_TWILIO_API_URL must be an http(s) URL" in bad.stderr
