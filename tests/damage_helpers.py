"""Helpers for the damaged-disk tests: real damage to a real page, real small filesystems.

Damage is done the way a bad sector or a torn write does it: bytes of one b-tree page of
the named table or index, found with SQLite's own ``dbstat``, are overwritten in the
closed file.  A small filesystem is a real tmpfs mount (needs root); tests that need one
are skipped with the reason when the sandbox refuses.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.store.export import export
from desktop.store.service import Store
from desktop.sync.backfill import Backfiller
from tests.integration.test_sync_harness import SyncEnv
from tests.twilio_helpers import OUR_NUMBER

PAGE = 4096


def leaf_pages(database: Path, name: str) -> list[int]:
    conn = sqlite3.connect(database)
    try:
        return [
            int(r[0])
            for r in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
                (name,),
            )
        ]
    finally:
        conn.close()


def damage_page(database: Path, name: str) -> int:
    """Garble the middle leaf page of ``name`` (a table or an index); returns the page."""
    wal = database.with_name(database.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "close the store first"
    pages = leaf_pages(database, name)
    assert pages, f"{name} has no leaf page"
    page = pages[len(pages) // 2]
    with database.open("r+b") as handle:
        handle.seek((page - 1) * PAGE + 8)  # keep the page header, garble the cells
        handle.write(b"\xff" * 2000)
    return page


def export_json(database: Path) -> dict[str, Any]:
    out = io.StringIO()
    export(database, database.parent / "media", out)
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


def messages_by_sid(exported: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["sid"]: m for c in exported["conversations"] for m in c["messages"]}


def names_by_number(exported: dict[str, Any]) -> dict[str, str]:
    return {c["contact_number"]: c["contact_name"] for c in exported["conversations"]}


def digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.read_bytes() if path.exists() else b"<missing>")
    return sha.hexdigest()


def seed_from_twilio(env: SyncEnv, count: int = 1200, media_every: int = 9) -> None:
    """History in the simulated Twilio, copied into the store the way the app does it."""
    env.sim.seed_history(
        count, our_number=OUR_NUMBER, contacts=40, days=20, media_every=media_every
    )
    gateway = env.gateway()
    try:
        Backfiller(env.store, gateway, first_sync_days=400).run([OUR_NUMBER], reason="seed")
    finally:
        gateway.close()


def name_contacts(store: Store, names: dict[str, str]) -> None:
    def rename(tx: Any) -> None:
        for number, name in names.items():
            tx.execute("UPDATE contacts SET name = ? WHERE e164 = ?", (name, number))

    store.writer.call(rename)


@contextlib.contextmanager
def small_filesystem(where: Path, size_kb: int) -> Iterator[Path]:
    """A real tmpfs of ``size_kb`` mounted at ``where``; skips the test when not allowed."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("a small filesystem needs a tmpfs mount, which needs root here")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"the sandbox refused a tmpfs mount: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def remount(where: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True)


def fill_disk(folder: Path, name: str = "filler.bin") -> Path:
    """Write a filler file until the filesystem says it is full; returns the filler."""
    filler = folder / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)
    return filler
