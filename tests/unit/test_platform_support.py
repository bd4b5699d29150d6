"""desktop.platform_support: the installed app's environment fix and its smoke-test report.

Belongs in tests/unit/ (the packaging helper may not write there): the lead moves it with
``git mv packaging/tests/test_platform_support.py tests/unit/``.  The frozen app itself is
checked by packaging/test_deb.sh.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from desktop import platform_support


@pytest.fixture
def frozen_bundle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Pretend to run inside a PyInstaller bundle unpacked at tmp_path."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    return tmp_path


def test_children_get_the_users_library_path_back(frozen_bundle: Path) -> None:
    env = {
        "LD_LIBRARY_PATH": f"{frozen_bundle}:/opt/vendor/lib",
        "LD_LIBRARY_PATH_ORIG": "/opt/vendor/lib",
        "QT_PLUGIN_PATH": str(frozen_bundle / "PySide6" / "Qt" / "plugins"),
        "QML2_IMPORT_PATH": str(frozen_bundle / "PySide6" / "Qt" / "qml"),
        "HOME": "/home/ada",
    }

    platform_support.prepare_frozen_environment(env)

    assert env == {"LD_LIBRARY_PATH": "/opt/vendor/lib", "HOME": "/home/ada"}


def test_a_library_path_only_the_launcher_set_is_removed(frozen_bundle: Path) -> None:
    env = {"LD_LIBRARY_PATH": str(frozen_bundle)}

    platform_support.prepare_frozen_environment(env)

    assert env == {}


def test_the_users_own_qt_settings_are_kept(frozen_bundle: Path) -> None:
    env = {"QT_PLUGIN_PATH": "/usr/lib/qt6/plugins", "LD_LIBRARY_PATH": "/opt/vendor/lib"}

    platform_support.prepare_frozen_environment(env)

    assert env == {"QT_PLUGIN_PATH": "/usr/lib/qt6/plugins", "LD_LIBRARY_PATH": "/opt/vendor/lib"}


def test_running_from_source_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "frozen", raising=False)
    env = {"LD_LIBRARY_PATH": "/x", "LD_LIBRARY_PATH_ORIG": "/y", "QT_PLUGIN_PATH": "/z"}

    platform_support.prepare_frozen_environment(env)

    assert env == {"LD_LIBRARY_PATH": "/x", "LD_LIBRARY_PATH_ORIG": "/y", "QT_PLUGIN_PATH": "/z"}


def test_resources_are_found_in_the_checkout_and_in_the_bundle(
    frozen_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert platform_support.resource_path("icons", "twoway.svg") == (
        frozen_bundle / "resources" / "icons" / "twoway.svg"
    )
    monkeypatch.delattr(sys, "_MEIPASS")
    assert platform_support.resource_path("icons", "twoway.svg").is_file()


def test_the_smoke_report_describes_this_installation(
    qapp: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")

    lines = platform_support.smoke_report()

    report = dict(line.split(": ", 1) for line in lines)
    assert report["frozen"].startswith("no ")
    assert "png" in report["image formats"].split()
    assert report["app icon"] == "ok"
    assert report["sqlite"].endswith("fts5=yes")
    assert report["phone numbers"] == "ok"
    assert report["ca bundle"].startswith("ok")
    assert report["modules"].endswith(" imported, 0 failed")
    assert report["twilio rest"] == "ok"
    assert "SecretService=" in report["keyring backends"]
