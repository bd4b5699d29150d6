"""Quick replies: saved texts with placeholders, filled in for one conversation.

``{first_name}``, ``{name}``, ``{business}`` and ``{hours}`` are filled from the
conversation and the front-desk setup.  Anything else in braces is left exactly as typed
("{Friday}", "{", "}}") so a template can never fail to render; in the composer a known
placeholder without a value stays visible too, so staff see what to fill in before they
send.  Auto-replies go out unseen, so there a missing value is dropped instead.

Typing ``/`` and a few letters in the composer finds replies by name: see :func:`lookup`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "PLACEHOLDERS",
    "QuickReply",
    "RenderContext",
    "lookup",
    "render",
    "unknown_placeholders",
]

PLACEHOLDERS: Final = ("first_name", "name", "business", "hours")
_PLACEHOLDER_RE: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SPACE_BEFORE_PUNCT_RE: Final = re.compile(r"[ \t]+([,.!?;:])")
_MANY_SPACES_RE: Final = re.compile(r"[ \t]{2,}")


@dataclass(frozen=True, slots=True)
class QuickReply:
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What placeholders are filled with; empty strings are "not known"."""

    name: str = ""
    business: str = ""
    hours: str = ""

    @property
    def first_name(self) -> str:
        parts = self.name.split()
        return parts[0] if parts else ""

    def values(self) -> Mapping[str, str]:
        return {
            "first_name": self.first_name,
            "name": self.name.strip(),
            "business": self.business.strip(),
            "hours": self.hours.strip(),
        }


def render(template: str, context: RenderContext, *, keep_missing: bool = True) -> str:
    """``template`` with its placeholders filled.

    Unknown placeholders always stay as typed.  A known one without a value stays visible
    when ``keep_missing`` (the composer) and is dropped otherwise (auto-replies), with the
    space it leaves tidied ("Hi {first_name}, …" → "Hi, …").
    """
    values = context.values()

    def fill(match: re.Match[str]) -> str:
        key = match[1]
        if key not in values:
            return match[0]
        value = values[key]
        if not value and keep_missing:
            return match[0]
        return value

    text = _PLACEHOLDER_RE.sub(fill, template)
    if not keep_missing:
        text = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", text)
        text = "\n".join(_MANY_SPACES_RE.sub(" ", line).strip() for line in text.split("\n"))
    return text


def unknown_placeholders(template: str) -> list[str]:
    """Names in braces that are not placeholders ("firstname"), in order, once each."""
    seen = dict.fromkeys(m[1] for m in _PLACEHOLDER_RE.finditer(template))
    return [name for name in seen if name not in PLACEHOLDERS]


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _is_subsequence(needle: str, haystack: str) -> bool:
    position = 0
    for char in needle:
        position = haystack.find(char, position)
        if position < 0:
            return False
        position += 1
    return True


def _score(query: str, reply: QuickReply) -> int | None:
    """Lower is better; None when ``reply`` does not match at all."""
    name = _fold(reply.name)
    compact = name.replace(" ", "")
    if name == query:
        return 0
    if name.startswith(query) or compact.startswith(query.replace(" ", "")):
        return 1
    if any(word.startswith(query) for word in re.split(r"[\s\-_/]+", name)):
        return 2
    if query in name:
        return 3
    if _is_subsequence(query.replace(" ", ""), compact):
        return 4
    if query in _fold(reply.text):
        return 5
    return None


def lookup(query: str, replies: Iterable[QuickReply], limit: int = 8) -> list[QuickReply]:
    """Replies matching what was typed after ``/``, best first.

    Order: exact name, name prefix, a word of the name starting with it, the name
    containing it, its letters in order in the name ("apt" finds "appointment"), then
    the reply's text containing it.  Ties keep the setup's order.  An empty query lists
    every reply in order.
    """
    every: Sequence[QuickReply] = list(replies)
    wanted = _fold(query.removeprefix("/"))
    if not wanted:
        return list(every[:limit])
    scored = [
        (score, index, reply)
        for index, reply in enumerate(every)
        if (score := _score(wanted, reply)) is not None
    ]
    scored.sort(key=lambda item: (item[0], item[1]))
    return [reply for _, _, reply in scored[:limit]]
