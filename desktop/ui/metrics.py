"""Sizes and texts shared by the real widgets and the first frame that stands in for them.

Plain Python: importing this costs nothing, so the first frame can lay itself out exactly
like the conversation list it precedes.
"""

from __future__ import annotations

from typing import Final

#: The window's size when it opens, and the sidebar's share of it.
WINDOW_SIZE: Final = (1100, 720)
SIDEBAR_WIDTH: Final = 340

#: A conversation row: avatar diameter, padding, and the gap between avatar and text.
AVATAR: Final = 42
PAD_X: Final = 14
PAD_Y: Final = 11
GAP: Final = 12

#: The sidebar's search row margins (left, top, right, bottom).
SEARCH_MARGINS: Final = (12, 12, 8, 8)

EMPTY_THREAD_TEXT: Final = "Select a conversation on the left, or start a new one with Ctrl+N."
DEMO_TEXT: Final = (
    "<b>Demo — messages are simulated.</b> The customers here are pretend; "
    "nothing is sent to real phones."
)


def initials(name: str) -> str:
    words = [w for w in name.split() if w[:1].isalpha()]
    if not words:
        return ""
    if len(words) == 1:
        return words[0][:1].upper()
    return (words[0][:1] + words[-1][:1]).upper()
