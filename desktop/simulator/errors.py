"""Twilio's error codes as the simulator reports them.

The REST layer turns :class:`TwilioApiError` into Twilio's legacy JSON error body, which is
what makes twilio-python raise ``TwilioRestException`` with the same ``.code`` and ``.status``
that the real service would produce.  Keeping the catalogue here lets tests and the engine
name a code without repeating its wording.
"""

from __future__ import annotations

from typing import Final

#: Wording close to Twilio's own for the codes the simulator produces.
ERROR_MESSAGES: Final[dict[int, str]] = {
    11200: "HTTP retrieval failure",
    11205: "HTTP connection failure",
    12100: "Document parse failure",
    12300: "Invalid Content-Type",
    20001: "Invalid parameter",
    20003: "Authenticate",
    20004: "Method not allowed",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "Invalid 'To' Phone Number",
    21212: "Invalid 'From' Number",
    21408: "Permission to send an SMS has not been enabled for the region indicated by "
    "the 'To' number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The 'From' phone number provided is not a valid message-capable Twilio phone number "
    "for this destination/account",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit",
    21701: "The Messaging Service does not exist",
    21703: "The Messaging Service does not have a phone number available to send a message",
    21710: "Phone Number is already in another Messaging Service",
    21712: "Invalid PhoneNumberSid",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
    30032: "Toll-Free Number Has Not Been Verified",
    30034: "Message from an Unregistered Number",
    30035: "Message from a Number in a Pending Campaign",
    30409: "This message cannot be canceled",
    35111: "SendAt timestamp is missing",
    35114: "Scheduling does not support this timestamp",
    35118: "MessagingServiceSid is required to schedule a message",
    35126: "The ScheduleType value provided is not supported for this channel",
}


def error_message(code: int) -> str:
    return ERROR_MESSAGES.get(code, f"Error {code}")


def more_info(code: int) -> str:
    return f"https://www.twilio.com/docs/errors/{code}"


class TwilioApiError(Exception):
    """A request Twilio would refuse: carries the HTTP status and Twilio's error code."""

    def __init__(self, status: int, code: int, message: str | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message or error_message(code)
        super().__init__(f"{status} {code}: {self.message}")

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": more_info(self.code),
            "status": self.status,
        }
