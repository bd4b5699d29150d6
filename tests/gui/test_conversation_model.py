"""The conversation list model keeps every row findable while texts reshuffle it."""

from __future__ import annotations

import random
import time

from desktop.core import Core
from desktop.store import queries
from desktop.ui.conversation_model import ConversationListModel
from desktop.ui.formatting import NumberFormatter
from tests.gui.conftest import inbound


def _check(model: ConversationListModel, core: Core, *, sorted_like_store: bool) -> None:
    rows = [model.row_at(i) for i in range(model.rowCount())]
    if sorted_like_store:
        assert [r.id for r in rows] == [r.id for r in queries.conversations(core.store.reader())]
    for i, row in enumerate(rows):
        assert model.position(row.id) == i
        assert model.index_of(row.id).row() == i
        found = model.get(row.id)
        assert found is not None
        assert found.id == row.id


def test_positions_stay_right_through_bursts_of_new_and_returning_customers(
    gui_core: Core,
) -> None:
    rng = random.Random(11)
    now = int(time.time() * 1000) - 10_000_000
    numbers = [f"+1503555{n:04d}" for n in range(60)]
    ids = [
        inbound(gui_core, "hello", contact=n, at_ms=now - i).conversation_id
        for i, n in enumerate(numbers)
    ]
    model = ConversationListModel(gui_core.store.reader, NumberFormatter())
    model.load()
    fresh = 0
    for step in range(40):
        touched = []
        for _ in range(rng.randint(1, 8)):
            now += 1000
            if rng.random() < 0.4:  # a new customer: a row at the top shifts every row
                number = f"+1971555{fresh:04d}"
                fresh += 1
            else:  # a returning one, sometimes with a text older than their last
                number = rng.choice(numbers)
            at = now if rng.random() < 0.8 else now - 50_000_000
            touched.append(inbound(gui_core, f"text {step}", contact=number, at_ms=at))
        held = step % 10 == 5
        if held:
            model.hold()
        # Some lookups between the updates, as the window does while it repaints.
        model.refresh([t.conversation_id for t in touched[: len(touched) // 2]])
        assert model.position(rng.choice(ids)) is not None
        model.refresh([t.conversation_id for t in touched[len(touched) // 2 :]])
        _check(model, gui_core, sorted_like_store=not held)
        if held:
            model.release()
            _check(model, gui_core, sorted_like_store=True)
    assert model.rowCount() == len(numbers) + fresh
