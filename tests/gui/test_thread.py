"""The thread view: lazy pages, live updates, delivery status with Retry, pictures."""

from __future__ import annotations

import datetime as dt
import time

from PySide6.QtCore import QPoint, Qt

from desktop.domain.models import MediaRef
from desktop.store import outbox_writes, queries, writes
from desktop.store.queries import PAGE_SIZE
from desktop.ui.main_window import MainWindow
from desktop.ui.thread_status import failure_reason, retry_label, status_label
from tests.bench.bench_gui import bulk_seed
from tests.gui.conftest import CUSTOMER, OUR_NUMBER, inbound, outbound, write_picture


def open_first(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.list_model.rowCount() >= 1)
    window.open_conversation(window.list_model.row_at(0).id)


def click_at(qtbot, window: MainWindow, row: int, local: QPoint) -> None:
    view = window.pane.view
    rect = view.visualRect(window.pane.model.index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.topLeft() + local)


def test_a_10k_thread_opens_at_the_newest_page_and_loads_older_pages_on_scroll(
    qtbot, window: MainWindow
) -> None:
    seeded = bulk_seed(window.core.store, conversations=2, messages=10_000, big_thread=10_000)
    window.list_model.load()
    assert seeded.big_conversation_id is not None
    started = time.perf_counter()
    window.open_conversation(seeded.big_conversation_id)
    opened_ms = (time.perf_counter() - started) * 1000
    pane, view = window.pane, window.pane.view
    assert pane.model.rowCount() == PAGE_SIZE
    assert opened_ms < 1000  # the benchmark holds the real budget; this only catches blowups
    newest = queries.thread_page(window.core.store.reader(), seeded.big_conversation_id, limit=1)
    assert pane.model.item(PAGE_SIZE - 1).message.id == newest[0].id
    assert view.is_at_bottom()

    anchor = pane.model.item(0).message.id
    view.scrollTo(pane.model.index(0, 0), view.ScrollHint.PositionAtTop)

    def bubble_top(row: int) -> int:
        width = view.viewport().width()
        return (
            view.visualRect(pane.model.index(row, 0)).top()
            + pane.delegate.geometry(pane.model.item(row), width).bubble.top()
        )

    before = bubble_top(0)
    view.verticalScrollBar().setValue(0)
    qtbot.waitUntil(lambda: pane.model.rowCount() >= 2 * PAGE_SIZE)
    row = pane.model.row_of(anchor)
    assert row is not None
    assert row >= PAGE_SIZE
    # What was on screen stays where it was: the page loaded above it, out of sight.
    assert abs(bubble_top(row) - before) <= 2
    keys = [pane.model.item(i).message.key for i in range(pane.model.rowCount())]
    assert keys == sorted(keys)


def test_a_page_read_ahead_while_scrolling_up_is_shown_at_the_top(
    qtbot, window: MainWindow
) -> None:
    seeded = bulk_seed(window.core.store, conversations=2, messages=3_000, big_thread=3_000)
    window.list_model.load()
    assert seeded.big_conversation_id is not None
    window.open_conversation(seeded.big_conversation_id)
    pane, view = window.pane, window.pane.view
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 1500)
    # Nearing the top, the view reads the next page ahead and measures it between frames…
    bar.setValue(1000)
    qtbot.waitUntil(lambda: view._staging == [], timeout=3000)
    assert pane.model.rowCount() == PAGE_SIZE
    # …and shows that same page once the scroll gets there.
    bar.setValue(0)
    qtbot.waitUntil(lambda: pane.model.rowCount() == 2 * PAGE_SIZE, timeout=3000)


def test_day_separators_mark_the_first_message_of_each_day(qtbot, window: MainWindow) -> None:
    today = dt.datetime.now().replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = today - dt.timedelta(days=1)
    core = window.core
    for moment, text in ((yesterday, "a"), (yesterday, "b"), (today, "c"), (today, "d")):
        inbound(core, text, at_ms=int(moment.timestamp() * 1000) + len(text), unread=False)
    open_first(qtbot, window)
    model = window.pane.model
    assert [model.item(i).starts_day for i in range(4)] == [True, False, True, False]


def test_new_messages_keep_the_bottom_in_view_or_offer_a_jump(qtbot, window: MainWindow) -> None:
    core = window.core
    now = int(time.time() * 1000) - 1_000_000
    for i in range(40):
        inbound(core, f"Message number {i} " * 3, at_ms=now + i * 1000, unread=False)
    open_first(qtbot, window)
    pane, view = window.pane, window.pane.view
    assert view.is_at_bottom()
    inbound(core, "Live one")
    qtbot.waitUntil(lambda: pane.model.rowCount() == 41 and view.is_at_bottom())
    view.verticalScrollBar().setValue(0)
    inbound(core, "While reading old ones")
    qtbot.waitUntil(lambda: view.jump_button.text() == "1 new")
    assert view.jump_button.isVisible()
    assert not view.is_at_bottom()
    assert pane.model.rowCount() == 41  # added when the bottom is in view again
    view.jump_button.click()
    assert pane.model.rowCount() == 42
    assert pane.model.item(41).message.body == "While reading old ones"
    assert view.is_at_bottom()
    assert not view.jump_button.isVisible()


def test_a_backfilled_older_message_lands_in_its_place(qtbot, window: MainWindow) -> None:
    core = window.core
    now = int(time.time() * 1000)
    inbound(core, "first", at_ms=now - 3000, unread=False)
    inbound(core, "third", at_ms=now - 1000, unread=False)
    open_first(qtbot, window)
    outbound(core, "second", at_ms=now - 2000)
    model = window.pane.model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    assert [model.item(i).message.body for i in range(3)] == ["first", "second", "third"]


def test_failed_send_shows_its_reason_and_retry_requeues(qtbot, window: MainWindow) -> None:
    core = window.core
    inbound(core, "Can you confirm?", unread=False)
    open_first(qtbot, window)
    composer = window.pane.composer
    composer.editor.setFocus()
    qtbot.keyClicks(composer.editor, "Confirmed for 3pm")
    qtbot.keyClick(composer.editor, Qt.Key.Key_Return)
    model = window.pane.model
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    sent = model.item(1).message
    assert sent.body == "Confirmed for 3pm"
    assert status_label(sent) == ("Sending…", "")
    assert "Sending…" in window.pane.delegate.footer_text(sent)

    reason = "Twilio says the number is not a mobile phone."
    core.store.writer.call(lambda tx: outbox_writes.mark_failed(tx, sent.id, reason, 21614))
    qtbot.waitUntil(lambda: model.item(1).message.outbox_state == "failed")
    failed = model.item(1).message
    assert retry_label(failed) == "Retry"
    view = window.pane.view
    view.settle()
    geometry = window.pane.delegate.geometry(model.item(1), view.viewport().width())
    assert geometry.failure is not None
    assert geometry.retry is not None
    rect = view.visualRect(model.index(1, 0))
    tip = window.pane.delegate.tooltip(1, rect, rect.topLeft() + geometry.failure.center())
    assert tip == reason
    assert rows_snippet(window).startswith("Confirmed")

    click_at(qtbot, window, 1, geometry.retry.center())
    qtbot.waitUntil(lambda: model.item(1).message.outbox_state == "queued")
    assert model.item(1).message.status == "pending"
    assert retry_label(model.item(1).message) == ""


def rows_snippet(window: MainWindow) -> str:
    return window.list_model.row_at(0).snippet


def test_undelivered_message_explains_the_carrier_error_and_can_be_sent_again(
    qtbot, window: MainWindow
) -> None:
    core = window.core
    result = outbound(core, "Your order is ready", status="undelivered")
    core.store.writer.call(
        lambda tx: tx.execute(
            "UPDATE messages SET error_code = 30006 WHERE id = ?", (result.message_id,)
        )
    )
    open_first(qtbot, window)
    model = window.pane.model
    message = model.item(0).message
    explained = failure_reason(message, core.explain_error_code)
    assert explained == core.explain_error_code(30006)
    assert "30006" in explained
    assert retry_label(message) == "Send again"
    window.pane.view.retryRequested.emit(message.id)
    qtbot.waitUntil(lambda: model.item(0).message.status == "pending")
    assert model.rowCount() == 1  # the same bubble goes out again (test_send_again.py)
    assert model.item(0).message.outbox_state == "queued"


def test_thumbnail_placeholder_then_picture_and_retry_for_failed_downloads(
    qtbot, window: MainWindow
) -> None:
    core = window.core
    url = "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME"
    result = inbound(core, "", media=(MediaRef(0, url, "image/jpeg"),), unread=False)
    open_first(qtbot, window)
    pane = window.pane
    geometry = pane.delegate.geometry(pane.model.item(0), pane.view.viewport().width())
    assert [box.kind for box in geometry.media] == ["pending"]

    media_id = (
        core.store.reader()
        .execute("SELECT id FROM media WHERE message_id = ?", (result.message_id,))
        .fetchone()[0]
    )
    core.store.writer.call(
        lambda tx: writes.media_attempt_failed(
            tx, media_id, "Twilio answered 404", next_attempt_at_ms=None
        )
    )
    qtbot.waitUntil(lambda: pane.model.item(0).message.media[0].state == "failed")
    pane.view.settle()
    geometry = pane.delegate.geometry(pane.model.item(0), pane.view.viewport().width())
    assert geometry.media[0].kind == "failed"
    click_at(qtbot, window, 0, geometry.media[0].rect.center())
    qtbot.waitUntil(lambda: pane.model.item(0).message.media[0].state == "pending")

    write_picture(core.paths.thumbnails / "t.jpg", 480, 360)
    write_picture(core.paths.media / "f.jpg", 1600, 1200)
    core.store.writer.call(
        lambda tx: writes.media_stored(
            tx,
            media_id,
            file="f.jpg",
            thumbnail="t.jpg",
            content_type="image/jpeg",
            size=1,
            width=1600,
            height=1200,
        )
    )
    qtbot.waitUntil(lambda: pane.model.item(0).message.media[0].thumbnail == "t.jpg")
    pane.view.settle()
    geometry = pane.delegate.geometry(pane.model.item(0), pane.view.viewport().width())
    box = geometry.media[0]
    assert box.kind == "picture"
    assert abs(box.rect.width() / box.rect.height() - 4 / 3) < 0.05
    qtbot.waitUntil(lambda: pane.images.used_bytes > 0)


def test_a_picture_that_cannot_be_decoded_says_so_and_can_be_retried(
    qtbot, window: MainWindow
) -> None:
    core = window.core
    url = "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME"
    result = inbound(core, "look", media=(MediaRef(0, url, "image/jpeg"),), unread=False)
    (core.paths.thumbnails / "broken.jpg").write_bytes(b"not a jpeg")
    media_id = (
        core.store.reader()
        .execute("SELECT id FROM media WHERE message_id = ?", (result.message_id,))
        .fetchone()[0]
    )
    core.store.writer.call(
        lambda tx: writes.media_stored(
            tx,
            media_id,
            file="broken.jpg",
            thumbnail="broken.jpg",
            content_type="image/jpeg",
            size=1,
            width=10,
            height=10,
        )
    )
    open_first(qtbot, window)
    pane = window.pane
    path = core.paths.thumbnails / "broken.jpg"
    pane.view.viewport().repaint()
    qtbot.waitUntil(lambda: str(path) in pane.images._failed)
    geometry = pane.delegate.geometry(pane.model.item(0), pane.view.viewport().width())
    rect = pane.view.visualRect(pane.model.index(0, 0))
    hit = pane.delegate.hit(0, rect, rect.topLeft() + geometry.media[0].rect.center())
    assert hit is not None
    assert hit.kind == "media_retry"
    write_picture(path, 100, 100)
    click_at(qtbot, window, 0, geometry.media[0].rect.center())
    pane.view.viewport().repaint()
    qtbot.waitUntil(lambda: pane.images.used_bytes > 0)


def test_messages_are_described_for_screen_readers(qtbot, window: MainWindow) -> None:
    inbound(window.core, "Are you open?", unread=False)
    outbound(window.core, "Yes until 6", status="delivered")
    open_first(qtbot, window)
    model = window.pane.model
    said = [model.data(model.index(i, 0), Qt.ItemDataRole.AccessibleTextRole) for i in range(2)]
    assert said[0].startswith("(503) 555-0142, ")
    assert said[0].endswith("Are you open?")
    assert said[1].startswith("You, ")
    assert "delivered" in said[1]
    assert said[1].endswith("Yes until 6")


def test_open_thread_is_for_the_right_numbers(qtbot, window: MainWindow) -> None:
    inbound(window.core, "Hi", unread=False)
    open_first(qtbot, window)
    header = window.pane.header
    assert header.name.text() == "(503) 555-0142"
    assert "texting from (503) 555-0100" in header.details.text()
    assert window.pane.conversation is not None
    assert (window.pane.conversation.our_number, window.pane.conversation.contact_number) == (
        OUR_NUMBER,
        CUSTOMER,
    )


def _loaded_is_a_contiguous_slice(window: MainWindow, conversation_id: int) -> list[int]:
    """The loaded rows are exactly the thread's messages between the first and last loaded."""
    model = window.pane.model
    ids = [model.item(i).message.id for i in range(model.rowCount())]
    first, last = model.oldest_key, model.newest_key
    assert first is not None
    assert last is not None
    stored = [
        r[0]
        for r in window.core.store.reader().execute(
            "SELECT id FROM messages WHERE conversation_id = ? AND (created_at, id) >= (?, ?) "
            "AND (created_at, id) <= (?, ?) ORDER BY created_at, id",
            (conversation_id, *first, *last),
        )
    ]
    assert ids == stored
    return ids


def _has_newer(window: MainWindow) -> bool:
    return window.pane.model.has_newer


def test_reading_back_through_a_long_thread_holds_a_bounded_window_both_ways(
    qtbot, window: MainWindow
) -> None:
    from desktop.ui.thread_delegate import SIZE_CACHE
    from desktop.ui.thread_model import MAX_LOADED

    seeded = bulk_seed(window.core.store, conversations=2, messages=3000, big_thread=3000)
    window.list_model.load()
    big = seeded.big_conversation_id
    assert big is not None
    window.open_conversation(big)
    pane, view, model = window.pane, window.pane.view, window.pane.model
    newest_id = model.item(model.rowCount() - 1).message.id
    bar = view.verticalScrollBar()

    most = 0
    for _ in range(10):  # ten pages back: 2,000 messages, far past the window
        oldest = model.oldest_key
        bar.setValue(0)
        qtbot.waitUntil(lambda o=oldest: model.oldest_key != o)
        most = max(most, model.rowCount())
        _loaded_is_a_contiguous_slice(window, big)
    assert most <= MAX_LOADED
    assert _has_newer(window)
    assert not view.is_at_bottom()
    assert model.row_of(newest_id) is None  # the newest page was dropped, to reload later
    assert len(pane.delegate._heights) <= SIZE_CACHE

    # A message arriving while reading far back waits; it is not glued below old pages.
    row = window.list_model.get(big)
    assert row is not None
    inbound(
        window.core,
        "Arrived while reading back",
        contact=row.contact_number,
        our=row.our_number,
        at_ms=int(time.time() * 1000) + 10_000,
    )
    qtbot.waitUntil(lambda: view.jump_button.text() == "1 new")
    assert model.rowCount() <= MAX_LOADED

    while _has_newer(window):  # and back down, page by page
        newest = model.newest_key
        bar.setValue(bar.maximum())
        qtbot.waitUntil(lambda n=newest: model.newest_key != n)
        assert model.rowCount() <= MAX_LOADED
        _loaded_is_a_contiguous_slice(window, big)
    bar.setValue(bar.maximum())
    qtbot.waitUntil(
        lambda: model.item(model.rowCount() - 1).message.body == "Arrived while reading back"
    )
    ids = _loaded_is_a_contiguous_slice(window, big)
    assert ids[-2] == newest_id
    assert view.is_at_bottom()


def test_jump_to_latest_after_reading_back_shows_the_newest_page(qtbot, window: MainWindow) -> None:
    seeded = bulk_seed(window.core.store, conversations=2, messages=1400, big_thread=1400)
    window.list_model.load()
    assert seeded.big_conversation_id is not None
    window.open_conversation(seeded.big_conversation_id)
    view, model = window.pane.view, window.pane.model
    newest_id = model.item(model.rowCount() - 1).message.id
    for _ in range(4):
        oldest = model.oldest_key
        view.verticalScrollBar().setValue(0)
        qtbot.waitUntil(lambda o=oldest: model.oldest_key != o)
    assert _has_newer(window)

    view.jump_button.click()

    assert not _has_newer(window)
    assert model.item(model.rowCount() - 1).message.id == newest_id
    assert view.is_at_bottom()
    _loaded_is_a_contiguous_slice(window, seeded.big_conversation_id)
