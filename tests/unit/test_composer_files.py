"""Pasted and shrunk pictures are deleted once no draft refers to them; nothing else is."""

from __future__ import annotations

import os
import time
from pathlib import Path

from desktop import composer_files
from desktop.config import Paths
from desktop.store import drafts, writes
from desktop.store.service import Store
from desktop.store.writer import Tx

OURS = "+15035550100"
ADA = "+15035550142"


def _picture(path: Path, *, age_s: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8" + os.urandom(2048))
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


def test_unreferenced_old_pictures_go_and_drafts_keep_theirs(paths: Paths, store: Store) -> None:
    folder = paths.composer_pictures
    in_draft = _picture(folder / "pasted-1.jpg", age_s=86_400)
    sent_long_ago = _picture(folder / "pasted-2.jpg", age_s=86_400)
    being_prepared = _picture(folder / "shrunk-3.jpg", age_s=5)
    users_own = _picture(paths.data_dir / "Desktop" / "smile.jpg", age_s=86_400)

    def save(tx: Tx) -> None:
        conversation = writes.ensure_conversation(tx, OURS, ADA)
        drafts.save_draft(tx, conversation, "Here it is", [str(in_draft), str(users_own)])

    store.writer.call(save)
    keep = composer_files.referenced(store.reader())
    result = composer_files.sweep(folder, keep)

    assert (result.deleted, result.kept) == (1, 2)
    assert result.freed_bytes == 2050
    assert not sent_long_ago.exists()
    assert in_draft.exists()
    assert being_prepared.exists()
    assert users_own.exists()


def test_a_missing_folder_is_nothing_to_do(tmp_path: Path) -> None:
    assert composer_files.sweep(tmp_path / "never-made", set()) == composer_files.Sweep(0, 0, 0)
