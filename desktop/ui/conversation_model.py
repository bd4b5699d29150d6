"""The conversation list as a Qt model: newest first, updated row by row as events arrive.

The whole list is read once (a denormalised summary table: 2,000 rows in a few ms).
After that, an event re-reads only the conversations it touched and moves each to its
place; a large burst re-reads the summary once and re-sorts in place (a layout change,
so the selection and the current row survive).  The delegate reads rows straight from
:meth:`row_at` rather than through ``data()`` to keep painting cheap.

While the list is *held* (the pointer is over it, a click is in progress, keys were just
pressed in it) no row moves: a touched conversation changes its content where it is and a
new one is added at the bottom, so the row under the pointer is still the one the user is
aiming at.  The list only notes that its order is stale (``orderPendingChanged``), and
:meth:`apply_held_order` puts every row in its place in one layout change, keeping the
selection on the same conversation.

In team mode a row whose last text a colleague sent reads "Sam: …" instead of "You: …".
Who sent it is looked up only for the rows shown (one primary-key read each, kept until
the row changes), so loading 20,000 conversations costs nothing more.
"""

from __future__ import annotations

import bisect
import logging
import operator
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, Final

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from desktop.store import queries
from desktop.store.queries import ConversationRow
from desktop.ui.formatting import NumberFormatter

logger = logging.getLogger(__name__)

#: Above this many touched conversations, one full re-read is cheaper than many small ones.
BULK_THRESHOLD: Final = 150
ROW_ROLE: Final = Qt.ItemDataRole.UserRole + 1
ID_ROLE: Final = Qt.ItemDataRole.UserRole + 2

AnyIndex = QModelIndex | QPersistentModelIndex


def _key(row: ConversationRow) -> tuple[int, int]:
    return (-row.last_message_at, -row.id)


_ID: Final = operator.attrgetter("id")


def _listed(row: ConversationRow | None) -> bool:
    return row is not None and row.last_message_at > 0


class ConversationListModel(QAbstractListModel):
    """Signals: ``orderPendingChanged(bool)``: while held, rows are (or no longer are) out
    of their newest-first place."""

    orderPendingChanged = Signal(bool)

    def __init__(
        self,
        reader: Callable[[], sqlite3.Connection],
        numbers: NumberFormatter,
        parent: Any = None,
        *,
        team_name: Callable[[], str | None] = lambda: None,
    ) -> None:
        """``team_name()``: this laptop's display name in team mode, None outside it."""
        super().__init__(parent)
        self._reader = reader
        self._team_name = team_name
        #: Conversation id → the colleague who sent its last text ('' when none did).
        self._senders: dict[int, str] = {}
        self.numbers = numbers
        self._rows: list[ConversationRow] = []
        #: Conversation id → row; entries at or past ``_stale_from`` may be out of date.
        self._pos: dict[int, int] = {}
        self._stale_from: int | None = None
        #: Conversation id → its sort key, to find a row by bisection while the map is stale.
        self._keys: dict[int, tuple[int, int]] = {}
        self._our_numbers: set[str] = set()
        self._held = False
        self._order_pending = False

    # -- reading --------------------------------------------------------------------------

    def load(self) -> None:
        rows = queries.conversations(self._reader())
        self._senders.clear()
        self.beginResetModel()
        self._rows = rows
        self._reindex()
        self.endResetModel()
        self._set_order_pending(False)

    def _reindex(self) -> None:
        """Rebuild the id → row map and the set of our numbers from every row."""
        rows = self._rows
        self._pos = {row.id: i for i, row in enumerate(rows)}
        self._keys = {row.id: _key(row) for row in rows}
        self._our_numbers = {row.our_number for row in rows}
        self._stale_from = None

    def _shifted(self, first: int) -> None:
        """Rows from ``first`` on may have moved; the map catches up when next read.

        A text from a new customer lands at the top and shifts every row below it:
        re-counting 20,000 rows for each text of a burst cost about a millisecond a text,
        a third of the GUI thread's time.  Now nothing is re-counted while the rows are in
        newest-first order (a stale row is found by bisecting on its sort key); only a
        list held out of order re-counts, once, on the first lookup past ``first``."""
        if self._stale_from is None or first < self._stale_from:
            self._stale_from = first

    def _lookup(self, conversation_id: int) -> int | None:
        pos = self._pos.get(conversation_id)
        stale_from = self._stale_from
        if pos is None or stale_from is None or pos < stale_from:
            return pos  # absent, or before every row that moved
        rows = self._rows
        if not self._order_pending:
            # In newest-first order (not held out of it): find the row by its sort key.
            found = bisect.bisect_left(rows, self._keys[conversation_id], key=_key)
            if found < len(rows) and rows[found].id == conversation_id:
                return found
        moved = rows[stale_from:]
        places = range(stale_from, stale_from + len(moved))
        self._pos.update(zip(map(_ID, moved), places, strict=True))
        self._stale_from = None
        return self._pos[conversation_id]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def row_at(self, row: int) -> ConversationRow:
        return self._rows[row]

    def position(self, conversation_id: int) -> int | None:
        return self._lookup(conversation_id)

    def get(self, conversation_id: int) -> ConversationRow | None:
        pos = self._lookup(conversation_id)
        return None if pos is None else self._rows[pos]

    def index_of(self, conversation_id: int) -> QModelIndex:
        pos = self._lookup(conversation_id)
        return QModelIndex() if pos is None else self.index(pos, 0)

    @property
    def several_numbers(self) -> bool:
        """True when conversations go through more than one of our numbers."""
        return len(self._our_numbers) > 1

    def most_used_our_number(self) -> str:
        counts: dict[str, int] = {}
        for row in self._rows:
            counts[row.our_number] = counts.get(row.our_number, 0) + 1
        return max(counts, key=counts.__getitem__) if counts else ""

    def total_unread(self) -> int:
        return sum(row.unread_count for row in self._rows)

    def title(self, row: ConversationRow) -> str:
        return row.contact_name or self.numbers(row.contact_number)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.title(row)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self.describe(row)
        if role == ROW_ROLE:
            return row
        if role == ID_ROLE:
            return row.id
        return None

    def describe(self, row: ConversationRow) -> str:
        """What a screen reader says for a row."""
        parts = [self.title(row)]
        if row.unread_count:
            parts.append(f"{row.unread_count} unread")
        if row.opted_out:
            parts.append("opted out")
        parts.append(f"{self.snippet_prefix(row)}{row.snippet}")
        return ", ".join(parts)

    def snippet_prefix(self, row: ConversationRow) -> str:
        """ "You: " before a sent text's snippet, "Sam: " when colleague Sam sent it."""
        if row.last_direction != "outbound":
            return ""
        sender = self.last_sender(row)
        return f"{sender}: " if sender else "You: "

    def last_sender(self, row: ConversationRow) -> str:
        """In team mode, the colleague who sent the row's last text; else ''."""
        me = self._team_name()
        if me is None or row.last_direction != "outbound" or row.last_message_id is None:
            return ""
        sender = self._senders.get(row.id)
        if sender is None:
            sender = queries.colleague_sender(self._reader(), row.last_message_id)
            self._senders[row.id] = sender
        return "" if sender == me else sender

    # -- updating -------------------------------------------------------------------------

    def refresh(self, conversation_ids: Iterable[int]) -> None:
        """Re-read the given conversations and move each to its place (unless held)."""
        ids = list(dict.fromkeys(conversation_ids))
        if not ids:
            return
        if len(ids) > BULK_THRESHOLD:
            self.reload_all()
            return
        found = queries.conversations_by_id(self._reader(), ids)
        for conversation_id in ids:
            self._apply(conversation_id, found.get(conversation_id))

    def _apply(self, conversation_id: int, new: ConversationRow | None) -> None:
        self._senders.pop(conversation_id, None)  # its last text or its sender changed
        old = self._lookup(conversation_id)  # found by its old key: set the new one after
        if _listed(new):
            assert new is not None
            self._keys[conversation_id] = _key(new)
        if not _listed(new):
            if old is not None:
                # Not held back: a conversation that is gone cannot stay clickable.
                self.beginRemoveRows(QModelIndex(), old, old)
                del self._rows[old]
                del self._pos[conversation_id]
                del self._keys[conversation_id]
                self._shifted(old)
                self.endRemoveRows()
            return
        assert new is not None
        if self._held:
            self._apply_in_place(old, new)
            return
        if old is None:
            dest = bisect.bisect_left(self._rows, _key(new), key=_key)
            self.beginInsertRows(QModelIndex(), dest, dest)
            self._rows.insert(dest, new)
            self._pos[new.id] = dest
            self._our_numbers.add(new.our_number)
            self._shifted(dest)
            self.endInsertRows()
            return
        previous = self._rows.pop(old)
        dest = bisect.bisect_left(self._rows, _key(new), key=_key)
        self._rows.insert(old, previous)
        if dest != old:
            self.beginMoveRows(
                QModelIndex(), old, old, QModelIndex(), dest if dest < old else dest + 1
            )
            self._rows.pop(old)
            self._rows.insert(dest, new)
            self._pos[new.id] = dest
            self._our_numbers.add(new.our_number)
            self._shifted(min(old, dest))
            self.endMoveRows()
        else:
            self._rows[old] = new
            self._our_numbers.add(new.our_number)
        changed = self.index(dest, 0)
        self.dataChanged.emit(changed, changed)

    def _apply_in_place(self, old: int | None, new: ConversationRow) -> None:
        """Held: change the row where it is, or add a new one at the bottom; move nothing."""
        if old is None:
            old = len(self._rows)
            self.beginInsertRows(QModelIndex(), old, old)
            self._rows.append(new)
            self._pos[new.id] = old  # at the end: no other row moved
            self._our_numbers.add(new.our_number)
            self.endInsertRows()
        else:
            self._rows[old] = new
            self._our_numbers.add(new.our_number)
            changed = self.index(old, 0)
            self.dataChanged.emit(changed, changed)
        # The list is sorted exactly when every neighbouring pair is, so checking this
        # row's two neighbours is enough to know whether the order went stale.
        rows, key = self._rows, _key(new)
        if (old > 0 and _key(rows[old - 1]) > key) or (
            old + 1 < len(rows) and key > _key(rows[old + 1])
        ):
            self._set_order_pending(True)

    def reload_all(self) -> None:
        """Re-read the whole summary and re-sort in place, keeping persistent indexes."""
        rows = queries.conversations(self._reader())
        self._senders.clear()
        fresh = {row.id: row for row in rows}
        if any(cid not in fresh for cid in self._pos):
            self.beginResetModel()
            self._rows = rows
            self._reindex()
            self.endResetModel()
            self._set_order_pending(False)
            return
        added = [row for row in rows if row.id not in self._pos]
        if added:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
            self._rows.extend(added)
            self._reindex()
            self.endInsertRows()
        if self._held:
            self._rows = [fresh[row.id] for row in self._rows]
            self._reindex()
            if any(_key(a) > _key(b) for a, b in zip(self._rows, self._rows[1:], strict=False)):
                self._set_order_pending(True)
        else:
            self._relayout(rows)
        if rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, 0))

    def _relayout(self, rows: list[ConversationRow]) -> None:
        """Show ``rows`` (the same conversations, another order) in one layout change."""
        self.layoutAboutToBeChanged.emit()
        old_ids = [row.id for row in self._rows]
        self._rows = rows
        self._reindex()
        persistent = self.persistentIndexList()
        moved = [self.index(self._pos[old_ids[p.row()]], 0) for p in persistent]
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    # -- holding the order ----------------------------------------------------------------

    @property
    def held(self) -> bool:
        return self._held

    @property
    def order_pending(self) -> bool:
        """Held rows are out of their newest-first place."""
        return self._order_pending

    def hold(self) -> None:
        """Stop moving rows until :meth:`release`; updates change rows where they are."""
        self._held = True

    def release(self) -> None:
        """Move rows again, starting with the ones held back."""
        if self._held:
            self._held = False
            self.apply_held_order()

    def apply_held_order(self) -> None:
        """Put every row in its newest-first place now (the selection stays with its row)."""
        if not self._order_pending:
            return
        self._relayout(sorted(self._rows, key=_key))
        self._set_order_pending(False)

    def _set_order_pending(self, pending: bool) -> None:
        if pending != self._order_pending:
            self._order_pending = pending
            self.orderPendingChanged.emit(pending)
