"""The ``us_a2p_10dlc`` and ``toll_free_verification`` checks.

US carriers block business texts from unregistered senders: a US local number must sit in
a Messaging Service with a VERIFIED A2P 10DLC campaign (else error 30034, or 30035 while
the campaign is reviewed), a toll-free number needs an approved toll-free verification
(else 30032).  There is no per-number registration endpoint: the number's service and
that service's ``Compliance/Usa2p`` say it.
"""

from __future__ import annotations

import logging
from typing import Final, Protocol

from desktop.domain.phone import country_name, is_short_code, number_kind, region_of
from desktop.gateway.messaging_types import (
    CAMPAIGN_FAILED,
    CAMPAIGN_VERIFIED,
    TOLLFREE_APPROVED,
    TOLLFREE_PENDING,
    TOLLFREE_REJECTED,
    A2pCampaign,
    BrandRegistration,
    ServiceDirectory,
    TollfreeVerification,
)
from desktop.gateway.rest_types import IncomingNumber, TwilioProblem
from desktop.readiness.model import TOLL_FREE_VERIFICATION, US_A2P_10DLC, Check

logger = logging.getLogger(__name__)

_REGISTER: Final = (
    "Register in the Twilio Console under Messaging › Regulatory compliance › A2P 10DLC: "
    "your brand, then a campaign on a Messaging Service, and add this number to that "
    "service. Approval usually takes a few days."
)
_TOLLFREE_WHERE: Final = (
    "in the Twilio Console under Phone Numbers › Manage › Active numbers › the number › "
    "Regulatory information"
)
_TOLLFREE_STATUS_WORDS: Final = {
    "PENDING_REVIEW": "is waiting for review",
    "IN_REVIEW": "is being reviewed",
}


class RegistrationApi(Protocol):
    def usa2p_campaigns(self, service_sid: str) -> tuple[A2pCampaign, ...]: ...

    def brand_registrations(self) -> tuple[BrandRegistration, ...]: ...

    def tollfree_verifications(self, number_sid: str) -> tuple[TollfreeVerification, ...]: ...


def number_type(e164: str) -> str:
    """ "toll-free", "short code", "mobile" or "local" (what registration depends on)."""
    if is_short_code(e164):
        return "short code"
    kind = number_kind(e164)
    if kind in ("toll-free", "mobile"):
        return kind
    return "local"


def describe_kind(e164: str) -> str:
    """ "a toll-free number in the United States", for sentences."""
    kind = number_type(e164)
    if kind == "short code":
        return "a short code"
    region = region_of(e164)
    where = f" in {country_name(region)}" if region else ""
    return f"a {kind} number{where}"


def check_us_a2p(
    api: RegistrationApi, number: IncomingNumber, directory: ServiceDirectory
) -> Check:
    e164 = number.e164
    if region_of(e164) != "US" or number_type(e164) != "local":
        return Check.not_applicable(
            US_A2P_10DLC,
            f"Only US local numbers need A2P 10DLC registration; {e164} is {describe_kind(e164)}.",
        )
    service = directory.service_of(number.sid) or directory.service_of(e164)
    if service is None:
        return Check.failed(
            US_A2P_10DLC,
            f"{e164} is in no Messaging Service, so it is not registered for US business "
            "texting: US carriers block its texts to US phones (error 30034).",
            _REGISTER,
        )
    try:
        campaigns = api.usa2p_campaigns(service.sid)
    except TwilioProblem as problem:
        return _could_not_check(US_A2P_10DLC, problem)
    if not campaigns:
        return Check.failed(
            US_A2P_10DLC,
            f"{e164} is in the Messaging Service {service.label}, but that service has no "
            "A2P 10DLC campaign, so US carriers block its texts to US phones (error 30034).",
            _REGISTER,
        )
    campaign = _best_campaign(campaigns)
    brand = _brand_words(api, campaign.brand_registration_sid)
    on = f"the campaign on the Messaging Service {service.label}"
    status = campaign.campaign_status
    if status == CAMPAIGN_VERIFIED:
        usecase = f" (use case {campaign.usecase})" if campaign.usecase else ""
        return Check.passed(US_A2P_10DLC, f"Registered: {on} is VERIFIED{usecase}.{brand}")
    if status == CAMPAIGN_FAILED:
        errors = f": {'; '.join(campaign.errors)}" if campaign.errors else ""
        return Check.failed(
            US_A2P_10DLC,
            f"Registration failed: {on} was rejected{errors}.{brand} US carriers block "
            "its texts to US phones (error 30034).",
            "Fix what Twilio lists, then resubmit the campaign in the Twilio Console under "
            "Messaging › Regulatory compliance › Campaigns.",
        )
    return Check.failed(
        US_A2P_10DLC,
        f"Registration is being reviewed: {on} is {status or 'pending'}.{brand} Until it is "
        "approved, US carriers block its texts to US phones (error 30035).",
        "Nothing to do but wait: Twilio e-mails you when the campaign is approved, usually "
        "within a few days. Texts to phones outside the US work meanwhile.",
    )


def _best_campaign(campaigns: tuple[A2pCampaign, ...]) -> A2pCampaign:
    order = {CAMPAIGN_VERIFIED: 0, "IN_PROGRESS": 1, "PENDING": 1, CAMPAIGN_FAILED: 3}
    return min(campaigns, key=lambda c: order.get(c.campaign_status, 2))


def _brand_words(api: RegistrationApi, brand_sid: str) -> str:
    if not brand_sid:
        return ""
    try:
        brands = api.brand_registrations()
    except TwilioProblem as problem:
        logger.info("Brand registrations not read: %s", problem)
        return ""
    brand = next((b for b in brands if b.sid == brand_sid), None)
    if brand is None:
        return ""
    reason = brand.failure_reason or "; ".join(brand.errors)
    return f" The brand is {brand.status}{': ' + reason if reason else ''}."


def check_toll_free(api: RegistrationApi, number: IncomingNumber) -> Check:
    e164 = number.e164
    if number_type(e164) != "toll-free":
        return Check.not_applicable(
            TOLL_FREE_VERIFICATION,
            f"Only toll-free numbers need toll-free verification; {e164} is {describe_kind(e164)}.",
        )
    try:
        verifications = api.tollfree_verifications(number.sid)
    except TwilioProblem as problem:
        return _could_not_check(TOLL_FREE_VERIFICATION, problem)
    if not verifications:
        return Check.failed(
            TOLL_FREE_VERIFICATION,
            f"{e164} has no toll-free verification, so carriers block its texts (error 30032).",
            f"Submit a toll-free verification {_TOLLFREE_WHERE}. Review takes a few business days.",
        )
    if any(v.status == TOLLFREE_APPROVED for v in verifications):
        return Check.passed(
            TOLL_FREE_VERIFICATION, f"Verified: Twilio approved {e164} for texting."
        )
    pending = [v for v in verifications if v.status in TOLLFREE_PENDING]
    if pending:
        words = _TOLLFREE_STATUS_WORDS.get(pending[0].status, "is pending")
        return Check.failed(
            TOLL_FREE_VERIFICATION,
            f"The verification of {e164} {words} ({pending[0].status}); carriers block its "
            "texts until it is approved (error 30032).",
            "Nothing to do but wait for Twilio's decision, usually within a few business days.",
        )
    rejected = next((v for v in verifications if v.status == TOLLFREE_REJECTED), None)
    if rejected is None:
        status = verifications[0].status or "unknown"
        return Check.failed(
            TOLL_FREE_VERIFICATION,
            f"The verification of {e164} is {status}; carriers block its texts (error 30032).",
            f"Look at the verification {_TOLLFREE_WHERE}.",
        )
    reason = rejected.rejection_reason or "no reason given"
    code = f" (error {rejected.error_code})" if rejected.error_code else ""
    if rejected.edit_allowed is False:
        fix = f"Submit a new verification {_TOLLFREE_WHERE}."
    else:
        until = f" before {rejected.edit_expiration[:10]}" if rejected.edit_expiration else ""
        fix = f"Edit the verification {_TOLLFREE_WHERE} and resubmit it{until}."
    return Check.failed(
        TOLL_FREE_VERIFICATION,
        f"Twilio rejected the verification of {e164}: {reason}{code}. Carriers block its "
        "texts (error 30032).",
        fix,
    )


def _could_not_check(check_id: str, problem: TwilioProblem) -> Check:
    return Check.failed(
        check_id,
        f"Twoway could not read the registration from Twilio: {problem}",
        "Check the internet connection and run the check again.",
    )
