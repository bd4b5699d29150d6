"""The window's :class:`~desktop.frontdesk.service.FrontDesk`, made once per core.

The core owns the store and the setup holder; this puts the use-case layer on top of
them for the window's dialogs (settings, contacts), with our number and the business
name read fresh on every call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from desktop.frontdesk.service import FrontDesk

if TYPE_CHECKING:
    from desktop.core import Core

_desks: WeakKeyDictionary[Core, FrontDesk] = WeakKeyDictionary()


def front_desk(core: Core) -> FrontDesk:
    """The core's own FrontDesk when it has one, else one made (and kept) for it."""
    own = getattr(core, "desk", None)
    if isinstance(own, FrontDesk):
        return own
    desk = _desks.get(core)
    if desk is None:
        from desktop.frontdesk.demo import DEMO_BUSINESS

        def our_number() -> str:
            env = getattr(core.env, "phone_number", None)
            ours = env or core.settings.phone_number or core.connection.snapshot.phone_number
            return str(ours or "")

        business = DEMO_BUSINESS if core.options.demo else ""
        desk = _desks[core] = FrontDesk(
            core.store, core.front_desk, our_number=our_number, business_name=lambda: business
        )
    return desk
