"""The right-hand side: who the conversation is with, its messages, and the composer.

The pane owns one conversation at a time.  It merges store events into its model, turns
clicks on bubbles into actions (retry, open a picture, retry a download), sends through
the core (never waiting on the GUI thread), and keeps the composer disabled with the
reason when texts cannot go out (the customer opted out, or nobody is signed in).

What staff typed but did not send is the conversation's draft (text and pictures), kept
through the front desk: saved a moment after typing stops, when another conversation is
opened, and when the window closes or the app quits; put back when the conversation is
opened again; cleared when it is sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QStackedLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core import Core
from desktop.domain.connection import ConnectionSnapshot, Link
from desktop.domain.events import Event, MediaChanged, MessageAdded, MessageChanged
from desktop.frontdesk.demo import DEMO_BUSINESS
from desktop.frontdesk.service import FrontDesk
from desktop.messaging import CannotSend
from desktop.store import queries, writes
from desktop.store.queries import PAGE_SIZE, ConversationRow, MediaRow, MessageRow
from desktop.ui import theme as theme_module
from desktop.ui.composer import ComposerBar
from desktop.ui.formatting import NumberFormatter
from desktop.ui.icons import icon
from desktop.ui.image_cache import ImageCache
from desktop.ui.schedule_dialog import ScheduleControls
from desktop.ui.tasks import deliver, run_in_background
from desktop.ui.thread_delegate import ThreadDelegate
from desktop.ui.thread_model import ThreadModel
from desktop.ui.thread_status import is_failed
from desktop.ui.thread_team import ReplyingNotice, ThreadTeam
from desktop.ui.thread_view import ThreadView
from desktop.ui.widgets import Surface, tint

logger = logging.getLogger(__name__)

#: Past this many loaded messages, a new message arriving while the newest are in view
#: forgets all but the newest page: each arrival re-lays out every loaded bubble, so this
#: keeps live updates cheap; scrolling up reads the older pages again (a few ms each).
KEEP_LOADED: Final = 2 * PAGE_SIZE
HIGHLIGHT_MS: Final = 4000
#: A draft is saved this long after the last keystroke (and always on switch and quit).
DRAFT_SAVE_MS: Final = 800

OPTED_OUT_REASON: Final = (
    "This customer replied STOP, so Twilio won't deliver texts to them. "
    "They can text START to receive messages again."
)
SIGNED_OUT_REASON: Final = "Sign in to Twilio to send texts (Settings, or the Set up button below)."


class ContactHeader(Surface):
    """Name and number of the contact; the name is renamed in place.

    Signals: ``renamed(str)`` — the new name (may be empty to clear it).
    """

    renamed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("threadHeader")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(20, 10, 14, 10)
        layout.setSpacing(8)
        names = QVBoxLayout()
        names.setSpacing(0)
        self._stack = QStackedLayout()
        self.name = QLabel(self)
        self.name.setObjectName("contactName")
        self.name.setToolTip("Double-click to rename (F2)")
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        font = self.name.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setWeight(font.Weight.DemiBold)
        self.name.setFont(font)
        self.name.installEventFilter(self)
        self.editor = QLineEdit(self)
        self.editor.setObjectName("contactNameEditor")
        self.editor.setAccessibleName("Contact name")
        self.editor.setPlaceholderText("Name shown for this number")
        self.editor.installEventFilter(self)
        self.editor.returnPressed.connect(self._commit)
        self._stack.addWidget(self.name)
        self._stack.addWidget(self.editor)
        names.addLayout(self._stack)
        self.details = QLabel(self)
        self.details.setObjectName("contactDetails")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        names.addWidget(self.details)
        layout.addLayout(names, 1)
        self.rename_button = QToolButton(self)
        self.rename_button.setObjectName("renameContact")
        self.rename_button.setAutoRaise(True)
        self.rename_button.setToolTip("Rename contact (F2)")
        self.rename_button.setAccessibleName("Rename contact")
        self.rename_button.clicked.connect(self.start_rename)
        layout.addWidget(self.rename_button)
        self._current = ""

    def show_contact(self, title: str, current_name: str, details: str) -> None:
        self._current = current_name
        self.name.setText(title)
        self.name.setAccessibleName(f"Conversation with {title}")
        self.details.setText(details)
        if self._stack.currentWidget() is self.editor:
            self._stack.setCurrentWidget(self.name)

    def start_rename(self) -> None:
        self.editor.setText(self._current)
        self._stack.setCurrentWidget(self.editor)
        self.editor.setFocus()
        self.editor.selectAll()

    def _commit(self) -> None:
        name = " ".join(self.editor.text().split())
        self._stack.setCurrentWidget(self.name)
        if name != self._current:
            self.renamed.emit(name)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.name and event.type() == QEvent.Type.MouseButtonDblClick:
            assert isinstance(event, QMouseEvent)
            self.start_rename()
            return True
        if watched is self.editor:
            if event.type() == QEvent.Type.KeyPress:
                assert isinstance(event, QKeyEvent)
                if event.key() == Qt.Key.Key_Escape:
                    self._stack.setCurrentWidget(self.name)
                    return True
            elif (
                event.type() == QEvent.Type.FocusOut and self._stack.currentWidget() is self.editor
            ):
                self._commit()
        return super().eventFilter(watched, event)

    def apply_theme(self) -> None:
        t = theme_module.current()
        self.rename_button.setIcon(icon("rename", t.secondary_text))
        tint(self.details, t.secondary_text)
        self.style_surface(t.sidebar, t.separator, bottom=True)


class ThreadPane(QWidget):
    """Signals: ``conversationStarted(int)`` — a draft's first message created conversation N;
    ``notice(str)`` — something to tell staff that is not tied to the composer."""

    conversationStarted = Signal(int)
    notice = Signal(str)

    def __init__(
        self,
        core: Core,
        numbers: NumberFormatter,
        parent: QWidget | None = None,
        *,
        front_desk: FrontDesk | None = None,
    ):
        super().__init__(parent)
        self._core = core
        self.front_desk = front_desk or FrontDesk(
            core.store,
            core.front_desk,
            our_number=lambda: core.settings.phone_number or "",
            business_name=lambda: DEMO_BUSINESS if core.options.demo else "",
        )
        #: The conversation whose draft the composer holds, and whether it changed since.
        self._draft_for: int | None = None
        self._draft_dirty = False
        self._restoring = False
        #: Drafts written but not committed yet, so switching back at once finds them.
        self._unsaved: dict[int, tuple[str, list[str]]] = {}
        self._numbers = numbers
        self._row: ConversationRow | None = None
        self._draft: tuple[str, str] | None = None
        self._snapshot = core.connection.snapshot
        self._sending = False
        self.model = ThreadModel(core.store.reader, self)
        self.images = ImageCache(parent=self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.header = ContactHeader(self)
        self.header.renamed.connect(self.rename)
        self.header.hide()
        layout.addWidget(self.header)
        self.view = ThreadView(self.model, self)
        self.delegate = ThreadDelegate(
            self.view, self.model, self.images, self.media_paths, core.explain_error_code
        )
        self.view.set_delegate(self.delegate)
        layout.addWidget(self.view, 1)
        self.replying = ReplyingNotice(self)
        layout.addWidget(self.replying)
        self.composer = ComposerBar(self, picture_dir=core.paths.composer_pictures)
        self.composer.sendRequested.connect(self.send)
        self.composer.changed.connect(self._on_composer_changed)
        self.composer.set_quick_replies(
            self.front_desk.quick_replies,
            lambda reply: self.front_desk.render_quick_reply(reply, self._draft_for),
        )
        self.composer.hide()
        # Team mode: who sent each text, "Sam is replying…", telling colleagues we type.
        self.team = ThreadTeam(core, self.model, self.replying, self._target, self)
        self.composer.typed.connect(self.team.typing)
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_SAVE_MS)
        self._draft_timer.timeout.connect(self.flush_draft)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.flush_draft)
        layout.addWidget(self.composer)
        # Scheduled texts: "Schedule…" beside Send (all of it in ui/schedule_dialog.py).
        self.schedule = ScheduleControls(
            core, self.composer, self._target, lambda: self.conversation_id, self
        )
        self.view.scheduleEditRequested.connect(self.schedule.edit)
        self.view.scheduleCancelRequested.connect(self.schedule.cancel)
        self.images.loaded.connect(lambda _path: self.view.viewport().update())
        self._waiting: list[int] = []
        self.view.reachedBottom.connect(self._on_reached_bottom)
        self.view.retryRequested.connect(self.retry)
        self.view.mediaActivated.connect(self.open_media)
        self.view.fileActivated.connect(self.open_media)
        self.view.mediaRetryRequested.connect(self.retry_media)
        self._unhighlight = QTimer(self)
        self._unhighlight.setSingleShot(True)
        self._unhighlight.timeout.connect(lambda: self.model.set_highlight(None))
        self.apply_theme()

    # -- what is shown --------------------------------------------------------------------

    @property
    def conversation_id(self) -> int | None:
        return self.model.conversation_id

    @property
    def conversation(self) -> ConversationRow | None:
        return self._row

    def show_conversation(self, row: ConversationRow, *, focus_message: int | None = None) -> None:
        """Open ``row``'s thread at its newest messages (or around ``focus_message``)."""
        started = time.perf_counter()
        same = self.model.conversation_id == row.id
        if not same:
            self._waiting = []
        self._draft = None
        self._row = row
        self._show_header()
        if self._draft_for != row.id:
            self._switch_draft(row.id)
        if focus_message is not None:
            self._open_at(row.id, focus_message)
        elif not same:
            self.delegate.forget()
            self.model.open(row.id)
            self.view.scroll_to_latest()
        self._update_composer()
        self.composer.show()
        self.team.sync()
        self.last_open_ms = (time.perf_counter() - started) * 1000

    def show_draft(self, our_number: str, contact_number: str) -> None:
        """A conversation that has no message yet (from New conversation)."""
        existing = queries.find_conversation(self._core.store.reader(), our_number, contact_number)
        row = (
            None if existing is None else queries.conversation(self._core.store.reader(), existing)
        )
        if row is not None and row.last_message_at:
            self.show_conversation(row)
            return
        self.model.clear()
        self._waiting = []
        self._row = None
        self._draft = (our_number, contact_number)
        self._show_header()
        self._update_composer()
        self.composer.show()
        self._switch_draft(None)
        self.team.sync()

    def show_nothing(self) -> None:
        self._switch_draft(None)
        self._waiting = []
        self.model.clear()
        self._row, self._draft = None, None
        self.header.hide()
        self.composer.hide()
        self.team.sync()

    def update_row(self, row: ConversationRow) -> None:
        """The conversation's summary changed (name, opt-out, unread)."""
        if self._row is not None and row.id == self._row.id:
            self._row = row
            self._show_header()
            self._update_composer()

    def refresh_header(self) -> None:
        """Re-render the header (number formatting became available)."""
        if self._row is not None or self._draft is not None:
            self._show_header()

    def _show_header(self) -> None:
        if self._row is not None:
            number, ours, name = (
                self._row.contact_number,
                self._row.our_number,
                self._row.contact_name,
            )
        elif self._draft is not None:
            ours, number = self._draft
            name = ""
        else:
            return
        shown_number = self._numbers(number)
        title = name or shown_number
        details = [shown_number] if name else []
        details.append(f"texting from {self._numbers(ours)}")
        if self._row is not None and self._row.opted_out:
            details.append("opted out (replied STOP)")
        self.header.show_contact(title, name, " · ".join(details))
        self.model.contact_title = title
        self.header.show()

    def set_snapshot(self, snapshot: ConnectionSnapshot) -> None:
        self._snapshot = snapshot
        self._update_composer()
        self.team.sync()  # team mode may have been turned on or off (the network restarted)

    def _update_composer(self) -> None:
        reason = None
        if self._row is not None and self._row.opted_out:
            reason = OPTED_OUT_REASON
        elif self._snapshot.link is Link.SIGNED_OUT and not self._core.options.demo:
            reason = SIGNED_OUT_REASON
        if reason != self.composer.blocked_reason:
            self.composer.set_blocked(reason)

    # -- drafts ---------------------------------------------------------------------------

    def _switch_draft(self, conversation_id: int | None) -> None:
        """Keep what the composer holds for the conversation it belonged to, then show
        ``conversation_id``'s draft (an empty box when it has none)."""
        self.flush_draft()
        self._restoring = True
        try:
            self.composer.reset()
            self._draft_for = conversation_id
            saved = self._saved_draft(conversation_id)
            if saved is not None:
                body, attachments = saved
                pictures = [Path(p) for p in attachments if Path(p).is_file()]
                self.composer.restore(body, pictures)
        finally:
            self._restoring = False
        self._draft_dirty = False

    def _saved_draft(self, conversation_id: int | None) -> tuple[str, list[str]] | None:
        """A draft still on its way to the store wins over the stored one."""
        if conversation_id is None:
            return None
        if conversation_id in self._unsaved:
            body, pictures = self._unsaved[conversation_id]
            return (body, pictures) if body.strip() or pictures else None
        stored = self.front_desk.draft(conversation_id)
        if stored is None or stored.empty:
            return None
        return stored.body, list(stored.attachments)

    def _write_draft(self, conversation_id: int, body: str, pictures: list[Path]) -> None:
        entry = (body, [str(p) for p in pictures])
        self._unsaved[conversation_id] = entry
        future = (
            self.front_desk.save_draft(conversation_id, body, pictures)
            if body.strip() or pictures
            else self.front_desk.clear_draft(conversation_id)
        )

        def settled(_result: object) -> None:
            if self._unsaved.get(conversation_id) is entry:
                del self._unsaved[conversation_id]

        def failed(exc: BaseException) -> None:
            settled(None)
            logger.warning("Could not keep the draft: %s", exc)

        deliver(future, settled, failed, context=self)

    def _on_composer_changed(self) -> None:
        if self._restoring or self._draft_for is None:
            return
        self._draft_dirty = True
        self._draft_timer.start()

    def flush_draft(self) -> None:
        """Save the open conversation's draft now if it changed (switching, closing, quit).

        The write goes to the store's writer (a Future): the GUI thread never waits, and
        the store finishes queued writes before it closes, so the last keystroke is kept.
        """
        self._draft_timer.stop()
        conversation_id = self._draft_for
        if conversation_id is None or not self._draft_dirty:
            return
        self._draft_dirty = False
        self._write_draft(conversation_id, self.composer.text(), self.composer.draft_attachments)

    def _forget_draft(self, conversation_id: int) -> None:
        self._draft_timer.stop()
        self._draft_dirty = False
        self._write_draft(conversation_id, "", [])

    # -- live updates ---------------------------------------------------------------------

    def apply_events(self, events: Sequence[Event]) -> None:
        cid = self.model.conversation_id
        if cid is None:
            return
        added: list[int] = []
        changed: list[int] = []
        mine = False
        for event in events:
            if getattr(event, "conversation_id", None) != cid:
                continue
            if isinstance(event, MessageAdded):
                added.append(event.message_id)
                mine = mine or event.source == "app"
            elif isinstance(event, (MessageChanged, MediaChanged)):
                changed.append(event.message_id)
        reshaped = self.model.update_messages(changed) if changed else False
        if added:
            at_bottom = self.view.is_at_bottom()
            if not at_bottom and not mine:
                # Staff are reading older messages: adding rows now would re-lay out every
                # loaded bubble for something not on screen.  Count them on the "new"
                # button and add them when the bottom comes back into view.
                self._waiting.extend(added)
                self.view.note_unseen(len(added))
                if reshaped:
                    self.view.scheduleDelayedItemsLayout()
                return
            self._add(added, at_bottom=at_bottom, mine=mine)
        elif reshaped:
            at_bottom = self.view.is_at_bottom()
            self.view.scheduleDelayedItemsLayout()
            if at_bottom:
                self.view.after_messages_added(True, 0, False)

    def _add(self, added: list[int], *, at_bottom: bool, mine: bool) -> None:
        waiting, self._waiting = self._waiting, []
        inserted = self.model.add_messages(waiting + added)
        if (at_bottom or mine) and self.model.rowCount() > KEEP_LOADED:
            self.model.trim_oldest(PAGE_SIZE)
        self.view.after_messages_added(at_bottom, len(inserted), mine)

    def _on_reached_bottom(self) -> None:
        if self._waiting:
            self._add([], at_bottom=True, mine=False)

    # -- opening at a message (search) ----------------------------------------------------

    def _open_at(self, conversation_id: int, message_id: int) -> None:
        store = self._core.store

        def load() -> tuple[list[MessageRow], bool]:
            conn = store.reader()
            found = queries.messages_by_id(conn, [message_id])
            if not found:
                return queries.thread_page(conn, conversation_id), True
            newer = queries.count_newer(conn, conversation_id, found[0].key)
            limit = newer + 1 + PAGE_SIZE // 4
            rows = queries.thread_page(conn, conversation_id, limit=limit)
            return rows, len(rows) == limit

        def show(result: tuple[list[MessageRow], bool]) -> None:
            rows, has_older = result
            if self._row is None or self._row.id != conversation_id:
                return
            self.delegate.forget()
            self.model.open_rows(conversation_id, rows, has_older=has_older)
            self.reveal(message_id)

        run_in_background(
            load, show, lambda exc: self.notice.emit(f"Could not open it: {exc}"), context=self
        )

    def reveal(self, message_id: int) -> None:
        row = self.model.row_of(message_id)
        if row is None:
            return
        self.view.settle()
        index = self.model.index(row, 0)
        self.view.scrollTo(index, ThreadView.ScrollHint.PositionAtCenter)
        self.view.setCurrentIndex(index)
        self.model.set_highlight(message_id)
        self._unhighlight.start(HIGHLIGHT_MS)

    # -- actions --------------------------------------------------------------------------

    def send(self, body: str, attachments: list[Path]) -> None:
        target = self._target()
        if target is None or self._sending:
            return
        our_number, contact = target
        try:
            future = self._core.messaging.send(our_number, contact, body, attachments)
        except CannotSend as exc:
            self.composer.show_error(str(exc))
            return
        except OSError as exc:
            self.composer.show_error(f"Could not read the picture: {exc.strerror or exc}")
            return
        self._sending = True
        sent_from = self._draft_for
        self._restoring = True
        try:
            self.composer.reset()
        finally:
            self._restoring = False
        if sent_from is not None:
            self._forget_draft(sent_from)
        draft = self._draft is not None

        def done(result: writes.InsertResult) -> None:
            self._sending = False
            if draft:
                self.conversationStarted.emit(result.conversation_id)

        def failed(exc: BaseException) -> None:
            self._sending = False
            reason = str(exc) if isinstance(exc, CannotSend) else f"Not sent: {exc}"
            if self._draft_for == sent_from:
                self.composer.restore(body, attachments)
                self.composer.show_error(reason)
            elif sent_from is not None:  # staff moved on: keep it as that conversation's draft
                self._write_draft(sent_from, body, attachments)
                self.notice.emit(f"{reason} (kept as a draft in its conversation)")
            else:
                self.notice.emit(reason)

        deliver(future, done, failed, context=self)

    def _target(self) -> tuple[str, str] | None:
        if self._row is not None:
            return self._row.our_number, self._row.contact_number
        return self._draft

    def retry(self, message_id: int) -> None:
        """Retry / Send again: the failed bubble itself goes out again (no second copy)."""
        message = self.model.message(message_id)
        if message is None or not is_failed(message):
            return
        deliver(
            self._core.messaging.retry(message_id),
            lambda ok: None if ok else self.notice.emit("That message is already being sent."),
            lambda exc: self.notice.emit(f"Could not send it again: {exc}"),
            context=self,
        )

    def media_paths(self, message: MessageRow, media: MediaRow) -> tuple[Path | None, Path | None]:
        """(what to show inline, the full file) for one attachment."""
        paths = self._core.paths
        if message.direction == "outbound":
            full = paths.outgoing_media / media.file if media.file else None
            return full, full
        full = paths.media / media.file if media.file else None
        preview = paths.thumbnails / media.thumbnail if media.thumbnail else None
        return preview, full

    def open_media(self, message_id: int, media_index: int) -> None:
        message = self.model.message(message_id)
        if message is None or not 0 <= media_index < len(message.media):
            return
        media = message.media[media_index]
        preview, full = self.media_paths(message, media)
        path = full or preview
        if path is None:
            return
        if media.content_type.startswith("image/") and media.content_type != "image/heic":
            from desktop.ui.image_viewer import ImageViewer

            title = f"Picture from {self.model.contact_title}"
            if message.direction == "outbound":
                title = f"Picture sent to {self.model.contact_title}"
            viewer = ImageViewer(path, title, self.window())
            viewer.show()
            return
        from PySide6.QtGui import QDesktopServices

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def retry_media(self, message_id: int, media_index: int) -> None:
        message = self.model.message(message_id)
        if message is None or not 0 <= media_index < len(message.media):
            return
        media = message.media[media_index]
        if media.state == "failed":
            media_id = media.id
            deliver(
                self._core.messaging.retry_media(media_id),
                lambda _none: self._wake_media(),
                None,
                context=self,
            )
            return
        preview, _full = self.media_paths(message, media)
        if preview is not None:
            self.images.retry(preview)

    def _wake_media(self) -> None:
        fetcher = self._core.media
        if fetcher is not None:
            fetcher.wake()

    def rename(self, name: str) -> None:
        if self._row is None:
            return
        deliver(
            self._core.messaging.rename_contact(self._row.id, name),
            None,
            lambda exc: self.notice.emit(f"Could not rename: {exc}"),
            context=self,
        )

    def apply_theme(self) -> None:
        self.header.apply_theme()
        self.view.apply_theme()
        self.composer.apply_theme()
        self.replying.apply_theme()
        self.view.viewport().update()
