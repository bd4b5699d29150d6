"""Every conversation and message as JSON or CSV (the shape is part of the contract).

Reads through a read-only connection inside one transaction, so the export is a
consistent snapshot even while the app keeps receiving messages (WAL lets it read
without blocking the writer).

A damaged database is not exported at all (:class:`DatabaseDamaged`): an export promises
every message, and a partial file would pass for a whole one.  SQLite's page check runs
first, so nothing is written when the damage is known; ``twoway repair`` salvages row by
row with more care, and the export works after it.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

from desktop.domain.store_health import HealthKind
from desktop.store.database import StoreUnavailable, connect
from desktop.store.health import health_of, kind_of, quick_check


class DatabaseDamaged(StoreUnavailable):
    """SQLite found damage; nothing (or only a discarded part) was written."""


CSV_COLUMNS: Final = (
    "our_number",
    "contact_number",
    "contact_name",
    "sid",
    "direction",
    "from",
    "to",
    "body",
    "status",
    "error_code",
    "created_at",
    "media_content_types",
    "media_files",
)


def iso_utc(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


def _conversations(conn: sqlite3.Connection, media_dir: Path) -> Iterator[dict[str, Any]]:
    media: dict[int, list[dict[str, Any]]] = {}
    for message_id, content_type, file in conn.execute(
        "SELECT message_id, content_type, file FROM media ORDER BY message_id, idx"
    ):
        media.setdefault(message_id, []).append(
            {
                "content_type": content_type,
                "file": str(media_dir / file) if file else None,
            }
        )
    conversations = conn.execute(
        "SELECT c.id, c.our_number, k.e164, k.name FROM conversations c "
        "JOIN contacts k ON k.id = c.contact_id ORDER BY c.last_message_at DESC, c.id DESC"
    ).fetchall()
    # Team mode's sender name (schema 3); an older database read as it is has none.
    columns = {row[1] for row in conn.execute("PRAGMA table_info(messages)")}
    sql = (
        "SELECT id, sid, direction, from_number, to_number, body, status, error_code, "
        "created_at, sent_by FROM messages WHERE conversation_id = ? ORDER BY created_at, id"
    )
    if "sent_by" not in columns:
        sql = sql.replace("sent_by FROM", "'' FROM")
    for conversation_id, our_number, contact_number, contact_name in conversations:
        rows = conn.execute(sql, (conversation_id,))
        messages = [_message(row, media.get(row[0], [])) for row in rows]
        if not messages:
            continue
        yield {
            "our_number": our_number,
            "contact_number": contact_number,
            "contact_name": contact_name,
            "messages": messages,
        }


def _message(row: tuple[Any, ...], media: list[dict[str, Any]]) -> dict[str, Any]:
    _id, sid, direction, from_number, to_number, body, status, error, created, by = row
    message: dict[str, Any] = {
        "sid": sid,
        "direction": direction,
        "from": from_number,
        "to": to_number,
        "body": body,
        "status": status,
        "error_code": error,
        "created_at": iso_utc(created),
        "media": media,
    }
    if by:
        message["sent_by"] = by  # who sent it, in team mode (DESIGN: "may carry")
    return message


def export(database: Path, media_dir: Path, out: TextIO, fmt: str = "json") -> int:
    """Write the export to ``out``; returns the number of messages written.

    Raises :class:`DatabaseDamaged` when the database is damaged (found before anything
    is written, or midway: then what was written must be discarded).
    """
    backups = database.parent / "backups"
    if database.exists():
        health = quick_check(database, backups)
        if health.kind is HealthKind.DAMAGED:
            raise DatabaseDamaged(health)
    try:
        return _export(database, media_dir, out, fmt)
    except sqlite3.DatabaseError as exc:
        if kind_of(exc) is HealthKind.DAMAGED:
            damaged = health_of(HealthKind.DAMAGED, database, backups, str(exc))
            raise DatabaseDamaged(damaged) from exc
        raise


def _export(database: Path, media_dir: Path, out: TextIO, fmt: str) -> int:
    conn = connect(database, read_only=True)
    count = 0
    try:
        conn.execute("BEGIN")  # one snapshot for the whole export
        if fmt == "json":
            out.write('{"conversations": [')
            for index, conversation in enumerate(_conversations(conn, media_dir)):
                out.write(",\n" if index else "\n")
                json.dump(conversation, out, ensure_ascii=False)
                count += len(conversation["messages"])
            out.write("\n]}\n")
        elif fmt == "csv":
            writer = csv.writer(out)
            writer.writerow(CSV_COLUMNS)
            for conversation in _conversations(conn, media_dir):
                for m in conversation["messages"]:
                    writer.writerow(
                        [
                            conversation["our_number"],
                            conversation["contact_number"],
                            conversation["contact_name"],
                            m["sid"] or "",
                            m["direction"],
                            m["from"],
                            m["to"],
                            m["body"],
                            m["status"],
                            "" if m["error_code"] is None else m["error_code"],
                            m["created_at"],
                            ";".join(x["content_type"] for x in m["media"]),
                            ";".join(x["file"] or "" for x in m["media"]),
                        ]
                    )
                    count += 1
        else:
            raise ValueError(f"unknown export format {fmt!r}")
        conn.execute("COMMIT")
    finally:
        conn.close()
    return count
