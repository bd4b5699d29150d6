"""Twoway: two-way SMS and MMS through a Twilio number, from the desktop."""

__version__ = "0.1.0"
APP_NAME = "Twoway"
