"""The command line as users and installers run it: export, --version, --smoke-test."""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from desktop import __version__
from desktop.config import Paths
from desktop.domain.models import Direction, MediaRef, NewMessage, Source
from desktop.store import writes
from desktop.store.service import Store
from tests.twilio_helpers import ACCOUNT_SID, CUSTOMER, OUR_NUMBER, new_sid

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "main.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})},
        check=False,
    )


def _seed(paths: Paths) -> tuple[str, str]:
    store = Store(paths.database, paths.backups)
    store.open()
    inbound_sid, outbound_sid = new_sid("MM"), new_sid()
    media_url = (
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/"
        f"{inbound_sid}/Media/{new_sid('ME')}"
    )
    try:
        store.writer.call(
            lambda tx: writes.insert_message(
                tx,
                NewMessage(
                    sid=inbound_sid,
                    direction=Direction.INBOUND,
                    from_number=CUSTOMER,
                    to_number=OUR_NUMBER,
                    body="Here's the photo, ça va?",
                    status="received",
                    created_at_ms=1_764_240_000_000,
                    source=Source.WEBHOOK,
                    media=(MediaRef(0, media_url, "image/jpeg"),),
                ),
            )
        )
        store.writer.call(
            lambda tx: writes.insert_message(
                tx,
                NewMessage(
                    sid=outbound_sid,
                    direction=Direction.OUTBOUND,
                    from_number=OUR_NUMBER,
                    to_number=CUSTOMER,
                    body="Thanks, got it",
                    status="undelivered",
                    error_code=30006,
                    created_at_ms=1_764_240_060_000,
                    source=Source.APP,
                ),
            )
        )
        store.writer.call(lambda tx: writes.rename_contact(tx, 1, "Ada Lovelace"))
    finally:
        store.close()
    return inbound_sid, outbound_sid


def test_export_json_has_the_documented_shape(paths: Paths) -> None:
    inbound_sid, outbound_sid = _seed(paths)
    result = run_cli("export", "--data-dir", str(paths.data_dir), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    [conversation] = data["conversations"]
    assert conversation["our_number"] == OUR_NUMBER
    assert conversation["contact_number"] == CUSTOMER
    assert conversation["contact_name"] == "Ada Lovelace"
    first, second = conversation["messages"]
    assert first == {
        "sid": inbound_sid,
        "direction": "inbound",
        "from": CUSTOMER,
        "to": OUR_NUMBER,
        "body": "Here's the photo, ça va?",
        "status": "received",
        "error_code": None,
        "created_at": "2025-11-27T10:40:00Z",
        "media": [{"content_type": "image/jpeg", "file": None}],
    }
    assert second["sid"] == outbound_sid
    assert (second["direction"], second["status"], second["error_code"]) == (
        "outbound",
        "undelivered",
        30006,
    )
    assert "sent_by" not in first
    assert "sent_by" not in second  # not in team mode: no sender name


def test_export_json_carries_the_team_senders_name(paths: Paths) -> None:
    from desktop.team import local

    _inbound_sid, outbound_sid = _seed(paths)
    store = Store(paths.database, paths.backups)
    store.open()
    try:
        store.writer.call(lambda tx: local.set_sent_by(tx, outbound_sid, "Sam"))
    finally:
        store.close()
    result = run_cli("export", "--data-dir", str(paths.data_dir), "--format", "json")
    assert result.returncode == 0, result.stderr
    first, second = json.loads(result.stdout)["conversations"][0]["messages"]
    assert second["sent_by"] == "Sam"
    assert "sent_by" not in first


def test_export_csv_to_a_file(paths: Paths, tmp_path: Path) -> None:
    _seed(paths)
    out = tmp_path / "export.csv"
    result = run_cli(
        "export", "--data-dir", str(paths.data_dir), "--format", "csv", "--output", str(out)
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["direction"] for r in rows] == ["inbound", "outbound"]
    assert rows[0]["contact_name"] == "Ada Lovelace"
    assert rows[0]["media_content_types"] == "image/jpeg"
    assert rows[1]["error_code"] == "30006"


def test_export_reads_a_consistent_snapshot_while_the_app_writes(paths: Paths) -> None:
    store = Store(paths.database, paths.backups)
    store.open()
    stop = threading.Event()

    def write_forever() -> None:
        i = 0
        while not stop.is_set():
            msg = NewMessage(
                sid=new_sid(),
                direction=Direction.INBOUND,
                from_number=CUSTOMER,
                to_number=OUR_NUMBER,
                body=f"burst {i}",
                status="received",
                created_at_ms=1_764_240_000_000 + i,
                source=Source.WEBHOOK,
            )
            store.writer.call(functools.partial(writes.insert_message, msg=msg))
            i += 1

    writer = threading.Thread(target=write_forever)
    writer.start()
    try:
        for _ in range(3):
            result = run_cli("export", "--data-dir", str(paths.data_dir))
            assert result.returncode == 0, result.stderr
            data = json.loads(result.stdout)
            bodies = [m["body"] for c in data["conversations"] for m in c["messages"]]
            # A snapshot: a contiguous prefix of the burst, no gaps, no duplicates.
            assert bodies == [f"burst {i}" for i in range(len(bodies))]
    finally:
        stop.set()
        writer.join()
        store.close()


def test_export_of_a_missing_folder_explains_itself(tmp_path: Path) -> None:
    result = run_cli("export", "--data-dir", str(tmp_path / "nothing-here"))
    assert result.returncode == 1
    assert "no Twoway data" in result.stderr


def test_version_and_bad_arguments() -> None:
    assert run_cli("--version").stdout.strip() == f"Twoway {__version__}"
    bad = run_cli("--port", "70000")
    assert bad.returncode == 2
    assert "between 0 and 65535" in bad.stderr
    assert "web address" in run_cli("--public-url", "not a url").stderr


def test_smoke_test_builds_the_window_and_exits_zero(tmp_path: Path) -> None:
    result = run_cli("--smoke-test", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert "main window built" in result.stdout
    assert (tmp_path / "data" / "twoway.sqlite3").exists()
    assert (tmp_path / "data" / "logs").is_dir()
