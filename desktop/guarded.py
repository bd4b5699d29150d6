"""An immutable value with exactly one way to change it: replace under a lock, then notify.

Settings, the connection snapshot and the front-desk setup are read from every thread and
changed from several (the GUI via background tasks, the sync service, the tunnel).  Instead
of each owner mutating fields under its own lock, the value is immutable and every change
is a function ``old -> new`` applied under one lock, optionally persisted while the lock is
still held (so the file on disk never goes back in time), and then announced to
subscribers outside the lock.  Two concurrent updates therefore compose: neither is lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
Listener = Callable[[T], None]


class GuardedValue(Generic[T]):
    """Holds one immutable value; ``update`` is the only way to change it."""

    def __init__(self, initial: T, save: Callable[[T], None] | None = None) -> None:
        self._value = initial
        self._save = save
        self._lock = threading.Lock()
        #: Serialises announcements so listeners see changes in the order they happened;
        #: re-entrant so that a listener may itself update the value.
        self._announce = threading.RLock()
        self._listeners: list[Listener[T]] = []

    @property
    def value(self) -> T:
        with self._lock:
            return self._value

    def update(self, change: Callable[[T], T]) -> T:
        """Apply ``change`` to the current value, persist it, then tell the listeners.

        ``change`` runs under the lock, so it must be quick and must not call back into
        this object.  If saving raises, the value is left as it was and the error
        propagates.  Returns the new value (the old one when nothing changed).
        """
        with self._announce:
            with self._lock:
                old = self._value
                new = change(old)
                if new == old:
                    return old
                if self._save is not None:
                    self._save(new)
                self._value = new
                listeners = list(self._listeners)
            for listener in listeners:
                try:
                    listener(new)
                except Exception:
                    logger.exception("A listener of %s failed", type(new).__name__)
        return new

    def replace(self, new: T) -> T:
        return self.update(lambda _old: new)

    def subscribe(self, listener: Listener[T]) -> Callable[[], None]:
        """Call ``listener(new)`` after every change, on the thread that made it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe
