"""One conversation's messages as a Qt model, loaded lazily in pages.

Opening a thread reads the newest page (200 messages, one indexed query); older pages
are read when the view scrolls near the top; new and changed messages are merged by id
as events arrive, in ``(created_at, id)`` order, so a backfilled older message lands in
its place too.  Each item carries ``starts_day`` (draw a day separator above it) and a
``version`` that changes whenever the message does, which keys the delegate's size cache.
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

logger = logging.getLogger(__name__)

MESSAGE_ROLE: Final = Qt.ItemDataRole.UserRole + 1
ID_ROLE: Final = Qt.ItemDataRole.UserRole + 2

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
        self._pos: dict[int, int] = {}
        self.has_older = False
        self.highlight_id: int | None = None
        #: Who "they" are in accessible descriptions (set by the pane).
        self.contact_title = "Customer"

    # -- reading --------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def item(self, row: int) -> ThreadItem:
        return self._items[row]

    def row_of(self, message_id: int) -> int | None:
        return self._pos.get(message_id)

    def message(self, message_id: int) -> MessageRow | None:
        pos = self._pos.get(message_id)
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
        who = "You" if message.direction == "outbound" else self.contact_title
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
        self._items, self._keys, self._pos = [], [], {}
        self.has_older = False
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
        self._reindex()
        self.has_older = has_older
        self.endResetModel()

    def fetch_older(self, limit: int = PAGE_SIZE) -> int:
        """Prepend the page before the oldest loaded message; returns how many arrived."""
        if self.conversation_id is None or not self.has_older or not self._keys:
            return 0
        rows = queries.thread_page(
            self._reader(), self.conversation_id, before=self._keys[0], limit=limit
        )
        self.has_older = len(rows) == limit
        if not rows:
            return 0
        self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
        self._items[0:0] = self._build(rows, None)
        self._keys[0:0] = [m.key for m in rows]
        self._reindex()
        self.endInsertRows()
        self._fix_day_start(len(rows))
        return len(rows)

    def trim_oldest(self, keep: int) -> int:
        """Forget all but the newest ``keep`` messages (they reload when scrolled to)."""
        excess = len(self._items) - keep
        if excess <= 0:
            return 0
        self.beginRemoveRows(QModelIndex(), 0, excess - 1)
        del self._items[:excess]
        del self._keys[:excess]
        self._reindex()
        self.endRemoveRows()
        self.has_older = True
        if self._items and not self._items[0].starts_day:
            self._items[0].starts_day = True
            self._touch(0)
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

    def _reindex(self) -> None:
        self._pos = {item.message.id: i for i, item in enumerate(self._items)}

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
        """Merge newly stored messages of this conversation; returns the ids inserted."""
        if self.conversation_id is None:
            return []
        wanted = [i for i in dict.fromkeys(message_ids) if i not in self._pos]
        if not wanted:
            return []
        rows = [
            m
            for m in queries.messages_by_id(self._reader(), wanted)
            if m.conversation_id == self.conversation_id and m.id not in self._pos
        ]
        inserted: list[int] = []
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
            self._reindex()
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
            self._reindex()
            self.endInsertRows()
            inserted.extend(m.id for m in appended)
        return inserted

    def update_messages(self, message_ids: Iterable[int]) -> bool:
        """Re-read changed messages; True when a bubble's height may have changed."""
        loaded = [i for i in dict.fromkeys(message_ids) if i in self._pos]
        if not loaded:
            return False
        reshaped = False
        for message in queries.messages_by_id(self._reader(), loaded):
            row = self._pos.get(message.id)
            if row is None:
                continue
            item = self._items[row]
            if item.message == message:
                continue
            reshaped = reshaped or _shape(item.message) != _shape(message)
            item.message = message
            self._touch(row)
        return reshaped

    def set_highlight(self, message_id: int | None) -> None:
        previous, self.highlight_id = self.highlight_id, message_id
        for mid in (previous, message_id):
            row = None if mid is None else self._pos.get(mid)
            if row is not None:
                index = self.index(row, 0)
                self.dataChanged.emit(index, index)
