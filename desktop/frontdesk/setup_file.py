"""The front-desk setup as its own file in the data folder, and the one way to change it.

``frontdesk.json`` holds exactly what ``config export`` writes (see
:mod:`desktop.domain.frontdesk_setup`), saved atomically (temporary file, fsync, rename)
so a crash never leaves half a file.  :class:`SetupHolder` owns the current value: it is
immutable, so readers (the webhook thread, the GUI) just take :attr:`SetupHolder.current`;
a change replaces it under a lock, saves, and only then tells subscribers — the door
team mode will use to sync it through Twilio Sync.  Saving does file I/O with fsync:
change the setup from a worker thread, never the GUI thread.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from desktop.domain.frontdesk_setup import (
    FrontDeskSetup,
    SetupFileError,
    checked,
    default_setup,
    dump_setup,
    load_setup,
)
from desktop.domain.hours import InvalidHours, zone_for
from desktop.guarded import GuardedValue

logger = logging.getLogger(__name__)

FILE_NAME: Final = "frontdesk.json"


def setup_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def local_time_zone() -> str:
    """This computer's IANA zone name ("Europe/Paris"), or "UTC" when it cannot tell."""
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception as exc:  # tzlocal raises its own errors for odd set-ups
        logger.info("Could not tell this computer's time zone (%s); using UTC", exc)
        return "UTC"
    try:
        zone_for(name or "")
    except InvalidHours:
        return "UTC"
    return str(name)


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SetupHolder(GuardedValue[FrontDeskSetup]):
    """The current front-desk setup and its file; ``update``/``replace`` check, save, notify."""

    def __init__(self, path: Path, current: FrontDeskSetup) -> None:
        super().__init__(current, save=lambda value: write_atomically(path, dump_setup(value)))
        self.path = path

    @classmethod
    def open(cls, path: Path, *, initial: FrontDeskSetup | None = None) -> SetupHolder:
        """Read ``path``; without one, start from ``initial`` (or the defaults) and save it.

        A damaged file is kept aside (``frontdesk.json.unreadable-<time>``) for support
        and the defaults are used, so a bad edit never stops the app from starting.
        """
        defaults = default_setup(local_time_zone())
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            first = initial or defaults
            write_atomically(path, dump_setup(first))
            return cls(path, first)
        except (OSError, UnicodeDecodeError) as exc:
            logger.warning("Could not read %s (%s); using the default setup", path.name, exc)
            return cls(path, defaults)
        try:
            return cls(path, load_setup(text, defaults))
        except SetupFileError as exc:
            aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
            path.replace(aside)
            logger.warning(
                "The front-desk setup was unreadable (%s); kept it as %s", exc, aside.name
            )
            write_atomically(path, dump_setup(defaults))
            return cls(path, defaults)

    @property
    def current(self) -> FrontDeskSetup:
        return self.value

    def update(self, change: Callable[[FrontDeskSetup], FrontDeskSetup]) -> FrontDeskSetup:
        """Apply ``change`` to the value current at that moment, check it as a file would be
        checked, save, then notify.  Raises :class:`SetupFileError` (nothing changes) or
        ``OSError`` (not saved, the old value stays current)."""
        return super().update(lambda old: checked(change(old)))

    def import_text(self, text: str | bytes) -> FrontDeskSetup:
        """Replace the setup with a file's content; refused whole when anything is wrong."""
        zone = self.current.business_hours.time_zone
        return self.replace(load_setup(text, default_setup(zone)))

    def export_text(self) -> str:
        return dump_setup(self.current)


def open_for_app(data_dir: Path, *, demo: bool = False, legacy_away_text: str = "") -> SetupHolder:
    """The app's holder: a new demo folder starts with the demo's setup; a folder from
    before this file existed keeps its old "answer new texts automatically" text as the
    away message (now sent outside business hours only)."""
    initial: FrontDeskSetup | None = None
    if demo:
        from desktop.frontdesk.demo import demo_setup

        initial = demo_setup()
    elif legacy_away_text.strip():
        import dataclasses

        from desktop.domain.auto_reply import AwayMessage

        base = default_setup(local_time_zone())
        away = AwayMessage(True, legacy_away_text.strip(), base.auto_replies.away.once_per_hours)
        candidate = dataclasses.replace(
            base, auto_replies=dataclasses.replace(base.auto_replies, away=away)
        )
        try:
            initial = checked(candidate)
        except SetupFileError as exc:
            logger.warning("The old auto-reply text could not be kept: %s", exc)
    return SetupHolder.open(setup_path(data_dir), initial=initial)
