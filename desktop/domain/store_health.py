"""How the message database is doing, as one value the status area, dialogs and doctor show.

The store finds out (a quick look at start, SQLite's page check after the window is up,
and every error its connections meet) and publishes a :class:`StoreHealth`; the
connection board carries it in a field of its own, so nothing about the network
("Online") can hide it.  Pure data and plain words: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class HealthKind(StrEnum):
    UNCHECKED = "unchecked"  # opened fine; SQLite's page check has not run yet
    OK = "ok"  # checked: no damage found
    DAMAGED = "damaged"
    READ_ONLY = "read_only"
    LOCKED = "locked"
    MISSING = "missing"  # no database file, but a backup exists
    EMPTY_FILE = "empty_file"  # a 0-byte file where the database was
    TOO_NEW = "too_new"  # written by a newer Twoway
    DISK_FULL = "disk_full"  # the last commit failed for lack of space (clears on success)
    UNAVAILABLE = "unavailable"  # any other failure to open or write


#: A full disk or an I/O error met while running may pass: writes keep being tried.
_WRITABLE = frozenset(
    {HealthKind.UNCHECKED, HealthKind.OK, HealthKind.DISK_FULL, HealthKind.UNAVAILABLE}
)
_REPAIRABLE = frozenset({HealthKind.DAMAGED, HealthKind.EMPTY_FILE, HealthKind.MISSING})
_RETRYABLE = frozenset(
    {HealthKind.READ_ONLY, HealthKind.LOCKED, HealthKind.DISK_FULL, HealthKind.UNAVAILABLE}
)


@dataclass(frozen=True, slots=True)
class StoreHealth:
    kind: HealthKind = HealthKind.UNCHECKED
    #: What SQLite or the OS said, for the details box and the log (never a secret).
    detail: str = ""
    #: The database file.
    path: str = ""
    #: The newest backup that can be restored ("" when there is none), and when it was made.
    backup: str = ""
    backup_made: str = ""

    @property
    def ok(self) -> bool:
        """Nothing to show: the database opened and no damage is known."""
        return self.kind in (HealthKind.UNCHECKED, HealthKind.OK)

    @property
    def writable(self) -> bool:
        """Writes may be tried (a full disk is retried: space may come back)."""
        return self.kind in _WRITABLE

    @property
    def can_repair(self) -> bool:
        return self.kind in _REPAIRABLE

    @property
    def can_retry(self) -> bool:
        return self.kind in _RETRYABLE

    @property
    def can_restore(self) -> bool:
        return bool(self.backup) and self.kind in _REPAIRABLE

    @property
    def folder(self) -> str:
        return str(Path(self.path).parent) if self.path else "the data folder"

    @property
    def headline(self) -> str:
        return _HEADLINES[self.kind]

    @property
    def message(self) -> str:
        """What happened and what to do next, in plain words."""
        path, folder = self.path or "the message database", self.folder
        backup = f" A backup from {self.backup_made} can be restored." if self.can_restore else ""
        kind = self.kind
        if kind is HealthKind.DAMAGED:
            return (
                "Part of the message database cannot be read (the disk may be failing, or the "
                "computer lost power while saving). Twoway stopped saving into it so nothing "
                "gets worse; texts that arrive meanwhile stay in Twilio's message log. Repair "
                "keeps the damaged file as it is and rebuilds the database from everything "
                "still readable plus Twilio's message log." + backup
            )
        if kind is HealthKind.EMPTY_FILE:
            return (
                f"{path} is an empty file: its contents were lost, perhaps in a crash or when "
                "the disk was full." + backup + " Repair rebuilds the conversations from "
                "Twilio's message log (names and notes come only from a backup)."
            )
        if kind is HealthKind.MISSING:
            return (
                f"There is no message database in {folder}, but there are backups."
                + backup
                + " Or rebuild the conversations from Twilio's message log."
            )
        if kind is HealthKind.READ_ONLY:
            return (
                f"Twoway is not allowed to save into {path}. Check that the file and its "
                "folder belong to you and are not read-only, and that the disk is not "
                "write-protected; then try again."
            )
        if kind is HealthKind.LOCKED:
            return (
                f"Another program is using {path} (a second copy of Twoway, a backup or sync "
                "tool). Close it, then try again."
            )
        if kind is HealthKind.TOO_NEW:
            return (
                "This data was written by a newer version of Twoway. Update Twoway to open "
                "it; nothing was changed."
            )
        if kind is HealthKind.DISK_FULL:
            return (
                f"The disk holding {folder} is full, so new texts cannot be saved. Twilio "
                "keeps them in its message log and Twoway fetches them once there is space: "
                "free some space on the disk."
            )
        if kind is HealthKind.UNAVAILABLE:
            said = f" ({self.detail})" if self.detail else ""
            return (
                f"Twoway could not use its message database{said}. Try again; if it keeps "
                "happening, restart the computer."
            )
        if kind is HealthKind.OK:
            return "The message database was checked: no damage found."
        return ""

    @property
    def fix(self) -> str:
        """What to do, in one sentence ("" when nothing)."""
        return _FIXES.get(self.kind, "")


_HEADLINES = {
    HealthKind.UNCHECKED: "Message database opened",
    HealthKind.OK: "Message database checked",
    HealthKind.DAMAGED: "The message database is damaged",
    HealthKind.READ_ONLY: "Messages cannot be saved: read-only",
    HealthKind.LOCKED: "The message database is in use",
    HealthKind.MISSING: "The message database is missing",
    HealthKind.EMPTY_FILE: "The message database is empty",
    HealthKind.TOO_NEW: "Data from a newer Twoway",
    HealthKind.DISK_FULL: "The disk is full",
    HealthKind.UNAVAILABLE: "The message database cannot be used",
}

_FIXES = {
    HealthKind.DAMAGED: "Run 'twoway repair' (or choose Repair in the window).",
    HealthKind.EMPTY_FILE: "Restore a backup or run 'twoway repair'.",
    HealthKind.MISSING: "Restore a backup in the window, or run 'twoway repair'.",
    HealthKind.READ_ONLY: "Make the data folder and its files writable, then start again.",
    HealthKind.LOCKED: "Close the other program using the data folder.",
    HealthKind.TOO_NEW: "Update Twoway.",
    HealthKind.DISK_FULL: "Free some space on the disk.",
    HealthKind.UNAVAILABLE: "Restart Twoway; if it keeps happening, restart the computer.",
}
