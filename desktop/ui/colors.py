"""The colours of the custom-painted parts, light and dark, as plain data.

Kept apart from :mod:`desktop.ui.theme` (which follows the OS colour scheme and needs
Qt's namespace enums) so that the first frame can paint in the right colours without
paying for those enums before the window is on screen.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from PySide6.QtGui import QColor

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


def light() -> Theme:
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


def dark() -> Theme:
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
