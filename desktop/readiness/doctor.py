"""``python main.py doctor [--data-dir DIR] [--json]``: the readiness report on the command line.

Read-only: it reads the settings file and the database without changing either, asks the
running app's receiver for a self-test through its public URL (found in
``state/running.json``), and never prints a secret.  Exit status 0 when Twoway can send
and receive texts, 1 when something blocks (the report says what and what to do).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from desktop.config import EnvironmentOverrides, Paths, Settings, default_data_dir
from desktop.credentials import load_for_command
from desktop.readiness.checks import ReadinessContext, run_checks
from desktop.readiness.model import Report
from desktop.readiness.runtime import RunningApp, is_listening, read_running_app
from desktop.secrets import SecretStore


def read_settings(path: Path) -> Settings:
    """The settings as saved, without the repairs the app makes (the doctor changes nothing)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    return Settings.from_json(data) if isinstance(data, dict) else Settings()


def running_app(paths: Paths) -> tuple[RunningApp | None, str]:
    """The running app, or None with the reason in plain words."""
    found = read_running_app(paths.state)
    if found is None:
        return None, "Twoway is not running, so nothing receives texts right now."
    if not is_listening(found.local_port):
        return None, (
            "Twoway is not running (it did not close properly last time), so nothing "
            "receives texts right now."
        )
    return found, ""


def doctor_report(
    data_dir: Path | None,
    environ: Mapping[str, str] | None = None,
    secrets: SecretStore | None = None,
) -> Report:
    paths = Paths(data_dir or default_data_dir())
    env = EnvironmentOverrides.from_environ(environ)
    settings = read_settings(paths.settings)
    running, why = running_app(paths)
    context = ReadinessContext(
        credentials=load_for_command(environ, secrets, encrypted_file=paths.encrypted_secrets),
        api_base_url=env.api_base_url,
        wanted_number=env.phone_number or settings.phone_number,
        running=running,
        not_running=why or ReadinessContext.not_running,
        database=paths.database if paths.database.exists() else None,
        settings=settings,
        now_ms=int(time.time() * 1000),
    )
    return run_checks(context)


def run_doctor(
    data_dir: Path | None,
    as_json: bool,
    *,
    environ: Mapping[str, str] | None = None,
    secrets: SecretStore | None = None,
    out: TextIO | None = None,
) -> int:
    """Print the report; 0 when ready to send and receive, 1 when something blocks."""
    stream = out or sys.stdout
    try:
        report = doctor_report(data_dir, environ, secrets)
    except ValueError as exc:  # a malformed environment (TWOWAY_TWILIO_API_URL)
        print(f"twoway doctor: {exc}", file=sys.stderr)
        return 1
    stream.write(report.json_text() + "\n" if as_json else report.text())
    stream.flush()
    return 0 if report.ready else 1
