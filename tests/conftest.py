"""Shared fixtures: isolated data folders, an in-memory keyring, no real environment secrets."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from desktop.config import Paths
from desktop.store.service import Store
from tests.fakes.memory_keyring import MemoryKeyring

_ENV_TO_CLEAR = (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_KEY",
    "TWILIO_API_SECRET",
    "TWOWAY_PHONE_NUMBER",
    "NGROK_AUTHTOKEN",
    "PYNGROK_NGROK_PATH",
    "TWOWAY_TWILIO_API_URL",
    "TWILIO_EDGE",
    "TWILIO_REGION",
)


@pytest.fixture(autouse=True)
def isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[MemoryKeyring]:
    """No test sees the developer's credentials, keyring or home folder."""
    for name in _ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(isolated_environment: MemoryKeyring) -> MemoryKeyring:
    return isolated_environment


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    p = Paths(tmp_path / "data")
    p.create()
    return p


@pytest.fixture
def store(paths: Paths) -> Iterator[Store]:
    s = Store(paths.database, paths.backups)
    s.open()
    yield s
    s.close()


from tests.receiver_fixture import running_receiver  # noqa: E402, F401
