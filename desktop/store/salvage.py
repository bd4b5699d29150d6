"""Reading what is still readable out of a damaged SQLite file, one table at a time.

A damaged page loses only the rows stored on it: each table is read in rowid order, in
batches; when a batch fails, the rows before the failure are found by halving the
batch, then the first readable rowid after the damage is found by seeking (doubling the
step, then halving it), and reading goes on from there.  A seek only walks the table's own b-tree
(``NOT INDEXED``), so a damaged index page loses nothing.  Columns are matched by name
against the new database's schema, so tables added by later versions are copied
without any code here knowing them.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from desktop.domain.store_health import HealthKind
from desktop.store.health import kind_of

logger = logging.getLogger(__name__)

MIN_ROWID: Final = -(2**63)
MAX_ROWID: Final = 2**63 - 1
BATCH_ROWS: Final = 500

#: Called with a line for the progress display ("Reading messages: 1,200 rows").
Progress = Callable[[str], None]


class _Unreadable(Exception):
    pass


@dataclass
class TableSalvage:
    """What came out of one table."""

    name: str
    copied: int = 0
    #: Rowid ranges that could not be read (inclusive); MAX_ROWID ends an open range.
    unreadable: list[tuple[int, int]] = field(default_factory=list)
    #: Rows read but refused by the new schema (a duplicate, a broken value).
    refused: int = 0
    #: Set when the table could not be read at all, or was left out on purpose.
    note: str = ""

    @property
    def damaged(self) -> bool:
        return bool(self.unreadable) or bool(self.note)

    def lost_estimate(self) -> int | None:
        """About how many rows were lost (None: the unreadable part runs to the end): the
        rowid spans that could not be read plus the rows read back too broken to keep."""
        if any(b == MAX_ROWID for _, b in self.unreadable):
            return None
        # Rowids are handed out from 1: an unreadable start means "from the first one".
        spans = sum(max(0, b - max(a, 1) + 1) for a, b in self.unreadable)
        return spans + self.refused


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_unreadable(exc: BaseException) -> bool:
    """A read that failed because of the file, not because of our SQL."""
    return kind_of(exc) in (HealthKind.DAMAGED, HealthKind.UNAVAILABLE)


def columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, int]]:
    """(name, declared type, primary-key position) of each column."""
    return [
        (str(r[1]), str(r[2] or ""), int(r[5]))
        for r in conn.execute(f"PRAGMA table_info({quote(table)})")
    ]


def _rowid_alias(cols: Sequence[tuple[str, str, int]]) -> str | None:
    keys = [c for c in cols if c[2] > 0]
    if len(keys) == 1 and keys[0][1].strip().upper() == "INTEGER":
        return keys[0][0]
    return None


class TableCopier:
    """Copies one table from ``source`` (damaged) into ``target`` (new, same table)."""

    def __init__(
        self,
        source: sqlite3.Connection,
        target: sqlite3.Connection,
        table: str,
        names: Sequence[str],
        *,
        rowid_table: bool,
        alias: str | None,
        virtual: bool = False,
        progress: Progress | None = None,
        batch: int = BATCH_ROWS,
    ) -> None:
        self._src = source
        self._dst = target
        self._table = table
        self._progress = progress
        self._batch = batch
        self._rowid_table = rowid_table
        listed = ", ".join(quote(n) for n in names)
        # With an INTEGER PRIMARY KEY the rowid is that column; otherwise keep it too,
        # so anything that refers to rowids (an FTS index, say) still matches.
        self._keep_rowid = rowid_table and alias is None
        picked = f"rowid, {listed}" if rowid_table else listed
        only_table = "" if virtual else " NOT INDEXED"  # virtual tables have no indexes
        # Names come from the schemas themselves (sqlite_master), quoted.
        self._select_from = (
            f"SELECT {picked} FROM {quote(table)}{only_table} "  # noqa: S608
            "WHERE rowid >= ? ORDER BY rowid"
        )
        width = len(names) + (1 if self._keep_rowid else 0)
        into = f"rowid, {listed}" if self._keep_rowid else listed
        self._insert = (
            f"INSERT OR IGNORE INTO {quote(table)} ({into}) "  # noqa: S608
            f"VALUES ({', '.join('?' * width)})"
        )
        self.result = TableSalvage(table)
        #: The highest rowid copied so far: a scan can hop over the start of a damaged
        #: page without an error, so a damaged range starts right after it.
        self._last_copied = MIN_ROWID - 1

    def run(self) -> TableSalvage:
        if self._rowid_table:
            self._copy_by_rowid()
        else:
            self._copy_whole()
        return self.result

    # -- reading ---------------------------------------------------------------------

    def _read(self, start: int, limit: int) -> list[Any]:
        try:
            return self._src.execute(f"{self._select_from} LIMIT {limit}", (start,)).fetchall()
        except sqlite3.DatabaseError as exc:
            if is_unreadable(exc):
                raise _Unreadable(str(exc)) from exc
            raise

    def _readable_from(self, start: int) -> bool:
        try:
            self._read(start, 1)
        except _Unreadable:
            return False
        return True

    def _copy_by_rowid(self) -> None:
        position: int | None = MIN_ROWID
        while position is not None:
            try:
                rows = self._read(position, self._batch)
            except _Unreadable:
                position = self._step_through_damage(position)
                continue
            if not rows:
                return
            self._store(rows)
            last = int(rows[-1][0])
            position = None if last >= MAX_ROWID else last + 1

    def _step_through_damage(self, position: int) -> int | None:
        """Keep the readable rows before the damage, then skip the damage.

        How far a scan gets is found by halving its length: a scan fails reliably where
        it enters a damaged page, while a single seek may hop over the page silently.
        """
        good, bad = 0, self._batch
        while bad - good > 1:
            middle = (good + bad) // 2
            try:
                self._read(position, middle)
                good = middle
            except _Unreadable:
                bad = middle
        if good:
            rows = self._read(position, good)
            self._store(rows)
            last = int(rows[-1][0])
            if last >= MAX_ROWID:
                return None
            position = last + 1
        resume = self._next_readable(position)
        after = self._read(resume, 1) if resume is not None else []
        end = int(after[0][0]) - 1 if after else MAX_ROWID
        position = min(position, self._last_copied + 1)
        self.result.unreadable.append((position, end))
        logger.warning(
            "Salvage: %s rowids %d…%s unreadable",
            self._table,
            position,
            "end" if end == MAX_ROWID else str(end),
        )
        return resume if after else None

    def _next_readable(self, failing: int) -> int | None:
        """The smallest rowid after ``failing`` from which reading works."""
        low, step = failing, 1
        while True:
            probe = min(low + step, MAX_ROWID)
            if self._readable_from(probe):
                high = probe
                break
            if probe >= MAX_ROWID:
                return None
            low, step = probe, step * 2
        while high - low > 1:
            middle = (low + high) // 2
            if self._readable_from(middle):
                high = middle
            else:
                low = middle
        return high

    def _copy_whole(self) -> None:
        """A WITHOUT ROWID table: one scan; what comes before a failure is kept."""
        select = self._select_from.split(" WHERE ")[0]
        try:
            cursor = self._src.execute(select)
            while rows := cursor.fetchmany(self._batch):
                self._store(rows)
        except sqlite3.DatabaseError as exc:
            if not is_unreadable(exc):
                raise
            self.result.note = "partly unreadable (the rest of the table was lost)"

    # -- writing -----------------------------------------------------------------------

    def _store(self, rows: list[Any]) -> None:
        values = rows if self._keep_rowid or not self._rowid_table else [r[1:] for r in rows]
        before = self._dst.total_changes
        self._dst.executemany(self._insert, values)
        added = self._dst.total_changes - before
        self.result.copied += added
        self.result.refused += len(rows) - added
        if self._rowid_table and rows:
            self._last_copied = max(self._last_copied, int(rows[-1][0]))
        if self._progress is not None:
            self._progress(f"Reading {self._table}: {self.result.copied:,} rows")


def copy_table(
    source: sqlite3.Connection,
    target: sqlite3.Connection,
    table: str,
    *,
    without_rowid: bool,
    virtual: bool = False,
    progress: Progress | None = None,
    batch: int = BATCH_ROWS,
) -> TableSalvage:
    """Copy the columns both schemas have; the target's defaults fill the rest."""
    try:
        old = columns(source, table)
    except sqlite3.DatabaseError as exc:
        if not is_unreadable(exc):
            raise
        return TableSalvage(table, note=f"unreadable ({exc})")
    new = columns(target, table)
    old_names = {c[0] for c in old}
    names = [c[0] for c in new if c[0] in old_names]
    if not names:
        return TableSalvage(table, note="no columns in common")
    copier = TableCopier(
        source,
        target,
        table,
        names,
        rowid_table=not without_rowid,
        alias=_rowid_alias(new),
        virtual=virtual,
        progress=progress,
        batch=batch,
    )
    return copier.run()
