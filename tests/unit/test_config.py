"""Settings survive upgrades and damage; environment overrides are validated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.config import EnvironmentOverrides, Settings, SettingsFile, TunnelMode


def test_settings_round_trip_and_keep_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"phone_number": "+15035550100", "from_the_future": [1, 2]}))
    file = SettingsFile(path)
    settings = file.load()
    settings.tunnel_mode = TunnelMode.POLL
    file.save(settings)
    saved = json.loads(path.read_text())
    assert saved["from_the_future"] == [1, 2]
    assert saved["tunnel_mode"] == "poll"
    assert file.load().phone_number == "+15035550100"


def test_damaged_settings_file_is_kept_aside_and_defaults_used(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{ not json")
    settings = SettingsFile(path).load()
    assert settings == Settings()
    [aside] = tmp_path.glob("settings.json.unreadable-*")
    assert aside.read_text() == "{ not json"


def test_out_of_range_and_wrong_typed_values_fall_back(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"poll_interval_s": 1, "tunnel_mode": "carrier-pigeon"}))
    settings = SettingsFile(path).load()
    assert settings.poll_interval_s == 5
    assert settings.tunnel_mode is TunnelMode.NGROK


def test_api_url_override_is_validated() -> None:
    env = EnvironmentOverrides.from_environ({"TWOWAY_TWILIO_API_URL": "http://127.0.0.1:5000/"})
    assert env.api_base_url == "http://127.0.0.1:5000"
    assert EnvironmentOverrides.from_environ({}).api_base_url == "https://api.twilio.com"
    with pytest.raises(ValueError, match="TWOWAY_TWILIO_API_URL"):
        EnvironmentOverrides.from_environ({"TWOWAY_TWILIO_API_URL": "ftp://x"})
