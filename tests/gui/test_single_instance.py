"""A second launch on the same data folder brings the first window forward and exits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from desktop.ui.single_instance import (
    InstanceServer,
    ask_running_instance_to_show,
    instance_key,
    server_name,
)

REPO = Path(__file__).resolve().parents[2]


def test_keys_differ_per_data_folder(tmp_path: Path) -> None:
    assert instance_key(tmp_path / "a") != instance_key(tmp_path / "b")
    assert instance_key(tmp_path / "a") == instance_key(tmp_path / "a")


def test_nobody_listening_means_start_normally(tmp_path: Path) -> None:
    key = instance_key(tmp_path / "nobody")
    started = time.monotonic()
    assert not ask_running_instance_to_show(key)
    assert time.monotonic() - started < 1


def test_a_stale_socket_from_a_crash_does_not_block_start(tmp_path: Path) -> None:
    import socket

    key = instance_key(tmp_path / "crashed")
    path = server_name(key)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens
    try:
        assert not ask_running_instance_to_show(key)
    finally:
        Path(path).unlink(missing_ok=True)


def test_second_launch_asks_the_first_to_show(qtbot: QtBot, tmp_path: Path) -> None:
    key = instance_key(tmp_path / "data")
    owner = QObject()
    server = InstanceServer(key, owner)
    try:
        with qtbot.waitSignal(server.activated, timeout=3000):
            assert ask_running_instance_to_show(key)
    finally:
        server.close()
        owner.deleteLater()
        qtbot.wait(20)


def test_second_process_exits_at_once_while_the_first_runs(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    data = tmp_path / "data"
    first = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "--data-dir", str(data), "--no-tunnel"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        socket_path = Path(server_name(instance_key(data)))
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            assert first.poll() is None, "the first instance died"
            assert time.monotonic() < deadline, "the first instance never listened"
            time.sleep(0.05)
        second = subprocess.run(
            [sys.executable, str(REPO / "main.py"), "--data-dir", str(data)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert second.returncode == 0
        assert "already running" in second.stdout
        assert first.poll() is None
    finally:
        first.terminate()
        first.wait(10)
