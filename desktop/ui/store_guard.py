"""Open the data and build the window, or say why not: the start-up guard.

:func:`open_until_usable` opens the core and builds the main window; when the database is
damaged, empty, missing, read-only or locked it shows the damage dialog
(:mod:`desktop.ui.damage_dialog`) instead of a half-started app, and tries again after a
repair, a restore or "Try again".  :func:`watch_store_health` shows the same dialog over
the running window when damage is found later (SQLite's page check after the first
paint, or a failed read or write).  The dialog's module is imported only when it is
needed: it is not on the path to the first paint.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QWidget

from desktop.domain.store_health import HealthKind, StoreHealth
from desktop.store.database import StoreError, StoreUnavailable

if TYPE_CHECKING:
    from desktop.core import Core
    from desktop.domain.connection import ConnectionSnapshot

logger = logging.getLogger(__name__)

W = TypeVar("W", bound=QWidget)


def _health_of(core: Core, exc: BaseException) -> StoreHealth:
    if isinstance(exc, StoreUnavailable):
        return exc.health
    return core.store.mark_unusable(exc)


def open_until_usable(
    core: Core, build_window: Callable[[], W], *, smoke_test: bool = False
) -> W | None:
    """Open the core's data and build the window; offer repair, restore or retry when the
    database cannot be used.  None: the user quit (or the smoke test failed)."""
    while True:
        try:
            core.open()
            return build_window()
        except (StoreError, OSError, sqlite3.DatabaseError) as exc:
            health = _health_of(core, exc)
            logger.error("Could not open the data folder: %s", health.detail or health.headline)
            core.store.close()
        if smoke_test:
            print(f"smoke test failed: {health.message}", file=sys.stderr)
            return None
        from desktop.ui.damage_dialog import DamageDialog, Outcome

        dialog = DamageDialog(core, health, at_start=True)
        dialog.exec()
        if dialog.outcome is Outcome.QUIT:
            return None


def watch_store_health(window: QWidget, core: Core, connection_changed: SignalInstance) -> None:
    """Show the dialog, once per problem, when the database turns out to be unusable while
    the window is up.  ``connection_changed``: the bridge's ``connectionChanged`` signal."""
    shown: set[HealthKind] = set()

    def changed(snapshot: ConnectionSnapshot) -> None:
        health = snapshot.store_health
        if health.ok or health.writable:
            shown.clear()  # a full disk passes by itself: the status area shows it
            return
        if health.kind in shown:
            return
        shown.add(health.kind)
        from desktop.ui.damage_dialog import show_damage_dialog

        show_damage_dialog(window, core)

    connection_changed.connect(changed)
