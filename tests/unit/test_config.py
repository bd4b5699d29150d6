"""Settings survive upgrades and damage; environment overrides are validated."""

from __future__ import annotations

import functools
import json
import threading
from pathlib import Path

import pytest

from desktop.config import (
    DEFAULT_POLL_INTERVAL_S,
    EnvironmentOverrides,
    Settings,
    SettingsError,
    SettingsFile,
    SettingsStore,
    TunnelMode,
)


def test_settings_round_trip_and_keep_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"phone_number": "+15035550100", "from_the_future": [1, 2]}))
    store = SettingsStore(SettingsFile(path))
    store.load()
    store.update(lambda s: s.replace(tunnel_mode=TunnelMode.POLL))
    saved = json.loads(path.read_text())
    assert saved["from_the_future"] == [1, 2]
    assert saved["tunnel_mode"] == "poll"
    assert SettingsFile(path).load().phone_number == "+15035550100"


def test_damaged_settings_file_is_kept_aside_and_defaults_used(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{ not json")
    file = SettingsFile(path)
    assert file.load() == Settings()
    assert file.problems
    [aside] = tmp_path.glob("settings.json.unreadable-*")
    assert aside.read_text() == "{ not json"


def test_bad_values_are_refused_with_plain_words_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    original = {
        "poll_interval_s": 1,
        "tunnel_mode": "carrier-pigeon",
        "configured": "false",
        "phone_number": "+15035550100",
    }
    path.write_text(json.dumps(original))
    file = SettingsFile(path)
    settings = file.load()
    assert settings.poll_interval_s == DEFAULT_POLL_INTERVAL_S
    assert settings.tunnel_mode is TunnelMode.NGROK
    assert settings.configured is False  # the string "false" is not taken as True
    assert settings.phone_number == "+15035550100"
    text = " ".join(file.problems)
    assert "'configured' must be true or false" in text
    assert "'poll_interval_s' must be a whole number from 5 to 3600, not 1" in text
    assert "'tunnel_mode' must be one of 'ngrok', 'public_url', 'poll'" in text
    # The file as the user left it is kept for them.
    [aside] = tmp_path.glob("settings.json.unreadable-*")
    assert json.loads(aside.read_text()) == original


def test_strict_reading_refuses_the_first_bad_value() -> None:
    with pytest.raises(SettingsError, match="'configured' must be true or false"):
        Settings.from_json({"configured": "false"})
    with pytest.raises(SettingsError, match="previous_sms_urls"):
        Settings.from_json({"previous_sms_urls": ["not", "a", "mapping"]})
    assert Settings.from_json({"configured": True}).configured is True


def test_settings_are_immutable_and_replace_checks_values() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.phone_number = "+1"  # type: ignore[misc]
    with pytest.raises(SettingsError, match="poll_interval_s"):
        settings.replace(poll_interval_s=2)
    assert settings.replace(poll_interval_s=30).poll_interval_s == 30
    assert settings.poll_interval_s == DEFAULT_POLL_INTERVAL_S


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    store = SettingsStore(SettingsFile(tmp_path / "settings.json"))
    store.load()
    seen: list[int] = []
    store.subscribe(lambda s: seen.append(len(s.previous_sms_urls)))

    def remember(worker: int) -> None:
        for n in range(25):
            sid = f"PN{worker:02d}{n:02d}"
            url = f"https://{sid}.example"
            store.update(functools.partial(Settings.with_previous_sms_url, number_sid=sid, url=url))

    threads = [threading.Thread(target=remember, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.value.previous_sms_urls) == 200
    on_disk = SettingsFile(tmp_path / "settings.json").load()
    assert on_disk.previous_sms_urls == store.value.previous_sms_urls
    assert seen == sorted(seen)  # announced in the order they happened
    assert seen[-1] == 200


def test_api_url_override_is_validated() -> None:
    env = EnvironmentOverrides.from_environ({"TWOWAY_TWILIO_API_URL": "http://127.0.0.1:5000/"})
    assert env.api_base_url == "http://127.0.0.1:5000"
    assert EnvironmentOverrides.from_environ({}).api_base_url == "https://api.twilio.com"
    with pytest.raises(ValueError, match="TWOWAY_TWILIO_API_URL"):
        EnvironmentOverrides.from_environ({"TWOWAY_TWILIO_API_URL": "ftp://x"})
