"""pyngrok's download progress reaches the status, even without a console."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from pyngrok import installer
from pyngrok.exception import PyngrokNgrokInstallError

from desktop.tunnel.install import InstallError, install_agent


def _pretend_download(lines: list[str], *, fail: bool = False) -> Any:
    def install(ngrok_path: str, ngrok_version: str = "3", **kwargs: Any) -> None:
        Path(ngrok_path).parent.mkdir(parents=True, exist_ok=True)
        Path(ngrok_path).write_text("partial")
        for line in lines:
            installer._print_progress(line)
        installer._clear_progress()
        if fail:
            raise PyngrokNgrokInstallError("An error occurred while downloading ngrok: 404")

    return install


def test_progress_is_reported_without_a_console(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    printer = installer._print_progress
    lines = ["Downloading ngrok ...", "Downloading ngrok: 0%", "Downloading ngrok: 40%"]
    lines += ["Downloading ngrok: 40%", "Downloading ngrok: 100%", "Installing ngrok ... "]
    monkeypatch.setattr(installer, "install_ngrok", _pretend_download(lines))
    monkeypatch.setattr(sys, "stdout", None)
    seen: list[tuple[str, int | None]] = []

    install_agent(str(tmp_path / "ngrok"), lambda text, pct: seen.append((text, pct)), timeout=1)

    assert seen == [
        ("Downloading ngrok…", 0),
        ("Downloading ngrok…", 40),
        ("Downloading ngrok…", 100),
        ("Installing ngrok…", None),
    ]
    assert installer._print_progress is printer  # the hook is removed afterwards


def test_a_failed_download_leaves_no_half_written_program(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(installer, "install_ngrok", _pretend_download([], fail=True))
    target = tmp_path / "ngrok"

    with pytest.raises(InstallError, match="404"):
        install_agent(str(target), lambda text, pct: None, timeout=1)
    assert not target.exists()
