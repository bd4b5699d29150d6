"""Where staff type: Enter sends, Shift+Enter breaks the line, pictures ride along as MMS.

The counter under the box ("2 segments · GSM-7 · 153/306") updates on every keystroke,
and the characters that silently switch a text to UCS-2 (curly quotes, emoji) are
highlighted where they are, because that switch more than halves what fits in a segment.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QPixmap,
    QResizeEvent,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QSizePolicy,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.models import MAX_MEDIA
from desktop.domain.quick_replies import QuickReply
from desktop.domain.segments import analyze, non_gsm_positions
from desktop.ui import picture_shrink
from desktop.ui import theme as theme_module
from desktop.ui.icons import icon
from desktop.ui.image_cache import decode
from desktop.ui.picture_shrink import PictureRefused, ReadyPicture, describe_size
from desktop.ui.quick_reply_popup import QuickReplyCompletion
from desktop.ui.tasks import run_in_background
from desktop.ui.widgets import Surface, tint

logger = logging.getLogger(__name__)

MAX_LINES: Final = 6


class Composer(QPlainTextEdit):
    """The text box.  Signals: ``submitted()`` on Enter; ``filesDropped(list)`` for picture
    files pasted or dropped; ``imagePasted(QImage)`` for picture data (a screenshot)."""

    submitted = Signal()
    filesDropped = Signal(list)
    imagePasted = Signal(QImage)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setAccessibleName("Message")
        self.setPlaceholderText("Type a message")
        self.setTabChangesFocus(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().setDocumentMargin(6)
        self.textChanged.connect(self._fit_height)
        self._fit_height()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if modifiers & Qt.KeyboardModifier.ShiftModifier:
                self.textCursor().insertText("\n")
                return
            if modifiers in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ControlModifier):
                self.submitted.emit()
                return
        super().keyPressEvent(event)

    def _fit_height(self) -> None:
        """Grow with the text up to MAX_LINES lines, then scroll."""
        metrics = self.fontMetrics()
        wanted = int(self.document().size().height())
        lines = max(1, min(MAX_LINES, wanted))
        margins = self.contentsMargins()
        doc_margin = int(self.document().documentMargin())
        height = (
            lines * metrics.lineSpacing() + 2 * doc_margin + margins.top() + margins.bottom() + 4
        )
        self.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if wanted > MAX_LINES
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        if self.height() != height:
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()  # a narrower box wraps into more lines

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return _pictures(source) != [] or source.hasImage() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        pictures = _pictures(source)
        if pictures:
            self.filesDropped.emit(pictures)
            return
        if source.hasImage():
            image = source.imageData()
            if isinstance(image, QImage) and not image.isNull():
                self.imagePasted.emit(image.copy())  # the clipboard's copy may change
                return
        super().insertFromMimeData(source)


def _pictures(source: QMimeData) -> list[Path]:
    if not source.hasUrls():
        return []
    return [
        Path(url.toLocalFile())
        for url in source.urls()
        if url.isLocalFile() and picture_shrink.is_picture_name(url.toLocalFile())
    ]


class AttachmentChip(QFrame):
    """A picture waiting to be sent: thumbnail, name, size, remove button.

    Starts "getting ready" while the picture is checked (and shrunk) in the background.
    Signals: removed(Path) — the picture the chip was made for.
    """

    removed = Signal(Path)

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.ready: ReadyPicture | None = None
        self.dropped = False
        self.setObjectName("attachmentChip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 2, 4)
        layout.setSpacing(6)
        self._thumb = QLabel(self)
        self._thumb.setFixedSize(36, 36)
        self._thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self._thumb)
        texts = QVBoxLayout()
        texts.setSpacing(0)
        name = QLabel(self.fontMetrics().elidedText(path.name, Qt.TextElideMode.ElideMiddle, 140))
        name.setToolTip(str(path))
        texts.addWidget(name)
        self.size_label = QLabel("Getting it ready…", self)
        self.size_label.setObjectName("attachmentSize")
        tint(self.size_label, theme_module.current().secondary_text)
        texts.addWidget(self.size_label)
        layout.addLayout(texts)
        remove = QToolButton(self)
        remove.setAutoRaise(True)
        remove.setIcon(icon("close", theme_module.current().secondary_text))
        remove.setToolTip(f"Remove {path.name}")
        remove.setAccessibleName(f"Remove picture {path.name}")
        remove.clicked.connect(lambda: self.removed.emit(self.path))
        layout.addWidget(remove)

    def set_ready(self, ready: ReadyPicture) -> None:
        self.ready = ready
        text = describe_size(ready.size)
        if ready.original_size is not None:
            text = f"{text} (shrunk from {describe_size(ready.original_size)})"
        self.size_label.setText(text)
        self.size_label.setToolTip(
            "Made smaller so it fits the 5 MB a text message can carry" if ready.shrunk else ""
        )
        dpr = self.devicePixelRatioF()
        target = QSize(round(36 * dpr), round(36 * dpr))
        path = ready.path
        run_in_background(lambda: decode(path, target), self._show, None, context=self)

    def _show(self, image: object) -> None:
        if isinstance(image, QImage):
            pixmap = QPixmap.fromImage(image).scaled(
                self._thumb.size() * self.devicePixelRatioF(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            pixmap.setDevicePixelRatio(self.devicePixelRatioF())
            self._thumb.setPixmap(pixmap)


class ComposerBar(QWidget):
    """Text box, counter, attachments, quick replies and Send.

    Signals: ``sendRequested(str, list)`` — body and picture paths, when staff send;
    ``changed()`` — what would be sent changed (typing, a picture added or removed), for
    keeping the draft; ``typed()`` — staff typed in the box (not a draft put back or the
    box emptied), for telling colleagues in team mode.
    """

    sendRequested = Signal(str, list)
    changed = Signal()
    typed = Signal()

    def __init__(self, parent: QWidget | None = None, *, picture_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerBar")
        self._attachments: list[Path] = []
        self._sizes: dict[Path, int] = {}
        #: Pictures being checked or shrunk, one at a time (each needs the room left).
        self._waiting: list[tuple[AttachmentChip, Path | QImage]] = []
        self._preparing: AttachmentChip | None = None
        self._picture_dir = picture_dir
        self._blocked: str | None = None
        #: The text is being changed by the app (reset, restore), not typed.
        self._setting_text = False
        self._lookup: Callable[[str], list[QuickReply]] = lambda _query: []
        self._render: Callable[[QuickReply], str] = lambda reply: reply.text
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 6, 14, 10)
        outer.setSpacing(4)

        self.notice = QLabel(self)
        self.notice.setObjectName("composerNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        outer.addWidget(self.notice)

        self._chips = QWidget(self)
        self._chips_layout = QHBoxLayout(self._chips)
        self._chips_layout.setContentsMargins(0, 0, 0, 0)
        self._chips_layout.setSpacing(6)
        self._chips_layout.addStretch(1)
        self._chips.hide()
        outer.addWidget(self._chips)

        self._frame = Surface(self)
        self._frame.setObjectName("composerFrame")
        row = QHBoxLayout(self._frame)
        row.setContentsMargins(6, 4, 6, 4)
        row.setSpacing(4)
        self.attach_button = QToolButton(self._frame)
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setAutoRaise(True)
        self.attach_button.setIconSize(QSize(22, 22))
        self.attach_button.setToolTip("Attach pictures")
        self.attach_button.setAccessibleName("Attach pictures")
        self.attach_button.clicked.connect(self.choose_pictures)
        row.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.quick_button = QToolButton(self._frame)
        self.quick_button.setObjectName("quickRepliesButton")
        self.quick_button.setAutoRaise(True)
        self.quick_button.setIconSize(QSize(22, 22))
        self.quick_button.setToolTip("Quick replies (or type / and a few letters)")
        self.quick_button.setAccessibleName("Quick replies")
        self.quick_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.quick_menu = QMenu(self.quick_button)
        self.quick_menu.setObjectName("quickRepliesMenu")
        self.quick_menu.aboutToShow.connect(self._fill_quick_menu)
        self.quick_button.setMenu(self.quick_menu)
        row.addWidget(self.quick_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.editor = Composer(self._frame)
        self.editor.submitted.connect(self.submit)
        self.editor.filesDropped.connect(self.add_pictures)
        self.editor.imagePasted.connect(self.add_image)
        self.editor.textChanged.connect(self._on_text)
        self.completion = QuickReplyCompletion(
            self.editor, lambda query: self._lookup(query), lambda reply: self._render(reply)
        )
        row.addWidget(self.editor, 1)
        self.send_button = QToolButton(self._frame)
        self.send_button.setObjectName("sendButton")
        self.send_button.setIconSize(QSize(22, 22))
        self.send_button.setToolTip("Send (Enter)")
        self.send_button.setAccessibleName("Send")
        self.send_button.setAutoRaise(True)
        self.send_button.clicked.connect(self.submit)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        outer.addWidget(self._frame)

        self.counter = QLabel(self)
        self.counter.setObjectName("segmentCounter")
        self.counter.setAccessibleName("Message length")
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight)
        outer.addWidget(self.counter)
        self.apply_theme()
        self._on_text()

    # -- state ----------------------------------------------------------------------------

    @property
    def attachments(self) -> list[Path]:
        """Pictures ready to send (checked, and shrunk where needed)."""
        return list(self._attachments)

    @property
    def draft_attachments(self) -> list[Path]:
        """Every picture in the box, also those still getting ready (for the draft)."""
        pending = [source for _chip, source in self._waiting if isinstance(source, Path)]
        if self._preparing is not None and self._preparing.ready is None:
            pending.insert(0, self._preparing.path)
        return self.attachments + [p for p in pending if p not in self._attachments]

    @property
    def preparing(self) -> bool:
        return self._preparing is not None or bool(self._waiting)

    def set_quick_replies(
        self, lookup: Callable[[str], list[QuickReply]], render: Callable[[QuickReply], str]
    ) -> None:
        """Where ``/`` and the Quick replies button find replies, and how they are filled."""
        self._lookup = lookup
        self._render = render

    def set_picture_dir(self, path: Path) -> None:
        """Where pasted and shrunk pictures are written (kept with the draft)."""
        self._picture_dir = path

    def text(self) -> str:
        return self.editor.toPlainText()

    def set_blocked(self, reason: str | None) -> None:
        """Disable typing and sending, saying why (None enables again)."""
        self._blocked = reason
        enabled = reason is None
        self.editor.setEnabled(enabled)
        self.attach_button.setEnabled(enabled)
        self.quick_button.setEnabled(enabled)
        self.editor.setPlaceholderText("Type a message" if enabled else "Sending is turned off")
        if reason:
            self._show_notice(reason, "warning")
        else:
            self.notice.hide()
        self._update_send()

    @property
    def blocked_reason(self) -> str | None:
        return self._blocked

    def show_error(self, text: str) -> None:
        self._show_notice(text, "danger")

    def clear_error(self) -> None:
        if self._blocked is None:
            self.notice.hide()

    def _show_notice(self, text: str, tone: str) -> None:
        t = theme_module.current()
        color = t.danger if tone == "danger" else t.banner_text
        background = (
            t.banner
            if tone != "danger"
            else QColor(t.danger.red(), t.danger.green(), t.danger.blue(), 28)
        )
        fill = background.name(QColor.NameFormat.HexArgb)
        self.notice.setStyleSheet(
            f"QLabel#composerNotice {{ color: {color.name()}; background: {fill}; "
            "border-radius: 8px; padding: 6px 10px; }"
        )
        self.notice.setText(text)
        self.notice.show()

    def reset(self) -> None:
        """Empty the box and the attachments (after a send or when switching threads)."""
        self.completion.close()
        self._setting_text = True
        try:
            self.editor.clear()
        finally:
            self._setting_text = False
        for chip, _source in self._waiting:
            self._drop_chip(chip)
        self._waiting.clear()
        if self._preparing is not None:
            self._drop_chip(self._preparing)
            self._preparing = None
        for path in list(self._attachments):
            self.remove_picture(path)
        self.clear_error()

    def restore(self, body: str, attachments: list[Path]) -> None:
        """Put back a draft or what failed to send, so nothing typed is lost."""
        if not self.editor.toPlainText().strip():
            self._setting_text = True
            try:
                self.editor.setPlainText(body)
            finally:
                self._setting_text = False
            self.editor.moveCursor(QTextCursor.MoveOperation.End)
        self.add_pictures([p for p in attachments if p not in self.draft_attachments])

    def apply_theme(self) -> None:
        t = theme_module.current()
        self.attach_button.setIcon(icon("picture", t.secondary_text))
        self.quick_button.setIcon(icon("compose", t.secondary_text))
        self.send_button.setIcon(icon("send", t.accent))
        base = t.sidebar if not t.dark else QColor("#26282c")
        self._frame.style_surface(base, t.separator, radius=18)
        tint(self.editor, t.text, base)
        self.editor.setAutoFillBackground(False)
        self.editor.viewport().setAutoFillBackground(False)
        self._update_counter()

    # -- text and counter -----------------------------------------------------------------

    def _on_text(self) -> None:
        self._update_counter()
        self._update_send()
        self.clear_error()
        self.changed.emit()
        if not self._setting_text and self.editor.toPlainText().strip():
            self.typed.emit()

    # -- quick replies --------------------------------------------------------------------

    def _fill_quick_menu(self) -> None:
        self.quick_menu.clear()
        replies = self._lookup("")
        if not replies:
            empty = self.quick_menu.addAction("No quick replies yet (add them in Settings)")
            empty.setEnabled(False)
            return
        for reply in replies:
            action = self.quick_menu.addAction(reply.name)
            action.setToolTip(reply.text)
            action.triggered.connect(lambda _checked=False, r=reply: self.insert_quick_reply(r))

    def insert_quick_reply(self, reply: QuickReply) -> None:
        """Put ``reply`` (filled in for this conversation) where the cursor is."""
        self.editor.textCursor().insertText(self._render(reply))
        self.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def _update_counter(self) -> None:
        t = theme_module.current()
        text = self.editor.toPlainText()
        selections: list[QTextEdit.ExtraSelection] = []
        if not text:
            self.counter.setText("")
            self.counter.setToolTip("")
            self.editor.setExtraSelections(selections)
            return
        info = analyze(text)
        label = info.label()
        color = t.secondary_text
        tip = "What Twilio will bill: one segment is one text message."
        if info.too_long:
            label = f"Too long: {info.chars:,}/1,600 characters"
            color = t.danger
        elif info.non_gsm_chars:
            shown = " ".join(info.non_gsm_chars[:8])
            label = f"{label} · {shown} use more space"
            color = t.warning
            tip = (
                "These characters switch the text to UCS-2, which fits 70 characters in a "
                f"segment instead of 160: {shown}. Replace them (for example curly quotes "
                "with straight ones) to send fewer segments."
            )
            fmt = QTextCharFormat()
            highlight = QColor(t.highlight)
            highlight.setAlphaF(0.45)
            fmt.setBackground(highlight)
            fmt.setToolTip("This character makes the text UCS-2 (fewer characters per segment)")
            for start, length in non_gsm_positions(text, utf16=True):
                selection = QTextEdit.ExtraSelection()
                cursor = QTextCursor(self.editor.document())
                cursor.setPosition(start)
                cursor.setPosition(start + length, QTextCursor.MoveMode.KeepAnchor)
                selection.cursor = cursor
                selection.format = fmt
                selections.append(selection)
        self.editor.setExtraSelections(selections)
        self.counter.setText(label)
        self.counter.setToolTip(tip)
        tint(self.counter, color)

    def _update_send(self) -> None:
        text = self.editor.toPlainText()
        has_content = bool(text.strip()) or bool(self._attachments)
        self.send_button.setEnabled(
            self._blocked is None and has_content and len(text) <= 1600 and not self.preparing
        )
        self.send_button.setToolTip(
            "Waiting for the pictures to be ready…" if self.preparing else "Send (Enter)"
        )

    # -- attachments ----------------------------------------------------------------------

    def choose_pictures(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        patterns = " ".join(f"*{suffix}" for suffix in picture_shrink.picture_suffixes())
        files, _ = QFileDialog.getOpenFileNames(
            self, "Attach pictures", "", f"Pictures ({patterns});;All files (*)"
        )
        self.add_pictures([Path(f) for f in files])

    def _picture_folder(self) -> Path:
        if self._picture_dir is None:
            self._picture_dir = Path(tempfile.mkdtemp(prefix="twoway-pictures-"))
        return self._picture_dir

    def _count(self) -> int:
        return len(self._attachments) + len(self._waiting) + (self._preparing is not None)

    def add_pictures(self, paths: list[Path]) -> None:
        """Attach picture files; each is checked (and shrunk) in the background first."""
        for path in paths:
            if path in self.draft_attachments:
                continue
            if not self._queue(path, path.name):
                break
        self._next_picture()

    def add_image(self, image: QImage) -> None:
        """Attach picture data (a pasted screenshot)."""
        if self._queue(image, "Pasted picture"):
            self._next_picture()

    def _queue(self, source: Path | QImage, name: str) -> bool:
        if self._count() >= MAX_MEDIA:
            self.show_error(f"A message can carry at most {MAX_MEDIA} pictures.")
            return False
        chip = AttachmentChip(source if isinstance(source, Path) else Path(name), self._chips)
        chip.removed.connect(lambda _path, c=chip: self._remove_chip(c))
        self._chips_layout.insertWidget(self._chips_layout.count() - 1, chip)
        self._chips.show()
        self._waiting.append((chip, source))
        return True

    def _next_picture(self) -> None:
        if self._preparing is not None or not self._waiting:
            self._update_send()
            return
        chip, source = self._waiting.pop(0)
        self._preparing = chip
        self._update_send()
        folder = self._picture_folder()
        budget = picture_shrink.MAX_MMS_BYTES - sum(self._sizes.values())

        def work() -> ReadyPicture:
            if isinstance(source, QImage):
                return picture_shrink.prepare_image(source, folder, budget)
            return picture_shrink.prepare_file(source, folder, budget)

        def done(ready: ReadyPicture) -> None:
            if self._preparing is not chip:
                return  # the box was emptied meanwhile
            self._preparing = None
            if not chip.dropped:
                if ready.path in self._attachments:
                    self._drop_chip(chip)
                else:
                    chip.path = ready.path
                    chip.set_ready(ready)
                    self._attachments.append(ready.path)
                    self._sizes[ready.path] = ready.size
                    self.changed.emit()
            self._next_picture()

        def failed(exc: BaseException) -> None:
            if self._preparing is not chip:
                return
            self._preparing = None
            if chip.dropped:
                self._next_picture()
                return
            self._drop_chip(chip)
            if isinstance(exc, PictureRefused):
                self.show_error(str(exc))
            else:
                logger.warning("Preparing a picture failed: %s", exc)
                self.show_error(f"The picture could not be attached: {exc}")
            self._next_picture()

        run_in_background(work, done, failed, context=self)

    def _drop_chip(self, chip: AttachmentChip) -> None:
        chip.dropped = True
        chip.hide()
        self._chips_layout.removeWidget(chip)
        chip.deleteLater()
        self._chips.setVisible(self._count() > 0)

    def _remove_chip(self, chip: AttachmentChip) -> None:
        if chip.ready is not None:
            self.remove_picture(chip.ready.path)
            return
        self._waiting = [(c, s) for c, s in self._waiting if c is not chip]
        self._drop_chip(chip)  # a picture getting ready is forgotten when it is
        self._update_send()
        self.changed.emit()

    def remove_picture(self, path: Path) -> None:
        if path in self._attachments:
            self._attachments.remove(path)
            self._sizes.pop(path, None)
        for i in range(self._chips_layout.count()):
            item = self._chips_layout.itemAt(i)
            widget = None if item is None else item.widget()
            ready = widget.ready if isinstance(widget, AttachmentChip) else None
            if isinstance(widget, AttachmentChip) and ready is not None and ready.path == path:
                self._drop_chip(widget)
                break
        self._chips.setVisible(self._count() > 0)
        self._update_send()
        self.changed.emit()

    # -- sending --------------------------------------------------------------------------

    def submit(self) -> None:
        if self._blocked is not None or not self.send_button.isEnabled():
            if self.preparing:
                self.show_error("Wait a moment: a picture is still getting ready.")
            return
        self.sendRequested.emit(self.editor.toPlainText(), list(self._attachments))
