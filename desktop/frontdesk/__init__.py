"""The front desk: drafts, quick replies, business hours, auto-replies and contacts.

Qt-free use cases the UI calls (:class:`~desktop.frontdesk.service.FrontDesk`), the
front-desk setup file (:mod:`desktop.frontdesk.setup_file`) and contacts CSV
(:mod:`desktop.frontdesk.contacts_csv`).  The rules themselves live in ``desktop.domain``.
"""
