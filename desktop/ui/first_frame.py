"""The window's first frame: the newest conversations, straight from the database.

Building the real widgets costs about 0.2 s in Python bindings alone: PySide creates a
Python enum class for every Qt enum it meets, and Qt's namespace alone is ~100 of them
(~30 ms), touched by the first ``Qt.*`` use *and* by the first Python-side ``QPainter``
call.  So the main window first shows this: plain labels whose rich text Qt renders in
C++ — the sidebar with the newest conversations (avatar, name, time, snippet) and the
empty thread side — built without any ``Qt.*`` enum or Python painting.  Right after the
first paint the real widgets replace it (:meth:`MainWindow.warm_up`), in the same places.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from desktop.ui import colors
from desktop.ui.formatting import NumberFormatter, list_time
from desktop.ui.metrics import (
    AVATAR,
    DEMO_TEXT,
    EMPTY_THREAD_TEXT,
    GAP,
    PAD_X,
    PAD_Y,
    SIDEBAR_WIDTH,
    initials,
)

if TYPE_CHECKING:
    from desktop.paths import Paths
    from desktop.store.queries import ConversationRow

logger = logging.getLogger(__name__)

#: How many conversations fit on a tall screen; the rest come with the real list.
ROWS_TO_PAINT = 10
_NAME_CHARS = 26
_SNIPPET_CHARS = 34
#: desktop.config.ENV_PHONE_NUMBER (that module is too heavy to import before this frame).
ENV_PHONE_NUMBER = "TWOWAY_PHONE_NUMBER"
#: The real sidebar's search row: 12 px above a ~30 px field, 8 px below.
SEARCH_ROW_HEIGHT = 52


@dataclass(frozen=True)
class EarlyLook:
    """What the first frame shows when it is painted before the core exists."""

    demo: bool
    rows: list[ConversationRow] = field(default_factory=list)
    #: Our number, for reading customers' numbers nationally ('' when not known yet).
    home_number: str = ""


def read_early_look(paths: Paths, *, demo: bool, environ: Mapping[str, str]) -> EarlyLook:
    """The newest conversations and our number, read straight from the files.

    Only a look: a missing, damaged, locked or not yet upgraded database gives no rows
    (the core opens it next and says what is wrong), an unreadable settings file no number.
    """
    from desktop.store import queries
    from desktop.store.schema import SCHEMA_VERSION

    rows: list[ConversationRow] = []
    if paths.database.is_file():
        try:
            # Plain sqlite3, read-only: desktop.store.database and its health checks are
            # ~10 ms of imports, and this look changes nothing.
            conn = sqlite3.connect(
                f"{paths.database.resolve().as_uri()}?mode=ro", uri=True, timeout=0.1
            )
            try:
                conn.execute("PRAGMA cell_size_check = ON")
                if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                    rows = queries.conversations(conn, limit=ROWS_TO_PAINT)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            logger.debug("No early look at the conversations: %s", exc)
    number = environ.get(ENV_PHONE_NUMBER, "").strip()
    if not number:
        try:
            settings = json.loads(paths.settings.read_text(encoding="utf-8"))
            found = settings.get("phone_number") if isinstance(settings, dict) else None
            number = found if isinstance(found, str) else ""
        except (OSError, ValueError):
            number = ""
    return EarlyLook(demo=demo, rows=rows, home_number=number)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _colored(widget: QWidget, color: QColor) -> None:
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.WindowText, color)
    widget.setPalette(palette)


def _filled(widget: QWidget, color: QColor) -> None:
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.Window, color)
    widget.setPalette(palette)
    widget.setAutoFillBackground(True)


class FirstFrame(QWidget):
    """A picture of the window's content; it has no behaviour and lives ~0.2 s."""

    def __init__(
        self,
        rows: Sequence[ConversationRow],
        numbers: NumberFormatter,
        *,
        demo: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("firstFrame")
        dark = QApplication.palette().window().color().lightness() < 128
        t = colors.dark() if dark else colors.light()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        if demo:
            banner = QLabel(DEMO_TEXT, self)
            banner.setContentsMargins(16, 7, 16, 7)
            _filled(banner, t.banner)
            outer.addWidget(banner)
        body = QHBoxLayout()
        body.setSpacing(0)
        outer.addLayout(body, 1)

        sidebar = QWidget(self)
        sidebar.setFixedWidth(SIDEBAR_WIDTH)
        _filled(sidebar, t.sidebar)
        column = QVBoxLayout(sidebar)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        search = QLabel(
            f'<font color="{t.secondary_text.name()}">&nbsp;&nbsp;&nbsp;&nbsp;Search messages'
            "</font>",
            sidebar,
        )
        search.setContentsMargins(16, 0, 16, 0)
        search.setFixedHeight(SEARCH_ROW_HEIGHT)
        column.addWidget(search)
        self._add_rows(column, sidebar, rows, numbers, t)
        column.addStretch(1)
        status = QLabel(f'<font color="{t.secondary_text.name()}">Starting…</font>', sidebar)
        status.setContentsMargins(16, 8, 16, 12)
        column.addWidget(status)
        body.addWidget(sidebar)

        line = QWidget(self)
        line.setFixedWidth(1)
        _filled(line, t.separator)
        body.addWidget(line)
        hint = QLabel(
            f'<p align="center"><font color="{t.secondary_text.name()}">'
            f"{_escape(EMPTY_THREAD_TEXT)}</font></p>",
            self,
        )
        hint.setWordWrap(True)
        _filled(hint, t.thread_background)
        body.addWidget(hint, 1)

    @staticmethod
    def _add_rows(
        column: QVBoxLayout,
        parent: QWidget,
        rows: Sequence[ConversationRow],
        numbers: NumberFormatter,
        t: colors.Theme,
    ) -> None:
        """One small grid per conversation, in plain-text labels (rich text costs more)."""
        now_ms = int(time.time() * 1000)
        bold = QFont(parent.font())
        bold.setBold(True)
        small = QFont(parent.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.86))
        shown = rows[:ROWS_TO_PAINT]
        ours = [row.our_number for row in shown]
        several = len(set(ours)) > 1
        if ours and not numbers.home_number:  # read numbers the way the list will
            numbers.set_home_number(max(set(ours), key=ours.count))
        for row in shown:
            cell = QWidget(parent)
            grid = QGridLayout(cell)
            grid.setContentsMargins(PAD_X, PAD_Y - 3, PAD_X, PAD_Y - 3)
            grid.setHorizontalSpacing(GAP)
            grid.setVerticalSpacing(0)
            avatar = QLabel(f"  {initials(row.contact_name)}", cell)
            avatar.setFixedSize(AVATAR, AVATAR)
            avatar.setFont(bold)
            _filled(avatar, t.avatar_color(row.contact_number))
            _colored(avatar, QColor("#ffffff"))
            grid.addWidget(avatar, 0, 0, 2, 1)
            name = QLabel(
                _short(row.contact_name or numbers(row.contact_number), _NAME_CHARS), cell
            )
            name.setFont(bold)
            _colored(name, t.text)
            grid.addWidget(name, 0, 1)
            when = QLabel(list_time(row.last_message_at, now_ms), cell)
            _colored(when, t.accent if row.unread_count else t.secondary_text)
            grid.addWidget(when, 0, 2)
            prefix = "You: " if row.last_direction == "outbound" else ""
            snippet = QLabel(_short(prefix + row.snippet, _SNIPPET_CHARS), cell)
            _colored(snippet, t.text if row.unread_count else t.secondary_text)
            grid.addWidget(snippet, 1, 1, 1, 2)
            if several:
                via = QLabel(f"To {numbers(row.our_number)}", cell)
                via.setFont(small)
                _colored(via, t.secondary_text)
                grid.addWidget(via, 2, 1, 1, 2)
            grid.setColumnStretch(1, 1)
            column.addWidget(cell)
