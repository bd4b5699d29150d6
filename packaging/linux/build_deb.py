"""Build ``twoway_<version>_<arch>.deb`` from the PyInstaller folder, with dpkg-deb.

    python packaging/linux/build_deb.py packaging/out/dist/twoway --out packaging/out

(``python packaging/build.py`` runs PyInstaller and then this.)  Layout of the package:

    /opt/twoway/                     the PyInstaller folder (twoway + _internal/)
    /usr/bin/twoway                  → /opt/twoway/twoway
    /usr/share/applications/twoway.desktop
    /usr/share/icons/hicolor/<N>x<N>/apps/twoway.png, scalable/apps/twoway.svg
    /usr/share/doc/twoway/copyright

No maintainer scripts: the icon cache and the menu are refreshed by the dpkg triggers of
the hicolor theme and desktop-file-utils.

``Depends`` is worked out from the package itself: every ELF file's DT_NEEDED entries that
the bundle does not carry are system libraries, each mapped to its Debian package in
SYSTEM_PACKAGES.  A library missing from that table stops the build, so a new Qt that needs
a new library cannot ship with a silently incomplete Depends.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
RESOURCES: Final = ROOT / "resources"
PACKAGE: Final = "twoway"
PNG_SIZES: Final = (16, 24, 32, 48, 64, 128, 256, 512)

#: System libraries the bundle expects from the OS, and the Debian 12 packages that carry them
#: (later releases keep these names, or provide them, as for the t64 renames).
SYSTEM_PACKAGES: Final[dict[str, str]] = {
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libdl.so.2": "libc6",
    "libpthread.so.0": "libc6",
    "librt.so.1": "libc6",
    "libresolv.so.2": "libc6",
    "libutil.so.1": "libc6",
    "ld-linux-x86-64.so.2": "libc6",
    "ld-linux-aarch64.so.1": "libc6",
    "libgcc_s.so.1": "libgcc-s1",
    "libstdc++.so.6": "libstdc++6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libgio-2.0.so.0": "libglib2.0-0",
    "libgmodule-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libdrm.so.2": "libdrm2",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}
#: Twilio credentials live in the desktop's Secret Service (GNOME Keyring, or KDE Wallet
#: 5.97+, which speaks the same protocol); links and folders open through xdg-open.
RECOMMENDS: Final = ("gnome-keyring | kwalletmanager", "xdg-utils")
DEFAULT_MAINTAINER: Final = "Twoway maintainers <maintainers@twoway.invalid>"
DESCRIPTION: Final = """\
Two-way SMS and MMS for your Twilio number
 Twoway is a desktop app for small businesses: customers' texts arrive as
 conversations with picture thumbnails, a notification pops up in the tray,
 and staff reply from the same window. Twilio credentials stay in the
 desktop keyring (GNOME Keyring or KDE Wallet).
"""


class PackagingError(RuntimeError):
    """The .deb cannot be built as it stands; the message says what to fix."""


def debian_version(version: str) -> str:
    """PEP 440 → Debian ordering: ``1.0rc1`` → ``1.0~rc1`` sorts before ``1.0``."""
    match = re.fullmatch(
        r"(\d+(?:\.\d+)*)(?:[.-]?(a|b|rc)(\d+))?(?:\.?(dev)(\d+))?(?:\+(.+))?", version
    )
    if match is None:
        raise PackagingError(f"cannot turn version {version!r} into a Debian version")
    release, pre, pre_n, dev, dev_n, local = match.groups()
    text = release
    if pre:
        text += f"~{pre}{pre_n}"
    if dev:
        text += f"~dev{dev_n}"
    if local:
        text += "+" + re.sub(r"[^A-Za-z0-9.+~]", ".", local)
    return text


def host_architecture() -> str:
    result = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


# --- what the bundle needs from the system --------------------------------------------------


def _elf_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    yield path


def _dynamic_section(path: Path) -> str:
    result = subprocess.run(
        ["readelf", "-d", "-W", str(path)], capture_output=True, text=True, check=False
    )
    return result.stdout


def _search_dirs(path: Path, dynamic: str, top: Path) -> list[Path]:
    """Where the loader looks for this file's libraries inside the bundle."""
    dirs = [top]  # the launcher puts the bundle's top folder on LD_LIBRARY_PATH
    for paths in re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]", dynamic):
        for entry in paths.split(":"):
            dirs.append(Path(entry.replace("$ORIGIN", str(path.parent))).resolve())
    return dirs


def system_libraries(app: Path) -> dict[str, set[str]]:
    """Libraries the bundle needs but does not carry, with the files that need them."""
    top = app / "_internal"
    needed_by: dict[str, set[str]] = {}
    for path in _elf_files(app):
        dynamic = _dynamic_section(path)
        dirs = _search_dirs(path, dynamic, top)
        for name in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic):
            if not any((d / name).exists() for d in dirs):
                needed_by.setdefault(name, set()).add(str(path.relative_to(app)))
    return needed_by


def glibc_requirement(app: Path) -> str | None:
    """The newest ``GLIBC_2.x`` symbol version any bundled file asks for."""
    best: tuple[int, ...] | None = None
    for path in _elf_files(app):
        for found in set(re.findall(rb"GLIBC_(2\.[0-9]+(?:\.[0-9]+)?)\x00", path.read_bytes())):
            version = tuple(int(n) for n in found.decode().split("."))
            best = version if best is None or version > best else best
    return ".".join(map(str, best)) if best else None


def depends(app: Path) -> list[str]:
    needed = system_libraries(app)
    unknown = sorted(set(needed) - set(SYSTEM_PACKAGES))
    if unknown:
        lines = [f"  {name} (needed by {', '.join(sorted(needed[name])[:3])})" for name in unknown]
        raise PackagingError(
            "These system libraries are needed but not in SYSTEM_PACKAGES in "
            "packaging/linux/build_deb.py; add their Debian packages (dpkg -S <name>):\n"
            + "\n".join(lines)
        )
    packages = {SYSTEM_PACKAGES[name] for name in needed}
    glibc = glibc_requirement(app)
    packages.discard("libc6")
    return [f"libc6 (>= {glibc})" if glibc else "libc6", *sorted(packages)]


# --- the package tree -----------------------------------------------------------------------


def _normalise_modes(root: Path) -> None:
    """Root-owned files must not be writable by others, whatever the build machine's umask."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        executable = path.is_dir() or mode & stat.S_IXUSR
        path.chmod(0o755 if executable else 0o644)


def _installed_size_kib(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        if path.is_relative_to(root / "DEBIAN"):
            continue
        total += 1 if path.is_dir() or path.is_symlink() else -(-path.stat().st_size // 1024)
    return total


def stage(app: Path, root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    opt = root / "opt" / PACKAGE
    shutil.copytree(app, opt, symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / PACKAGE).symlink_to(f"/opt/{PACKAGE}/{PACKAGE}")

    applications = root / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    shutil.copy2(RESOURCES / "twoway.desktop", applications / "twoway.desktop")

    hicolor = root / "usr" / "share" / "icons" / "hicolor"
    for size in PNG_SIZES:
        source = RESOURCES / "icons" / f"twoway-{size}.png"
        if not source.exists():
            raise PackagingError(f"{source} is missing: run python scripts/render_icons.py")
        target = hicolor / f"{size}x{size}" / "apps" / "twoway.png"
        target.parent.mkdir(parents=True)
        shutil.copy2(source, target)
    scalable = hicolor / "scalable" / "apps"
    scalable.mkdir(parents=True)
    shutil.copy2(RESOURCES / "icons" / "twoway.svg", scalable / "twoway.svg")

    doc = root / "usr" / "share" / "doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: Twoway\n\n"
        "Files: *\nCopyright: Twoway contributors\nLicense: MIT\n\n"
        "Files: opt/twoway/_internal/*\n"
        "Comment: Python (PSF License), Qt 6 and PySide6 (LGPL-3), OpenSSL (Apache-2.0),\n"
        " ICU (Unicode License), twilio, requests, werkzeug, waitress, keyring, pyngrok,\n"
        " phonenumbers, cryptography and their dependencies, under their own licences,\n"
        " whose texts are in the .dist-info folders and in PySide6/.\n",
        encoding="utf-8",
    )


def control(root: Path, version: str, arch: str, depends_on: list[str], maintainer: str) -> str:
    fields = {
        "Package": PACKAGE,
        "Version": debian_version(version),
        "Architecture": arch,
        "Maintainer": maintainer,
        "Installed-Size": str(_installed_size_kib(root)),
        "Depends": ", ".join(depends_on),
        "Recommends": ", ".join(RECOMMENDS),
        "Section": "net",
        "Priority": "optional",
        "Description": DESCRIPTION.rstrip("\n"),
    }
    return "".join(f"{key}: {value}\n" for key, value in fields.items())


def build_deb(app: Path, out: Path, version: str, *, maintainer: str | None = None) -> Path:
    """Stage the tree, write DEBIAN/control, run dpkg-deb; returns the .deb's path."""
    if not (app / PACKAGE).is_file():
        raise PackagingError(f"{app} is not a PyInstaller folder with a {PACKAGE} program")
    for tool in ("dpkg-deb", "readelf"):
        if shutil.which(tool) is None:
            raise PackagingError(f"{tool} is needed (apt-get install dpkg binutils)")
    arch = host_architecture()
    root = out / "deb-root"
    stage(app, root)
    depends_on = depends(root / "opt" / PACKAGE)
    debian = root / "DEBIAN"
    debian.mkdir()
    maintainer = maintainer or os.environ.get("TWOWAY_DEB_MAINTAINER") or DEFAULT_MAINTAINER
    (debian / "control").write_text(
        control(root, version, arch, depends_on, maintainer), encoding="utf-8"
    )
    _normalise_modes(root)
    deb = out / f"{PACKAGE}_{debian_version(version)}_{arch}.deb"
    deb.unlink(missing_ok=True)
    command = ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(deb)]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)
    print((debian / "control").read_text(encoding="utf-8"), end="")
    return deb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Twoway .deb from a PyInstaller folder.")
    parser.add_argument("app", type=Path, help="the PyInstaller folder (dist/twoway)")
    parser.add_argument("--out", type=Path, default=ROOT / "packaging" / "out")
    parser.add_argument("--version", help="defaults to desktop.__version__")
    args = parser.parse_args(argv)
    version = args.version
    if version is None:
        text = (ROOT / "desktop" / "__init__.py").read_text(encoding="utf-8")
        found = re.search(r'^__version__ = "([^"]+)"', text, re.M)
        if found is None:
            raise SystemExit("desktop/__init__.py has no __version__")
        version = found.group(1)
    try:
        deb = build_deb(args.app.resolve(), args.out.resolve(), version)
    except PackagingError as exc:
        print(f"build_deb: {exc}", file=sys.stderr)
        return 1
    print(f"{deb} ({deb.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
