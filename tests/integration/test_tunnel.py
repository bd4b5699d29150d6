"""The tunnel service driving the real pyngrok against the fake ngrok agent, offline."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest
from pyngrok import installer

from desktop.tunnel.agent_files import (
    CONFIG_NAME,
    RECORD_NAME,
    free_loopback_port,
    record_agent,
    write_agent_config,
)
from desktop.tunnel.models import TunnelSettings, TunnelState, TunnelStatus
from desktop.tunnel.service import NgrokTunnel
from tests.fakes.fake_ngrok import FakeNgrok, twilio_signature

TOKEN = "2bTestAuthtoken_0123456789abcdef"
TWILIO_TOKEN = "twilio-auth-token-fedcba9876543210"
RANDOM_URL = re.compile(r"https://[0-9a-f]{12}\.ngrok-free\.app")


class Statuses:
    """Every status the tunnel reported, with waiting for the next one that matches."""

    def __init__(self) -> None:
        self.items: list[TunnelStatus] = []
        self._cursor = 0
        self._changed = threading.Condition()

    def __call__(self, status: TunnelStatus) -> None:
        with self._changed:
            self.items.append(status)
            self._changed.notify_all()

    def wait_for(
        self, predicate: Callable[[TunnelStatus], bool], timeout: float = 10.0
    ) -> TunnelStatus:
        """The first status after the previous match that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index in range(self._cursor, len(self.items)):
                    if predicate(self.items[index]):
                        self._cursor = index + 1
                        return self.items[index]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching status; saw {self.items}")
                self._changed.wait(remaining)

    def state(self, state: TunnelState, timeout: float = 10.0) -> TunnelStatus:
        return self.wait_for(lambda s: s.state is state, timeout)


@dataclass
class Upstream:
    port: int
    received: Queue[tuple[str, dict[str, str], bytes]]


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    """The local receiver the tunnel forwards to."""
    received: Queue[tuple[str, dict[str, str], bytes]] = Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.put((self.path, dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield Upstream(server.server_port, received)
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake(tmp_path: Path) -> FakeNgrok:
    agent = FakeNgrok(tmp_path / "bin")
    agent.configure(expected_authtoken=TOKEN)
    return agent


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NGROK_AUTHTOKEN", raising=False)
    monkeypatch.delenv("PYNGROK_NGROK_PATH", raising=False)


MakeTunnel = Callable[..., tuple[NgrokTunnel, Statuses]]


@pytest.fixture
def make_tunnel(tmp_path: Path, upstream: Upstream, fake: FakeNgrok) -> Iterator[MakeTunnel]:
    made: list[NgrokTunnel] = []

    def make(**overrides: Any) -> tuple[NgrokTunnel, Statuses]:
        values: dict[str, Any] = {
            "auth_token": TOKEN,
            "ngrok_path": str(fake.launcher),
            "backoff_initial": 0.05,
            "backoff_max": 0.2,
            "health_check_interval": 0.2,
            "poll_interval": 0.05,
            "startup_timeout": 5,
            "download_timeout": 2.0,
            "fallback_poll_seconds": 60,
        }
        values.update(overrides)
        statuses = Statuses()
        tunnel = NgrokTunnel(
            local_port=upstream.port,
            settings=TunnelSettings(**values),
            on_status=statuses,
            state_dir=tmp_path / "state",
        )
        made.append(tunnel)
        return tunnel, statuses

    yield make
    for tunnel in made:
        tunnel.stop()


def post(url: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method="POST", headers=headers or {})
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_gone(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        assert time.monotonic() < deadline, f"process {pid} still running"
        time.sleep(0.02)


def test_start_goes_online_and_requests_reach_the_receiver(
    make_tunnel: MakeTunnel, fake: FakeNgrok, upstream: Upstream
) -> None:
    tunnel, statuses = make_tunnel()
    tunnel.start()

    online = statuses.state(TunnelState.ONLINE)
    assert statuses.items[0].state is TunnelState.STARTING
    assert online.public_url is not None
    assert RANDOM_URL.fullmatch(online.public_url)
    assert tunnel.public_url == online.public_url == tunnel.status.public_url

    forwarder = fake.forwarder_for(online.public_url)
    status, _ = post(f"{forwarder}/twilio/sms", b"From=%2B15551234567&Body=Hello")
    assert status == 200
    path, headers, body = upstream.received.get(timeout=5)
    assert (path, body) == ("/twilio/sms", b"From=%2B15551234567&Body=Hello")
    assert headers["Host"] == urllib.parse.urlsplit(online.public_url).netloc


def test_secrets_stay_off_the_command_line_files_and_logs(
    make_tunnel: MakeTunnel, fake: FakeNgrok, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tunnel, statuses = make_tunnel(verify_twilio_auth_token=TWILIO_TOKEN)
    tunnel.start()
    online = statuses.state(TunnelState.ONLINE)
    pid = tunnel.agent_pid
    assert pid is not None

    agent = fake.agent(pid)
    assert agent["authtoken_via"] == "env"
    assert TOKEN not in " ".join(agent["argv"])
    if sys.platform == "linux":
        assert TOKEN.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert "NGROK_AUTHTOKEN" not in os.environ
    for path in (tmp_path / "state").iterdir():
        text = path.read_text(encoding="utf-8")
        assert TOKEN not in text
        assert TWILIO_TOKEN not in text

    config = (tmp_path / "state" / CONFIG_NAME).read_text(encoding="utf-8")
    assert re.search(r"web_addr: 127\.0\.0\.1:\d+", config)
    assert "inspect_db_size: -1" in config
    assert "update_check: false" in config

    assert online.public_url is not None
    endpoint = fake.endpoint_for(online.public_url)
    assert endpoint["received"]["inspect"] is False
    assert endpoint["verify_twilio"] is True

    messages = [record.getMessage() for record in caplog.records]
    assert any("traffic_policy" in message for message in messages)  # pyngrok logged it…
    assert not [m for m in messages if TOKEN in m or TWILIO_TOKEN in m]  # …redacted


def test_edge_verification_turns_away_unsigned_requests(
    make_tunnel: MakeTunnel, fake: FakeNgrok, upstream: Upstream
) -> None:
    tunnel, statuses = make_tunnel(verify_twilio_auth_token=TWILIO_TOKEN)
    tunnel.start()
    url = statuses.state(TunnelState.ONLINE).public_url
    assert url is not None
    forwarder = fake.forwarder_for(url)

    status, _ = post(f"{forwarder}/twilio/sms", b"Body=forged")
    assert status == 403
    signature = twilio_signature(TWILIO_TOKEN, f"{url}/twilio/sms", {"Body": "real"})
    status, _ = post(f"{forwarder}/twilio/sms", b"Body=real", {"X-Twilio-Signature": signature})
    assert status == 200
    assert upstream.received.get(timeout=5)[2] == b"Body=real"
    with pytest.raises(Empty):
        upstream.received.get_nowait()


def test_a_reserved_domain_is_used(make_tunnel: MakeTunnel, fake: FakeNgrok) -> None:
    fake.configure(expected_authtoken=TOKEN, reserved_domains=["shop-texts.ngrok-free.app"])
    tunnel, statuses = make_tunnel(static_domain="https://Shop-Texts.ngrok-free.app/")
    tunnel.start()
    assert statuses.state(TunnelState.ONLINE).public_url == "https://shop-texts.ngrok-free.app"


def test_an_unreserved_domain_fails_in_plain_words(
    make_tunnel: MakeTunnel, fake: FakeNgrok
) -> None:
    fake.configure(expected_authtoken=TOKEN, reserved_domains=[])
    tunnel, statuses = make_tunnel(static_domain="not-mine.ngrok-free.app")
    tunnel.start()

    failed = statuses.state(TunnelState.FAILED)
    assert "not-mine.ngrok-free.app is not reserved" in failed.message
    assert "every 60 seconds" in failed.action
    assert failed.error_code == "ERR_NGROK_18006"
    assert all(not pid_alive(agent["pid"]) for agent in fake.agents())


def test_a_bad_authtoken_fails_in_plain_words_without_leaking_it(
    make_tunnel: MakeTunnel, fake: FakeNgrok, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.configure(expected_authtoken="a-different-token-42")
    tunnel, statuses = make_tunnel()
    started = time.monotonic()
    tunnel.start()

    failed = statuses.state(TunnelState.FAILED)
    assert time.monotonic() - started < 5
    assert failed.message == "ngrok did not accept the authtoken."
    assert "authtoken" in failed.action
    assert failed.error_code == "ERR_NGROK_107"
    messages = [record.getMessage() for record in caplog.records]
    assert any("ERR_NGROK_107" in message for message in messages)  # ngrok quoted the token…
    assert not [m for m in messages if TOKEN in m]  # …and it was redacted
    assert TOKEN not in failed.message + failed.action


def test_no_authtoken_fails_without_starting_ngrok(
    make_tunnel: MakeTunnel, fake: FakeNgrok
) -> None:
    tunnel, statuses = make_tunnel(auth_token="  ")
    tunnel.start()
    failed = statuses.state(TunnelState.FAILED, timeout=3)
    assert failed.message == "ngrok needs an authtoken to connect."
    assert fake.agents() == []


def test_a_killed_agent_is_replaced_and_the_new_url_reported(
    make_tunnel: MakeTunnel, fake: FakeNgrok, upstream: Upstream
) -> None:
    tunnel, statuses = make_tunnel()
    tunnel.start()
    first = statuses.state(TunnelState.ONLINE).public_url
    pid = tunnel.agent_pid
    assert pid is not None
    assert first is not None

    os.kill(pid, signal.SIGKILL)

    reconnecting = statuses.state(TunnelState.RECONNECTING)
    assert reconnecting.attempt == 1
    assert reconnecting.message == "ngrok stopped unexpectedly."
    second = statuses.state(TunnelState.ONLINE).public_url
    assert second is not None
    assert second != first
    assert tunnel.agent_pid not in (None, pid)
    assert_gone(pid)
    status, _ = post(f"{fake.forwarder_for(second)}/twilio/sms", b"Body=again")
    assert status == 200
    assert upstream.received.get(timeout=5)[2] == b"Body=again"


@pytest.mark.parametrize(
    ("mode", "content", "reason"),
    [
        (0o644, "#!/bin/sh\n", "it is not allowed to run as a program"),
        (0o755, "\x7fELF garbage, not for this computer", "it is not a program for this computer"),
    ],
)
def test_an_agent_that_cannot_run_fails_in_plain_words(
    make_tunnel: MakeTunnel, tmp_path: Path, mode: int, content: str, reason: str
) -> None:
    broken = tmp_path / "broken-ngrok"
    broken.write_text(content, encoding="utf-8")
    broken.chmod(mode)
    tunnel, statuses = make_tunnel(ngrok_path=str(broken))
    tunnel.start()
    failed = statuses.state(TunnelState.FAILED, timeout=5)
    assert failed.message == f"The ngrok program at {broken} can't be started ({reason})."
    assert "downloads ngrok itself" in failed.action


def test_a_second_session_elsewhere_is_retried_until_it_clears(
    make_tunnel: MakeTunnel, fake: FakeNgrok
) -> None:
    fake.configure(expected_authtoken=TOKEN, session_limit=True)
    tunnel, statuses = make_tunnel()
    tunnel.start()

    first = statuses.state(TunnelState.RECONNECTING)
    assert first.error_code == "ERR_NGROK_108"
    assert "already connected somewhere else" in first.message
    assert statuses.state(TunnelState.RECONNECTING).attempt == 2  # backing off, not failing
    fake.configure(expected_authtoken=TOKEN)
    assert statuses.state(TunnelState.ONLINE).public_url is not None


def test_a_lost_session_shows_reconnecting_then_the_new_url(
    make_tunnel: MakeTunnel, fake: FakeNgrok
) -> None:
    fake.configure(
        expected_authtoken=TOKEN, blip_after=0.3, blip_seconds=0.3, rotate_urls_on_blip=True
    )
    tunnel, statuses = make_tunnel()
    tunnel.start()
    first = statuses.state(TunnelState.ONLINE).public_url
    pid = tunnel.agent_pid

    lost = statuses.state(TunnelState.RECONNECTING)
    assert lost.message == "Lost the connection to ngrok; reconnecting…"
    assert lost.attempt == 1
    second = statuses.state(TunnelState.ONLINE).public_url
    assert second is not None
    assert RANDOM_URL.fullmatch(second)
    assert second != first
    assert tunnel.agent_pid == pid  # the agent reconnected by itself


def test_a_recovery_missing_from_the_log_is_noticed(
    make_tunnel: MakeTunnel, fake: FakeNgrok
) -> None:
    fake.configure(expected_authtoken=TOKEN, blip_after=0.3, blip_seconds=0.3, quiet_recovery=True)
    tunnel, statuses = make_tunnel()
    tunnel.start()
    first = statuses.state(TunnelState.ONLINE).public_url
    statuses.state(TunnelState.RECONNECTING)
    assert statuses.state(TunnelState.ONLINE).public_url == first


def test_a_vanished_endpoint_is_opened_again(make_tunnel: MakeTunnel, fake: FakeNgrok) -> None:
    tunnel, statuses = make_tunnel()
    tunnel.start()
    first = statuses.state(TunnelState.ONLINE).public_url
    pid = tunnel.agent_pid
    assert pid is not None
    api = fake.agent(pid)["api"]

    request = urllib.request.Request(f"{api}/api/endpoints/twoway", method="DELETE")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 204

    second = statuses.state(TunnelState.ONLINE).public_url
    assert second is not None
    assert second != first
    assert tunnel.agent_pid == pid


def test_stop_closes_the_endpoint_and_stops_the_agent(
    make_tunnel: MakeTunnel, fake: FakeNgrok, tmp_path: Path
) -> None:
    tunnel, statuses = make_tunnel()
    tunnel.start()
    statuses.state(TunnelState.ONLINE)
    pid = tunnel.agent_pid
    assert pid is not None
    assert (tmp_path / "state" / RECORD_NAME).exists()

    tunnel.stop()

    assert tunnel.status.state is TunnelState.OFF
    assert statuses.items[-1].state is TunnelState.OFF
    assert_gone(pid)
    agent = fake.agent(pid)
    assert agent["state"] == "exited"  # it got SIGTERM and shut down cleanly
    assert agent["endpoints"] == {}  # after the endpoint was closed
    assert not (tmp_path / "state" / RECORD_NAME).exists()
    count = len(statuses.items)
    tunnel.stop()
    assert len(statuses.items) == count

    tunnel.start()  # and it can start again
    assert statuses.state(TunnelState.ONLINE).public_url is not None


def test_stop_does_not_wait_for_an_agent_that_never_answers(
    make_tunnel: MakeTunnel, fake: FakeNgrok
) -> None:
    fake.configure(hang_on_start=True)
    tunnel, _ = make_tunnel(startup_timeout=30)
    tunnel.start()
    deadline = time.monotonic() + 5
    while not fake.agents():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    pid = fake.agents()[0]["pid"]

    started = time.monotonic()
    tunnel.stop()
    assert time.monotonic() - started < 3
    assert tunnel.status.state is TunnelState.OFF
    assert_gone(pid)


def test_a_silent_agent_is_given_up_on_and_retried(
    make_tunnel: MakeTunnel, fake: FakeNgrok
) -> None:
    fake.configure(hang_on_start=True)
    tunnel, statuses = make_tunnel(startup_timeout=1)
    tunnel.start()
    reconnecting = statuses.state(TunnelState.RECONNECTING, timeout=6)
    assert reconnecting.message == "ngrok did not start in time."


def test_an_agent_left_by_a_crash_is_stopped_on_start(
    make_tunnel: MakeTunnel, fake: FakeNgrok, tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    config = write_agent_config(state_dir, free_loopback_port())
    orphan = subprocess.Popen(
        [str(fake.launcher), "start", "--none", "--log", "stdout", "--config", str(config)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "NGROK_AUTHTOKEN": TOKEN},
    )
    try:
        assert orphan.stdout is not None
        for line in orphan.stdout:
            if "tunnel session started" in line:
                break
        record_agent(state_dir, orphan.pid, str(fake.launcher), config)

        tunnel, statuses = make_tunnel()
        tunnel.start()
        statuses.state(TunnelState.ONLINE)
        assert orphan.wait(timeout=5) == 0  # terminated politely
        assert tunnel.agent_pid != orphan.pid
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
        if orphan.stdout is not None:
            orphan.stdout.close()


@pytest.fixture
def download_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., str]]:
    """Points pyngrok's installer at a local server; nothing reaches the internet."""
    replies: dict[str, tuple[int, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = replies.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "downloads"))
    (tmp_path / "downloads").mkdir()

    def serve(status: int, body: bytes) -> str:
        replies["/ngrok-v3-test.tgz"] = (status, body)
        url = f"http://127.0.0.1:{server.server_port}/ngrok-v3-test.tgz"
        monkeypatch.setattr(installer, "get_ngrok_cdn_url", lambda version: url)
        return url

    yield serve
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("status", "body"), [(404, b"not found"), (200, b"this is not a tar archive" * 100)]
)
def test_a_failed_download_fails_quickly_in_plain_words(
    make_tunnel: MakeTunnel,
    download_server: Callable[..., str],
    tmp_path: Path,
    status: int,
    body: bytes,
) -> None:
    download_server(status, body)
    target = tmp_path / "ngrok-home" / "ngrok"
    tunnel, statuses = make_tunnel(ngrok_path=str(target))
    started = time.monotonic()
    tunnel.start()

    failed = statuses.state(TunnelState.FAILED, timeout=5)
    assert time.monotonic() - started < 5
    assert failed.message.startswith("Couldn't download ngrok")
    assert "checks Twilio for new messages every 60 seconds" in failed.action
    assert any(s.message.startswith("Downloading ngrok…") for s in statuses.items)
    assert not target.exists()


def test_a_missing_agent_is_downloaded_with_visible_progress(
    make_tunnel: MakeTunnel,
    download_server: Callable[..., str],
    fake: FakeNgrok,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.add(fake.launcher, arcname="ngrok")
    payload = archive.getvalue() + b"\0" * 40_000  # padding makes the progress visible
    download_server(200, payload)
    monkeypatch.setattr(sys, "stdout", None)  # a frozen windowed app has no console
    target = tmp_path / "ngrok-home" / "ngrok"
    tunnel, statuses = make_tunnel(ngrok_path=str(target))
    tunnel.start()

    statuses.state(TunnelState.ONLINE)
    progress = [s.progress or 0 for s in statuses.items if s.message.startswith("Downloading")]
    assert progress[0] == 0
    assert progress[-1] == 100
    assert progress == sorted(progress)
    assert len(progress) > 3
    assert "Downloading ngrok… 100%" in [s.message for s in statuses.items]
    assert os.access(target, os.X_OK)


def open_descriptors() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
    return sorted(found)


def test_descriptors_stay_flat_over_many_agent_restarts(
    make_tunnel: MakeTunnel, fake: FakeNgrok, upstream: Upstream
) -> None:
    import psutil

    me = psutil.Process()
    tunnel, statuses = make_tunnel()
    tunnel.start()
    statuses.state(TunnelState.ONLINE)

    def drop() -> None:
        pid = tunnel.agent_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        statuses.state(TunnelState.RECONNECTING)
        statuses.state(TunnelState.ONLINE)
        assert_gone(pid)

    drop()  # warm-up: the first restart may open what later ones reuse
    before = me.num_fds()
    for _ in range(6):
        drop()
    grown = me.num_fds() - before
    assert grown <= 2, f"{grown} more open descriptors after 6 restarts: {open_descriptors()}"
