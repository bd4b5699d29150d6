"""Rebuilding a damaged database: keep it aside untouched, copy out every readable row.

:func:`rebuild` does, in this order:

1. takes SQLite's exclusive lock on the damaged file (so a running Twoway, which holds it
   open, is detected and nothing writes while we work);
2. copies the file and its -wal/-shm into ``<data>/damaged/<date-time>/`` byte for byte,
   fsynced, and checks the copies are identical;
3. creates a new database with the schema of the damaged one's version, copies every
   table it has row by row (:mod:`desktop.store.salvage`, tables matched by name from the
   new schema, so tables added later need no code here), mends what points at lost rows
   (:mod:`desktop.store.repair_fixups`), rebuilds the search index from the salvaged
   messages and upgrades the schema;
4. checks the result with ``PRAGMA integrity_check`` and only then puts it in place.

Filling in from Twilio's message log is the caller's next step (:mod:`desktop.recovery`),
done through the normal store once the new file is in place.  Settings live in
``settings.json`` and are not touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from desktop.store import backups as backups_module
from desktop.store.database import migrate
from desktop.store.repair_fixups import FixupReport, mend
from desktop.store.salvage import Progress, TableSalvage, copy_table, is_unreadable, quote
from desktop.store.schema import MIGRATIONS, SCHEMA_VERSION

logger = logging.getLogger(__name__)

LOCK_TIMEOUT_S: Final = 2.0
_CONTENT_OPTION: Final = re.compile(r"""\bcontent\s*=\s*(?:'([^']*)'|"([^"]*)"|(\w+))""", re.I)


class RepairImpossible(RuntimeError):
    """The repair cannot be done; ``str()`` says why in plain words (nothing was changed)."""


@dataclass
class RepairReport:
    database: Path
    #: The folder holding the damaged files exactly as they were (None: there were none).
    kept_aside: Path | None = None
    #: False when not even the list of tables could be read (or there was none).
    schema_readable: bool = True
    found_version: int | None = None
    tables: list[TableSalvage] = field(default_factory=list)
    fixups: FixupReport = field(default_factory=FixupReport)
    search_rebuilt: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> TableSalvage | None:
        return next((t for t in self.tables if t.name == name), None)

    def copied(self, name: str) -> int:
        found = self.table(name)
        return found.copied if found else 0


def rebuild(database: Path, *, progress: Progress | None = None) -> RepairReport:
    """Replace ``database`` by a rebuilt copy; raise :class:`RepairImpossible` when it
    cannot (then nothing was changed)."""
    report = RepairReport(database)
    say = progress or (lambda _line: None)
    exists = database.exists()
    source = _lock(database) if exists else None
    work = database.with_name(f".{database.name}.rebuild")
    try:
        if exists:
            say("Keeping the damaged file aside…")
            report.kept_aside = _keep_aside(database)
        work.unlink(missing_ok=True)
        target = sqlite3.connect(work, isolation_level=None)
        try:
            _build(source, target, report, say)
        finally:
            target.close()
        with open(work, "rb") as handle:
            os.fsync(handle.fileno())
    except BaseException:
        work.unlink(missing_ok=True)
        if source is not None:
            _release(source)
        raise
    if source is not None:
        _release(source)
    # The old -wal must go before the new file arrives, or SQLite would replay it onto it.
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    os.replace(work, database)
    _fsync_folder(database.parent)
    logger.info(
        "Rebuilt the database: %s",
        ", ".join(f"{t.name} {t.copied}" for t in report.tables),
    )
    return report


# -- the damaged file -----------------------------------------------------------------------


def _lock(database: Path) -> sqlite3.Connection:
    """Hold the damaged file exclusively for the whole repair.  A file too damaged to be
    locked cannot be in use either: it is read as far as it can be, without the lock."""
    conn = sqlite3.connect(database, timeout=LOCK_TIMEOUT_S, isolation_level=None)
    try:
        # Check each cell as it is read: a garbled page then fails loudly instead of
        # yielding garbage rows or silently none.
        conn.execute("PRAGMA cell_size_check = ON")
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
    except sqlite3.DatabaseError as exc:
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            conn.close()
            raise RepairImpossible(
                f"Twoway or another program is using {database}. Quit it first (or choose "
                "Repair in Twoway's window), then try again. Nothing was changed."
            ) from exc
        if is_unreadable(exc):
            logger.warning("The damaged file cannot be locked (%s); going on without", exc)
            return conn
        conn.close()
        raise RepairImpossible(f"Twoway cannot open {database}: {exc}") from exc
    return conn


def _release(conn: sqlite3.Connection) -> None:
    # Closing may try to checkpoint into the damaged file: it is replaced anyway.
    with contextlib.suppress(sqlite3.Error):
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    with contextlib.suppress(sqlite3.Error):
        conn.close()


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            sha.update(chunk)
    return sha.hexdigest()


def _keep_aside(database: Path) -> Path:
    folder = backups_module.aside_folder(database)
    try:
        kept = backups_module.keep_aside(database, folder, move=False)
    except OSError as exc:
        raise RepairImpossible(
            f"Twoway could not copy the damaged file aside ({exc.strerror}); "
            "free some disk space and try again. Nothing was changed."
        ) from exc
    for copy in kept:
        original = database.with_name(copy.name)
        if copy.name.endswith("-shm"):
            continue  # SQLite's shared-memory index, rebuilt from the WAL: not data
        if _digest(copy) != _digest(original):
            raise RepairImpossible(
                f"The copy of {original.name} differs from the original; nothing was changed."
            )
    logger.info("Kept the damaged database aside in %s", folder)
    return folder


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- the new file -----------------------------------------------------------------------


def _version(source: sqlite3.Connection | None) -> int | None:
    if source is None:
        return None
    try:
        return int(source.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError:
        return None


def _source_tables(source: sqlite3.Connection | None) -> dict[str, str] | None:
    """Table name → CREATE statement in the damaged file (None: unreadable)."""
    if source is None:
        return None
    try:
        rows = source.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        return {str(name): str(sql or "") for name, sql in rows}
    except sqlite3.DatabaseError as exc:
        logger.warning("The damaged file's list of tables is unreadable: %s", exc)
        return None


def _build(
    source: sqlite3.Connection | None,
    target: sqlite3.Connection,
    report: RepairReport,
    say: Progress,
) -> None:
    found = _version(source)
    report.found_version = found
    if found is not None and found > SCHEMA_VERSION:
        raise RepairImpossible(
            "This data was written by a newer version of Twoway; update Twoway, then repair. "
            "Nothing was changed."
        )
    old_tables = _source_tables(source)
    report.schema_readable = bool(old_tables)  # an empty file has no tables to read
    # The schema of the damaged file's version, so that later migrations move the data
    # exactly as they would have; an unreadable version gets today's schema.
    start = found if found and old_tables else SCHEMA_VERSION
    target.execute("PRAGMA journal_mode = OFF")  # a scratch file until it is put in place
    target.execute("PRAGMA synchronous = OFF")
    for version in range(start):
        target.executescript(
            f"BEGIN;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\nCOMMIT;"
        )
    target.execute("BEGIN")
    triggers = [
        (str(name), str(sql))
        for name, sql in target.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql IS NOT NULL"
        )
    ]
    for name, _sql in triggers:  # salvaged rows must not fire them (e.g. twice into FTS)
        target.execute(f"DROP TRIGGER {quote(name)}")
    if source is not None and old_tables is not None:
        _copy_tables(source, target, old_tables, report, say)
        report.fixups = mend(target)
        _copy_sequence(source, target, old_tables)
    for _name, sql in triggers:
        target.execute(sql)
    _rebuild_search(source, target, old_tables or {}, report, say)
    target.execute("COMMIT")
    target.execute("PRAGMA synchronous = FULL")
    migrate(target, report.database, report.database.parent, back_up=False)
    say("Checking the new database…")
    problems = [str(r[0]) for r in target.execute("PRAGMA integrity_check(20)")]
    if problems != ["ok"]:
        raise RepairImpossible(f"The rebuilt database failed its check: {'; '.join(problems)}")
    target.execute("PRAGMA journal_mode = DELETE")


def _plain_tables(conn: sqlite3.Connection) -> list[tuple[str, bool]]:
    """(name, WITHOUT ROWID) of each ordinary table: no virtual, shadow or internal ones."""
    listed = conn.execute("PRAGMA table_list").fetchall()
    found: list[tuple[str, bool]] = []
    for _schema, name, kind, _ncol, without_rowid, _strict in listed:
        if _schema != "main" or kind != "table" or str(name).startswith("sqlite_"):
            continue
        found.append((str(name), bool(without_rowid)))
    return found


def _copy_tables(
    source: sqlite3.Connection,
    target: sqlite3.Connection,
    old_tables: dict[str, str],
    report: RepairReport,
    say: Progress,
) -> None:
    for name, without_rowid in _plain_tables(target):
        if name not in old_tables:
            report.tables.append(TableSalvage(name, note="not in the damaged file"))
            continue
        say(f"Reading {name}…")
        report.tables.append(
            copy_table(source, target, name, without_rowid=without_rowid, progress=say)
        )


def _copy_sequence(
    source: sqlite3.Connection, target: sqlite3.Connection, old_tables: dict[str, str]
) -> None:
    """AUTOINCREMENT counters, so no id is ever handed out twice."""
    if "sqlite_sequence" not in old_tables:
        return
    try:
        rows = source.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
    except sqlite3.DatabaseError:
        return
    has = target.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone()
    if has is None:
        return
    for name, seq in rows:
        target.execute("DELETE FROM sqlite_sequence WHERE name = ?", (name,))
        target.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))


def _rebuild_search(
    source: sqlite3.Connection | None,
    target: sqlite3.Connection,
    old_tables: dict[str, str],
    report: RepairReport,
    say: Progress,
) -> None:
    """Full-text indexes are rebuilt from the rows they index; never copied page by page."""
    virtual = target.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'"
    ).fetchall()
    for name, sql in virtual:
        name, sql = str(name), str(sql)
        option = _CONTENT_OPTION.search(sql)
        content = next((g for g in option.groups() if g is not None), "") if option else None
        if content:  # external content: the index is derived from that table
            say(f"Rebuilding the search index ({name})…")
            target.execute(f"INSERT INTO {quote(name)} ({quote(name)}) VALUES ('rebuild')")  # noqa: S608
            report.search_rebuilt.append(name)
        elif content is None and source is not None and name in old_tables:
            # The index holds its own text: copy what is readable through the table.
            report.tables.append(
                copy_table(source, target, name, without_rowid=False, virtual=True)
            )
        else:
            report.notes.append(f"{name} could not be rebuilt (it keeps no text to rebuild from)")
