"""Colours for the custom-painted parts (bubbles, badges, list rows), light and dark.

Qt's own widgets follow the palette; the delegates paint with these colours, derived
once per colour-scheme change, so painting never computes colours per row.  When the
OS says "dark" but the platform theme left a light palette (some Linux desktops), a dark
palette is applied so the window is not half light and half dark.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from desktop.ui.colors import AVATAR_COLORS, Theme
from desktop.ui.colors import dark as _dark
from desktop.ui.colors import light as _light

__all__ = ["AVATAR_COLORS", "Theme", "ThemeWatcher", "current", "wants_dark", "watcher"]

logger = logging.getLogger(__name__)


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
