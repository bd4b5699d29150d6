"""Segment counting as Twilio bills it, private to the simulator.

The app has its own calculator; this one is kept separate on purpose so that a bug in one
is caught by the other instead of being mirrored.
"""

from __future__ import annotations

from typing import Final

_GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: Characters that GSM-7 sends as an escape plus a code: each costs two septets.
_GSM7_EXTENSION: Final = frozenset("^{}\\[~]|€\f")

_GSM7_SINGLE, _GSM7_MULTI = 160, 153
_UCS2_SINGLE, _UCS2_MULTI = 70, 67


def is_gsm7(body: str) -> bool:
    return all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in body)


def count_segments(body: str) -> int:
    """Number of SMS segments ``body`` is split into (at least 1, even when empty)."""
    if is_gsm7(body):
        units = sum(2 if ch in _GSM7_EXTENSION else 1 for ch in body)
        single, multi = _GSM7_SINGLE, _GSM7_MULTI
    else:
        # UCS-2 as Twilio counts it: UTF-16 code units, so an emoji costs two.
        units = len(body.encode("utf-16-le")) // 2
        single, multi = _UCS2_SINGLE, _UCS2_MULTI
    if units <= single:
        return 1
    return -(-units // multi)
