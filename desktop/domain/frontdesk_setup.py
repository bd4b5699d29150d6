"""The front-desk setup: quick replies, business hours and auto-replies, as one value.

It is what ``config export``/``config import`` carry between laptops (no secrets, nothing
per-laptop), in the JSON shape fixed by DESIGN.md::

    {"quick_replies": [{"name", "text"}],
     "business_hours": {"time_zone": "IANA name",
                        "weekly": {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], … "sun": []},
                        "closed_dates": ["YYYY-MM-DD"]},
     "auto_replies": {"away": {"enabled", "text", "once_per_hours"},
                      "keywords": [{"word", "text"}]}}

Reading is all or nothing: the first problem refuses the whole file with a sentence that
names the key and what is wrong with it.  Keys this version does not know (written by a
newer one) are kept and written back on export.  A section left out takes its default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import msgspec

from desktop.domain.auto_reply import (
    DEFAULT_ONCE_PER_HOURS,
    AutoReplies,
    AwayMessage,
    KeywordRule,
    reserved_keyword,
)
from desktop.domain.hours import DAY_KEYS, BusinessHours, Interval, InvalidHours, zone_for
from desktop.domain.quick_replies import PLACEHOLDERS, QuickReply, unknown_placeholders

__all__ = [
    "FrontDeskSetup",
    "SetupFileError",
    "checked",
    "default_setup",
    "dump_setup",
    "load_setup",
    "parse_setup",
    "setup_to_json",
]

MAX_TEXT_CHARS: Final = 1600
MAX_NAME_CHARS: Final = 80
MAX_ONCE_PER_HOURS: Final = 24 * 366
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
DEFAULT_AWAY_TEXT: Final = (
    "Thanks for your text! We're closed right now and will answer when we open. Our hours: {hours}."
)

Path = tuple[str, ...]


class SetupFileError(ValueError):
    """A setup file that cannot be used; ``str()`` names the key and the problem."""


@dataclass(frozen=True, slots=True)
class FrontDeskSetup:
    """The whole front-desk setup.  Immutable: change it with :func:`dataclasses.replace`."""

    quick_replies: tuple[QuickReply, ...] = ()
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    auto_replies: AutoReplies = field(default_factory=AutoReplies)
    #: Keys a newer version wrote that this one does not know, per object: (path, JSON
    #: text of those keys).  List items are addressed by name/word, not position.
    extras: tuple[tuple[Path, str], ...] = field(default=(), compare=False)

    def extra_at(self, path: Path) -> dict[str, Any]:
        for where, text in self.extras:
            if where == path:
                loaded: dict[str, Any] = json.loads(text)
                return loaded
        return {}


def default_setup(time_zone: str = "UTC") -> FrontDeskSetup:
    """What a new install starts with: Monday to Friday 9 to 5, nothing automatic."""
    nine_to_five = (Interval.parse("09:00", "17:00"),)
    return FrontDeskSetup(
        business_hours=BusinessHours(time_zone, (nine_to_five,) * 5 + ((), ())),
        auto_replies=AutoReplies(AwayMessage(False, DEFAULT_AWAY_TEXT, DEFAULT_ONCE_PER_HOURS)),
    )


# -- the file's shape, for msgspec ----------------------------------------------------------


class _QuickReply(msgspec.Struct):
    name: str
    text: str


class _Weekly(msgspec.Struct, forbid_unknown_fields=True):
    mon: list[tuple[str, str]] = msgspec.field(default_factory=list)
    tue: list[tuple[str, str]] = msgspec.field(default_factory=list)
    wed: list[tuple[str, str]] = msgspec.field(default_factory=list)
    thu: list[tuple[str, str]] = msgspec.field(default_factory=list)
    fri: list[tuple[str, str]] = msgspec.field(default_factory=list)
    sat: list[tuple[str, str]] = msgspec.field(default_factory=list)
    sun: list[tuple[str, str]] = msgspec.field(default_factory=list)


class _Hours(msgspec.Struct):
    time_zone: str
    weekly: _Weekly = msgspec.field(default_factory=_Weekly)
    closed_dates: list[str] = msgspec.field(default_factory=list)


class _Away(msgspec.Struct):
    enabled: bool = False
    text: str = ""
    once_per_hours: float = DEFAULT_ONCE_PER_HOURS


class _Keyword(msgspec.Struct):
    word: str
    text: str


class _AutoReplies(msgspec.Struct):
    away: _Away | None = None
    keywords: list[_Keyword] | None = None


class _Setup(msgspec.Struct):
    quick_replies: list[_QuickReply] | None = None
    business_hours: _Hours | None = None
    auto_replies: _AutoReplies | None = None


_KNOWN: Final[dict[Path, frozenset[str]]] = {
    (): frozenset({"quick_replies", "business_hours", "auto_replies"}),
    ("business_hours",): frozenset({"time_zone", "weekly", "closed_dates"}),
    ("auto_replies",): frozenset({"away", "keywords"}),
    ("auto_replies", "away"): frozenset({"enabled", "text", "once_per_hours"}),
}
_ITEM_KEYS: Final = {
    "quick_replies": frozenset({"name", "text"}),
    "keywords": frozenset({"word", "text"}),
}


# -- reading --------------------------------------------------------------------------------


def load_setup(text: str | bytes, defaults: FrontDeskSetup | None = None) -> FrontDeskSetup:
    """Parse a setup file's text; raises :class:`SetupFileError`."""
    try:
        data = json.loads(text)
    except UnicodeDecodeError:
        raise SetupFileError("The file is not text (expected JSON in UTF-8).") from None
    except json.JSONDecodeError as exc:
        raise SetupFileError(
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    return parse_setup(data, defaults)


def parse_setup(data: object, defaults: FrontDeskSetup | None = None) -> FrontDeskSetup:
    """Check and convert decoded JSON; sections left out come from ``defaults``."""
    base = defaults or default_setup()
    if not isinstance(data, dict):
        raise SetupFileError("The file must hold one JSON object ({…}) at the top.")
    try:
        wire = msgspec.convert(data, _Setup, strict=True)
    except msgspec.ValidationError as exc:
        raise SetupFileError(_plain_validation_error(str(exc))) from None
    quick = base.quick_replies if wire.quick_replies is None else _quick(wire.quick_replies)
    hours = base.business_hours if wire.business_hours is None else _hours(wire.business_hours)
    auto = base.auto_replies
    if wire.auto_replies is not None:
        away = auto.away if wire.auto_replies.away is None else _away(wire.auto_replies.away)
        keywords = (
            auto.keywords
            if wire.auto_replies.keywords is None
            else _keywords(wire.auto_replies.keywords)
        )
        auto = AutoReplies(away, keywords)
    return FrontDeskSetup(quick, hours, auto, _collect_extras(data))


def _quick(items: list[_QuickReply]) -> tuple[QuickReply, ...]:
    seen: set[str] = set()
    replies: list[QuickReply] = []
    for index, item in enumerate(items):
        where = f"quick_replies[{index}]"
        name = " ".join(item.name.split())
        if not name:
            raise SetupFileError(f"{where}.name is empty; give each quick reply a name.")
        if len(name) > MAX_NAME_CHARS:
            raise SetupFileError(f"{where}.name is longer than {MAX_NAME_CHARS} characters.")
        if name.casefold() in seen:
            raise SetupFileError(f"{where}.name: there is already a quick reply called {name!r}.")
        seen.add(name.casefold())
        _check_text(f"{where}.text", item.text, placeholders=False)
        replies.append(QuickReply(name, item.text))
    return tuple(replies)


def _hours(wire: _Hours) -> BusinessHours:
    try:
        zone_for(wire.time_zone)
    except InvalidHours as exc:
        raise SetupFileError(f"business_hours.time_zone: {exc}") from None
    weekly: list[tuple[Interval, ...]] = []
    for key in DAY_KEYS:
        day: list[Interval] = []
        for index, (start, end) in enumerate(getattr(wire.weekly, key)):
            try:
                day.append(Interval.parse(start, end))
            except InvalidHours as exc:
                raise SetupFileError(f"business_hours.weekly.{key}[{index}]: {exc}") from None
        weekly.append(tuple(day))
    closed: set[date] = set()
    for index, text in enumerate(wire.closed_dates):
        try:
            if not _DATE_RE.fullmatch(text):
                raise ValueError
            closed.add(date.fromisoformat(text))
        except ValueError:
            raise SetupFileError(
                f"business_hours.closed_dates[{index}]: {text!r} is not a date; "
                "write it like 2026-12-25."
            ) from None
    try:
        return BusinessHours(wire.time_zone, tuple(weekly), frozenset(closed))
    except InvalidHours as exc:
        raise SetupFileError(f"business_hours.weekly: {exc}") from None


def _away(wire: _Away) -> AwayMessage:
    where = "auto_replies.away"
    if not 0 <= wire.once_per_hours <= MAX_ONCE_PER_HOURS:
        raise SetupFileError(
            f"{where}.once_per_hours must be between 0 (every text) and {MAX_ONCE_PER_HOURS}."
        )
    if wire.enabled and not wire.text.strip():
        raise SetupFileError(f"{where}.text is empty although the away message is enabled.")
    _check_text(f"{where}.text", wire.text, placeholders=True, may_be_empty=True)
    return AwayMessage(wire.enabled, wire.text, float(wire.once_per_hours))


def _keywords(items: list[_Keyword]) -> tuple[KeywordRule, ...]:
    seen: set[str] = set()
    rules: list[KeywordRule] = []
    for index, item in enumerate(items):
        where = f"auto_replies.keywords[{index}]"
        word = " ".join(item.word.split())
        if not word:
            raise SetupFileError(f"{where}.word is empty.")
        if not re.search(r"\w", word):
            raise SetupFileError(f"{where}.word {word!r} has no letters or digits.")
        if reserved_keyword(word):
            raise SetupFileError(
                f"{where}.word {word!r} is one of Twilio's own keywords (STOP, START, HELP…); "
                "Twilio answers it itself."
            )
        if word.casefold() in seen:
            raise SetupFileError(f"{where}.word {word!r} has a rule already.")
        seen.add(word.casefold())
        _check_text(f"{where}.text", item.text, placeholders=True)
        rules.append(KeywordRule(word, item.text))
    return tuple(rules)


def _check_text(where: str, text: str, *, placeholders: bool, may_be_empty: bool = False) -> None:
    if not text.strip() and not may_be_empty:
        raise SetupFileError(f"{where} is empty.")
    if len(text) > MAX_TEXT_CHARS:
        raise SetupFileError(
            f"{where} is longer than the {MAX_TEXT_CHARS} characters a text holds."
        )
    if placeholders:
        # Auto-replies go out unseen: a misspelt placeholder would reach the customer.
        unknown = unknown_placeholders(text)
        if unknown:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise SetupFileError(
                f"{where} uses {{{unknown[0]}}}, which is not a placeholder; use {known}."
            )


def _collect_extras(data: Mapping[str, Any]) -> tuple[tuple[Path, str], ...]:
    found: list[tuple[Path, str]] = []

    def keep(path: Path, obj: object, known: frozenset[str]) -> None:
        if isinstance(obj, dict):
            unknown = {k: v for k, v in obj.items() if k not in known}
            if unknown:
                found.append((path, json.dumps(unknown, sort_keys=True)))

    for path, known in _KNOWN.items():
        obj: object = data
        for key in path:
            obj = obj.get(key) if isinstance(obj, dict) else None
        keep(path, obj, known)
    for item in data.get("quick_replies") or ():
        keep(
            ("quick_replies", " ".join(item["name"].split()).casefold()),
            item,
            _ITEM_KEYS["quick_replies"],
        )
    for item in (data.get("auto_replies") or {}).get("keywords") or ():
        keep(
            ("auto_replies", "keywords", " ".join(item["word"].split()).casefold()),
            item,
            _ITEM_KEYS["keywords"],
        )
    return tuple(found)


_MSGSPEC_RE: Final = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$")
_TYPE_WORDS: Final = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "array": "a list",
    "object": "an object ({…})",
}


def _plain_validation_error(message: str) -> str:
    """msgspec's "Expected `str`, got `int` - at `$.quick_replies[0].name`" in plain words."""
    match = _MSGSPEC_RE.match(message)
    assert match is not None
    what, path = match["what"], (match["path"] or "").lstrip(".")
    where = path or "The file"

    def word(name: str) -> str:
        return _TYPE_WORDS.get(name, name)

    expected = re.match(r"Expected `([^`]+)`(?: of length (\d+))?, got `?([^`,]+)`?", what)
    if expected:
        want, length, got = expected.groups()
        if length:
            return f'{where}: expected a pair like ["08:00", "17:00"], found {got} item(s).'
        want_words = " or ".join(word(w.strip()) for w in want.split("|"))
        return f"{where}: expected {want_words}, found {word(got.strip())}."
    missing = re.match(r"Object missing required field `([^`]+)`", what)
    if missing:
        return f'{where}: the key "{missing[1]}" is missing.'
    unknown = re.match(r"Object contains unknown field `([^`]+)`", what)
    if unknown:
        if path.endswith("weekly"):
            return (
                f'{where}: "{unknown[1]}" is not a weekday; use mon, tue, wed, thu, fri, sat, sun.'
            )
        return f'{where}: "{unknown[1]}" is not a key Twoway knows here.'
    return f"{where}: {what}"


# -- writing --------------------------------------------------------------------------------


def setup_to_json(setup: FrontDeskSetup) -> dict[str, Any]:
    """The value in the file's shape, with kept unknown keys merged back in."""
    hours = setup.business_hours
    away = setup.auto_replies.away
    once: float | int = away.once_per_hours
    if float(once).is_integer():
        once = int(once)
    data: dict[str, Any] = {
        "quick_replies": [
            {**setup.extra_at(("quick_replies", r.name.casefold())), "name": r.name, "text": r.text}
            for r in setup.quick_replies
        ],
        "business_hours": {
            **setup.extra_at(("business_hours",)),
            "time_zone": hours.time_zone,
            "weekly": {
                key: [list(i.as_pair()) for i in hours.weekly[index]]
                for index, key in enumerate(DAY_KEYS)
            },
            "closed_dates": sorted(d.isoformat() for d in hours.closed_dates),
        },
        "auto_replies": {
            **setup.extra_at(("auto_replies",)),
            "away": {
                **setup.extra_at(("auto_replies", "away")),
                "enabled": away.enabled,
                "text": away.text,
                "once_per_hours": once,
            },
            "keywords": [
                {
                    **setup.extra_at(("auto_replies", "keywords", k.word.casefold())),
                    "word": k.word,
                    "text": k.text,
                }
                for k in setup.auto_replies.keywords
            ],
        },
    }
    return {**setup.extra_at(()), **data}


def dump_setup(setup: FrontDeskSetup) -> str:
    return json.dumps(setup_to_json(setup), indent=2, ensure_ascii=False) + "\n"


def checked(setup: FrontDeskSetup) -> FrontDeskSetup:
    """``setup`` checked exactly as a file would be (for values built in code, such as an
    edit in Settings); raises :class:`SetupFileError`."""
    return parse_setup(setup_to_json(setup), setup)
