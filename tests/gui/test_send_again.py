"""Send again on an undelivered text: the failed bubble itself is retried, never copied."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from desktop.domain.models import Direction, NewMessage, Source
from desktop.store import writes
from desktop.ui.main_window import MainWindow
from desktop.ui.thread_status import retry_label
from tests.gui.conftest import CUSTOMER, OUR_NUMBER, inbound, new_sid


def logged(sid: str, body: str, status: str, at_ms: int) -> NewMessage:
    """Twilio's record of one of our texts, as a backfill stores it."""
    return NewMessage(
        sid=sid,
        direction=Direction.OUTBOUND,
        from_number=OUR_NUMBER,
        to_number=CUSTOMER,
        body=body,
        status=status,
        created_at_ms=at_ms,
        source=Source.BACKFILL,
        error_code=30003 if status == "undelivered" else None,
    )


def test_send_again_turns_the_failed_bubble_into_the_retry(qtbot, window: MainWindow) -> None:
    core = window.core
    at_ms = int(time.time() * 1000) - 60_000
    inbound(core, "Is my order ready?", unread=False, at_ms=at_ms - 60_000)
    old_sid = new_sid()
    backfilled = logged(old_sid, "Yes, pick it up", "undelivered", at_ms)
    core.store.writer.call(lambda tx: writes.insert_message(tx, backfilled))
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    window.open_conversation(window.list_model.row_at(0).id)
    model, view = window.pane.model, window.pane.view
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    failed = model.item(1).message
    assert retry_label(failed) == "Send again"
    view.settle()
    geometry = window.pane.delegate.geometry(model.item(1), view.viewport().width())
    assert geometry.retry is not None
    rect = view.visualRect(model.index(1, 0))
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=rect.topLeft() + geometry.retry.center()
    )

    qtbot.waitUntil(lambda: model.item(1).message.status == "pending")
    assert model.rowCount() == 2
    retried = model.item(1).message
    assert (retried.id, retried.outbox_state) == (failed.id, "queued")
    assert retry_label(retried) == ""  # the bubble no longer offers Send again
    view.settle()
    geometry = window.pane.delegate.geometry(model.item(1), view.viewport().width())
    assert geometry.retry is None
    assert geometry.failure is None

    # A backfill later lists the failed attempt again: it is matched, not stored twice.
    backfilled = logged(old_sid, "Yes, pick it up", "undelivered", at_ms)
    core.store.writer.call(lambda tx: writes.insert_message(tx, backfilled))
    count = core.store.reader().execute("SELECT count(*) FROM messages").fetchone()[0]
    assert count == 2
    assert model.item(1).message.status == "pending"
    assert window.list_model.row_at(0).last_status == "pending"
