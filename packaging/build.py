"""Build Twoway's installer for the OS this runs on: PyInstaller, then .deb, setup.exe or .dmg.

    python packaging/build.py            # app + installer, into packaging/out/
    python packaging/build.py app        # only the PyInstaller folder (or Twoway.app)
    python packaging/build.py installer  # only the installer, from an app built before

The GitHub workflow and packaging/test_deb.sh call this, so a maintainer's local build and
CI's are the same commands.  Needs PyInstaller in the running Python (``pip install
pyinstaller``); Linux also dpkg-deb and readelf, Windows Inno Setup 6, macOS dmgbuild.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
DEFAULT_OUT = PACKAGING / "out"
#: A plain str, so that type checkers on one OS do not call the other OSes' code unreachable.
PLATFORM: str = sys.platform


def read_version() -> str:
    text = (ROOT / "desktop" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if match is None:
        raise SystemExit("desktop/__init__.py has no __version__")
    return match.group(1)


def run(command: list[str], **kwargs: object) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def build_app(out: Path) -> Path:
    """Run PyInstaller with packaging/twoway.spec; returns the app folder or .app bundle."""
    dist, work = out / "dist", out / "build"
    shutil.rmtree(dist, ignore_errors=True)
    run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level=WARN",
            f"--distpath={dist}",
            f"--workpath={work}",
            str(PACKAGING / "twoway.spec"),
        ],
        cwd=ROOT,
    )
    return app_path(out)


def app_path(out: Path) -> Path:
    if PLATFORM == "darwin":
        return out / "dist" / "Twoway.app"
    return out / "dist" / "twoway"


def build_installer(out: Path, version: str) -> Path:
    app = app_path(out)
    if not app.exists():
        raise SystemExit(f"{app} does not exist: run 'python packaging/build.py app' first")
    if PLATFORM.startswith("linux"):
        return _deb(app, out, version)
    if PLATFORM == "win32":
        return _inno_setup(app, out, version)
    if PLATFORM == "darwin":
        return _dmg(app, out, version)
    raise SystemExit(f"no installer for {PLATFORM}")


def _deb(app: Path, out: Path, version: str) -> Path:
    spec = importlib.util.spec_from_file_location("build_deb", PACKAGING / "linux" / "build_deb.py")
    assert spec is not None
    assert spec.loader is not None
    build_deb = importlib.util.module_from_spec(spec)
    sys.modules["build_deb"] = build_deb  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(build_deb)
    try:
        result: Path = build_deb.build_deb(app, out, version)
    except build_deb.PackagingError as exc:
        raise SystemExit(f"build_deb: {exc}") from None
    return result


def _inno_setup(app: Path, out: Path, version: str) -> Path:
    candidates = [
        shutil.which("iscc"),
        os.path.join(os.environ.get("PROGRAMFILES(X86)", ""), "Inno Setup 6", "ISCC.exe"),
        os.path.join(os.environ.get("PROGRAMFILES", ""), "Inno Setup 6", "ISCC.exe"),
    ]
    iscc = next((c for c in candidates if c and os.path.isfile(c)), None)
    if iscc is None:
        raise SystemExit("Inno Setup 6 is not installed (choco install innosetup)")
    run(
        [
            iscc,
            f"/DAppVersion={version}",
            f"/DAppDir={app}",
            f"/DOutputDir={out}",
            str(PACKAGING / "windows" / "twoway.iss"),
        ]
    )
    return out / f"Twoway-{version}-setup.exe"


def _dmg(app: Path, out: Path, version: str) -> Path:
    dmg = out / f"Twoway-{version}.dmg"
    dmg.unlink(missing_ok=True)
    run(
        [
            sys.executable,
            "-m",
            "dmgbuild",
            "-s",
            str(PACKAGING / "macos" / "dmg_settings.py"),
            "-D",
            f"app={app}",
            "-D",
            f"icon={ROOT / 'resources' / 'icons' / 'twoway.icns'}",
            f"Twoway {version}",
            str(dmg),
        ]
    )
    return dmg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("step", nargs="?", choices=("all", "app", "installer"), default="all")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    version = read_version()
    started = time.monotonic()
    if args.step in ("all", "app"):
        app = build_app(out)
        print(f"app: {app} ({time.monotonic() - started:.0f} s)")
    if args.step in ("all", "installer"):
        installer = build_installer(out, version)
        size = installer.stat().st_size
        print(f"installer: {installer} ({size / 1e6:.1f} MB, {size} bytes)")
    print(f"build time: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
