""" "Can I text yet?": one readiness check for the command line and the window.

Qt-free.  :func:`desktop.readiness.checks.run_checks` runs every check (Twilio sign-in,
the number, where its incoming texts go, A2P 10DLC, toll-free verification, a signed
self-test through the public URL, recent failures) and returns a
:class:`desktop.readiness.model.Report`; ``python main.py doctor`` prints it
(:mod:`desktop.readiness.doctor`), the window's readiness panel shows it
(:mod:`desktop.readiness.live` gathers what the running app knows).  The running app
publishes its public URL for the doctor in ``state/running.json``
(:mod:`desktop.readiness.runtime`).
"""
