"""``main.py config import|export`` and ``main.py contacts import|export`` as users run them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from desktop.config import Paths
from desktop.store import contacts
from desktop.store.service import Store
from tests.integration.test_cli_export import run_cli

SETUP = {
    "quick_replies": [{"name": "Directions", "text": "12 Main St."}],
    "business_hours": {
        "time_zone": "America/Chicago",
        "weekly": {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "sun": []},
        "closed_dates": ["2026-12-25"],
    },
    "auto_replies": {
        "away": {"enabled": True, "text": "Closed; hours: {hours}", "once_per_hours": 24},
        "keywords": [{"word": "HOURS", "text": "{hours}"}],
    },
    "from_a_newer_version": {"kept": True},
}


def test_config_import_then_export_round_trips_and_keeps_unknown_keys(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    source = tmp_path / "setup.json"
    source.write_text(json.dumps(SETUP), encoding="utf-8")
    imported = run_cli("config", "import", str(source), "--data-dir", str(data_dir))
    assert imported.returncode == 0, imported.stderr
    assert "Imported 1 quick replies" in imported.stderr

    out = tmp_path / "exported.json"
    exported = run_cli("config", "export", "--data-dir", str(data_dir), "--output", str(out))
    assert exported.returncode == 0, exported.stderr
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["from_a_newer_version"] == {"kept": True}
    assert written["business_hours"]["weekly"]["mon"] == [["08:00", "12:00"], ["13:00", "17:00"]]
    assert written["business_hours"]["weekly"]["tue"] == []
    assert written["auto_replies"]["away"]["once_per_hours"] == 24
    to_stdout = run_cli("config", "export", "--data-dir", str(data_dir))
    assert json.loads(to_stdout.stdout) == written


def test_a_bad_config_file_is_refused_whole_and_nothing_changes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    good = tmp_path / "good.json"
    good.write_text(json.dumps(SETUP), encoding="utf-8")
    assert run_cli("config", "import", str(good), "--data-dir", str(data_dir)).returncode == 0
    before = (data_dir / "frontdesk.json").read_bytes()

    bad = dict(SETUP, quick_replies=[{"name": "New one", "text": "fine"}])
    bad["business_hours"] = dict(SETUP["business_hours"], time_zone="Central Time")  # type: ignore[arg-type]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    refused = run_cli("config", "import", str(path), "--data-dir", str(data_dir))
    assert refused.returncode == 1
    assert "business_hours.time_zone" in refused.stderr
    assert "nothing changed" in refused.stderr
    assert (data_dir / "frontdesk.json").read_bytes() == before


def test_config_import_of_a_missing_file_says_so(tmp_path: Path) -> None:
    result = run_cli("config", "import", str(tmp_path / "nope.json"), "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "nope.json" in result.stderr
    assert "Traceback" not in result.stderr


CONTACTS = (
    "name,number,note\n"
    '"Lovelace, Ada",(503) 555-0142,"Prefers mornings\nno texts after 6"\n'
    "Bob,12,\n"
    "Carol,+44 20 7946 0958,\n"
    "Ada,503-555-0142,\n"
)


def test_contacts_import_reports_counts_and_bad_lines_then_export_writes_e164(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    source = tmp_path / "contacts.csv"
    source.write_text(CONTACTS, encoding="utf-8")
    result = run_cli(
        "contacts",
        "import",
        str(source),
        "--data-dir",
        str(data_dir),
        env={"TWOWAY_PHONE_NUMBER": "+15035550100"},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Line 4 not imported: 12:")
    assert lines[-1] == "Added 2 contacts, merged 1 into existing ones; 1 rows could not be read."

    again = run_cli("contacts", "import", str(source), "--data-dir", str(data_dir))
    assert again.returncode == 0
    assert again.stdout.splitlines()[-1].startswith("Added 0 contacts, merged 3")

    exported = run_cli("contacts", "export", "--data-dir", str(data_dir))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.reader(io.StringIO(exported.stdout, newline="")))
    assert rows == [
        ["name", "number", "note"],
        ["Ada", "+15035550142", "Prefers mornings\nno texts after 6"],
        ["Carol", "+442079460958", ""],
    ]
    out = tmp_path / "out.csv"
    assert (
        run_cli("contacts", "export", "--data-dir", str(data_dir), "--output", str(out)).returncode
        == 0
    )
    assert out.read_text(encoding="utf-8") == exported.stdout

    paths = Paths(data_dir)
    store = Store(paths.database, paths.backups)
    store.open()
    try:
        assert len(contacts.contacts(store.reader())) == 2
    finally:
        store.close()


def test_contacts_import_with_nothing_readable_exits_1(tmp_path: Path) -> None:
    source = tmp_path / "contacts.csv"
    source.write_text("name,number,note\nBob,12,\nEve,call me,\n", encoding="utf-8")
    result = run_cli("contacts", "import", str(source), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 1
    assert "Line 2 not imported" in result.stdout
    assert "Line 3 not imported" in result.stdout
    assert "nothing was imported" in result.stdout
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("Bob,5035550142\n", encoding="utf-8")
    refused = run_cli("contacts", "import", str(headerless), "--data-dir", str(tmp_path / "data"))
    assert refused.returncode == 1
    assert "name,number,note" in refused.stderr


def test_contacts_export_without_data_says_so(tmp_path: Path) -> None:
    result = run_cli("contacts", "export", "--data-dir", str(tmp_path / "empty"))
    assert result.returncode == 1
    assert "no Twoway data" in result.stderr
    usage = run_cli("contacts", "frobnicate")
    assert usage.returncode == 2
