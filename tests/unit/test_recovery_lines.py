"""What repair says it lost: rows it could not read and rows it read back garbled."""

from __future__ import annotations

from desktop.recovery import _table_line
from desktop.store.salvage import TableSalvage


def test_garbled_rows_count_as_lost_and_are_said_once() -> None:
    table = TableSalvage(name="messages", copied=1173, unreadable=[(1000, 1000)], refused=26)

    assert table.lost_estimate() == 27
    line = _table_line(table)
    assert "about 27 unreadable" in line
    assert "26 of them read back garbled" in line


def test_garbled_rows_alone_are_reported_as_garbled() -> None:
    line = _table_line(TableSalvage(name="messages", copied=50, refused=2))

    assert "2 garbled, left out" in line
    assert "unreadable" not in line
