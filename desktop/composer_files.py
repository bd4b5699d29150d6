"""Tidy the composer's picture folder: pasted and shrunk pictures outlive their drafts.

Pasting a screenshot or attaching a picture over Twilio's size limit writes a file under
:attr:`Paths.composer_pictures`.  Sending copies it into the outgoing media store and
clears the draft, so the composer's copy is then referred to by nothing.  At each start
the files no draft refers to, and that are old enough not to belong to a picture being
prepared right now, are deleted.  Only that folder is ever touched: pictures staff attach
from their own folders are referred to by path and never deleted.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from desktop.store import drafts

logger = logging.getLogger(__name__)

#: A file younger than this may belong to a picture being prepared or a draft not yet saved.
MIN_AGE_S: Final = 3600.0


@dataclass(frozen=True, slots=True)
class Sweep:
    deleted: int
    kept: int
    freed_bytes: int


def referenced(conn: sqlite3.Connection) -> set[Path]:
    """Every file a saved draft refers to."""
    return {
        Path(name).resolve()
        for draft in drafts.all_drafts(conn).values()
        for name in draft.attachments
    }


def sweep(
    folder: Path, keep: set[Path], *, now: float | None = None, min_age_s: float = MIN_AGE_S
) -> Sweep:
    """Delete the files in ``folder`` not in ``keep`` and older than ``min_age_s``."""
    if not folder.is_dir():
        return Sweep(0, 0, 0)
    now = time.time() if now is None else now
    deleted = kept = freed = 0
    for entry in folder.iterdir():
        try:
            info = entry.lstat()
            if not entry.is_file() or entry.resolve() in keep or now - info.st_mtime < min_age_s:
                kept += 1
                continue
            entry.unlink()
        except OSError as exc:
            logger.warning("Could not tidy the composer picture %s: %s", entry.name, exc)
            kept += 1
            continue
        deleted += 1
        freed += info.st_size
    if deleted:
        logger.info("Removed %d unused composer pictures (%d KB)", deleted, freed // 1024)
    return Sweep(deleted, kept, freed)
