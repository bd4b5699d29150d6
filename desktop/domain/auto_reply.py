"""Which automatic answer, if any, a customer's text gets (answered as TwiML).

Rules, in order:

1. Never an answer to Twilio's own keywords (STOP, START, HELP and their variants:
   Twilio answers those itself), nor to a customer who opted out (Twilio would refuse
   the reply anyway, with 21610).
2. A keyword rule whose word appears in the text as a whole word, ignoring case
   ("HOURS" matches "what are your hours?" but not "ourshourses"); the first matching
   rule wins.  Keyword answers are sent every time they are asked for.
3. Outside business hours, the away message — at most once per customer per
   ``once_per_hours`` (0: every text).

I/O-free: the caller supplies the opted-out flag and when the last away message went.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from desktop.domain import optout
from desktop.domain.hours import BusinessHours

__all__ = [
    "AutoReplies",
    "AwayMessage",
    "Decision",
    "KeywordRule",
    "ReplyKind",
    "decide",
    "keyword_matches",
    "reserved_keyword",
]

DEFAULT_ONCE_PER_HOURS: Final = 12.0


class ReplyKind(StrEnum):
    AWAY = "away"
    KEYWORD = "keyword"


@dataclass(frozen=True, slots=True)
class AwayMessage:
    enabled: bool = False
    text: str = ""
    once_per_hours: float = DEFAULT_ONCE_PER_HOURS


@dataclass(frozen=True, slots=True)
class KeywordRule:
    word: str
    text: str


@dataclass(frozen=True, slots=True)
class AutoReplies:
    away: AwayMessage = AwayMessage()
    keywords: tuple[KeywordRule, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    kind: ReplyKind
    #: The template, placeholders not yet filled (see :mod:`desktop.domain.quick_replies`).
    template: str
    #: The keyword rule's word, for the log.
    word: str = ""


def keyword_matches(word: str, body: str) -> bool:
    """``word`` (or phrase) appears in ``body`` on its own, in any case."""
    words = word.split()
    if not words:
        return False
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)"
    return re.search(pattern, body, re.IGNORECASE) is not None


def decide(
    body: str,
    *,
    rules: AutoReplies,
    hours: BusinessHours,
    now: datetime,
    opted_out: bool,
    last_away_at: datetime | None,
) -> Decision | None:
    """What to answer ``body`` with right now, or None for nothing."""
    if opted_out or optout.classify(body) is not optout.Keyword.NONE:
        return None
    for rule in rules.keywords:
        if rule.text.strip() and keyword_matches(rule.word, body):
            return Decision(ReplyKind.KEYWORD, rule.text, rule.word)
    away = rules.away
    if not away.enabled or not away.text.strip() or hours.is_open(now):
        return None
    window = timedelta(hours=away.once_per_hours)
    if last_away_at is not None and window and now - last_away_at < window:
        return None
    return Decision(ReplyKind.AWAY, away.text)


def reserved_keyword(word: str) -> bool:
    """Words Twilio answers itself cannot be keyword rules."""
    return optout.classify(word) is not optout.Keyword.NONE
