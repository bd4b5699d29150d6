"""Keeping Twoway and Twilio's message log in agreement: outbox, backfill, polling, webhook.

Everything here is Qt-free and runs on its own daemon threads; the UI hears about results
through ``store.events`` and the :class:`~desktop.domain.connection.ConnectionBoard`.
"""
