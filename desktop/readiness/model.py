"""The readiness report: checks with a verdict, plain words and what to do next.

The check ids and the JSON shape are part of the contract (DESIGN.md)::

    {"ready": bool, "checks": [{"id", "ok", "title", "detail", "fix"}]}

``ok`` is true, false, or null where a check does not apply (``us_a2p_10dlc`` for a
toll-free number).  ``ready`` is true when no check is false.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

CREDENTIALS: Final = "credentials"
NUMBER: Final = "number"
INBOUND_ROUTE: Final = "inbound_route"
US_A2P_10DLC: Final = "us_a2p_10dlc"
TOLL_FREE_VERIFICATION: Final = "toll_free_verification"
WEBHOOK_REACHABLE: Final = "webhook_reachable"
RECENT_FAILURES: Final = "recent_failures"

#: Every check, in the order they are shown.
CHECK_IDS: Final = (
    CREDENTIALS,
    NUMBER,
    INBOUND_ROUTE,
    US_A2P_10DLC,
    TOLL_FREE_VERIFICATION,
    WEBHOOK_REACHABLE,
    RECENT_FAILURES,
)

TITLES: Final[dict[str, str]] = {
    CREDENTIALS: "Twilio sign-in",
    NUMBER: "Your number",
    INBOUND_ROUTE: "Where incoming texts go",
    US_A2P_10DLC: "US business texting registration (A2P 10DLC)",
    TOLL_FREE_VERIFICATION: "Toll-free verification",
    WEBHOOK_REACHABLE: "Twilio can reach Twoway",
    RECENT_FAILURES: "Recent failed texts",
}

NOTHING_TO_DO: Final = "Nothing to do."
#: The three-character marks of the text report (plain ASCII for any console).
_MARKS: Final = {True: "[ok]", False: "[!!]", None: "[--]"}


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    ok: bool | None
    title: str
    detail: str
    fix: str
    #: Not applicable only because an earlier check failed (shown as "not checked").
    skipped: bool = False

    @property
    def state_note(self) -> str:
        """ " (does not apply)" / " (not checked)" after the title of a null check."""
        if self.ok is not None:
            return ""
        return " (not checked)" if self.skipped else " (does not apply)"

    @classmethod
    def not_checked(cls, check_id: str, until: str) -> Check:
        return cls(
            check_id,
            None,
            TITLES[check_id],
            f"Not checked until {until}.",
            "Fix the checks above.",
            True,
        )

    @classmethod
    def passed(cls, check_id: str, detail: str, fix: str = NOTHING_TO_DO) -> Check:
        return cls(check_id, True, TITLES[check_id], detail, fix)

    @classmethod
    def failed(cls, check_id: str, detail: str, fix: str) -> Check:
        return cls(check_id, False, TITLES[check_id], detail, fix)

    @classmethod
    def not_applicable(cls, check_id: str, detail: str, fix: str = NOTHING_TO_DO) -> Check:
        return cls(check_id, None, TITLES[check_id], detail, fix)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ok": self.ok,
            "title": self.title,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True, slots=True)
class NumberSection:
    """The number-specific checks for another of the account's numbers (the window only)."""

    phone_number: str
    label: str
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(c.ok is not False for c in self.checks)


@dataclass(frozen=True, slots=True)
class Report:
    checks: tuple[Check, ...]
    #: The number the checks are about ("" when none could be chosen).
    phone_number: str = ""
    #: The account's other texting numbers, for the window's panel (not in the JSON).
    other_numbers: tuple[NumberSection, ...] = field(default=())

    @property
    def ready(self) -> bool:
        return all(check.ok is not False for check in self.checks)

    @property
    def blocking(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.ok is False)

    def check(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)

    def to_json(self) -> dict[str, Any]:
        return {"ready": self.ready, "checks": [c.to_json() for c in self.checks]}

    def json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)

    def text(self) -> str:
        """The doctor's plain-text report."""
        about = f" ({self.phone_number})" if self.phone_number else ""
        lines = [f"Can I text yet?{about}", ""]
        lines.extend(_check_lines(self.checks))
        lines.append("")
        lines.append(summary(self))
        return "\n".join(lines) + "\n"


def _check_lines(checks: Iterable[Check]) -> list[str]:
    lines: list[str] = []
    for check in checks:
        lines.append(f"{_MARKS[check.ok]} {check.title}{check.state_note}")
        lines.extend(_wrapped(check.detail))
        if check.ok is not True and not check.skipped and check.fix != NOTHING_TO_DO:
            lines.extend(_wrapped(f"What to do: {check.fix}"))
    return lines


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(
        text, width=96, initial_indent="     ", subsequent_indent="     ", break_on_hyphens=False
    )


def summary(report: Report) -> str:
    """One sentence for the end of the report and the top of the window's panel."""
    blocking: Sequence[Check] = report.blocking
    if not blocking:
        return "Ready: Twoway can send and receive texts."
    if len(blocking) == 1:
        return f"Not ready: “{blocking[0].title}” needs attention."
    names = ", ".join(f"“{c.title}”" for c in blocking)
    return f"Not ready: {len(blocking)} things need attention: {names}."
