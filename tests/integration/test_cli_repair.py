"""``twoway repair`` and ``twoway export`` on a damaged database, as users run them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.store import backups
from tests.damage_helpers import (
    damage_page,
    digest,
    export_json,
    messages_by_sid,
    seed_from_twilio,
)
from tests.integration.test_cli_export import run_cli
from tests.integration.test_sync_harness import SyncEnv, sync_env
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN

#: No real keyring in a child process: environment credentials, or a refused keyring.
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SyncEnv]:
    with sync_env(tmp_path, with_receiver=False) as environment:
        seed_from_twilio(environment, count=700)
        environment.store.close()
        yield environment


def _twilio(env: SyncEnv) -> dict[str, str]:
    return {
        **NO_KEYRING,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWOWAY_TWILIO_API_URL": env.sim.base_url,
    }


def test_export_of_a_damaged_database_says_so_and_writes_nothing(env: SyncEnv) -> None:
    damage_page(env.paths.database, "messages")
    target = env.paths.data_dir.parent / "export.json"

    done = run_cli("export", "--data-dir", str(env.paths.data_dir), "--output", str(target))

    assert done.returncode == 1
    assert "damaged" in done.stderr
    assert "twoway repair" in done.stderr
    assert "Traceback" not in done.stderr
    assert not target.exists()
    assert not target.with_name(target.name + ".part").exists()


def test_repair_then_export_gives_back_everything(env: SyncEnv) -> None:
    db = env.paths.database
    original = export_json(db)
    damage_page(db, "messages")

    done = run_cli("repair", "--data-dir", str(env.paths.data_dir), env=_twilio(env))

    assert done.returncode == 0, done.stderr
    assert "The damaged file is kept, unchanged" in done.stdout
    assert "unreadable" in done.stdout
    assert "From Twilio's message log (the last 400 days" in done.stdout
    target = env.paths.data_dir.parent / "after.json"
    exported = run_cli("export", "--data-dir", str(env.paths.data_dir), "--output", str(target))
    assert exported.returncode == 0, exported.stderr
    assert json.loads(target.read_text()) == original


def test_repair_without_credentials_rebuilds_and_says_twilio_was_not_consulted(
    env: SyncEnv,
) -> None:
    damage_page(env.paths.database, "messages_by_time")

    done = run_cli("repair", "--data-dir", str(env.paths.data_dir), env=NO_KEYRING)

    assert done.returncode == 0, done.stderr
    assert "Twilio's message log was not consulted" in done.stdout
    assert "messages: 700" in done.stdout


def test_repair_of_a_healthy_database_changes_nothing(env: SyncEnv) -> None:
    before = digest(env.paths.database)

    done = run_cli("repair", "--data-dir", str(env.paths.data_dir), env=NO_KEYRING)

    assert done.returncode == 0
    assert "not damaged; nothing was changed" in done.stdout
    assert digest(env.paths.database) == before
    assert not (env.paths.data_dir / "damaged").exists()


def test_repair_without_any_database_says_so_in_plain_words(tmp_path: Path) -> None:
    done = run_cli("repair", "--data-dir", str(tmp_path / "nothing"), env=NO_KEYRING)

    assert done.returncode == 1
    assert "there is no message database" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_database_with_a_backup_is_rebuilt_from_twilio(env: SyncEnv) -> None:
    db = env.paths.database
    original = export_json(db)
    assert backups.back_up_daily(db, env.paths.backups) is not None
    db.unlink()

    done = run_cli("repair", "--data-dir", str(env.paths.data_dir), env=_twilio(env))

    assert done.returncode == 0, done.stderr
    assert messages_by_sid(export_json(db)) == messages_by_sid(original)
    assert "There was no database file to read" in done.stdout
