"""Where Twoway keeps its files, the user's settings, and what the environment overrides.

Secrets never live here: they are in the OS keyring (see :mod:`desktop.secrets`).  The
settings file holds only choices (which number, how Twilio reaches us) and is written
atomically so a crash mid-write never leaves a half file behind.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from desktop import APP_NAME

logger = logging.getLogger(__name__)

ENV_TWILIO_API_URL: Final = "TWOWAY_TWILIO_API_URL"
ENV_PHONE_NUMBER: Final = "TWOWAY_PHONE_NUMBER"
DEFAULT_TWILIO_API_URL: Final = "https://api.twilio.com"
DEFAULT_POLL_INTERVAL_S: Final = 15


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


class TunnelMode(StrEnum):
    NGROK = "ngrok"
    PUBLIC_URL = "public_url"
    POLL = "poll"


class WebhookPolicy(StrEnum):
    """What happens to the number's webhook when Twoway quits."""

    KEEP = "keep"
    RESTORE_ON_QUIT = "restore_on_quit"


@dataclass
class Settings:
    """The user's choices.  Unknown keys from newer versions are kept when saving."""

    phone_number: str = ""
    tunnel_mode: TunnelMode = TunnelMode.NGROK
    public_url: str = ""
    ngrok_domain: str = ""
    ngrok_path: str = ""
    ngrok_verify_webhook: bool = False
    poll_interval_s: int = DEFAULT_POLL_INTERVAL_S
    webhook_policy: WebhookPolicy = WebhookPolicy.KEEP
    #: The number's sms_url before Twoway took it over, by phone number SID.
    previous_sms_urls: dict[str, str] = field(default_factory=dict)
    #: Set once the setup wizard finished; lets the first paint skip the keyring.
    configured: bool = False
    tray_hint_shown: bool = False
    auto_reply_text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Settings:
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        settings = cls()
        for key, value in data.items():
            if key not in known:
                settings.extra[key] = value
                continue
            default = getattr(settings, key)
            try:
                if isinstance(default, StrEnum):
                    value = type(default)(value)
                elif isinstance(default, bool):
                    value = bool(value)
                elif isinstance(default, int):
                    value = int(value)
                elif isinstance(default, str):
                    value = str(value)
                elif isinstance(default, dict):
                    value = {str(k): str(v) for k, v in dict(value).items()}
            except (TypeError, ValueError):
                logger.warning("Ignoring an unreadable setting %r", key)
                continue
            setattr(settings, key, value)
        settings.poll_interval_s = max(5, min(settings.poll_interval_s, 3600))
        return settings

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            data[f.name] = str(value) if isinstance(value, StrEnum) else value
        return data


class SettingsFile:
    """Loads and saves :class:`Settings` as JSON, atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Settings:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Settings()
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError:
            # Keep the damaged file for support instead of silently overwriting it.
            aside = self.path.with_name(f"{self.path.name}.unreadable-{int(time.time())}")
            self.path.replace(aside)
            logger.warning("The settings file was damaged; kept it as %s", aside.name)
            return Settings()
        return Settings.from_json(data)

    def save(self, settings: Settings) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(settings.to_json(), indent=2, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@dataclass(frozen=True)
class EnvironmentOverrides:
    """Values from the environment that win over stored settings (see README)."""

    twilio_api_url: str | None = None
    phone_number: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> EnvironmentOverrides:
        env = os.environ if environ is None else environ
        api_url = (env.get(ENV_TWILIO_API_URL) or "").strip().rstrip("/") or None
        if api_url is not None:
            parts = urlsplit(api_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{ENV_TWILIO_API_URL} must be an http(s) URL, got {api_url!r}")
        return cls(
            twilio_api_url=api_url,
            phone_number=(env.get(ENV_PHONE_NUMBER) or "").strip() or None,
        )

    @property
    def api_base_url(self) -> str:
        return self.twilio_api_url or DEFAULT_TWILIO_API_URL
