"""The ``recent_failures`` check: the last days' failed sends grouped by error code.

Read from this computer's database (read-only, safe while the app runs): it holds both
Twilio's refusals at send time (21610, never in Twilio's log) and the delivery errors
status callbacks and backfills brought in (30034, 30007, …).  Codes that mean "every text
from this number is blocked" fail the check; the others are about single customers and
are listed for information.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from desktop.gateway.rest_errors import explain_error_code
from desktop.readiness.model import RECENT_FAILURES, Check
from desktop.store.database import DatabaseMissing, StoreError, connect
from desktop.store.health import quick_check

#: Every text from the number is refused until registration or verification is done.
BLOCKING_CODES: Final = frozenset({30034, 30035, 30032})

#: Short meanings for the summary line (the long ones come from the error tables).
MEANINGS: Final[dict[int, str]] = {
    30034: "number not registered for US business texting (A2P 10DLC)",
    30035: "A2P 10DLC registration still under review",
    30032: "toll-free number not verified",
    30007: "filtered by the carrier as spam",
    30003: "customer's phone unreachable (often temporary)",
    30005: "customer's number does not exist",
    30006: "landline or unreachable carrier",
    21610: "customer replied STOP",
    21211: "not a valid phone number",
    21408: "country not enabled for texting",
    21614: "not a mobile number",
}


@dataclass(frozen=True, slots=True)
class FailureGroup:
    code: int | None
    count: int
    last_at_ms: int

    @property
    def meaning(self) -> str:
        if self.code is None:
            return "no error code given"
        return MEANINGS.get(self.code) or explain_error_code(self.code)


def failure_groups(database: Path, since_ms: int) -> list[FailureGroup]:
    conn = connect(database, read_only=True)
    try:
        rows = conn.execute(
            "SELECT error_code, count(*), max(created_at) FROM messages "
            "WHERE direction = 'outbound' AND status IN ('failed', 'undelivered') "
            "AND created_at >= ? GROUP BY error_code ORDER BY count(*) DESC, error_code",
            (since_ms,),
        ).fetchall()
    finally:
        conn.close()
    return [FailureGroup(None if c is None else int(c), int(n), int(t)) for c, n, t in rows]


def check_recent_failures(database: Path | None, now_ms: int, days: int) -> Check:
    if database is None or not database.exists():
        return Check.not_applicable(
            RECENT_FAILURES, "Twoway has not sent any texts from this computer yet."
        )
    health = quick_check(database, None)
    if not health.ok:
        # The database the failures are read from is damaged or unusable: say that first.
        return Check.failed(RECENT_FAILURES, f"{health.headline}. {health.message}", health.fix)
    try:
        groups = failure_groups(database, now_ms - days * 86_400_000)
    except (DatabaseMissing, StoreError, sqlite3.Error) as exc:
        return Check.failed(
            RECENT_FAILURES,
            f"Twoway could not read its messages to look for failures ({exc}).",
            "Close other programs that may lock the data folder and run the check again; "
            "if it persists, run 'twoway repair'.",
        )
    if not groups:
        return Check.passed(RECENT_FAILURES, f"No failed texts in the last {days} days.")
    total = sum(g.count for g in groups)
    parts = "; ".join(
        f"{g.count} × {'error ' + str(g.code) if g.code else 'unknown'} ({g.meaning})"
        for g in groups
    )
    texts = "1 text" if total == 1 else f"{total} texts"
    detail = f"{texts} failed in the last {days} days: {parts}."
    blocking = [g for g in groups if g.code in BLOCKING_CODES]
    if blocking:
        worst = blocking[0]
        assert worst.code is not None
        return Check.failed(
            RECENT_FAILURES,
            detail,
            f"{explain_error_code(worst.code)}. Until then every text to US phones fails; "
            "see the registration checks above.",
        )
    return Check.passed(
        RECENT_FAILURES,
        detail,
        "These failures concern single customers (a wrong number, a landline, a STOP), "
        "not your number. Check the numbers with the customers.",
    )
