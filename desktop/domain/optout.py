"""Twilio's default opt-out keywords, so the app can tell staff what a reply did.

Twilio acts on these words itself (it blocks further texts after STOP and answers HELP),
and still forwards the message to our webhook.  Recognising them lets the thread say
"This customer has opted out" before staff type a reply that would fail with 21610.
Only a message that is the keyword alone counts: "please stop texting me" does not
opt out at Twilio, so it must not look as if it did here.

A Messaging Service with Advanced Opt-Out can add its own keywords ("ARRET", "BAJA"); its
webhooks then say which kind matched in ``OptOutType``, and that verdict wins
(:func:`keyword_for`): Twilio acted on it whatever the words were.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Final

__all__ = ["HELP_WORDS", "OPT_IN_WORDS", "OPT_OUT_WORDS", "Keyword", "classify", "keyword_for"]


class Keyword(StrEnum):
    OPT_OUT = "opt-out"
    OPT_IN = "opt-in"
    HELP = "help"
    NONE = "none"


OPT_OUT_WORDS: Final = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
#: "YES" is an everyday answer too; it only changes anything for someone who opted out.
OPT_IN_WORDS: Final = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS: Final = frozenset({"HELP", "INFO"})

_WORDS: Final[dict[str, Keyword]] = {
    **dict.fromkeys(OPT_OUT_WORDS, Keyword.OPT_OUT),
    **dict.fromkeys(OPT_IN_WORDS, Keyword.OPT_IN),
    **dict.fromkeys(HELP_WORDS, Keyword.HELP),
}


def classify(body: str) -> Keyword:
    """Which of Twilio's keywords ``body`` is, ignoring case, surrounding whitespace and
    trailing punctuation ("Stop!", "stop."); :attr:`Keyword.NONE` for anything else."""
    word = body.strip()
    while word and unicodedata.category(word[-1]).startswith("P"):
        word = word[:-1].rstrip()
    # ASCII only: str.upper() would also turn a Turkish "ı" into "I".
    if not word.isascii() or any(ch.isspace() for ch in word):
        return Keyword.NONE
    return _WORDS.get(word.upper(), Keyword.NONE)


_OPT_OUT_TYPES: Final[dict[str, Keyword]] = {
    "STOP": Keyword.OPT_OUT,
    "START": Keyword.OPT_IN,
    "HELP": Keyword.HELP,
}


def keyword_for(body: str, opt_out_type: str = "") -> Keyword:
    """What the text did at Twilio: Advanced Opt-Out's ``OptOutType`` when the webhook
    carries one (custom keywords included), else :func:`classify` of the body."""
    verdict = _OPT_OUT_TYPES.get(opt_out_type.strip().upper())
    return verdict if verdict is not None else classify(body)
