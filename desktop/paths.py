"""Where every file Twoway writes lives, derived from one data folder.

Light to import (no settings loader, no third-party module at the top): the start-up path
needs the data folder before the first paint, and the rest of :mod:`desktop.config` can
wait until after it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from desktop import APP_NAME


def default_data_dir(*, demo: bool = False) -> Path:
    """The per-user data folder; the demo gets its own so it never mixes with real data."""
    import platformdirs  # imported here: only needed when no --data-dir is given

    base = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=True))
    return base / "demo" if demo else base


@dataclass(frozen=True)
class Paths:
    """Every file Twoway writes, derived from one data folder."""

    data_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "twoway.sqlite3"

    @property
    def settings(self) -> Path:
        return self.data_dir / "settings.json"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs / "twoway.log"

    @property
    def media(self) -> Path:
        return self.data_dir / "media"

    @property
    def thumbnails(self) -> Path:
        return self.data_dir / "media" / "thumbnails"

    @property
    def outgoing_media(self) -> Path:
        return self.data_dir / "media" / "outgoing"

    @property
    def composer_pictures(self) -> Path:
        """Pictures pasted or shrunk in the composer, kept while a draft refers to them."""
        return self.data_dir / "media" / "composer"

    @property
    def encrypted_secrets(self) -> Path:
        """Credentials sealed with the user's passphrase, where no secure keyring exists."""
        return self.data_dir / "credentials.encrypted"

    @property
    def backups(self) -> Path:
        return self.data_dir / "backups"

    @property
    def state(self) -> Path:
        """Runtime state of helpers such as the ngrok agent (pid files, agent config)."""
        return self.data_dir / "state"

    def create(self) -> None:
        for folder in (
            self.data_dir,
            self.logs,
            self.media,
            self.thumbnails,
            self.outgoing_media,
            self.backups,
            self.state,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        if os.name == "posix":
            # Messages are personal data: keep the folder private to the user.
            self.data_dir.chmod(0o700)
