"""Download the ngrok agent once, through pyngrok's installer, with visible progress.

pyngrok reports download progress by writing ``"Downloading ngrok: 40%\\r"`` to
``sys.stdout``. In a frozen windowed app ``sys.stdout`` is None and that write raises,
which pyngrok turns into a failed install; and nobody would see the text anyway. While an
install runs, the installer's two progress printers are swapped for one that feeds the
tunnel's status instead (``_print_progress``/``_clear_progress`` are looked up as module
globals on every call, so replacing the attributes is enough).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator

from pyngrok import installer

from desktop.tunnel.errors import REDACTOR

logger = logging.getLogger(__name__)

#: (what is happening, percent done or None)
ProgressCallback = Callable[[str, int | None], None]

_PERCENT = re.compile(r"(\d{1,3})\s*%")
# One install at a time: the printer hook is process-wide.
_install_lock = threading.Lock()


class InstallError(Exception):
    """The agent could not be downloaded or unpacked; ``str()`` is safe to log."""


def install_agent(ngrok_path: str, on_progress: ProgressCallback, *, timeout: float) -> None:
    """Download ngrok to ``ngrok_path``; leaves no half-written program behind on failure."""
    existed = os.path.exists(ngrok_path)
    with _install_lock, _progress_to(on_progress):
        try:
            installer.install_ngrok(ngrok_path, ngrok_version="3", timeout=timeout)
        except Exception as exc:  # pyngrok wraps most, but not makedirs/permission errors
            if not existed:
                with contextlib.suppress(OSError):
                    os.remove(ngrok_path)
            raise InstallError(REDACTOR.redact(f"{type(exc).__name__}: {exc}")) from None
    if not os.path.exists(ngrok_path):
        raise InstallError("the downloaded archive did not contain the ngrok program")


@contextlib.contextmanager
def _progress_to(on_progress: ProgressCallback) -> Iterator[None]:
    last: list[tuple[str, int | None]] = []

    def report(line: str) -> None:
        try:
            text = line.strip().rstrip(".").strip()
            match = _PERCENT.search(text)
            percent = min(100, int(match.group(1))) if match else None
            update: tuple[str, int | None]
            if text.lower().startswith("downloading"):
                update = ("Downloading ngrok…", percent if percent is not None else 0)
            elif text.lower().startswith("installing"):
                update = ("Installing ngrok…", None)
            else:
                return
            if last and last[-1] == update:
                return
            last.append(update)
            on_progress(*update)
        except Exception:  # progress is cosmetic; never let it break the download
            logger.exception("Download progress report failed")

    def clear(spaces: int = 100) -> None:
        del spaces

    saved = {
        name: getattr(installer, name)
        for name in ("_print_progress", "_clear_progress")
        if hasattr(installer, name)
    }
    saved_enabled = getattr(installer, "_print_progress_enabled", None)
    if len(saved) == 2:
        setattr(installer, "_print_progress", report)  # noqa: B010
        setattr(installer, "_clear_progress", clear)  # noqa: B010
    elif sys.stdout is None and saved_enabled is not None:
        # A pyngrok without these hooks: at least keep it from writing to None.
        setattr(installer, "_print_progress_enabled", False)  # noqa: B010
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(installer, name, value)
        if saved_enabled is not None:
            setattr(installer, "_print_progress_enabled", saved_enabled)  # noqa: B010
