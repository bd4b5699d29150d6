"""Team mode: several laptops on one number, shared state in Twilio Sync (no server).

:mod:`~desktop.team.client` talks to Sync, :mod:`~desktop.team.lease` decides which laptop
owns the webhook, :mod:`~desktop.team.shared` mirrors a Map and queues edits, and
:mod:`~desktop.team.service` runs it all on one worker.
"""
