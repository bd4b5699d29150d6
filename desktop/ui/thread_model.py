"""One conversation's messages as a Qt model, loaded lazily in pages.

Opening a thread reads the newest page (200 messages, one indexed query); older pages
are read when the view scrolls near the top, newer ones when it scrolls back down.  At
most ``MAX_LOADED`` messages are held: a page loaded at one end drops a page at the
other (it is read again when scrolled back to), so reading back through years of
history costs the same per page at the end as at the start.  New and changed messages
are merged by id as events arrive, in ``(created_at, id)`` order, so a backfilled older
message lands in its place too; the row of a message is found by bisecting its key, so
an insert updates no per-row index.  Each item carries ``starts_day`` (draw a day
separator above it) and a ``version`` that changes whenever the message does, which keys
the delegate's size cache.
"""

from __future__ import annotations

import bisect
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from desktop.domain.status import is_failure
from desktop.store import queries
from desktop.store.queries import PAGE_SIZE, MessageRow
from desktop.ui.formatting import local_date, time_of
from desktop.ui.thread_status import sender_label

logger = logging.getLogger(__name__)

MESSAGE_ROLE: Final = Qt.ItemDataRole.UserRole + 1
ID_ROLE: Final = Qt.ItemDataRole.UserRole + 2
#: The most messages held at once: the page being read and the one joined to it (each
#: page added lays out every loaded row again, so this bounds what a page costs).
MAX_LOADED: Final = 2 * PAGE_SIZE

AnyIndex = QModelIndex | QPersistentModelIndex


@dataclass(slots=True)
class ThreadItem:
    message: MessageRow
    starts_day: bool
    version: int = 0


def _shape(message: MessageRow) -> tuple[Any, ...]:
    """What decides a bubble's height (the text changes only when a scheduled one is edited)."""
    return (
        message.body,
        tuple((m.state, m.thumbnail, m.file, m.width, m.height) for m in message.media),
        is_failure(message.status) or message.outbox_state == "failed",
        message.outbox_error,
        message.error_code,
    )


class ThreadModel(QAbstractListModel):
    def __init__(self, reader: Callable[[], sqlite3.Connection], parent: Any = None) -> None:
        super().__init__(parent)
        self._reader = reader
        self.conversation_id: int | None = None
        self._items: list[ThreadItem] = []
        self._keys: list[tuple[int, int]] = []
        #: message id → its key; the row is found by bisecting ``_keys``.
        self._key_of: dict[int, tuple[int, int]] = {}
        self.has_older = False
        #: Newer messages exist than the loaded ones (dropped while scrolling up).
        self.has_newer = False
        #: A page read ahead of need: (older?, the key it joins at, its items, more beyond?).
        self._staged: tuple[bool, tuple[int, int], list[ThreadItem], bool] | None = None
        self.highlight_id: int | None = None
        #: Who "they" are in accessible descriptions (set by the pane).
        self.contact_title = "Customer"
        #: This laptop's display name in team mode (each sent text says who sent it);
        #: None outside team mode.
        self.team_name: str | None = None

    # -- reading --------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def item(self, row: int) -> ThreadItem:
        return self._items[row]

    def row_of(self, message_id: int) -> int | None:
        key = self._key_of.get(message_id)
        return None if key is None else bisect.bisect_left(self._keys, key)

    def message(self, message_id: int) -> MessageRow | None:
        pos = self.row_of(message_id)
        return None if pos is None else self._items[pos].message

    @property
    def newest_key(self) -> tuple[int, int] | None:
        return self._keys[-1] if self._keys else None

    @property
    def oldest_key(self) -> tuple[int, int] | None:
        return self._keys[0] if self._keys else None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._items):
            return None
        message = self._items[index.row()].message
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.describe(message)
        if role == MESSAGE_ROLE:
            return message
        if role == ID_ROLE:
            return message.id
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def describe(self, message: MessageRow) -> str:
        if message.direction == "outbound":
            who = sender_label(message, self.team_name) or (
                "You" if self.team_name is None else "Sent"
            )
        else:
            who = self.contact_title
        parts = [f"{who}, {time_of(message.created_at)}"]
        if message.direction == "outbound":
            parts.append(message.status)
        if message.media:
            count = len(message.media)
            parts.append("1 picture" if count == 1 else f"{count} pictures")
        if message.body:
            parts.append(message.body)
        return ": ".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0]

    # -- loading --------------------------------------------------------------------------

    def clear(self) -> None:
        self.beginResetModel()
        self.conversation_id = None
        self._items, self._keys, self._key_of = [], [], {}
        self._staged = None
        self.has_older = self.has_newer = False
        self.highlight_id = None
        self.endResetModel()

    def open(self, conversation_id: int) -> None:
        """Show the newest page of ``conversation_id``."""
        try:
            rows = queries.thread_page(self._reader(), conversation_id, limit=PAGE_SIZE)
        except sqlite3.DatabaseError as exc:
            # A damaged page: the store's health has it, the window offers the repair.
            logger.warning("Conversation %d cannot be read: %s", conversation_id, exc)
            rows = []
        self.open_rows(conversation_id, rows, has_older=len(rows) == PAGE_SIZE)

    def open_rows(
        self, conversation_id: int, rows: Sequence[MessageRow], *, has_older: bool
    ) -> None:
        """Show ``rows`` (oldest first, ending with the newest message) of a conversation."""
        self.beginResetModel()
        self.conversation_id = conversation_id
        self.highlight_id = None
        self._items = self._build(rows, None)
        self._keys = [m.key for m in rows]
        self._key_of = {m.id: m.key for m in rows}
        self._staged = None
        self.has_older = has_older
        self.has_newer = False
        self.endResetModel()

    def reopen_newest(self) -> None:
        """Back to the newest page (after newer pages were dropped while reading back)."""
        if self.conversation_id is not None:
            self.open(self.conversation_id)

    def stage_older(self, limit: int = PAGE_SIZE) -> list[ThreadItem]:
        """Read the page before the oldest loaded message without showing it (so the view
        can measure it a slice at a time); :meth:`fetch_older` then shows it at once."""
        return self._stage(older=True, limit=limit)

    def stage_newer(self, limit: int = PAGE_SIZE) -> list[ThreadItem]:
        """Like :meth:`stage_older`, for the page after the newest loaded message."""
        return self._stage(older=False, limit=limit)

    def _stage(self, *, older: bool, limit: int) -> list[ThreadItem]:
        if self.conversation_id is None or not self._keys:
            return []
        if not (self.has_older if older else self.has_newer):
            return []
        joins = self._keys[0] if older else self._keys[-1]
        staged = self._staged
        if staged is not None and staged[0] == older and staged[1] == joins:
            return staged[2]
        reader = self._reader()
        if older:
            rows = queries.thread_page(reader, self.conversation_id, before=joins, limit=limit)
            items = self._build(rows, None)
        else:
            rows = queries.thread_page_after(reader, self.conversation_id, after=joins, limit=limit)
            items = self._build(rows, self._items[-1].message)
        self._staged = (older, joins, items, len(rows) == limit)
        return items

    def fetch_older(self, limit: int = PAGE_SIZE) -> int:
        """Prepend the page before the oldest loaded message; returns how many arrived.

        Past ``MAX_LOADED`` the newest loaded messages are dropped (``has_newer``)."""
        items = self.stage_older(limit)
        if self._staged is not None:
            self.has_older = self._staged[3]
        self._staged = None
        if not items:
            return 0
        self.beginInsertRows(QModelIndex(), 0, len(items) - 1)
        self._items[0:0] = items
        self._keys[0:0] = [i.message.key for i in items]
        self._key_of.update((i.message.id, i.message.key) for i in items)
        self.endInsertRows()
        self._fix_day_start(len(items))
        self.trim_newest(MAX_LOADED)
        return len(items)

    def fetch_newer(self, limit: int = PAGE_SIZE) -> int:
        """Append the page after the newest loaded message (one dropped earlier); returns
        how many arrived.  Past ``MAX_LOADED`` the oldest loaded messages are dropped."""
        items = self.stage_newer(limit)
        if self._staged is not None:
            self.has_newer = self._staged[3]
        self._staged = None
        if not items:
            return 0
        start = len(self._items)
        self.beginInsertRows(QModelIndex(), start, start + len(items) - 1)
        self._items.extend(items)
        self._keys.extend(i.message.key for i in items)
        self._key_of.update((i.message.id, i.message.key) for i in items)
        self.endInsertRows()
        self.trim_oldest(MAX_LOADED)
        return len(items)

    def trim_oldest(self, keep: int) -> int:
        """Forget all but the newest ``keep`` messages (they reload when scrolled to)."""
        excess = len(self._items) - keep
        if excess <= 0:
            return 0
        self.beginRemoveRows(QModelIndex(), 0, excess - 1)
        for item in self._items[:excess]:
            del self._key_of[item.message.id]
        del self._items[:excess]
        del self._keys[:excess]
        self.endRemoveRows()
        self.has_older = True
        if self._items and not self._items[0].starts_day:
            self._items[0].starts_day = True
            self._touch(0)
        return excess

    def trim_newest(self, keep: int) -> int:
        """Forget all but the oldest ``keep`` messages (they reload when scrolled to)."""
        excess = len(self._items) - keep
        if excess <= 0:
            return 0
        first = len(self._items) - excess
        self.beginRemoveRows(QModelIndex(), first, len(self._items) - 1)
        for item in self._items[first:]:
            del self._key_of[item.message.id]
        del self._items[first:]
        del self._keys[first:]
        self.endRemoveRows()
        self.has_newer = True
        return excess

    @staticmethod
    def _build(rows: Sequence[MessageRow], before: MessageRow | None) -> list[ThreadItem]:
        items: list[ThreadItem] = []
        previous_day = None if before is None else local_date(before.created_at)
        for message in rows:
            day = local_date(message.created_at)
            items.append(ThreadItem(message, day != previous_day))
            previous_day = day
        return items

    def _touch(self, row: int) -> None:
        self._items[row].version += 1
        index = self.index(row, 0)
        self.dataChanged.emit(index, index)

    def _fix_day_start(self, row: int) -> None:
        """Recompute ``starts_day`` of ``row`` after its neighbour above changed."""
        if not 0 <= row < len(self._items):
            return
        item = self._items[row]
        day = local_date(item.message.created_at)
        starts = row == 0 or local_date(self._items[row - 1].message.created_at) != day
        if starts != item.starts_day:
            item.starts_day = starts
            self._touch(row)

    # -- live updates ---------------------------------------------------------------------

    def add_messages(self, message_ids: Iterable[int]) -> list[int]:
        """Merge newly stored messages of this conversation; returns the ids inserted.

        Messages outside the loaded range (older than a dropped page above, or newer
        than one dropped below) are left for that page to bring."""
        if self.conversation_id is None:
            return []
        self._staged = None  # it may lack what just arrived
        wanted = [i for i in dict.fromkeys(message_ids) if i not in self._key_of]
        if not wanted:
            return []
        rows = [
            m
            for m in queries.messages_by_id(self._reader(), wanted)
            if m.conversation_id == self.conversation_id and m.id not in self._key_of
        ]
        inserted: list[int] = []
        if self.has_newer:
            rows = [m for m in rows if self._keys and m.key < self._keys[-1]]
        appended = [m for m in rows if not self._keys or m.key > self._keys[-1]]
        appended_ids = {m.id for m in appended}
        middle = [m for m in rows if m.id not in appended_ids]
        for message in middle:
            if self.has_older and self._keys and message.key < self._keys[0]:
                continue  # older than what is loaded: the next page brings it
            at = bisect.bisect_left(self._keys, message.key)
            self.beginInsertRows(QModelIndex(), at, at)
            self._items.insert(at, ThreadItem(message, False))
            self._keys.insert(at, message.key)
            self._key_of[message.id] = message.key
            self.endInsertRows()
            self._fix_day_start(at)
            self._fix_day_start(at + 1)
            inserted.append(message.id)
        if appended:
            start = len(self._items)
            last = self._items[-1].message if self._items else None
            self.beginInsertRows(QModelIndex(), start, start + len(appended) - 1)
            self._items.extend(self._build(appended, last))
            self._keys.extend(m.key for m in appended)
            self._key_of.update((m.id, m.key) for m in appended)
            self.endInsertRows()
            inserted.extend(m.id for m in appended)
        return inserted

    def update_messages(self, message_ids: Iterable[int]) -> bool:
        """Re-read changed messages; True when a bubble's height may have changed."""
        self._staged = None  # it may hold the old version
        loaded = [i for i in dict.fromkeys(message_ids) if i in self._key_of]
        if not loaded:
            return False
        reshaped = False
        for message in queries.messages_by_id(self._reader(), loaded):
            row = self.row_of(message.id)
            if row is None:
                continue
            item = self._items[row]
            if item.message == message:
                continue
            reshaped = reshaped or _shape(item.message) != _shape(message)
            item.message = message
            self._touch(row)
        return reshaped

    def set_team_name(self, name: str | None) -> bool:
        """Team mode turned on or off, or this laptop's name changed: every sent bubble's
        footer says who sent it.  Only the footer's width changes, never a bubble's height,
        so the delegate's size cache stays valid.  True when something changed."""
        if name == self.team_name:
            return False
        self.team_name = name
        if self._items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._items) - 1, 0))
        return True

    def set_highlight(self, message_id: int | None) -> None:
        previous, self.highlight_id = self.highlight_id, message_id
        for mid in (previous, message_id):
            row = None if mid is None else self.row_of(mid)
            if row is not None:
                index = self.index(row, 0)
                self.dataChanged.emit(index, index)
