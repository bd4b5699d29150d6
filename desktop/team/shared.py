"""A Sync Map mirrored on this laptop, and the edits waiting to reach it.

Reading costs one request while nothing changed: the map's own revision moves with any
item, so :meth:`SharedMap.refresh` lists the items only when it did.  Local edits are
*patches* (the fields the user changed) kept in a small JSON file until Sync accepted
them, so an edit made offline — or before a crash — is applied on reconnect.  A write
goes with ``If-Match`` on the revision we last saw; on a conflict (54205) the fresh item
is read and the patch applied on top of it again, so a colleague's change to another
field is kept and the later edit of the same field wins: nothing is silently lost.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from desktop.team.client import Conflict, Entry, Missing, SyncClient

logger = logging.getLogger(__name__)

#: Re-reads before an edit is left for the next round (a colleague editing in a loop).
MAX_ATTEMPTS: Final = 5


@dataclass(slots=True)
class Edit:
    map_name: str
    key: str
    patch: dict[str, Any]
    #: Write ``patch`` as the whole item (the front-desk setup) instead of merging.
    replace: bool = False


class PendingEdits:
    """Edits not yet accepted by Sync, in order, saved to ``path`` after every change."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._edits: list[Edit] = []
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            self._edits = [Edit(**item) for item in raw]
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError) as exc:
            logger.warning("Team: could not read the queued edits (%s); starting empty", exc)

    def _save(self) -> None:
        data = json.dumps(
            [
                {"map_name": e.map_name, "key": e.key, "patch": e.patch, "replace": e.replace}
                for e in self._edits
            ]
        )
        tmp = self._path.with_suffix(".tmp")
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self._path)

    def add(self, edit: Edit) -> None:
        """Queue an edit; a second edit of the same item merges into the first."""
        with self._lock:
            for queued in self._edits:
                if queued.map_name == edit.map_name and queued.key == edit.key:
                    if edit.replace:
                        queued.patch, queued.replace = dict(edit.patch), True
                    else:
                        queued.patch.update(edit.patch)
                    break
            else:
                self._edits.append(Edit(edit.map_name, edit.key, dict(edit.patch), edit.replace))
            self._save()

    def first(self) -> Edit | None:
        with self._lock:
            return self._edits[0] if self._edits else None

    def done(self, edit: Edit) -> None:
        with self._lock:
            if edit in self._edits:
                self._edits.remove(edit)
                self._save()

    def patch_for(self, map_name: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            for queued in self._edits:
                if queued.map_name == map_name and queued.key == key:
                    return dict(queued.patch)
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._edits)


class SharedMap:
    """One Sync Map's items as last read, plus the revision that tells when to read again."""

    def __init__(self, client: SyncClient, name: str) -> None:
        self._client = client
        self.name = name
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}
        self._revision: str | None = None

    def get(self, key: str) -> Entry | None:
        with self._lock:
            return self._entries.get(key)

    def entries(self) -> dict[str, Entry]:
        with self._lock:
            return dict(self._entries)

    def refresh(self, *, always: bool = False) -> dict[str, Entry]:
        """Read the map if it changed; returns the items that are new or changed since."""
        if not always:
            revision = self._client.map_revision(self.name)
            with self._lock:
                if revision == self._revision:
                    return {}
        else:
            revision = None
        fresh = self._client.items(self.name)
        with self._lock:
            changed = {
                k: e
                for k, e in fresh.items()
                if k not in self._entries or self._entries[k].revision != e.revision
            }
            self._entries = fresh
            if revision is not None:
                self._revision = revision
        return changed

    def write(self, edit: Edit) -> Entry:
        """Apply an edit with ``If-Match``, re-reading and re-applying on conflicts."""
        for _attempt in range(MAX_ATTEMPTS):
            current = self.get(edit.key)
            try:
                if current is None:
                    entry = self._client.create_item(self.name, edit.key, edit.patch)
                else:
                    data = edit.patch if edit.replace else {**current.data, **edit.patch}
                    entry = self._client.update_item(
                        self.name, edit.key, data, if_match=current.revision
                    )
            except Conflict:
                self._remember(edit.key, self._client.get_item(self.name, edit.key))
                continue
            except Missing:
                self._remember(edit.key, None)
                continue
            self._remember(edit.key, entry)
            return entry
        raise Conflict(f"{edit.key} kept changing; trying again later")

    def _remember(self, key: str, entry: Entry | None) -> None:
        with self._lock:
            if entry is None:
                self._entries.pop(key, None)
            else:
                self._entries[key] = entry
