"""How many SMS segments a message costs, for the composer's counter.

Twilio bills per segment, and a single typographic quote or emoji silently switches the
whole message from GSM-7 (160 characters) to UCS-2 (70), so the composer shows the count
live and highlights the characters responsible.  The rules follow GSM 03.38 and what
Twilio and carriers do when they split a long message:

* GSM-7 packs 160 septets in one segment, 153 per segment once split (the rest of each
  segment holds the concatenation header).  Characters of the extension table take two
  septets (an escape and the character), and that pair is never split across segments.
* UCS-2 packs 70 UTF-16 code units in one segment, 67 once split.  A character outside
  the Basic Multilingual Plane (most emoji) takes a surrogate pair, which is never split
  across segments either.

Everything here is pure: the composer calls :func:`analyze` on every keystroke.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from desktop.domain.models import MAX_BODY_CHARS

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "MAX_BODY_CHARS",
    "Encoding",
    "SegmentInfo",
    "analyze",
    "non_gsm_positions",
]


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


#: GSM 03.38 default alphabet, in table order (0x1B, the escape, is not a character).
GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
#: GSM 03.38 extension table: each costs an escape septet plus itself.
GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")

_GSM7_ALL: Final = GSM7_BASIC | GSM7_EXTENSION

#: (units in a lone segment, units per segment once the message is split)
_LIMITS: Final[dict[Encoding, tuple[int, int]]] = {
    Encoding.GSM7: (160, 153),
    Encoding.UCS2: (70, 67),
}


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """What the composer shows under the text box.

    ``units_used`` counts septets for GSM-7 and UTF-16 code units for UCS-2.
    ``remaining`` is how many more units fit before another segment starts; it can be
    less than ``capacity - units_used`` because a two-unit character that would straddle
    a segment boundary moves whole to the next segment, leaving a unit unused.
    """

    encoding: Encoding
    segments: int
    units_used: int
    units_per_segment: int
    capacity: int
    remaining: int
    chars: int
    too_long: bool
    non_gsm_chars: tuple[str, ...]

    def label(self) -> str:
        noun = "segment" if self.segments == 1 else "segments"
        return f"{self.segments} {noun} · {self.encoding.value} · {self.units_used}/{self.capacity}"


def analyze(text: str) -> SegmentInfo:
    """Count the segments ``text`` will be sent as."""
    non_gsm = tuple(dict.fromkeys(ch for ch in text if ch not in _GSM7_ALL))
    encoding = Encoding.UCS2 if non_gsm else Encoding.GSM7
    costs = [_cost(ch, encoding) for ch in text]
    units_used = sum(costs)
    single, split = _LIMITS[encoding]

    if units_used <= single:
        segments = 1 if units_used else 0
        per_segment = single
        filled = units_used
    else:
        segments, filled = _pack(costs, split)
        per_segment = split

    return SegmentInfo(
        encoding=encoding,
        segments=segments,
        units_used=units_used,
        units_per_segment=per_segment,
        capacity=per_segment * max(segments, 1),
        remaining=per_segment - filled,
        chars=len(text),
        too_long=len(text) > MAX_BODY_CHARS,
        non_gsm_chars=non_gsm,
    )


def non_gsm_positions(text: str, *, utf16: bool = False) -> list[tuple[int, int]]:
    """``(start, length)`` of each run of characters that force UCS-2.

    Adjacent offenders form one run, so an emoji with a skin-tone modifier highlights
    as one block.  Positions are Python string indices; pass ``utf16=True`` for
    positions in UTF-16 code units, which is what ``QTextCursor`` and ``QTextLayout``
    count (an emoji earlier in the text shifts them by one).
    """
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for index, ch in enumerate(text):
        if ch not in _GSM7_ALL:
            if start is None:
                start = index
        elif start is not None:
            spans.append((start, index - start))
            start = None
    if start is not None:
        spans.append((start, len(text) - start))
    if not utf16 or not spans:
        return spans
    offsets = [0]  # offsets[i] = UTF-16 code units before text[i]
    for ch in text:
        offsets.append(offsets[-1] + _utf16_units(ch))
    return [(offsets[begin], offsets[begin + length] - offsets[begin]) for begin, length in spans]


def _cost(ch: str, encoding: Encoding) -> int:
    if encoding is Encoding.GSM7:
        return 2 if ch in GSM7_EXTENSION else 1
    return _utf16_units(ch)


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _pack(costs: list[int], per_segment: int) -> tuple[int, int]:
    """Fill segments in order; return (segments, units in the last one).

    A two-unit character that does not fit in what is left of a segment starts the next
    one, as carriers never split an escape sequence or a surrogate pair.
    """
    segments, filled = 1, 0
    for cost in costs:
        if filled + cost > per_segment:
            segments += 1
            filled = cost
        else:
            filled += cost
    return segments, filled
