"""Tunnel settings, backoff, and the agent config file Twoway writes."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from pyngrok import installer

from desktop.tunnel.agent_files import write_agent_config
from desktop.tunnel.models import TunnelSettings, normalize_domain


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("shop.ngrok-free.app", "https://shop.ngrok-free.app"),
        (" https://Shop.ngrok-free.app/ ", "https://shop.ngrok-free.app"),
        ("http://texts.example.com", "https://texts.example.com"),
    ],
)
def test_pasted_domains_are_normalized(value: str, expected: str) -> None:
    assert normalize_domain(value) == expected


@pytest.mark.parametrize("value", ["shop", "https://", "a b.ngrok.app", "-x.ngrok.app", "x..app"])
def test_things_that_are_not_host_names_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="not a host name"):
        normalize_domain(value)


def test_no_static_domain_means_a_random_address() -> None:
    assert TunnelSettings(auth_token="t", static_domain="  ").public_domain_url() is None


def test_settings_repr_shows_no_secret() -> None:
    settings = TunnelSettings(auth_token="ngrok-secret-1", verify_twilio_auth_token="tw-secret-2")
    assert "ngrok-secret-1" not in repr(settings)
    assert "tw-secret-2" not in repr(settings)


def test_agent_config_keeps_the_inspector_local_and_off(tmp_path: Path) -> None:
    path = write_agent_config(tmp_path / "state", 47123)
    yaml = importlib.import_module("yaml")
    config = yaml.safe_load(path.read_text(encoding="utf-8"))

    assert config["version"] == "3"
    agent = config["agent"]
    assert agent["web_addr"] == "127.0.0.1:47123"
    assert agent["inspect_db_size"] == -1
    assert agent["update_check"] is False
    assert agent["remote_management"] is False
    assert "authtoken" not in agent
    installer.validate_config(config)  # pyngrok accepts it (log format, level, web_addr)
