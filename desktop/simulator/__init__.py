"""A simulated Twilio on loopback, for ``--demo`` and for the test suite.

Entry points: :class:`desktop.simulator.server.SimulatedTwilio` (tests) and
:class:`desktop.simulator.personas.DemoTwilio` (the app's demo mode).  The app itself only
talks to it over HTTP through twilio-python, exactly as it talks to Twilio.
"""
