"""Where Twoway keeps its files, the user's settings, and what the environment overrides.

Secrets never live here: they are in the OS keyring (see :mod:`desktop.secrets`).  The
settings file holds only choices (which number, how Twilio reaches us) and is written
atomically so a crash mid-write never leaves a half file behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, NamedTuple
from urllib.parse import urlsplit

import msgspec

from desktop.guarded import GuardedValue
from desktop.paths import Paths as Paths  # re-exported: where every file is
from desktop.paths import default_data_dir as default_data_dir

logger = logging.getLogger(__name__)

ENV_TWILIO_API_URL: Final = "TWOWAY_TWILIO_API_URL"
ENV_PHONE_NUMBER: Final = "TWOWAY_PHONE_NUMBER"
#: Team mode (several laptops on one number, shared state in Twilio Sync).
ENV_TEAM: Final = "TWOWAY_TEAM"
ENV_STAFF_NAME: Final = "TWOWAY_STAFF_NAME"
DEFAULT_TWILIO_API_URL: Final = "https://api.twilio.com"
DEFAULT_POLL_INTERVAL_S: Final = 15
#: Bounds of "check Twilio every N seconds".
POLL_MIN_S: Final = 5
POLL_MAX_S: Final = 3600


class TunnelMode(StrEnum):
    NGROK = "ngrok"
    PUBLIC_URL = "public_url"
    POLL = "poll"


class WebhookPolicy(StrEnum):
    """What happens to the number's webhook when Twoway quits."""

    KEEP = "keep"
    RESTORE_ON_QUIT = "restore_on_quit"


class ServiceRoute(msgspec.Struct, frozen=True, kw_only=True):
    """A Messaging Service's incoming-message setting before Twoway changed it."""

    inbound_request_url: str = ""
    inbound_method: str = "POST"
    fallback_url: str = ""
    use_inbound_webhook_on_number: bool = False
    #: The number Twoway was setting up when it changed the service.
    number_sid: str = ""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The user's choices, as an immutable value.

    Change them only through :class:`SettingsStore.update` (``msgspec.structs.replace``
    inside the change function); nothing mutates a ``Settings`` in place, not even its
    dicts.  Unknown keys from newer versions ride along in ``extra`` and are written back.
    """

    phone_number: str = ""
    tunnel_mode: TunnelMode = TunnelMode.NGROK
    public_url: str = ""
    ngrok_domain: str = ""
    ngrok_path: str = ""
    ngrok_verify_webhook: bool = False
    poll_interval_s: Annotated[int, msgspec.Meta(ge=POLL_MIN_S, le=POLL_MAX_S)] = (
        DEFAULT_POLL_INTERVAL_S
    )
    webhook_policy: WebhookPolicy = WebhookPolicy.KEEP
    #: The number's sms_url before Twoway took it over, by phone number SID.
    previous_sms_urls: dict[str, str] = msgspec.field(default_factory=dict)
    #: A Messaging Service's routing before Twoway took it over, by service SID.
    previous_service_routes: dict[str, ServiceRoute] = msgspec.field(default_factory=dict)
    #: Set once the setup wizard finished; lets the first paint skip the keyring.
    configured: bool = False
    tray_hint_shown: bool = False
    auto_reply_text: str = ""
    #: Team mode: share names, read state and the setup with colleagues through Twilio Sync
    #: (the user agreed to create or join the account's Twoway team).
    team_enabled: bool = False
    #: This laptop's display name in team mode ("Sam"), shown on the messages it sends.
    staff_name: str = ""
    extra: dict[str, Any] = msgspec.field(default_factory=dict)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (checked like values read from the file)."""
        for key, value in changes.items():
            if key != "extra":
                _check_field(key, value)
        return msgspec.structs.replace(self, **changes)

    def with_previous_service_route(self, service_sid: str, route: ServiceRoute | None) -> Settings:
        """Remember (or, with None, forget) a service's routing Twoway replaced."""
        routes = {k: v for k, v in self.previous_service_routes.items() if k != service_sid}
        if route is not None:
            routes[service_sid] = route
        return msgspec.structs.replace(self, previous_service_routes=routes)

    def with_previous_sms_url(self, number_sid: str, url: str | None) -> Settings:
        """Remember (or, with None, forget) the webhook Twoway replaced on a number."""
        urls = {k: v for k, v in self.previous_sms_urls.items() if k != number_sid}
        if url is not None:
            urls[number_sid] = url
        return msgspec.structs.replace(self, previous_sms_urls=urls)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Settings:
        """Strict: the first unacceptable value raises :class:`SettingsError`."""
        settings, problems = read_settings(data)
        if problems:
            raise SettingsError(problems[0])
        return settings

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        known = msgspec.to_builtins(self)
        known.pop("extra", None)
        data.update(known)
        return data


class SettingsError(ValueError):
    """A setting has a value Twoway cannot use; ``str()`` names it in plain words."""


def _fields() -> dict[str, Any]:
    import msgspec.inspect

    info = msgspec.inspect.type_info(Settings)
    assert isinstance(info, msgspec.inspect.StructType)
    return {f.name: f.type for f in info.fields if f.name != "extra"}


def _expected(kind: Any) -> str:
    """What a value of this msgspec type looks like, for a person editing the file."""
    import msgspec.inspect as mi

    if isinstance(kind, mi.BoolType):
        return "true or false"
    if isinstance(kind, mi.IntType):
        if kind.ge is not None and kind.le is not None:
            return f"a whole number from {kind.ge} to {kind.le}"
        return "a whole number"
    if isinstance(kind, mi.EnumType):
        return "one of " + ", ".join(repr(str(m.value)) for m in kind.cls)
    if isinstance(kind, mi.StrType):
        return "text"
    if isinstance(kind, mi.DictType):
        return "an object (names and their values)"
    return "a different kind of value"


def _check_field(key: str, value: Any) -> None:
    fields = _fields()
    if key not in fields:
        raise SettingsError(f"There is no setting called {key!r}.")
    try:
        msgspec.convert({key: value}, Settings, strict=True)
    except msgspec.ValidationError:
        shown = json.dumps(value, default=str)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        raise SettingsError(
            f"The setting {key!r} must be {_expected(fields[key])}, not {shown}."
        ) from None


def read_settings(data: Mapping[str, Any]) -> tuple[Settings, list[str]]:
    """Read what can be read: bad values are left at their default and described.

    Unknown keys are kept (a newer Twoway wrote them).  Each problem is one plain
    sentence naming the setting, what it must be and what was found.
    """
    fields = _fields()
    good: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in data.items():
        if key not in fields:
            extra[key] = value
            continue
        try:
            _check_field(key, value)
        except SettingsError as problem:
            problems.append(str(problem))
            continue
        good[key] = value
    settings = msgspec.convert(good, Settings, strict=True)
    return msgspec.structs.replace(settings, extra=extra), problems


class SettingsFile:
    """Loads and saves :class:`Settings` as JSON, atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        #: What was wrong with the file at the last load (shown to the user once).
        self.problems: list[str] = []

    def load(self) -> Settings:
        """The stored settings; a damaged file or bad values are kept aside, never lost."""
        self.problems = []
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Settings()
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError:
            self._keep_aside()
            self.problems = ["The settings file was damaged; Twoway started with defaults."]
            return Settings()
        settings, problems = read_settings(data)
        if problems:
            self._keep_aside()
            self.problems = problems
            for problem in problems:
                logger.warning("Settings: %s Using the default instead.", problem)
        return settings

    def _keep_aside(self) -> None:
        # Keep the file for support instead of silently overwriting it.
        aside = self.path.with_name(f"{self.path.name}.unreadable-{int(time.time())}")
        shutil.copyfile(self.path, aside)
        logger.warning("Kept the unreadable settings file as %s", aside.name)

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


class SettingsStore(GuardedValue[Settings]):
    """The app's settings: read ``value`` anywhere, change them only with ``update``.

    ``update`` writes the file (fsync) before announcing: call it off the GUI thread.
    """

    def __init__(self, file: SettingsFile) -> None:
        super().__init__(Settings(), file.save)
        self.file = file

    def load(self) -> Settings:
        loaded = self.file.load()
        # Replace without saving: what was read is already on disk (or is the default).
        with self._lock:
            self._value = loaded
        return loaded


class CoreOptions(NamedTuple):
    """How this run was started (the command line), for the core and the network side."""

    data_dir: Path
    port: int = 0
    public_url: str | None = None
    no_tunnel: bool = False
    demo: bool = False
    #: None: the process environment.
    environ: Mapping[str, str] | None = None
    #: How fast the demo's simulated customers live (tests and screenshots speed it up).
    demo_speed: float = 1.0
    #: Poll Twilio this often instead of the setting (the soak benchmark's accelerated week).
    poll_interval_s: float | None = None
    #: Team mode's webhook lease lasts this long instead of 30 s (tests run it faster).
    team_lease_ttl_s: float | None = None


@dataclass(frozen=True)
class EnvironmentOverrides:
    """Values from the environment that win over stored settings (see README)."""

    twilio_api_url: str | None = None
    phone_number: str | None = None
    #: ``TWOWAY_TEAM=1`` turns team mode on (``0`` off) whatever the setting says.
    team: bool | None = None
    staff: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> EnvironmentOverrides:
        env = os.environ if environ is None else environ
        api_url = (env.get(ENV_TWILIO_API_URL) or "").strip().rstrip("/") or None
        if api_url is not None:
            parts = urlsplit(api_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{ENV_TWILIO_API_URL} must be an http(s) URL, got {api_url!r}")
        team_raw = (env.get(ENV_TEAM) or "").strip().lower()
        team = None if not team_raw else team_raw in ("1", "true", "yes", "on")
        return cls(
            twilio_api_url=api_url,
            phone_number=(env.get(ENV_PHONE_NUMBER) or "").strip() or None,
            team=team,
            staff=" ".join((env.get(ENV_STAFF_NAME) or "").split())[:40] or None,
        )

    @property
    def api_base_url(self) -> str:
        return self.twilio_api_url or DEFAULT_TWILIO_API_URL

    def team_enabled(self, settings: Settings) -> bool:
        return settings.team_enabled if self.team is None else self.team

    def staff_name(self, settings: Settings) -> str:
        """The name colleagues see: the environment's, the setting, else the computer's."""
        import socket

        return self.staff or settings.staff_name or socket.gethostname().split(".")[0]
