"""The main window: sidebar (search, conversations, status) beside the open thread.

The window wires parts together and owns the cross-cutting rules: store events update
the list and the open thread; a thread shown while the window is active is marked read;
the title shows the unread total; closing hides to the tray when there is one.  Dialogs
written elsewhere (new conversation, settings, setup, tray) are imported only when used,
so a missing one disables its action instead of the window.

This module is on the path to the first paint, so it imports only cheap things at the
top: the window first shows a :class:`~desktop.ui.first_frame.FirstFrame` and builds its
real parts (and imports their modules) right after that paint, in :meth:`warm_up`.
Hence the imports inside methods below.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QEvent, QMargins, QTimer
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from desktop import APP_NAME, __version__
from desktop.ui import tasks
from desktop.ui.formatting import NumberFormatter
from desktop.ui.metrics import DEMO_TEXT, EMPTY_THREAD_TEXT, SIDEBAR_WIDTH, WINDOW_SIZE

if TYPE_CHECKING:
    from PySide6.QtGui import QAction, QKeySequence

    from desktop.core import Core
    from desktop.domain.connection import ConnectionSnapshot
    from desktop.domain.events import Event
    from desktop.store.queries import SearchHit
    from desktop.ui.bridge import CoreBridge
    from desktop.ui.contacts_view import ContactsDialog
    from desktop.ui.export_dialog import ExportDialog
    from desktop.ui.first_frame import EarlyLook
    from desktop.ui.readiness_panel import ReadinessPanel
    from desktop.ui.thread_pane import ThreadPane

logger = logging.getLogger(__name__)

MINIMUM_SIZE = (640, 420)
#: The window frame's likely size before the window is shown and its real frame is known.
_GUESSED_FRAME = QMargins(4, 32, 4, 4)


class Tray(Protocol):
    def available(self) -> bool: ...


class MainWindow(QMainWindow):
    def __init__(
        self,
        core: Core | None,
        bridge: CoreBridge | None = None,
        *,
        fast_start: bool = False,
        early: EarlyLook | None = None,
    ) -> None:
        """``fast_start``: paint a :class:`FirstFrame` now and build the real parts (and
        load phonenumbers) in :meth:`warm_up`, right after the first paint.

        ``core=None`` with ``early``: the app's start — paint the first frame from what was
        read straight from the files, before the core (and the settings loader, the store,
        the network modules) is even imported; :meth:`attach` hands the core over, then
        :meth:`warm_up` builds the rest.  Nothing but painting works before attach."""
        super().__init__()
        self.core: Core
        self.bridge: CoreBridge
        self._attached = False
        self.tray: Tray | None = None
        self._quitting = False
        self._asked_unlock = False
        self._marking: set[int] = set()
        self._built = False
        self._pane: ThreadPane | None = None
        #: With fast_start, a conversation chosen before the first paint opens in warm_up().
        self._deferred = fast_start or core is None
        self._pending_conversation: int | None = None
        self.readiness_panel: ReadinessPanel | None = None
        self.contacts_dialog: ContactsDialog | None = None
        self.export_dialog: ExportDialog | None = None
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_NAME)
        self.resize(*WINDOW_SIZE)
        self.setMinimumSize(*MINIMUM_SIZE)
        self._shown_once = False
        self.fit_to_screen()
        bar = self.menuBar()
        self._menus = {
            name: bar.addMenu(name) for name in ("&File", "&Edit", "&Conversation", "&Help")
        }
        if core is None:
            if early is None:
                raise ValueError("A window without its core needs the early look to paint")
            self.numbers = NumberFormatter(early.home_number, defer=True)
            self._show_first_frame(early)
            return
        self.numbers = NumberFormatter(defer=fast_start)
        self.attach(core, bridge)

    @property
    def attached(self) -> bool:
        """Whether the window has its core (always, except just after the app's start)."""
        return self._attached

    def attach(self, core: Core, bridge: CoreBridge | None = None) -> None:
        """Hand the window its core: listen to it, and show its first frame if none is up."""
        from desktop.ui.bridge import CoreBridge

        if self._attached:  # attached again (a retry at start): the old bridge stops
            self.bridge.detach()
        self.core = core
        tasks.use_pool(core.tasks)
        self.bridge = bridge or CoreBridge(core, self)
        self._attached = True
        self.numbers.set_home_number(self._home_number())
        if self.centralWidget() is not None:  # the early first frame is already up
            return
        if self._deferred:
            from desktop.store import queries
            from desktop.ui.first_frame import ROWS_TO_PAINT, EarlyLook

            rows = queries.conversations(core.store.reader(), limit=ROWS_TO_PAINT)
            self._show_first_frame(EarlyLook(demo=core.options.demo, rows=rows))
        else:
            self._build()

    def _show_first_frame(self, look: EarlyLook) -> None:
        from desktop.ui.first_frame import FirstFrame

        self.setCentralWidget(FirstFrame(look.rows, self.numbers, demo=look.demo, parent=self))

    def _build(self) -> None:
        """The real window: sidebar, list, status, thread side, actions."""
        from PySide6.QtCore import Qt

        from desktop.ui import theme as theme_module
        from desktop.ui.icons import app_icon
        from desktop.ui.notice_bar import NoticeBar
        from desktop.ui.sidebar import Sidebar
        from desktop.ui.widgets import LineSplitter

        core = self.core
        self._built = True
        self.setWindowIcon(app_icon())
        self._watcher = theme_module.watcher()

        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.demo_banner = QLabel(DEMO_TEXT, central)
        self.demo_banner.setObjectName("demoBanner")
        self.demo_banner.setAccessibleName("Demo mode")
        self.demo_banner.setContentsMargins(16, 7, 16, 7)
        self.demo_banner.setVisible(core.options.demo)
        outer.addWidget(self.demo_banner)
        self.splitter = LineSplitter(Qt.Orientation.Horizontal, central)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.sidebar = Sidebar(core, self.numbers, self.splitter)
        self.sidebar.setMinimumWidth(260)
        right = QWidget(self.splitter)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        self.notice_bar = NoticeBar(right)
        right_layout.addWidget(self.notice_bar)
        self._right_layout = right_layout
        # The thread side is empty until a conversation is chosen; with fast_start it is
        # built right after the first paint (see warm_up), a plain label stands in.
        self._placeholder = QLabel(EMPTY_THREAD_TEXT, right)
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._placeholder.setObjectName("threadPlaceholder")
        right_layout.addWidget(self._placeholder, 1)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([SIDEBAR_WIDTH, self.width() - SIDEBAR_WIDTH])
        outer.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.list_model = self.sidebar.list_model
        self.list_view = self.sidebar.list_view
        self._build_actions()
        self.sidebar.conversationActivated.connect(self._on_conversation_activated)
        self.sidebar.hitActivated.connect(self._on_hit)
        self.sidebar.composeRequested.connect(self.new_conversation)
        self.sidebar.settingsRequested.connect(self.open_settings)
        self.sidebar.status.actionRequested.connect(self._on_status_action)
        self.sidebar.status.set_number_formatter(self.numbers)
        self.list_view.renameRequested.connect(self._rename_from_list)
        self.list_view.markReadRequested.connect(self._mark_read_now)
        self.notice_bar.clicked.connect(self._on_notice_clicked)
        self.bridge.storeEvents.connect(self._on_store_events)
        from desktop.ui.schedule_dialog import LateSendWatcher  # scheduled texts found late

        self.late_texts = LateSendWatcher(core, self)
        self.bridge.storeEvents.connect(self.late_texts.on_events)
        self.bridge.connectionChanged.connect(self._on_connection)
        self._watcher.changed.connect(lambda _theme: self.apply_theme())

        self.list_model.load()
        self._guess_home_number()
        self._on_connection(core.connection.snapshot)
        self._clock = QTimer(self)
        self._clock.setInterval(60_000)
        self._clock.timeout.connect(self._tick)
        self._clock.start()
        self._apply_window_theme()
        self._update_title()
        QWidget.setTabOrder(self.sidebar.search_field, self.list_view)
        self.list_view.setFocus()
        self.list_view.activated.connect(lambda _index: self._focus_composer())
        if not self._deferred:
            self._build_pane()

    # -- fitting the screen -------------------------------------------------------------------

    def _frame_margins(self) -> QMargins:
        if not self.isVisible():
            return _GUESSED_FRAME
        inner, outer = self.geometry(), self.frameGeometry()
        return QMargins(
            inner.left() - outer.left(),
            inner.top() - outer.top(),
            outer.right() - inner.right(),
            outer.bottom() - inner.bottom(),
        )

    def fit_to_screen(self) -> None:
        """Shrink (and move) the window so all of it, frame included, is on its screen."""
        from desktop.ui.screen_fit import centered, fit_rect

        available = self.screen().availableGeometry()
        frame = self._frame_margins()
        room_w = available.width() - frame.left() - frame.right()
        room_h = available.height() - frame.top() - frame.bottom()
        self.setMinimumSize(min(MINIMUM_SIZE[0], room_w), min(MINIMUM_SIZE[1], room_h))
        if not self.isVisible() and not self._shown_once:
            rect = centered(self.size(), available, frame)
        else:
            rect = fit_rect(self.geometry(), available, frame)
        if rect != self.geometry():
            logger.info(
                "Fitting the window to the screen: %dx%d at (%d, %d)",
                rect.width(),
                rect.height(),
                rect.x(),
                rect.y(),
            )
            self.setGeometry(rect)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            handle = self.windowHandle()
            if handle is not None:
                handle.screenChanged.connect(lambda _screen: self.fit_to_screen())
            QTimer.singleShot(0, self.fit_to_screen)  # once the real frame is known

    # -- building ---------------------------------------------------------------------------

    def _home_number(self) -> str:
        env = getattr(self.core.env, "phone_number", None)
        return str(env or self.core.settings.phone_number or "")

    def _guess_home_number(self) -> None:
        """Before a number is configured, read numbers as the most used of ours does."""
        if not self.numbers.home_number:
            ours = self.list_model.most_used_our_number()
            if ours:
                self.numbers.set_home_number(ours)

    def _action(
        self, text: str, shortcut: QKeySequence | QKeySequence.StandardKey | str | None, slot: Any
    ) -> QAction:
        from PySide6.QtGui import QAction, QKeySequence

        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QKeySequence

        file_menu = self._menus["&File"]
        self.new_action = self._action("&New Conversation…", "Ctrl+N", self.new_conversation)
        self.new_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        file_menu.addAction(self.new_action)
        self.settings_action = self._action(
            "&Settings…", QKeySequence.StandardKey.Preferences, self.open_settings
        )
        file_menu.addAction(self.settings_action)
        self.contacts_action = self._action("C&ontacts…", "Ctrl+Shift+O", self.open_contacts)
        file_menu.addAction(self.contacts_action)
        self.export_action = self._action(
            "&Export Conversations…", "Ctrl+Shift+E", self.export_conversations
        )
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        self.close_action = self._action(
            "&Close Window", QKeySequence.StandardKey.Close, self.close
        )
        file_menu.addAction(self.close_action)
        self.quit_action = self._action("&Quit", QKeySequence.StandardKey.Quit, self.quit_app)
        file_menu.addAction(self.quit_action)
        edit_menu = self._menus["&Edit"]
        self.find_action = self._action("&Find Messages", "Ctrl+F", self.sidebar.start_search)
        edit_menu.addAction(self.find_action)
        convo_menu = self._menus["&Conversation"]
        self.rename_action = self._action("&Rename Contact", "F2", self.rename_contact)
        convo_menu.addAction(self.rename_action)
        self.read_action = self._action(
            "Mark as &Read", None, lambda: self._mark_read_now(self._open_id() or -1)
        )
        convo_menu.addAction(self.read_action)
        self.latest_action = self._action(
            "Jump to &Latest", "Ctrl+End", lambda: self.pane.view.scroll_to_latest()
        )
        convo_menu.addAction(self.latest_action)
        help_menu = self._menus["&Help"]
        self.readiness_action = self._action("Can I &Text Yet?…", None, self.open_readiness)
        help_menu.addAction(self.readiness_action)
        help_menu.addAction(self._action(f"&About {APP_NAME}", None, self._about))

    def apply_theme(self) -> None:
        """Recolour everything (the OS switched between light and dark)."""
        self.sidebar.apply_theme()
        if self._pane is not None:
            self._pane.apply_theme()
        self._apply_window_theme()

    def _apply_window_theme(self) -> None:
        from desktop.ui import theme as theme_module
        from desktop.ui.widgets import tint

        t = theme_module.current()
        tint(self.demo_banner, t.banner_text, t.banner)
        tint(self.notice_bar, t.banner_text, t.banner)
        tint(self.notice_bar.label, t.banner_text)
        tint(self._placeholder, t.secondary_text, t.thread_background)
        self.splitter.update()

    # -- the thread side ------------------------------------------------------------------

    @property
    def pane(self) -> ThreadPane:
        """The thread side (built on first use when the window was made with fast_start)."""
        if self._pane is None:
            return self._build_pane()
        return self._pane

    def _build_pane(self) -> ThreadPane:
        from desktop.ui.thread_pane import ThreadPane

        if self._pane is not None:
            return self._pane
        pane = ThreadPane(self.core, self.numbers, self._placeholder.parentWidget())
        self._right_layout.replaceWidget(self._placeholder, pane)
        self._placeholder.hide()
        self._pane = pane
        pane.conversationStarted.connect(self._on_conversation_started)
        pane.notice.connect(lambda text: self.show_notice(text))
        pane.set_snapshot(self.core.connection.snapshot)
        QWidget.setTabOrder(self.list_view, pane.view)
        QWidget.setTabOrder(pane.view, pane.composer.editor)
        QWidget.setTabOrder(pane.composer.editor, pane.composer.send_button)
        return pane

    def _focus_composer(self) -> None:
        from PySide6.QtCore import Qt

        pane = self.pane
        if pane.composer.isVisible() and pane.composer.editor.isEnabled():
            pane.composer.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def _open_id(self) -> int | None:
        return None if self._pane is None else self._pane.conversation_id

    # -- public API (tray, application) -------------------------------------------------

    def conversation_count(self) -> int:
        return self.list_model.rowCount()

    def total_unread(self) -> int:
        return self.list_model.total_unread()

    def set_tray(self, tray: Tray | None) -> None:
        self.tray = tray

    def open_conversation(self, conversation_id: int, message_id: int | None = None) -> bool:
        """Show a conversation (at ``message_id`` when given); False if it does not exist."""
        if self.list_model.position(conversation_id) is None:
            self.list_model.refresh([conversation_id])
        row = self.list_model.get(conversation_id)
        if row is None:
            return False
        if self.sidebar.search_field.text() and message_id is None:
            self.sidebar.end_search()
        blocker = self.list_view.selectionModel().blockSignals(True)
        try:
            self.sidebar.select_conversation(conversation_id)
        finally:
            self.list_view.selectionModel().blockSignals(blocker)
        self.list_view.viewport().update()
        self.pane.show_conversation(row, focus_message=message_id)
        self._maybe_mark_read()
        return True

    def warm_up(self) -> None:
        """After the first paint: build and load what was left out of it."""
        from desktop.ui.tasks import run_in_background

        if not self._built:
            self._build()
        self._deferred = False
        self._build_pane()
        pending, self._pending_conversation = self._pending_conversation, None
        if pending is not None:
            self._on_conversation_activated(pending)
        if self.numbers.deferred:
            run_in_background(
                self.numbers.load, lambda _none: self._numbers_ready(), None, context=self
            )

    def _numbers_ready(self) -> None:
        self.numbers.loaded()
        self.list_view.viewport().update()
        if self._pane is not None:
            self._pane.refresh_header()
        self.sidebar.status.set_number_formatter(self.numbers)

    def show_and_raise(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def show_notice(self, text: str, conversation_id: int | None = None) -> None:
        """An in-window message (also where notifications go when there is no tray)."""
        self.notice_bar.show_text(text, conversation_id)

    def show_toast(self, text: str, conversation_id: int | None) -> None:
        """What the tray calls when there is no system tray to show notifications in."""
        self.show_notice(text, conversation_id)

    def quit_app(self) -> None:
        tray_quit = getattr(self.tray, "quit", None)
        if callable(tray_quit):
            tray_quit()
            return
        self._quitting = True
        self.close()
        from PySide6.QtWidgets import QApplication

        QApplication.quit()

    # -- events -------------------------------------------------------------------------

    def _on_store_events(self, events: Sequence[Event]) -> None:
        from desktop.domain.events import ConversationChanged, MessageAdded, MessageChanged

        if not self._built:
            return  # the list is read fresh when it is built
        touched = {
            e.conversation_id
            for e in events
            if isinstance(e, (MessageAdded, MessageChanged, ConversationChanged))
        }
        self.list_model.refresh(touched)
        if not self.numbers.home_number:
            self._guess_home_number()
        pane = self._pane
        if pane is not None:
            pane.apply_events(events)
            current = pane.conversation_id
            if current is not None and current in touched:
                row = self.list_model.get(current)
                if row is not None:
                    pane.update_row(row)
        self._update_title()
        self._maybe_mark_read()

    def _on_connection(self, snapshot: ConnectionSnapshot) -> None:
        if not self._built:
            return  # read from the core when the status area is built
        if snapshot.phone_number and not self.numbers.home_number:
            self.numbers.set_home_number(snapshot.phone_number)
        self.sidebar.status.set_snapshot(snapshot)
        from desktop.domain.connection import Link

        if snapshot.link is Link.LOCKED and not self._asked_unlock:
            self._asked_unlock = True  # once per start; the status area offers it again
            QTimer.singleShot(0, self.open_unlock)
        if self._pane is not None:
            self._pane.set_snapshot(snapshot)

    def _on_conversation_activated(self, conversation_id: int) -> None:
        if self._deferred:
            self._pending_conversation = conversation_id
            return
        row = self.list_model.get(conversation_id)
        if row is not None:
            self.pane.show_conversation(row)
            self._maybe_mark_read()

    def _on_hit(self, hit: SearchHit) -> None:
        self.open_conversation(hit.conversation_id, hit.message_id)

    def _on_conversation_started(self, conversation_id: int) -> None:
        self.list_model.refresh([conversation_id])
        self.open_conversation(conversation_id)

    def _on_notice_clicked(self, conversation_id: int) -> None:
        if conversation_id >= 0:
            self.show_and_raise()
            self.open_conversation(conversation_id)

    def _update_title(self) -> None:
        unread = self.list_model.total_unread()
        self.setWindowTitle(f"({unread}) {APP_NAME}" if unread else APP_NAME)

    def _tick(self) -> None:
        self.list_view.list_delegate.tick()
        self.list_view.viewport().update()
        if self._pane is not None:
            self._pane.delegate.tick()
            self._pane.view.viewport().update()

    # -- unread -------------------------------------------------------------------------

    def _window_in_use(self) -> bool:
        return self.isVisible() and self.isActiveWindow() and not self.isMinimized()

    def _maybe_mark_read(self) -> None:
        row = None if self._pane is None else self._pane.conversation
        if row is None or row.unread_count == 0 or not self._window_in_use():
            return
        self._mark_read_now(row.id)

    def _mark_read_now(self, conversation_id: int) -> None:
        if conversation_id < 0 or conversation_id in self._marking:
            return
        self._marking.add(conversation_id)
        from desktop.ui.tasks import deliver

        deliver(
            self.core.messaging.mark_read(conversation_id),
            lambda _none: self._marking.discard(conversation_id),
            lambda exc: self._marking.discard(conversation_id),
            context=self,
        )

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.ActivationChange, QEvent.Type.WindowStateChange):
            self._maybe_mark_read()

    # -- actions ------------------------------------------------------------------------

    def new_conversation(self) -> None:
        try:
            from desktop.ui.new_conversation import NewConversationDialog
        except ImportError:
            self.show_notice("Starting a new conversation is not available in this version yet.")
            return
        from desktop.ui.new_conversation import WANTS_SETUP, WANTS_UNLOCK

        dialog = NewConversationDialog(self.core, self)
        code = dialog.exec()
        if code == WANTS_SETUP:
            self.open_setup()
            return
        if code == WANTS_UNLOCK:
            self.open_unlock()
            return
        if not code:
            return
        result = dialog.result_conversation()
        if result is None:
            return
        our_number, contact, first_message = result
        self.sidebar.end_search()
        self.pane.show_draft(our_number, contact)
        if self.pane.conversation is not None:
            self.open_conversation(self.pane.conversation.id)
        if first_message.strip():
            self.pane.send(first_message, [])
        else:
            self.pane.composer.editor.setFocus()

    def open_settings(self) -> None:
        try:
            from desktop.ui.settings_dialog import SettingsDialog
        except ImportError:
            self.show_notice("Settings are not available in this version yet.")
            return
        from desktop.ui.frontdesk_access import front_desk
        from desktop.ui.team_page import TeamSettingsTab

        dialog = SettingsDialog(
            self.core.account,
            self.core.settings,
            self,
            front_desk=front_desk(self.core),
            extra_pages=[TeamSettingsTab(self.core)],
        )
        code = dialog.exec()
        self.numbers.set_home_number(self._home_number())
        self._on_connection(self.core.connection.snapshot)
        if code == SettingsDialog.SIGNED_OUT:
            self.open_setup()

    def open_contacts(self) -> None:
        """Show the contacts view (one at a time; raised when already open)."""
        from desktop.ui.contacts_view import ContactsDialog
        from desktop.ui.frontdesk_access import front_desk

        dialog = self.contacts_dialog
        if dialog is None or not dialog.isVisible():
            dialog = self.contacts_dialog = ContactsDialog(front_desk(self.core), self)
            dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def export_conversations(self) -> None:
        from desktop.ui.export_dialog import choose_export_file

        chosen = choose_export_file(self)
        if chosen is not None:
            self.start_export(*chosen)

    def start_export(self, output: Path, fmt: str) -> ExportDialog:
        """Export to ``output`` with a progress window (File → Export Conversations…)."""
        from desktop.ui.export_dialog import ExportDialog

        paths = self.core.paths
        dialog = self.export_dialog = ExportDialog(paths.database, paths.media, output, fmt, self)
        dialog.show()
        dialog.start()
        return dialog

    def open_setup(self) -> None:
        try:
            from desktop.ui.setup_wizard import SetupWizard
        except ImportError:
            self.open_settings()
            return
        logger.info("Opening the setup wizard")
        wizard = SetupWizard(self.core.account, self)
        accepted = wizard.exec() == SetupWizard.DialogCode.Accepted
        self.numbers.set_home_number(self._home_number())
        self._on_connection(self.core.connection.snapshot)
        if accepted and wizard.setup_result() is not None:
            self.open_readiness()  # "Can I text yet?" right after "Start texting"

    def open_readiness(self) -> ReadinessPanel:
        """Show the readiness checks (re-run them if the panel is already open)."""
        from desktop.readiness.live import readiness_for
        from desktop.ui.readiness_panel import ReadinessPanel

        panel = self.readiness_panel
        if panel is not None and panel.isVisible():
            panel.start()
        else:
            panel = self.readiness_panel = ReadinessPanel(
                lambda: readiness_for(self.core), self, snapshot=self.core.connection.snapshot
            )
            self.bridge.connectionChanged.connect(panel.on_connection)
            panel.show()
        panel.raise_()
        panel.activateWindow()
        return panel

    def open_unlock(self) -> None:
        """Ask for the passphrase of the encrypted credentials file."""
        from desktop.ui.unlock_dialog import UnlockDialog

        UnlockDialog(self.core.account, self).exec()

    def _on_status_action(self, action: str) -> None:
        if action == "setup":
            self.open_setup()
        elif action == "settings":
            self.open_settings()
        elif action == "unlock":
            self.open_unlock()
        elif action == "readiness":
            self.open_readiness()
        elif action in ("repair", "retry"):
            from desktop.ui.damage_dialog import show_damage_dialog

            show_damage_dialog(self, self.core)

    def rename_contact(self) -> None:
        if self._pane is not None and self._pane.conversation is not None:
            self._pane.header.start_rename()

    def _rename_from_list(self, conversation_id: int) -> None:
        if self.open_conversation(conversation_id):
            self.pane.header.start_rename()

    def _about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<b>{APP_NAME} {__version__}</b><p>Text your customers from your desktop "
            "through your Twilio number.</p>",
        )

    # -- closing ------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._pane is not None:
            self._pane.flush_draft()  # hidden to the tray or quitting: keep what was typed
        tray = self.tray
        if not self._quitting and tray is not None and tray.available():
            event.ignore()
            self.hide()
            hint = getattr(tray, "hint_once", None)
            if callable(hint):
                hint()
            return
        if self._attached:  # closed before its core came: nothing listens yet
            self.bridge.detach()
        super().closeEvent(event)

    def unread_summary(self) -> dict[int, int]:
        """Unread count per conversation (for the tray's tooltip and badge)."""
        return {
            row.id: row.unread_count
            for row in (self.list_model.row_at(i) for i in range(self.list_model.rowCount()))
            if row.unread_count
        }

    def reload(self) -> None:
        """Re-read everything (after sign-in or a data change outside the event stream)."""
        from desktop.store import queries

        self.list_model.load()
        cid = self._open_id()
        if cid is not None and self._pane is not None:
            row = queries.conversation(self.core.store.reader(), cid)
            if row is not None:
                self._pane.update_row(row)
        self._update_title()
