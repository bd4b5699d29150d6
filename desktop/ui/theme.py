"""Colours for the custom-painted parts (bubbles, badges, list rows), light and dark.

Qt's own widgets follow the palette; the delegates paint with these colours, derived
once per colour-scheme change, so painting never computes colours per row.  When the
OS says "dark" but the platform theme left a light palette (some Linux desktops), a dark
palette is applied so the window is not half light and half dark.
"""

from __future__ import annotations

import logging
from typing import Final, NamedTuple

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

logger = logging.getLogger(__name__)

AVATAR_COLORS: Final = (
    "#e0604f",
    "#e08a2e",
    "#c7a21a",
    "#4fa35c",
    "#2e9c9c",
    "#3b82d6",
    "#6c63d9",
    "#b259c9",
    "#d4528a",
    "#7a8590",
)


class Theme(NamedTuple):
    dark: bool
    window: QColor
    sidebar: QColor
    thread_background: QColor
    text: QColor
    secondary_text: QColor
    outgoing_bubble: QColor
    outgoing_text: QColor
    outgoing_secondary: QColor
    incoming_bubble: QColor
    incoming_text: QColor
    incoming_secondary: QColor
    accent: QColor
    accent_text: QColor
    selection: QColor
    hover: QColor
    separator: QColor
    danger: QColor
    warning: QColor
    success: QColor
    highlight: QColor
    placeholder: QColor
    banner: QColor
    banner_text: QColor

    def avatar_color(self, key: str) -> QColor:
        # A stable, cheap hash (Python's str hash changes between runs).
        value = 0
        for ch in key:
            value = (value * 31 + ord(ch)) & 0xFFFFFFFF
        return QColor(AVATAR_COLORS[value % len(AVATAR_COLORS)])


def _light() -> Theme:
    return Theme(
        dark=False,
        window=QColor("#f4f5f7"),
        sidebar=QColor("#ffffff"),
        thread_background=QColor("#f4f5f7"),
        text=QColor("#16181d"),
        secondary_text=QColor("#636973"),
        outgoing_bubble=QColor("#1f6fe5"),
        outgoing_text=QColor("#ffffff"),
        outgoing_secondary=QColor("#d7e5ff"),
        incoming_bubble=QColor("#ffffff"),
        incoming_text=QColor("#16181d"),
        incoming_secondary=QColor("#6b717b"),
        accent=QColor("#1f6fe5"),
        accent_text=QColor("#ffffff"),
        selection=QColor("#e2ecfd"),
        hover=QColor("#f1f4f9"),
        separator=QColor("#e3e6eb"),
        danger=QColor("#c9302c"),
        warning=QColor("#b26a00"),
        success=QColor("#1e8a4c"),
        highlight=QColor("#f5b400"),
        placeholder=QColor("#e8ebf0"),
        banner=QColor("#fff4d6"),
        banner_text=QColor("#5c4300"),
    )


def _dark() -> Theme:
    return Theme(
        dark=True,
        window=QColor("#18191c"),
        sidebar=QColor("#202124"),
        thread_background=QColor("#18191c"),
        text=QColor("#eceef1"),
        secondary_text=QColor("#9aa0a8"),
        outgoing_bubble=QColor("#2f74e0"),
        outgoing_text=QColor("#ffffff"),
        outgoing_secondary=QColor("#c9dbfb"),
        incoming_bubble=QColor("#2b2d31"),
        incoming_text=QColor("#eceef1"),
        incoming_secondary=QColor("#a2a7ae"),
        accent=QColor("#4a8cf0"),
        accent_text=QColor("#ffffff"),
        selection=QColor("#2a3a55"),
        hover=QColor("#292b2f"),
        separator=QColor("#34363b"),
        danger=QColor("#ff6b61"),
        warning=QColor("#f0b54a"),
        success=QColor("#4cc37a"),
        highlight=QColor("#f5c542"),
        placeholder=QColor("#2b2d31"),
        banner=QColor("#3d3418"),
        banner_text=QColor("#f6e3a8"),
    )


def wants_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def _dark_palette() -> QPalette:
    t = _dark()
    p = QPalette()
    role = QPalette.ColorRole
    for r, c in (
        (role.Window, t.window),
        (role.WindowText, t.text),
        (role.Base, QColor("#1d1e21")),
        (role.AlternateBase, t.sidebar),
        (role.ToolTipBase, QColor("#2b2d31")),
        (role.ToolTipText, t.text),
        (role.PlaceholderText, t.secondary_text),
        (role.Text, t.text),
        (role.Button, QColor("#2b2d31")),
        (role.ButtonText, t.text),
        (role.BrightText, QColor("#ffffff")),
        (role.Highlight, t.accent),
        (role.HighlightedText, QColor("#ffffff")),
        (role.Link, t.accent),
        (role.Mid, t.separator),
        (role.Midlight, QColor("#303237")),
        (role.Dark, QColor("#101113")),
        (role.Shadow, QColor("#000000")),
    ):
        p.setColor(r, c)
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor("#6c7078"))
    return p


class ThemeWatcher(QObject):
    """Holds the current :class:`Theme`; follows the OS colour scheme.

    Signals:
        changed(Theme): the scheme changed; repaint custom-drawn parts.
    """

    changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._light_palette: QPalette | None = None
        self._forced: bool | None = None
        self.theme = self._compute()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme)

    def force(self, dark: bool | None) -> None:
        """Use dark (True) or light (False) whatever the OS says; None follows the OS again.

        For screenshots and tests: platforms without a colour-scheme notion (offscreen)
        never report dark."""
        self._forced = dark
        self.theme = self._compute()
        self.changed.emit(self.theme)

    def _compute(self) -> Theme:
        dark = wants_dark() if self._forced is None else self._forced
        app = QApplication.instance()
        if isinstance(app, QApplication):
            palette_dark = app.palette().color(QPalette.ColorRole.Window).lightness() < 128
            if dark and not palette_dark:
                self._light_palette = app.palette()
                app.setStyle(QStyleFactory.create("Fusion"))
                app.setPalette(_dark_palette())
            elif not dark and palette_dark and self._light_palette is not None:
                app.setPalette(self._light_palette)
        return _dark() if dark else _light()

    @Slot(Qt.ColorScheme)
    def _on_scheme(self, _scheme: Qt.ColorScheme) -> None:
        self.theme = self._compute()
        self.changed.emit(self.theme)


_watcher: ThemeWatcher | None = None


def watcher() -> ThemeWatcher:
    global _watcher
    if _watcher is None:
        _watcher = ThemeWatcher()
    return _watcher


def current() -> Theme:
    return watcher().theme
