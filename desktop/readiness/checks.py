"""Running every readiness check against Twilio, the running app and the local data.

:func:`run_checks` is the one entry point for the doctor and the window's panel; what it
needs is gathered into a :class:`ReadinessContext` (by :mod:`desktop.readiness.doctor`
for the command line, :mod:`desktop.readiness.live` for the app).  Blocking network
calls: never on the GUI thread.  A check that cannot be made because an earlier one
failed (no sign-in, no number) is reported as not applicable, saying why.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from desktop.config import Settings
from desktop.credentials import FoundCredentials, TwilioCredentials
from desktop.domain.connection import Link
from desktop.domain.phone import display, region_of
from desktop.gateway.messaging_types import (
    InboundRoute,
    RouteOwner,
    ServiceDirectory,
    inbound_route,
)
from desktop.gateway.rest import RestGateway
from desktop.gateway.rest_types import AccountInfo, IncomingNumber, TwilioProblem
from desktop.readiness.failures import check_recent_failures
from desktop.readiness.model import (
    CREDENTIALS,
    INBOUND_ROUTE,
    NUMBER,
    TOLL_FREE_VERIFICATION,
    US_A2P_10DLC,
    WEBHOOK_REACHABLE,
    Check,
    NumberSection,
    Report,
)
from desktop.readiness.registration import check_toll_free, check_us_a2p, describe_kind
from desktop.readiness.runtime import RunningApp
from desktop.readiness.self_test import run_self_test
from desktop.store.database import StoreError, connect
from desktop.sync.urls import sms_url
from desktop.sync.webhook_config import OURS_KEY_PREFIX, previous_address, same_url

logger = logging.getLogger(__name__)

_NUMBER_CHECKS: Final = (NUMBER, INBOUND_ROUTE, US_A2P_10DLC, TOLL_FREE_VERIFICATION)
_LINK_WORDS: Final[dict[str, str]] = {
    Link.STARTING: "it is still starting",
    Link.RECONNECTING: "its tunnel is reconnecting",
    Link.OFFLINE: "it cannot reach Twilio right now",
    Link.SIGNED_OUT: "it is not signed in",
}


@dataclass(frozen=True)
class ReadinessContext:
    credentials: FoundCredentials
    api_base_url: str
    #: The number to check ("" = the account's only texting number).
    wanted_number: str = ""
    #: The running app (None: not running; then ``not_running`` says so).
    running: RunningApp | None = None
    not_running: str = "Twoway is not running, so nothing receives texts right now."
    database: Path | None = None
    settings: Settings | None = None
    now_ms: int = 0
    failure_days: int = 7
    #: Add sections for the account's other texting numbers (the window's panel).
    other_numbers: bool = False


def run_checks(ctx: ReadinessContext, gateway: RestGateway | None = None) -> Report:
    """Every check, in the contract's order (see :mod:`desktop.readiness.model`)."""
    failures = check_recent_failures(ctx.database, ctx.now_ms, ctx.failure_days)
    credentials = ctx.credentials.credentials
    if credentials is None:
        sign_in = Check.failed(
            CREDENTIALS,
            ctx.credentials.problem or "Twoway has no Twilio credentials.",
            "Open Twoway and sign in with your Account SID and Auth Token, or set "
            "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN in the environment.",
        )
        skipped = [_not_checked(i, "the Twilio sign-in works") for i in _NUMBER_CHECKS]
        webhook = _not_checked(WEBHOOK_REACHABLE, "there is an Auth Token to sign it with")
        return Report((sign_in, *skipped, webhook, failures))
    own = gateway is None
    api = gateway or RestGateway(credentials, ctx.api_base_url)
    try:
        return _run(ctx, api, credentials, failures)
    finally:
        if own:
            api.close()


def _run(
    ctx: ReadinessContext, api: RestGateway, credentials: TwilioCredentials, failures: Check
) -> Report:
    try:
        account = api.fetch_account()
    except TwilioProblem as problem:
        sign_in = Check.failed(
            CREDENTIALS,
            f"Twilio did not accept the credentials from {ctx.credentials.source}: {problem}",
            "Check the Account SID and Auth Token (Twilio Console › Account › API keys & "
            "tokens) and sign in again in Twoway's Settings.",
        )
        skipped = [_not_checked(i, "the Twilio sign-in works") for i in _NUMBER_CHECKS]
        return Report((sign_in, *skipped, check_webhook(ctx, credentials), failures))
    name = f"“{account.friendly_name}”" if account.friendly_name else "your Twilio account"
    sign_in = Check.passed(
        CREDENTIALS,
        f"Signed in to {name} ({account.account_sid}) with credentials from "
        f"{ctx.credentials.source}.",
    )
    number, number_check = choose_number(account, ctx.wanted_number)
    directory: ServiceDirectory | None = None
    if number is None:
        rest = [_not_checked(i, "a number is chosen") for i in _NUMBER_CHECKS[1:]]
    else:
        directory, rest = _number_checks(ctx, api, number)
    sections: tuple[NumberSection, ...] = ()
    if ctx.other_numbers and directory is not None:
        sections = tuple(
            _section(api, other, directory)
            for other in account.sms_numbers
            if number is None or other.sid != number.sid
        )
    checks = (sign_in, number_check, *rest, check_webhook(ctx, credentials), failures)
    return Report(checks, number.e164 if number else "", sections)


def _number_checks(
    ctx: ReadinessContext,
    api: RestGateway,
    number: IncomingNumber,
    directory: ServiceDirectory | None = None,
) -> tuple[ServiceDirectory | None, list[Check]]:
    if directory is None:
        try:
            directory = api.messaging.directory()
        except TwilioProblem as problem:
            if problem.status is not None and 400 <= problem.status < 500:
                logger.info("Messaging Services not readable (%s): treating as none", problem)
                directory = ServiceDirectory()
            else:
                failed = Check.failed(
                    INBOUND_ROUTE,
                    f"Twoway could not read the number's Messaging Service: {problem}",
                    "Check the internet connection and run the check again.",
                )
                skipped = [_not_checked(i, "Twilio answers") for i in _NUMBER_CHECKS[2:]]
                return None, [failed, *skipped]
    return directory, [
        check_route(ctx, number, inbound_route(number, directory)),
        check_us_a2p(api.messaging, number, directory),
        check_toll_free(api.messaging, number),
    ]


def _section(
    api: RestGateway, number: IncomingNumber, directory: ServiceDirectory
) -> NumberSection:
    """Can another of the account's numbers text?  (Twoway receives webhooks on the chosen
    number only; texts to the others come in from Twilio's log, so no route check.)"""
    label = number.friendly_name if _real_name(number) else ""
    checks = (
        _describe_number(number),
        check_us_a2p(api.messaging, number, directory),
        check_toll_free(api.messaging, number),
    )
    return NumberSection(number.e164, label or display(number.e164, region_of(number.e164)), checks)


def _not_checked(check_id: str, until: str) -> Check:
    return Check.not_checked(check_id, until)


# -- the number ----------------------------------------------------------------------------


def choose_number(account: AccountInfo, wanted: str) -> tuple[IncomingNumber | None, Check]:
    """The number Twoway texts from, as the app chooses it (see SyncService.chosen_number)."""
    texting = account.sms_numbers
    listed = ", ".join(n.e164 for n in account.numbers) or "none"
    wanted = wanted.strip()
    if wanted:
        found = next((n for n in account.numbers if n.e164 == wanted), None)
        digits = "".join(ch for ch in wanted if ch.isdigit())
        if found is None and len(digits) >= 7:
            matches = [
                n for n in account.numbers if "".join(filter(str.isdigit, n.e164)).endswith(digits)
            ]
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            return None, Check.failed(
                NUMBER,
                f"{wanted} is not one of the numbers on this Twilio account ({listed}).",
                "Choose one of the account's numbers in Twoway's Settings (or fix "
                "TWOWAY_PHONE_NUMBER).",
            )
    elif len(texting) == 1:
        found = texting[0]
    elif not texting:
        return None, Check.failed(
            NUMBER,
            f"This Twilio account has no number that can send texts (its numbers: {listed}).",
            "Buy a number with SMS in the Twilio Console (Phone Numbers › Buy a number), "
            "then choose it in Twoway.",
        )
    else:
        return None, Check.failed(
            NUMBER,
            f"The account has {len(texting)} texting numbers and none is chosen: "
            f"{', '.join(n.e164 for n in texting)}.",
            "Choose one in Twoway's Settings (or set TWOWAY_PHONE_NUMBER).",
        )
    if not found.sms:
        return None, Check.failed(
            NUMBER,
            f"{found.e164} cannot send or receive texts (it has no SMS capability).",
            "Choose a number with SMS in Twoway's Settings, or buy one in the Twilio Console.",
        )
    return found, _describe_number(found)


def _describe_number(number: IncomingNumber) -> Check:
    name = f" (“{number.friendly_name}”)" if _real_name(number) else ""
    can = "texts and pictures (SMS and MMS)" if number.mms else "texts (SMS) but not pictures"
    detail = f"{number.e164}{name}: {describe_kind(number.e164)} that can send {can}."
    if number.sms:
        return Check.passed(NUMBER, detail)
    return Check.failed(
        NUMBER,
        f"{number.e164}{name} cannot send or receive texts (it has no SMS capability).",
        "Use a number with SMS for texting.",
    )


def _real_name(number: IncomingNumber) -> bool:
    """A name staff gave it, not Twilio's default (the number itself, formatted)."""
    digits = "".join(ch for ch in number.friendly_name if ch.isdigit())
    return bool(number.friendly_name) and not (digits and number.e164.endswith(digits))


# -- where incoming texts go ----------------------------------------------------------------


def check_route(ctx: ReadinessContext, number: IncomingNumber, route: InboundRoute) -> Check:
    running = ctx.running
    deciding = route.service.sid if route.owner is RouteOwner.SERVICE and route.service else ""
    current = sms_url(running.public_url) if running and running.public_url else ""
    ours = same_url(route.url, current) or same_url(
        route.url, _our_last_url(ctx.database, deciding or number.sid)
    )
    where = route.describe()
    if route.dropped and route.owner is RouteOwner.SERVICE:
        return Check.failed(
            INBOUND_ROUTE,
            f"{where} Twoway cannot fetch them later either.",
            _take_over_fix(route, running),
        )
    if ours:
        earlier = previous_address(ctx.settings, number.sid) if ctx.settings else None
        before = (
            f" Before Twoway they went to {earlier}; Settings › Restore puts that back."
            if earlier
            else ""
        )
        later = "" if running else " That address reaches Twoway only while Twoway runs."
        return Check.passed(INBOUND_ROUTE, f"{where} That is Twoway.{later}{before}")
    if running is not None and running.polls:
        return Check.passed(
            INBOUND_ROUTE,
            f"{where} Twoway has no public address and checks Twilio's message log every "
            f"{running.poll_interval_s} s instead, so texts still arrive.",
            "For instant texts, choose ngrok or your own public URL in Settings.",
        )
    if route.dropped:
        return Check.failed(INBOUND_ROUTE, where, _take_over_fix(route, running))
    return Check.failed(
        INBOUND_ROUTE,
        f"{where} That is not this Twoway"
        + (", which sees them only by checking Twilio's message log." if running else "."),
        _take_over_fix(route, running),
    )


def _take_over_fix(route: InboundRoute, running: RunningApp | None) -> str:
    if running is None:
        start = "Start Twoway: it takes over an empty address by itself, and asks before "
        start += "replacing another app's."
    else:
        start = (
            "In Twoway, open Settings and let Twoway receive this number's texts (the old "
            "address is remembered and can be restored)."
        )
    if route.owner is RouteOwner.SERVICE and route.service is not None:
        label = route.service.label
        others = route.other_numbers
        moves = (
            f" That changes the service {label}, which also routes {', '.join(others)}."
            if others
            else ""
        )
        return (
            f"{start}{moves} Or, in the Twilio Console under Messaging › Services › {label} › "
            "Integration, choose “Defer to sender's webhook”."
        )
    return start


def _our_last_url(database: Path | None, sid: str) -> str:
    """The address Twoway last set on this number or service (kept in the database)."""
    if database is None or not database.exists():
        return ""
    try:
        conn = connect(database, read_only=True)
    except (StoreError, sqlite3.Error):
        return ""
    try:
        row = conn.execute(
            "SELECT value FROM sync_state WHERE key = ?", (OURS_KEY_PREFIX + sid,)
        ).fetchone()
    except sqlite3.Error:
        return ""
    finally:
        conn.close()
    value = json.loads(row[0]) if row else ""
    return value if isinstance(value, str) else ""


# -- can Twilio reach the running app ----------------------------------------------------


def check_webhook(ctx: ReadinessContext, credentials: TwilioCredentials) -> Check:
    running = ctx.running
    if running is None:
        return Check.failed(WEBHOOK_REACHABLE, ctx.not_running, "Start Twoway, then check again.")
    if not running.public_url:
        if running.link == Link.POLLING:
            return Check.not_applicable(
                WEBHOOK_REACHABLE,
                "Twoway runs without a public address and checks Twilio's message log every "
                f"{running.poll_interval_s} s instead of receiving webhooks.",
                "For instant texts, choose ngrok or your own public URL in Settings.",
            )
        why = _LINK_WORDS.get(running.link, "it has no public address right now")
        return Check.failed(
            WEBHOOK_REACHABLE,
            f"Twoway is running but Twilio cannot reach it: {why}.",
            "Look at the status area in Twoway's window; texts sent meanwhile are fetched "
            "from Twilio's log once it is connected.",
        )
    result = run_self_test(running.public_url, credentials.account_sid, credentials.auth_token)
    if result.ok:
        return Check.passed(WEBHOOK_REACHABLE, result.detail)
    return Check.failed(WEBHOOK_REACHABLE, result.detail, result.fix)
