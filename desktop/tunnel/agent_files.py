"""The files Twoway keeps for its ngrok agent: its config, and a record of the running agent.

The config holds no secret (the authtoken reaches the agent through its environment). The
record lets the next start find an agent left behind by a crash: it is only terminated
when the process still looks exactly like the agent we started (same program, our config
file on its command line where the OS shows it, same start time), never on a bare pid.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

CONFIG_NAME = "ngrok.yml"
RECORD_NAME = "ngrok-agent.json"
#: Linux shows each process's arguments in /proc; macOS and the BSDs need ps.
_HAS_PROC = Path("/proc/self/cmdline").exists()


def free_loopback_port() -> int:
    """A port nobody listens on right now, for the agent's local API."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_agent_config(state_dir: Path, web_port: int) -> Path:
    """Write the agent's config (ngrok config v3, only documented keys: ngrok rejects
    unknown ones). The local API and inspector stay on loopback; inspection is off."""
    state_dir.mkdir(parents=True, exist_ok=True)
    text = "\n".join(
        [
            "# Written by Twoway on every start; edits are lost. No secrets here.",
            'version: "3"',
            "agent:",
            # pyngrok needs the web API; it must never listen beyond this computer.
            f"  web_addr: 127.0.0.1:{int(web_port)}",
            # -1 disables the inspection database: nothing captured, nothing to replay.
            "  inspect_db_size: -1",
            "  update_check: false",
            # No stopping, restarting or updating this agent from ngrok's dashboard.
            "  remote_management: false",
            "  console_ui: false",
            # pyngrok parses logfmt lines at info level.
            "  log_level: info",
            "  log_format: logfmt",
            "",
        ]
    )
    path = state_dir / CONFIG_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class AgentRecord:
    pid: int
    exe: str
    config: str
    #: Platform-specific proof of identity against pid reuse (see :func:`start_marker`).
    started: str | None


def record_agent(state_dir: Path, pid: int, exe: str, config: Path) -> AgentRecord:
    record = AgentRecord(pid=pid, exe=str(exe), config=str(config), started=start_marker(pid))
    path = state_dir / RECORD_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record)), encoding="utf-8")
    os.replace(tmp, path)
    return record


def read_record(state_dir: Path) -> AgentRecord | None:
    try:
        data = json.loads((state_dir / RECORD_NAME).read_text(encoding="utf-8"))
        return AgentRecord(
            pid=int(data["pid"]),
            exe=str(data["exe"]),
            config=str(data["config"]),
            started=None if data.get("started") is None else str(data["started"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        logger.warning("Ignoring an unreadable ngrok agent record in %s", state_dir)
        return None


def clear_record(state_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (state_dir / RECORD_NAME).unlink()


def reap_orphan(state_dir: Path, *, grace: float = 3.0) -> int | None:
    """Terminate the agent a previous run left behind; return its pid if one was stopped."""
    record = read_record(state_dir)
    if record is None:
        return None
    try:
        if record.pid == os.getpid() or not is_alive(record.pid):
            return None
        if not looks_like_our_agent(record):
            logger.info("Process %d is no longer our ngrok agent; leaving it alone", record.pid)
            return None
        logger.info("Stopping ngrok agent %d left over from a previous run", record.pid)
        terminate(record.pid, grace=grace)
        return record.pid
    finally:
        clear_record(state_dir)


def looks_like_our_agent(record: AgentRecord) -> bool:
    """True only when the process still is the agent described by ``record``."""
    marker = start_marker(record.pid)
    if record.started is not None and marker is not None and marker != record.started:
        return False  # the pid was reused by a newer process
    if sys.platform == "win32":
        image = _windows_image_path(record.pid)
        return image is not None and _same_path(image, record.exe) and marker == record.started
    if _HAS_PROC:
        argv = _proc_command_line(record.pid)
        if argv is None:
            return False  # a zombie, or a process still between fork and exec
        names_program = any(_same_path(arg, record.exe) for arg in argv[:2])
        return names_program and record.config in argv and "start" in argv
    # No /proc (macOS, BSD): ps shows the arguments joined by spaces, and paths may
    # contain spaces ("Application Support"), so match whole space-delimited paths.
    text = _ps_field(record.pid, "command=")
    if text is None:
        return False
    padded = f" {text} "
    return all(f" {part} " in padded for part in (record.exe, record.config, "start"))


def is_alive(pid: int) -> bool:
    if sys.platform == "win32":
        return _windows_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and certainly not ours
    return _linux_state(pid) != "Z"


def terminate(pid: int, *, grace: float = 3.0) -> None:
    """Ask politely (the agent then closes its session), then insist."""
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return
        time.sleep(0.05)
    if sys.platform != "win32":
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            os.kill(pid, signal.SIGKILL)


def start_marker(pid: int) -> str | None:
    """When the process started, as the OS tells it; differs for a reused pid."""
    if sys.platform == "win32":
        return _windows_creation_time(pid)
    stat = _linux_stat_fields(pid)
    if stat is not None:
        return stat[19] if len(stat) > 19 else None  # field 22: starttime
    if sys.platform == "darwin":
        return _ps_field(pid, "lstart=")
    return None


def _same_path(a: str, b: str) -> bool:
    try:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))
    except (OSError, ValueError):
        return False


def _linux_stat_fields(pid: int) -> list[str] | None:
    """Fields after the command name of /proc/<pid>/stat (index 0 is field 3, the state)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    _, _, rest = raw.rpartition(")")
    return rest.split()


def _linux_state(pid: int) -> str | None:
    fields = _linux_stat_fields(pid)
    return fields[0] if fields else None


def _proc_command_line(pid: int) -> list[str] | None:
    """The arguments from /proc, or None where there is no /proc or nothing to read
    (a zombie shows an empty command line)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    parts = [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    return parts or None


def _ps_field(pid: int, field: str) -> str | None:
    try:
        result = subprocess.run(
            ["ps", "-ww", "-o", field, "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=3,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = result.stdout.strip()
    return text or None


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import ctypes
    from ctypes import wintypes

    _PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
    _STILL_ACTIVE = 259

    def _open(pid: int) -> int | None:
        handle = ctypes.windll.kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        return int(handle) if handle else None

    def _windows_alive(pid: int) -> bool:
        handle = _open(pid)
        if handle is None:
            return False
        try:
            code = wintypes.DWORD()
            if not ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return False
            return code.value == _STILL_ACTIVE
        finally:
            ctypes.windll.kernel32.CloseHandle(handle)

    def _windows_image_path(pid: int) -> str | None:
        handle = _open(pid)
        if handle is None:
            return None
        try:
            size = wintypes.DWORD(32768)
            buffer = ctypes.create_unicode_buffer(size.value)
            ok = ctypes.windll.kernel32.QueryFullProcessImageNameW(
                handle, 0, buffer, ctypes.byref(size)
            )
            return buffer.value if ok else None
        finally:
            ctypes.windll.kernel32.CloseHandle(handle)

    def _windows_creation_time(pid: int) -> str | None:
        handle = _open(pid)
        if handle is None:
            return None
        try:
            times = [wintypes.FILETIME() for _ in range(4)]
            ok = ctypes.windll.kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times))
            if not ok:
                return None
            created = times[0]
            return str((created.dwHighDateTime << 32) | created.dwLowDateTime)
        finally:
            ctypes.windll.kernel32.CloseHandle(handle)

else:

    def _windows_alive(pid: int) -> bool:
        raise NotImplementedError

    def _windows_image_path(pid: int) -> str | None:
        raise NotImplementedError

    def _windows_creation_time(pid: int) -> str | None:
        raise NotImplementedError
