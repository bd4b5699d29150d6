"""The receiver's public paths, as Twilio is told about them.

The same values as in :mod:`desktop.gateway.webhook` (a test keeps them equal), repeated
here so that the sync code does not import Werkzeug while the window is being painted.
"""

from __future__ import annotations

from typing import Final

SMS_PATH: Final = "/twilio/sms"
STATUS_PATH: Final = "/twilio/status"
MEDIA_PREFIX: Final = "/media/"


def sms_url(public_url: str) -> str:
    return public_url.rstrip("/") + SMS_PATH


def status_url(public_url: str) -> str:
    return public_url.rstrip("/") + STATUS_PATH


def media_url(public_url: str, token: str) -> str:
    return public_url.rstrip("/") + MEDIA_PREFIX + token
