"""Laptops of one front desk for team-mode tests: a Core per staff name against one
simulated account, each with its own data folder and webhook port."""

from __future__ import annotations

import socket
from pathlib import Path

from desktop.core import Core, CoreOptions
from desktop.simulator.server import SimulatedTwilio

OUR = "+15035550100"
#: The webhook lease, scaled down so takeovers happen within a test.
TTL_S = 3.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def team_core(
    data_dir: Path,
    sim: SimulatedTwilio,
    name: str,
    *,
    team_from_environment: bool = True,
    ttl_s: float = TTL_S,
) -> Core:
    """An opened (not started) Core for staff ``name``; team mode from ``TWOWAY_TEAM``
    unless ``team_from_environment`` is False (then Settings → Team decides)."""
    port = free_port()
    environ = {
        "TWILIO_ACCOUNT_SID": sim.account_sid,
        "TWILIO_AUTH_TOKEN": sim.auth_token,
        "TWOWAY_TWILIO_API_URL": sim.base_url,
        "TWOWAY_PHONE_NUMBER": OUR,
        "TWOWAY_STAFF_NAME": name,
    }
    if team_from_environment:
        environ["TWOWAY_TEAM"] = "1"
    core = Core(
        CoreOptions(
            data_dir=data_dir,
            port=port,
            public_url=f"http://127.0.0.1:{port}",
            environ=environ,
            team_lease_ttl_s=ttl_s,
        )
    )
    core.open()
    return core
