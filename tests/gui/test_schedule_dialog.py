"""Scheduling from the composer: the dialog, the pending bubble, and the late-send question."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from desktop.domain.schedule import Holder
from desktop.store import scheduled
from desktop.store.writer import Tx
from desktop.ui.main_window import MainWindow
from desktop.ui.schedule_dialog import ScheduleDialog, default_time
from desktop.ui.thread_status import status_label
from tests.gui.conftest import CUSTOMER, OUR_NUMBER, inbound


def test_schedule_from_the_composer_shows_a_pending_bubble_with_its_time(
    qtbot, window: MainWindow
) -> None:
    result = inbound(window.core, "Can you remind me tomorrow?")
    window.open_conversation(result.conversation_id)
    pane = window.pane
    qtbot.waitUntil(lambda: pane.model.rowCount() == 1)
    pane.composer.editor.setPlainText("Reminder: your appointment is at 9:00")

    controls = pane.schedule
    assert controls.button.objectName() == "scheduleButton"
    assert controls.button.isVisible()
    controls.button.click()
    dialog = controls.dialog
    assert isinstance(dialog, ScheduleDialog)
    qtbot.waitExposed(dialog)
    assert dialog.text.toPlainText() == "Reminder: your appointment is at 9:00"
    zone = dialog.findChild(type(dialog.hint), "scheduleZone")
    assert zone is not None
    assert zone.text().startswith("Times are in")
    due = datetime.now(UTC) + timedelta(hours=20)
    dialog.when.setDateTime(dialog.when.dateTime().fromSecsSinceEpoch(int(due.timestamp())))
    dialog.ok.click()

    qtbot.waitUntil(lambda: pane.model.rowCount() == 2)
    bubble = pane.model.item(1).message
    assert bubble.body == "Reminder: your appointment is at 9:00"
    label, _tone = status_label(bubble)
    assert label.startswith("Scheduled for ")
    assert "Scheduled for" in pane.delegate.footer_text(bubble)
    # The text went into the schedule: the composer is empty again.
    qtbot.waitUntil(lambda: pane.composer.editor.toPlainText() == "" and controls.dialog is None)

    # The bubble's "Cancel scheduled text": it stays in the thread, saying so.
    pane.view.scheduleCancelRequested.emit(bubble.id)
    qtbot.waitUntil(lambda: status_label(pane.model.item(1).message)[0] == "Canceled by you.")

    # A time in the past is refused in the dialog, which stays open.
    controls.button.click()
    again = controls.dialog
    assert again is not None
    again.text.setPlainText("Too late")
    again.when.setMinimumDateTime(again.when.dateTime().fromSecsSinceEpoch(0))
    again.when.setDateTime(again.when.dateTime().fromSecsSinceEpoch(int(time.time()) - 3600))
    again.ok.click()
    qtbot.waitUntil(lambda: again.error.isVisible())
    assert "already passed" in again.error.text()
    again.reject()


def test_a_late_text_asks_send_now_or_cancel(qtbot, window: MainWindow) -> None:
    two_hours_ago = int((time.time() - 7200) * 1000)

    def job(tx: Tx) -> int:
        message_id = scheduled.queue_scheduled(
            tx, OUR_NUMBER, CUSTOMER, "Your order is ready", two_hours_ago, Holder.LOCAL
        ).message_id
        scheduled.mark_late(tx, message_id)  # what the outbox does when it finds it
        return message_id

    message_id = window.core.store.writer.call(job)
    watcher = window.late_texts
    qtbot.waitUntil(lambda: watcher.dialog is not None and watcher.dialog.isVisible())
    dialog = watcher.dialog
    assert dialog is not None
    assert dialog.list.count() == 1
    assert "Your order is ready" in dialog.list.item(0).text()
    dialog.send_now.click()

    def approved() -> bool:
        plan = scheduled.schedule_of(window.core.store.reader(), message_id)
        return plan is not None and plan.state == "pending" and plan.approved_late

    qtbot.waitUntil(approved)
    assert watcher.dialog is None


def test_the_first_time_offered_is_in_working_hours() -> None:
    zone = datetime.now().astimezone().tzinfo
    noon = datetime(2026, 12, 1, 12, 5, tzinfo=zone)
    assert default_time(noon) == datetime(2026, 12, 1, 13, 15, tzinfo=zone)
    evening = datetime(2026, 12, 1, 18, 0, tzinfo=zone)
    assert default_time(evening) == datetime(2026, 12, 2, 9, 0, tzinfo=zone)
    night = datetime(2026, 12, 1, 3, 0, tzinfo=zone)
    assert default_time(night) == datetime(2026, 12, 1, 9, 0, tzinfo=zone)
