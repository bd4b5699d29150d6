"""Repair as one operation, for ``twoway repair`` and the window: rebuild, then refill.

:func:`repair` rebuilds the database from what is readable (:mod:`desktop.store.repair`),
then fills it from Twilio's message log (:mod:`desktop.sync.refill`) when credentials
are known, and says what came from where in plain words (:meth:`RepairOutcome.lines`).
Credentials are asked for in one place, :func:`stored_credentials`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from desktop.store.repair import RepairReport, rebuild
from desktop.store.salvage import TableSalvage

if TYPE_CHECKING:
    from desktop.credentials import TwilioCredentials
    from desktop.secrets import SecretStore
    from desktop.sync.refill import Refill

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

#: What each table holds, in words for the report (others are shown by their name).
_WHAT: Final = {
    "messages": "messages",
    "conversations": "conversations",
    "contacts": "contacts (names)",
    "media": "pictures and attachments",
    "outbox": "texts waiting to be sent",
    "our_numbers": "your Twilio numbers",
    "pending_status": "early delivery reports",
    "sync_state": "sync bookmarks",
}


def stored_credentials(
    secrets: SecretStore | None = None, *, encrypted_file: Path | None = None
) -> tuple[TwilioCredentials | None, str]:
    """Twilio credentials for the refill (as the app finds them), or why there are none."""
    from desktop.credentials import load_for_command

    found = load_for_command(secrets=secrets, encrypted_file=encrypted_file)
    return found.credentials, found.problem


@dataclass
class RepairOutcome:
    rebuilt: RepairReport
    twilio: Refill | None = None
    #: Why Twilio's log was not consulted (when ``twilio`` is None).
    skipped: str = ""

    def lines(self) -> list[str]:
        """The report, in plain words, one line each."""
        report = self.rebuilt
        out: list[str] = [f"Rebuilt the message database {report.database}."]
        if report.kept_aside is not None:
            out.append(f"The damaged file is kept, unchanged, in {report.kept_aside}.")
        if report.kept_aside is None:
            out.append("There was no database file to read: it was started afresh.")
        elif not report.schema_readable:
            out.append(
                "Nothing could be read from the damaged file (it is empty, or its list of "
                "tables is lost)."
            )
        elif report.tables:
            out.append("Recovered from the damaged file:")
            out.extend(f"  {_table_line(t)}" for t in report.tables if t.copied or t.damaged)
        fixes = report.fixups
        if fixes.conversations_recreated:
            out.append(
                f"  {fixes.conversations_recreated} conversations whose own record was "
                "unreadable were rebuilt from their messages."
            )
        if fixes.contacts_recreated:
            out.append(
                f"  {fixes.contacts_recreated} contacts were unreadable: their numbers were "
                "recovered from the messages, their names were lost."
            )
        for table, count in sorted(fixes.orphans_dropped.items()):
            out.append(
                f"  {count} {_WHAT.get(table, table)} were dropped: what they belonged to "
                "was unreadable."
            )
        if report.search_rebuilt:
            out.append("The search index was rebuilt from the recovered messages.")
        out.extend(report.notes)
        out.append(self._twilio_line())
        out.append("Settings were not touched.")
        return out

    def _twilio_line(self) -> str:
        refill = self.twilio
        if refill is None:
            return f"Twilio's message log was not consulted: {self.skipped.rstrip('.')}."
        if not refill.consulted:
            return (
                f"Twilio's message log could not be read: {refill.problem} Twoway fetches "
                "recent messages when it connects; run the repair again to reach back 400 days."
            )
        if refill.problem:
            return f"Twilio's message log: {refill.problem}"
        numbers = ", ".join(refill.numbers)
        return (
            f"From Twilio's message log (the last 400 days, {numbers}): "
            f"{refill.added:,} messages added, of {refill.listed:,} listed."
        )


def _table_line(table: TableSalvage) -> str:
    what = _WHAT.get(table.name, table.name)
    if table.note:
        return f"{what}: {table.copied:,} ({table.note})"
    text = f"{what}: {table.copied:,}"
    notes: list[str] = []
    if table.unreadable:
        lost = table.lost_estimate()  # garbled rows included
        notes.append(f"about {lost:,} unreadable" if lost is not None else "the newest unreadable")
        if table.refused:
            notes.append(f"{table.refused:,} of them read back garbled and left out")
    elif table.refused:
        notes.append(f"{table.refused:,} garbled, left out")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def repair(
    database: Path,
    backups: Path,
    *,
    credentials: TwilioCredentials | None,
    api_base_url: str,
    skipped: str = "",
    progress: Progress | None = None,
) -> RepairOutcome:
    """Rebuild ``database``, then refill it from Twilio when ``credentials`` are given.

    Raises :class:`desktop.store.repair.RepairImpossible` (plain words) when it cannot;
    the database is then unchanged.
    """
    report = rebuild(database, progress=progress)
    if credentials is None:
        return RepairOutcome(report, None, skipped or "no Twilio credentials")
    from desktop.store.service import Store
    from desktop.sync.refill import refill_from_twilio

    if progress is not None:
        progress("Reading Twilio's message log…")
    from desktop.store.database import StoreError

    store = Store(database, backups)
    try:
        store.open()
    except StoreError as exc:
        return RepairOutcome(report, None, f"the rebuilt database could not be opened ({exc})")
    try:
        refill = refill_from_twilio(store, credentials, api_base_url, progress=progress)
    finally:
        store.close()
    return RepairOutcome(report, refill)
