"""What the installed (frozen) Twoway needs to know about itself, and its smoke-test report.

PyInstaller's launcher and its Qt hook point ``LD_LIBRARY_PATH`` and ``QT_PLUGIN_PATH`` at
the bundle.  Our own process has already used them, but every program Twoway starts
inherits them: ``xdg-open`` then launches the user's browser or file manager against
Twoway's copies of OpenSSL and Qt, and those crash.  :func:`prepare_frozen_environment`
puts the user's environment back before anything is started.

:func:`smoke_report` is what ``twoway --smoke-test`` prints after building the window, so
an installer check (and a support call) can see, in a few lines, that the Qt plugins,
the keyring backends, the CA bundle and every module made it into the package.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

#: Variables the bundle sets for itself that must not leak into programs Twoway starts.
_BUNDLE_ONLY_VARIABLES: Final = ("QT_PLUGIN_PATH", "QML2_IMPORT_PATH")
#: The library search path PyInstaller prepends to, and where it keeps the user's own value.
_LIBRARY_PATH_VARIABLES: Final = (
    ("LD_LIBRARY_PATH", "LD_LIBRARY_PATH_ORIG"),
    ("DYLD_LIBRARY_PATH", "DYLD_LIBRARY_PATH_ORIG"),
)
#: Modules that must not be imported just to prove they are there.
_NOT_IMPORTABLE: Final = frozenset({"desktop.__main__"})
#: Qt plugin folders worth listing in the report.
_PLUGIN_KINDS: Final = (
    "platforms",
    "platformthemes",
    "platforminputcontexts",
    "imageformats",
    "iconengines",
    "xcbglintegrations",
    "wayland-shell-integration",
    "styles",
)


def is_frozen() -> bool:
    """True inside a PyInstaller bundle (the installed app), False when run from source."""
    return bool(getattr(sys, "frozen", False))


def bundle_dir() -> Path:
    """Where the read-only files that ship with Twoway live: the bundle, or the checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parents[1]


def resource_path(*parts: str) -> Path:
    """A file under ``resources/``, e.g. ``resource_path("icons", "twoway.svg")``."""
    return bundle_dir().joinpath("resources", *parts)


def prepare_frozen_environment(environ: MutableMapping[str, str] | None = None) -> None:
    """Give programs Twoway starts the environment the user started Twoway with.

    Call once, first thing in ``main()``.  Harmless when running from source.  Qt keeps
    finding its plugins without ``QT_PLUGIN_PATH``: PySide6 registers a built-in
    ``qt.conf`` pointing at its own folder (the smoke report's ``qt plugins:`` line shows it).
    """
    env = os.environ if environ is None else environ
    if not is_frozen():
        return
    bundle = str(bundle_dir())
    for name in _BUNDLE_ONLY_VARIABLES:
        value = env.get(name, "")
        if value.startswith(bundle):
            del env[name]
    for name, original_name in _LIBRARY_PATH_VARIABLES:
        if original_name in env:
            env[name] = env.pop(original_name)
        elif env.get(name, "").startswith(bundle):
            # The launcher added the only entry: the user had none.
            del env[name]


# --- the smoke-test report ------------------------------------------------------------------


def smoke_report() -> list[str]:
    """Lines of ``name: value`` describing what this build found at run time.

    Call with the QApplication alive (after the main window was built).  Never raises:
    a failed probe becomes a line that says so, and the packaging test reads the lines.
    """
    lines = [f"frozen: {'yes' if is_frozen() else 'no'} ({bundle_dir()})"]
    probes = (_qt_lines, _keyring_lines, _ca_bundle_line, _sqlite_line, _phone_line, _modules_line)
    for probe in probes:
        try:
            lines.extend(probe())
        except Exception as exc:  # a report line, never a crash of the smoke test
            logger.exception("Smoke-test probe %s failed", probe.__name__)
            lines.append(f"{probe.__name__.strip('_').removesuffix('_lines')}: error {exc!r}")
    return lines


def _qt_lines() -> list[str]:
    from PySide6.QtCore import QCoreApplication, QLibraryInfo, qVersion
    from PySide6.QtGui import QGuiApplication, QIcon, QImageReader

    formats = sorted({bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()})
    icon = QIcon(str(resource_path("icons", "twoway.svg")))
    icon_ok = not icon.pixmap(32, 32).isNull()
    folders = [Path(p) for p in QCoreApplication.libraryPaths()]
    folders.append(Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)))
    plugins = []
    for kind in _PLUGIN_KINDS:
        names = sorted({_plugin_name(f) for folder in folders for f in _files(folder / kind)})
        if names:
            plugins.append(f"{kind}={','.join(names)}")
    return [
        f"qt: {qVersion()} platform={QGuiApplication.platformName()}",
        f"qt plugins: {' '.join(plugins) or 'none found'}",
        f"image formats: {' '.join(formats)}",
        f"app icon: {'ok' if icon_ok else 'missing'}",
    ]


def _files(folder: Path) -> Iterator[Path]:
    with contextlib.suppress(OSError):
        yield from (p for p in folder.iterdir() if p.is_file())


def _plugin_name(path: Path) -> str:
    """``libqxcb.so`` → ``qxcb``, ``qjpeg.dll`` → ``qjpeg``: the same name on every OS."""
    return path.name.split(".", 1)[0].removeprefix("lib")


def _keyring_lines() -> list[str]:
    import keyring
    from keyring.backend import KeyringBackend, get_all_keyring

    get_all_keyring()  # loads the backends announced by entry points
    states = []
    registered: set[type[KeyringBackend]] = getattr(KeyringBackend, "_classes", set())
    for cls in sorted(registered, key=lambda c: f"{c.__module__}.{c.__name__}"):
        label = cls.__module__.removeprefix("keyring.backends.")
        if label.startswith("keyring."):
            continue  # abstract helpers, not storage
        if cls.__name__ != "Keyring":
            label = f"{label}.{cls.__name__}"
        try:
            states.append(f"{label}={float(cls.priority):g}")
        except Exception as exc:  # the backend's own reason it cannot be used here
            states.append(f"{label}=unavailable({_short(exc)})")
    chosen = keyring.get_keyring()
    return [
        f"keyring: {type(chosen).__module__}.{type(chosen).__name__}",
        f"keyring backends: {' '.join(states) or 'none'}",
    ]


def _short(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ").replace(")", "]").replace("(", "[")
    return (text[:80] + "…") if len(text) > 80 else text or type(exc).__name__


def _ca_bundle_line() -> list[str]:
    import certifi

    where = Path(certifi.where())
    return [f"ca bundle: {'ok' if where.is_file() else 'missing'} ({where.name})"]


def _sqlite_line() -> list[str]:
    import sqlite3

    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("CREATE VIRTUAL TABLE probe USING fts5(body)")
        fts5 = "yes"
    except sqlite3.OperationalError:
        fts5 = "no"
    finally:
        connection.close()
    return [f"sqlite: {sqlite3.sqlite_version} fts5={fts5}"]


def _phone_line() -> list[str]:
    """Country names come from phonenumbers' geocoder, which the package ships trimmed."""
    from desktop.domain.phone import OurNumber, choose_sender

    kenya = choose_sender("+254711123456", [OurNumber("+15035550100", sms=True, mms=True)])
    named = "Kenya" in (kenya.warning or "")
    return [f"phone numbers: {'ok' if named else 'no country names'}"]


def _modules_line() -> list[str]:
    """Import every Twoway module, as the demo, setup and network side would later."""
    import importlib
    import pkgutil

    import desktop

    failed = []
    count = 0
    for info in pkgutil.walk_packages(desktop.__path__, "desktop."):
        if info.name in _NOT_IMPORTABLE:
            continue
        count += 1
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            failed.append(f"{info.name}[{_short(exc)}]")
    # twilio imports its API domains lazily, on first use of the client's properties.
    from twilio.rest import Client

    client = Client("AC" + "0" * 32, "smoke-test-not-a-token")
    twilio_ok = all(
        hasattr(c, "create") for c in (client.messages, client.api.v2010.account.messages)
    )
    state = f"{count - len(failed)} imported, {len(failed)} failed"
    detail = f" ({' '.join(failed)})" if failed else ""
    return [f"modules: {state}{detail}", f"twilio rest: {'ok' if twilio_ok else 'incomplete'}"]
