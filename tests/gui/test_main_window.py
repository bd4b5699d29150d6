"""The main window as staff use it: the list, unread counts, search, renaming, status."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QListView, QPlainTextEdit, QToolButton, QWidget

from desktop.core import Core, CoreOptions
from desktop.domain.connection import ConnectionSnapshot, Link
from desktop.store import queries
from desktop.ui.image_viewer import ImageViewer
from desktop.ui.main_window import MainWindow
from desktop.ui.status_area import describe
from tests.gui.conftest import CUSTOMER, OUR_NUMBER, inbound, outbound, write_picture
from tests.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, form_body, inbound_params, new_sid, sign

PUBLIC_URL = "https://calm-otter-1234.ngrok-free.app"


def rows(window: MainWindow) -> list[queries.ConversationRow]:
    model = window.list_model
    return [model.row_at(i) for i in range(model.rowCount())]


# -- the contract: names and shortcuts -------------------------------------------------------


def test_contract_object_names_exist(window: MainWindow) -> None:
    found: list[QWidget | None] = [
        window.findChild(QListView, "conversationList"),
        window.findChild(QListView, "threadView"),
        window.findChild(QPlainTextEdit, "composer"),
        window.findChild(QToolButton, "sendButton"),
        window.findChild(QLineEdit, "searchField"),
        window.findChild(QWidget, "connectionStatus"),
    ]
    for widget in found:
        assert widget is not None
        assert widget.accessibleName()
    assert found[-1] is not None
    assert found[-1].accessibleName() == "Connection status"


def test_ctrl_f_focuses_search_and_escape_returns_to_the_list(qtbot, window: MainWindow) -> None:
    inbound(window.core, "Hello")
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    assert window.find_action.shortcut().toString() == "Ctrl+F"
    assert window.new_action.shortcut().toString() == "Ctrl+N"
    window.find_action.trigger()
    field = window.sidebar.search_field
    qtbot.waitUntil(field.hasFocus)
    qtbot.keyClicks(field, "hel")
    assert window.sidebar.stack.currentWidget() is window.sidebar.search_panel
    qtbot.keyClick(field, Qt.Key.Key_Escape)
    assert field.text() == ""
    assert window.sidebar.stack.currentWidget() is window.list_view


def test_ctrl_n_without_the_dialog_explains_instead_of_failing(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "desktop.ui.new_conversation", None)
    window.new_action.trigger()
    assert window.notice_bar.isVisible()
    assert "not available" in window.notice_bar.label.text()


# -- the list ------------------------------------------------------------------------------


def test_new_message_moves_its_conversation_to_the_top_with_a_badge(
    qtbot, window: MainWindow
) -> None:
    core = window.core
    now = int(time.time() * 1000)
    inbound(core, "Old news", contact="+15035550111", at_ms=now - 60_000, unread=False)
    outbound(core, "Newer reply", contact="+15035550122", at_ms=now - 30_000)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 2)
    assert [r.contact_number for r in rows(window)] == ["+15035550122", "+15035550111"]

    inbound(core, "Are you open today?", contact="+15035550111")
    qtbot.waitUntil(lambda: rows(window)[0].contact_number == "+15035550111")
    top = rows(window)[0]
    assert top.unread_count == 1
    assert top.snippet == "Are you open today?"
    assert window.windowTitle() == "(1) Twoway"
    described = window.list_model.data(
        window.list_model.index(0, 0), Qt.ItemDataRole.AccessibleTextRole
    )
    assert "1 unread" in described
    assert "Are you open today?" in described
    assert "(503) 555-0111" in described


def test_showing_a_thread_in_the_active_window_marks_it_read(qtbot, window: MainWindow) -> None:
    result = inbound(window.core, "Is my order ready?")
    qtbot.waitUntil(lambda: window.total_unread() == 1)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.open_conversation(result.conversation_id)
    qtbot.waitUntil(lambda: window.total_unread() == 0)
    assert window.windowTitle() == "Twoway"
    # A new text in the open thread of the active window is read at once, too.
    inbound(window.core, "Hello?")
    qtbot.waitUntil(lambda: window.pane.model.rowCount() == 2)
    qtbot.waitUntil(lambda: window.total_unread() == 0)


def test_a_thread_is_not_marked_read_while_the_window_is_hidden(qtbot, window: MainWindow) -> None:
    result = inbound(window.core, "Hi")
    qtbot.waitUntil(lambda: window.total_unread() == 1)
    window.showMinimized()
    qtbot.waitUntil(window.isMinimized)
    window.open_conversation(result.conversation_id)
    inbound(window.core, "Anyone there?")
    qtbot.waitUntil(lambda: window.pane.model.rowCount() == 2)
    qtbot.waitUntil(lambda: window.total_unread() == 2)
    window.show_and_raise()
    qtbot.waitUntil(lambda: window.total_unread() == 0)


def test_rename_inline_shows_the_name_everywhere(qtbot, window: MainWindow) -> None:
    result = inbound(window.core, "Hi, it's Maria")
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    window.open_conversation(result.conversation_id)
    header = window.pane.header
    assert header.name.text() == "(503) 555-0142"
    qtbot.mouseDClick(header.name, Qt.MouseButton.LeftButton)
    assert header.editor.isVisible()
    header.editor.clear()
    qtbot.keyClicks(header.editor, "Maria Lopez")
    qtbot.keyClick(header.editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: rows(window)[0].contact_name == "Maria Lopez")
    qtbot.waitUntil(lambda: header.name.text() == "Maria Lopez")
    assert "(503) 555-0142" in header.details.text()
    assert window.list_model.data(window.list_model.index(0, 0)) == "Maria Lopez"


def test_opted_out_customer_disables_the_composer_with_the_reason(
    qtbot, window: MainWindow
) -> None:
    result = inbound(window.core, "Hello")
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    window.open_conversation(result.conversation_id)
    composer = window.pane.composer
    assert composer.editor.isEnabled()
    inbound(window.core, "STOP")
    qtbot.waitUntil(lambda: not composer.editor.isEnabled())
    assert not composer.send_button.isEnabled()
    assert composer.notice.isVisible()
    assert "STOP" in composer.notice.text()
    assert rows(window)[0].opted_out
    inbound(window.core, "START")
    qtbot.waitUntil(composer.editor.isEnabled)
    assert not composer.notice.isVisible()


def test_signed_out_disables_sending_and_offers_setup(qtbot, window: MainWindow) -> None:
    result = inbound(window.core, "Hello")
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    window.open_conversation(result.conversation_id)
    window.core.connection.update(link=Link.SIGNED_OUT)
    status = window.sidebar.status
    qtbot.waitUntil(lambda: status.headline.text() == "Not signed in")
    assert status.button.isVisible()
    assert status.button.text() == "Set up…"
    assert not window.pane.composer.editor.isEnabled()
    assert "Sign in" in window.pane.composer.notice.text()


def test_demo_mode_shows_a_banner(qtbot, tmp_path: Path) -> None:
    core = Core(CoreOptions(data_dir=tmp_path / "demo", demo=True, environ={}))
    core.open()
    try:
        win = MainWindow(core)
        qtbot.addWidget(win)
        win.show()
        assert win.demo_banner.isVisible()
        assert "Demo — messages are simulated" in win.demo_banner.text()
    finally:
        core.stop()


# -- search --------------------------------------------------------------------------------


def test_search_finds_an_old_message_and_opens_the_thread_at_it(qtbot, window: MainWindow) -> None:
    core = window.core
    now = int(time.time() * 1000) - 10_000_000
    target = inbound(core, "The gate code is pelican", at_ms=now, unread=False)

    def many(tx):
        from desktop.domain.models import Direction, NewMessage, Source
        from desktop.store import writes

        for i in range(450):
            writes.insert_message(
                tx,
                NewMessage(
                    sid=f"SM{i:032x}",
                    direction=Direction.OUTBOUND,
                    from_number=OUR_NUMBER,
                    to_number=CUSTOMER,
                    body=f"Filler {i}",
                    status="delivered",
                    created_at_ms=now + 1000 * (i + 1),
                    source=Source.BACKFILL,
                ),
            )

    core.store.writer.call(many)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    window.find_action.trigger()
    qtbot.keyClicks(window.sidebar.search_field, "pelic")
    panel = window.sidebar.search_panel
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=3000)
    assert "1 message" in panel.summary.text()
    assert panel.model.hits[0].message_id == target.message_id
    panel.view.setCurrentIndex(panel.model.index(0, 0))
    qtbot.keyClick(panel.view, Qt.Key.Key_Return)
    pane = window.pane
    qtbot.waitUntil(lambda: pane.model.highlight_id == target.message_id)
    row = pane.model.row_of(target.message_id)
    assert row is not None
    assert pane.model.rowCount() > 400  # older than the first page: pages were loaded around it
    rect = pane.view.visualRect(pane.model.index(row, 0))
    assert pane.view.viewport().rect().intersects(rect)


# -- the real inbound path --------------------------------------------------------------------


class _MediaHandler(http.server.BaseHTTPRequestHandler):
    picture: bytes = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.picture)))
        self.end_headers()
        self.wfile.write(self.picture)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def media_server(tmp_path: Path) -> Iterator[str]:
    picture = write_picture(tmp_path / "photo.jpg", 800, 600)
    _MediaHandler.picture = picture.read_bytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MediaHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def live_window(qtbot, tmp_path: Path, media_server: str) -> Iterator[MainWindow]:
    environ = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWOWAY_TWILIO_API_URL": media_server,
    }
    core = Core(CoreOptions(data_dir=tmp_path / "live", public_url=PUBLIC_URL, environ=environ))
    core.open()
    win = MainWindow(core)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    core.start().result(30)
    yield win
    win.close()
    core.stop()


def post_webhook(core: Core, params: dict[str, str]) -> int:
    import http.client

    receiver = core.network.receiver
    assert receiver is not None
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/twilio/sms",
            body=form_body(params),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms", params),
            },
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_inbound_sms_and_mms_from_the_webhook_appear_with_badge_and_thumbnail(
    qtbot, live_window: MainWindow, media_server: str
) -> None:
    window = live_window
    core = window.core
    window.hide()  # staff are elsewhere: nothing gets marked read
    sms = inbound_params(
        body="Do you have an opening Thursday?", FromCity="PORTLAND", FromState="OR"
    )
    assert post_webhook(core, sms) == 200
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    assert rows(window)[0].unread_count == 1
    assert rows(window)[0].snippet == "Do you have an opening Thursday?"

    mms_sid = new_sid("MM")
    media_url = (
        f"{media_server}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{mms_sid}/Media/{new_sid('ME')}"
    )
    mms = inbound_params(
        sid=mms_sid, body="", NumMedia="1", MediaUrl0=media_url, MediaContentType0="image/jpeg"
    )
    assert post_webhook(core, mms) == 200
    qtbot.waitUntil(lambda: rows(window)[0].unread_count == 2)
    assert rows(window)[0].snippet == "Picture"
    assert window.windowTitle() == "(2) Twoway"

    window.open_conversation(rows(window)[0].id)
    pane = window.pane
    assert pane.model.rowCount() == 2
    first = pane.model.item(0).message
    assert first.body == "Do you have an opening Thursday?"
    assert "Portland, OR" in pane.delegate.footer_text(first)
    # The real media fetcher downloads the picture and makes its thumbnail.
    qtbot.waitUntil(lambda: pane.model.item(1).message.media[0].state == "done", timeout=10_000)
    media = pane.model.item(1).message.media[0]
    assert media.thumbnail
    assert (core.paths.thumbnails / media.thumbnail).exists()
    window.show()
    pane.view.scroll_to_latest()
    geometry = pane.delegate.geometry(pane.model.item(1), pane.view.viewport().width())
    box = geometry.media[0]
    assert box.kind == "picture"
    rect = pane.view.visualRect(pane.model.index(1, 0))
    center = rect.topLeft() + box.rect.center()
    qtbot.waitUntil(lambda: pane.images.used_bytes > 0, timeout=5000)
    image = pane.view.viewport().grab().toImage()
    dpr = image.devicePixelRatio()
    pixel = image.pixelColor(QPoint(int(center.x() * dpr), int(center.y() * dpr)))
    assert pixel.blue() > 180, pixel.name()  # the picture's blue, not a placeholder
    assert pixel.red() < 120, pixel.name()
    # Clicking the picture opens the full-size viewer.
    qtbot.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton, pos=center)
    qtbot.waitUntil(lambda: window.findChild(ImageViewer, "imageViewer") is not None)
    viewer = window.findChild(ImageViewer, "imageViewer")
    assert viewer is not None
    qtbot.waitUntil(lambda: not viewer.picture.pixmap().isNull())
    viewer.close()


# -- the status area -----------------------------------------------------------------------


def test_status_area_explains_each_state() -> None:
    now = 1_700_000_000_000
    fmt = {"+15035550100": "(503) 555-0100"}.get
    online = describe(
        ConnectionSnapshot(
            link=Link.ONLINE,
            public_url="https://x.ngrok-free.app",
            number_points_here=True,
            phone_number="+15035550100",
            last_sync_ms=now - 120_000,
        ),
        now,
        15,
        lambda n: fmt(n) or n,
    )
    assert (online.tone, online.headline, online.detail) == ("ok", "Online", "Synced 2 min ago")
    assert "https://x.ngrok-free.app" in online.tooltip
    elsewhere = describe(
        ConnectionSnapshot(link=Link.ONLINE, number_points_here=False, phone_number="+15035550100"),
        now,
        15,
        lambda n: fmt(n) or n,
    )
    assert elsewhere.headline == "(503) 555-0100 sends texts elsewhere"
    assert elsewhere.action == "settings"
    polling = describe(ConnectionSnapshot(link=Link.POLLING), now, 30, str)
    assert polling.headline == "Checking every 30 s"
    offline = describe(ConnectionSnapshot(link=Link.OFFLINE, problem="No internet."), now, 15, str)
    assert (offline.tone, offline.detail) == ("problem", "No internet.")
    assert describe(ConnectionSnapshot(link=Link.RECONNECTING), now, 15, str).tone == "warning"
    progress = describe(
        ConnectionSnapshot(link=Link.ONLINE, sync_progress="Catching up: 120 messages"),
        now,
        15,
        str,
    )
    assert progress.detail == "Catching up: 120 messages"


def test_status_area_follows_connection_changes(qtbot, window: MainWindow) -> None:
    window.core.connection.update(link=Link.RECONNECTING, problem="The tunnel dropped.")
    status = window.sidebar.status
    qtbot.waitUntil(lambda: status.headline.text() == "Reconnecting…")
    assert status.detail.text() == "The tunnel dropped."
    window.core.connection.update(link=Link.POLLING, problem="")
    qtbot.waitUntil(lambda: status.headline.text().startswith("Checking every"))
    assert isinstance(window.findChild(QLabel, "statusHeadline"), QLabel)


# -- start-up -------------------------------------------------------------------------------


def test_smoke_test_builds_the_window_without_network_libraries(tmp_path: Path) -> None:
    from desktop.store.service import Store
    from tests.bench.bench_gui import bulk_seed

    data = tmp_path / "data"
    from desktop.config import Paths

    paths = Paths(data)
    paths.create()
    store = Store(paths.database, paths.backups)
    store.open()
    bulk_seed(store, conversations=30, messages=300)
    store.close()
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "main.py", "--smoke-test", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=60,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(30 conversations)" in result.stdout
    assert "offscreen" in result.stdout
    assert "jpeg" in result.stdout
    assert "network libraries loaded before the window: none" in result.stdout


@pytest.mark.parametrize("home", ["+15035550100", ""])
def test_first_paint_number_format_matches_the_exact_one(home: str) -> None:
    from desktop.ui.formatting import NumberFormatter

    quick, exact = NumberFormatter(home, defer=True), NumberFormatter(home)
    for number in ("+15035550142", "+12125550199", "+18005550100", "+14165550123"):
        assert quick(number) == exact(number), number
    assert quick("+447700900123") == "+447700900123"  # shown as stored until loaded
    quick.load()
    quick.loaded()
    assert quick("+447700900123") == exact("+447700900123") == "+44 7700 900123"


def test_new_conversation_sends_the_first_text_and_opens_the_thread(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    import desktop.ui.new_conversation as module

    class FakeDialog:
        def __init__(self, core: Core, parent: object) -> None:
            self.core = core

        def exec(self) -> int:
            return 1

        def result_conversation(self) -> tuple[str, str, str]:
            return (OUR_NUMBER, "+15035550177", "Hi, this is the dental office")

    monkeypatch.setattr(module, "NewConversationDialog", FakeDialog)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.list_model.rowCount() == 1)
    pane = window.pane
    qtbot.waitUntil(lambda: pane.conversation is not None)
    assert pane.conversation is not None
    assert pane.conversation.contact_number == "+15035550177"
    qtbot.waitUntil(lambda: pane.model.rowCount() == 1)
    first = pane.model.item(0).message
    assert (first.direction, first.body, first.status) == (
        "outbound",
        "Hi, this is the dental office",
        "pending",
    )
    assert window.list_view.currentIndex().row() == 0
