"""An agent left behind by a crash is stopped; nothing else ever is."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.tunnel import agent_files
from desktop.tunnel.agent_files import (
    RECORD_NAME,
    AgentRecord,
    looks_like_our_agent,
    read_record,
    reap_orphan,
    record_agent,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process checks")

_SLEEP = "import time; time.sleep(30)"


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def _agent_like(spawned: list[subprocess.Popen[bytes]], config: Path) -> subprocess.Popen[bytes]:
    """A process whose command line reads like ``<exe> … start --none --config <config>``."""
    argv = [sys.executable, "-c", _SLEEP, "start", "--none", "--config", str(config)]
    process = subprocess.Popen(argv)
    spawned.append(process)
    # Until exec completes, /proc shows the parent's (or no) command line.
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    deadline = time.monotonic() + 5
    while cmdline.exists() and str(config).encode() not in cmdline.read_bytes().split(b"\0"):
        assert time.monotonic() < deadline, "the child never ran"
        time.sleep(0.01)
    return process


def test_our_orphan_is_stopped_and_the_record_cleared(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    config = tmp_path / "ngrok.yml"
    orphan = _agent_like(spawned, config)
    record_agent(tmp_path, orphan.pid, sys.executable, config)

    assert reap_orphan(tmp_path, grace=2) == orphan.pid
    assert orphan.wait(timeout=5) is not None
    assert not (tmp_path / RECORD_NAME).exists()


def test_a_process_without_our_config_is_left_alone(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    other = _agent_like(spawned, tmp_path / "someone-elses.yml")
    record_agent(tmp_path, other.pid, sys.executable, tmp_path / "ngrok.yml")

    assert reap_orphan(tmp_path) is None
    assert other.poll() is None
    assert not (tmp_path / RECORD_NAME).exists()


def test_a_reused_pid_is_left_alone(tmp_path: Path, spawned: list[subprocess.Popen[bytes]]) -> None:
    config = tmp_path / "ngrok.yml"
    process = _agent_like(spawned, config)
    record = record_agent(tmp_path, process.pid, sys.executable, config)
    assert record.started is not None
    assert looks_like_our_agent(record)

    older = dataclasses.replace(record, started=str(int(record.started) - 1000))
    assert not looks_like_our_agent(older)


def test_a_different_program_is_left_alone(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    config = tmp_path / "ngrok.yml"
    process = _agent_like(spawned, config)
    record = record_agent(tmp_path, process.pid, str(tmp_path / "ngrok"), config)
    assert not looks_like_our_agent(record)


def test_a_dead_or_own_pid_is_ignored(tmp_path: Path) -> None:
    record_agent(tmp_path, 2**22 + 12345, sys.executable, tmp_path / "ngrok.yml")
    assert reap_orphan(tmp_path) is None
    record_agent(tmp_path, os.getpid(), sys.executable, tmp_path / "ngrok.yml")
    assert reap_orphan(tmp_path) is None


def test_an_unreadable_record_is_ignored(tmp_path: Path) -> None:
    (tmp_path / RECORD_NAME).write_text("{not json", encoding="utf-8")
    assert read_record(tmp_path) is None
    assert reap_orphan(tmp_path) is None


def test_zombies_count_as_gone(spawned: list[subprocess.Popen[bytes]]) -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    spawned.append(process)
    deadline = time.monotonic() + 5
    while agent_files.is_alive(process.pid):
        assert time.monotonic() < deadline, "an exited, unreaped child still counts as alive"
        time.sleep(0.01)
    assert process.returncode is None  # not reaped: it is a zombie


@pytest.mark.parametrize(
    ("command", "ours"),
    [
        (
            "/Users/a/Library/Application Support/Twoway/ngrok start --none --log stdout "
            "--config /Users/a/Library/Application Support/Twoway/ngrok.yml",
            True,
        ),
        (
            "/usr/local/bin/ngrok start --none --config /Users/a/Library/Application "
            "Support/Twoway/ngrok.yml",
            False,
        ),
        ("/Users/a/Library/Application Support/Twoway/ngrok http 80", False),
    ],
)
def test_without_proc_the_ps_command_line_is_matched_path_by_path(
    monkeypatch: pytest.MonkeyPatch, command: str, ours: bool
) -> None:
    home = "/Users/a/Library/Application Support/Twoway"
    record = AgentRecord(pid=4242, exe=f"{home}/ngrok", config=f"{home}/ngrok.yml", started=None)
    monkeypatch.setattr(agent_files, "_HAS_PROC", False)
    monkeypatch.setattr(agent_files, "start_marker", lambda pid: None)
    monkeypatch.setattr(agent_files, "_ps_field", lambda pid, field: command)
    assert looks_like_our_agent(record) is ours
