"""The demo's front desk: a dental practice's hours, quick replies and auto-replies, so the
demo shows them working from its first start."""

from __future__ import annotations

from typing import Final

from desktop.domain.auto_reply import AutoReplies, AwayMessage, KeywordRule
from desktop.domain.frontdesk_setup import FrontDeskSetup
from desktop.domain.hours import BusinessHours
from desktop.domain.quick_replies import QuickReply

DEMO_BUSINESS: Final = "Demo Dental Care"


def demo_setup() -> FrontDeskSetup:
    weekday = [("08:00", "12:00"), ("13:00", "17:00")]
    return FrontDeskSetup(
        quick_replies=(
            QuickReply("Confirm appointment", "Hi {first_name}, you're all set. See you soon!"),
            QuickReply("Running late", "We're running about 15 minutes behind today, sorry!"),
            QuickReply("Directions", "We're at 1200 SW Park Ave; parking is behind the building."),
            QuickReply("Hours", "{business} is open {hours}."),
        ),
        business_hours=BusinessHours.from_days(
            "America/Los_Angeles",
            {
                "mon": weekday,
                "tue": weekday,
                "wed": weekday,
                "thu": weekday,
                "fri": [("08:00", "14:00")],
            },
        ),
        auto_replies=AutoReplies(
            AwayMessage(
                True,
                "Thanks for texting {business}! We're closed right now and will answer when "
                "we open. Our hours: {hours}.",
                12.0,
            ),
            (
                KeywordRule("HOURS", "We're open {hours}."),
                KeywordRule("ADDRESS", "1200 SW Park Ave, Portland, OR 97205."),
            ),
        ),
    )
