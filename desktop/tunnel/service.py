"""Keeps a public HTTPS address pointed at the local receiver, through ngrok (pyngrok 9).

One supervisor thread owns the agent. It downloads ngrok when missing, starts the agent,
opens one endpoint, then watches: the agent process (exit), the agent's log (session lost
and back, fatal errors) and, now and then, the agent's local API (is our endpoint still
there, under which URL). When something breaks it tears the agent down and starts again
with capped exponential backoff, so every new public URL is reported as ONLINE and the app
can re-point the number and backfill the gap.

pyngrok keeps process-wide state (running agents by ``ngrok_path``, tunnels by URL, one
lock held for the whole agent startup), so one NgrokTunnel per ``ngrok_path`` at a time.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyngrok import conf, ngrok, process
from pyngrok.exception import PyngrokError, PyngrokNgrokError, PyngrokNgrokHTTPError
from pyngrok.log import NgrokLog
from pyngrok.process import NgrokProcess

from desktop.tunnel import agent_files, errors
from desktop.tunnel.environment import TokenInEnvironment
from desktop.tunnel.errors import REDACTOR, NgrokProblem
from desktop.tunnel.install import InstallError, install_agent
from desktop.tunnel.models import TunnelSettings, TunnelState, TunnelStatus
from desktop.workers import Backoff

logger = logging.getLogger(__name__)

#: The endpoint's name in the agent, so the health check can ask for it by name.
ENDPOINT_NAME = "twoway"
_SESSION_LOST = ("session closing", "heartbeat timeout", "failed to reconnect session")
_SESSION_BACK = "client session established"


class _Stopped(Exception):
    """stop() was called while the tunnel was being brought up."""


class _Down(Exception):
    def __init__(self, problem: NgrokProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _ApiUnreachable(Exception):
    pass


class NgrokTunnel:
    """A public HTTPS address for ``http://127.0.0.1:<local_port>``, kept alive.

    ``on_status`` is called with a :class:`TunnelStatus` on every change, from background
    threads (and from the thread calling :meth:`stop` for the final OFF). Each transition
    into ONLINE means "the number may need re-pointing, and messages may have been missed".
    """

    def __init__(
        self,
        *,
        local_port: int,
        settings: TunnelSettings,
        on_status: Callable[[TunnelStatus], None],
        state_dir: Path,
        local_host: str = "127.0.0.1",
    ) -> None:
        self._port = local_port
        self._host = local_host
        self._settings = settings
        self._on_status = on_status
        self._state_dir = Path(state_dir)
        self._ngrok_path = (
            settings.ngrok_path or os.environ.get("PYNGROK_NGROK_PATH") or conf.DEFAULT_NGROK_PATH
        )
        self._config_path = self._state_dir / agent_files.CONFIG_NAME
        self._domain: str | None = None

        self._lock = threading.Lock()  # status, thread, starting flag
        self._emit_lock = threading.RLock()  # keeps on_status calls in order
        self._status = TunnelStatus.off()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._recheck = threading.Event()
        self._thread: threading.Thread | None = None
        self._starting = False
        self._agent: NgrokProcess | None = None
        self._env_scope: TokenInEnvironment | None = None

        # What the agent's log said since it started (written from pyngrok's threads).
        self._last_error: str | None = None
        self._fatal_error: str | None = None
        self._session_lost = False
        self._reconnect_failures = 0
        self._session_back = False

        errors.guard_logs(settings.auth_token, settings.verify_twilio_auth_token)

    # ----------------------------------------------------------------- public API

    @property
    def status(self) -> TunnelStatus:
        with self._lock:
            return self._status

    @property
    def public_url(self) -> str | None:
        status = self.status
        return status.public_url if status.state is TunnelState.ONLINE else None

    @property
    def ngrok_path(self) -> str:
        return self._ngrok_path

    @property
    def agent_pid(self) -> int | None:
        """The running agent's process id, for diagnostics."""
        agent = self._agent
        if agent is None or agent.proc.poll() is not None:
            return None
        return int(agent.proc.pid)

    def start(self) -> None:
        """Begin connecting in the background; also "Retry" after FAILED. Returns at once."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._wake.clear()
            self._thread = threading.Thread(target=self._run, name="twoway-ngrok", daemon=True)
        self._emit(TunnelStatus.starting("Connecting to ngrok…"))
        self._thread.start()

    def check_now(self) -> None:
        """Ask the agent at once whether the endpoint still works (after a wake-up)."""
        self._recheck.set()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Close the endpoint, stop the agent and wait for the supervisor; idempotent."""
        with self._lock:
            thread = self._thread
            self._stopping.set()
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            deadline = time.monotonic() + timeout
            while thread.is_alive() and time.monotonic() < deadline:
                if self._starting:
                    # pyngrok holds its process lock for the whole startup; only killing
                    # the half-started agent makes it give up early.
                    self._kill_starting_agent()
                thread.join(0.1)
            if thread.is_alive():
                logger.warning("The ngrok supervisor did not finish within %.0f s", timeout)
        self._emit(TunnelStatus.off())

    # ----------------------------------------------------------------- supervisor

    def _run(self) -> None:
        try:
            self._supervise()
        except Exception:
            logger.exception("The tunnel supervisor failed")
            self._fail(
                NgrokProblem(
                    "The connection through ngrok stopped because of an error in Twoway.",
                    "Restart Twoway. " + errors.polling_note(self._settings.fallback_poll_seconds),
                    False,
                )
            )
        finally:
            try:
                self._teardown_agent()
            except Exception:
                logger.exception("Stopping the ngrok agent failed")

    def _supervise(self) -> None:
        settings = self._settings
        poll = settings.fallback_poll_seconds
        if not settings.auth_token.strip():
            self._fail(errors.missing_token(poll))
            return
        try:
            self._domain = settings.public_domain_url()
        except ValueError:
            self._fail(errors.bad_domain(settings.static_domain or "", poll))
            return
        try:
            agent_files.reap_orphan(self._state_dir)
        except Exception:
            logger.exception("Could not check for an ngrok agent left by a previous run")

        attempt = 0
        while not self._stopping.is_set():
            problem: NgrokProblem | None
            try:
                self._ensure_agent_program()
                url = self._bring_up()
                attempt = 0
                self._emit(TunnelStatus.online(url))
                problem = self._watch(url)
            except _Stopped:
                return
            except _Down as down:
                problem = down.problem
            if problem is None:
                return
            self._teardown_agent()
            if not problem.retryable:
                self._fail(problem)
                return
            attempt += 1
            logger.info("Reconnecting to ngrok (attempt %d): %s", attempt, problem.message)
            self._emit(
                TunnelStatus.reconnecting(attempt, problem.message, problem.action, problem.code)
            )
            delay = Backoff(initial=settings.backoff_initial, maximum=settings.backoff_max).delay(
                attempt
            )
            if self._stopping.wait(delay):
                return

    def _ensure_agent_program(self) -> None:
        path = self._ngrok_path
        poll = self._settings.fallback_poll_seconds
        if not os.path.exists(path):
            logger.info("ngrok is not installed at %s; downloading it", path)
            self._emit(TunnelStatus.starting("Downloading ngrok…", 0))
            try:
                install_agent(
                    path, self._on_download_progress, timeout=self._settings.download_timeout
                )
            except InstallError as exc:
                logger.warning("Downloading ngrok failed: %s", exc)
                raise _Down(errors.install_failed(poll)) from None
            if self._stopping.is_set():
                raise _Stopped
            self._emit(TunnelStatus.starting("Connecting to ngrok…"))
        if os.path.isdir(path):
            raise _Down(errors.cannot_run(path, "it is a folder", poll))
        if os.name == "posix" and not os.access(path, os.X_OK):
            raise _Down(errors.cannot_run(path, "it is not allowed to run as a program", poll))

    def _on_download_progress(self, text: str, percent: int | None) -> None:
        shown = f"{text} {percent}%" if percent is not None else text
        self._emit(TunnelStatus.starting(shown, percent))

    def _bring_up(self) -> str:
        config = self._pyngrok_config()
        ngrok.kill(config)  # forget any agent pyngrok still tracks for this path
        agent_files.write_agent_config(self._state_dir, agent_files.free_loopback_port())
        self._last_error = self._fatal_error = None
        self._session_lost, self._reconnect_failures, self._session_back = False, 0, False

        with self._lock:
            if self._stopping.is_set():
                raise _Stopped
            self._starting = True
        # pyngrok's startup loop blocks on the agent's output: a silent agent would hold
        # it past its own timeout.
        limit = self._settings.startup_timeout
        watchdog = threading.Timer(limit + min(5.0, float(limit)), self._kill_starting_agent)
        watchdog.daemon = True
        watchdog.start()
        try:
            with TokenInEnvironment(self._settings.auth_token) as scope:
                self._env_scope = scope
                try:
                    agent = ngrok.get_ngrok_process(config)
                finally:
                    self._env_scope = None
        except PyngrokNgrokError as exc:
            if self._stopping.is_set():
                raise _Stopped from None
            text = exc.ngrok_error or self._last_error
            logger.warning("ngrok did not start: %s", REDACTOR.redact(text or str(exc)))
            raise _Down(self._explain(text) if text else self._did_not_start()) from None
        except OSError as exc:  # the program cannot be executed at all
            raise _Down(
                errors.cannot_run(
                    self._ngrok_path, _os_reason(exc), self._settings.fallback_poll_seconds
                )
            ) from None
        except PyngrokError as exc:
            logger.error("pyngrok refused to start ngrok: %s", REDACTOR.redact(str(exc)))
            raise _Down(self._internal_problem()) from None
        finally:
            watchdog.cancel()
            with self._lock:
                self._starting = False

        self._agent = agent
        agent_files.record_agent(
            self._state_dir, agent.proc.pid, self._ngrok_path, self._config_path
        )
        if self._stopping.is_set():
            raise _Stopped
        return self._open_endpoint(agent)

    def _open_endpoint(self, agent: NgrokProcess) -> str:
        if agent.proc.poll() is not None:
            raise _Down(self._after_exit(agent))
        options: dict[str, Any] = {"inspect": False}
        if self._domain:
            options["url"] = self._domain
        secret = self._settings.verify_twilio_auth_token
        if secret:
            policy = {
                "on_http_request": [
                    {
                        "actions": [
                            {
                                "type": "verify-webhook",
                                "config": {"provider": "twilio", "secret": secret},
                            }
                        ]
                    }
                ]
            }
            # The agent API takes the policy as a YAML document; JSON is valid YAML.
            options["traffic_policy"] = json.dumps(policy)
        try:
            tunnel = ngrok.connect(
                addr=f"http://{self._host}:{self._port}",
                name=ENDPOINT_NAME,
                pyngrok_config=agent.pyngrok_config,
                **options,
            )
        except PyngrokNgrokHTTPError as exc:
            if agent.proc.poll() is not None:
                raise _Down(self._after_exit(agent)) from None
            logger.warning("ngrok refused the endpoint: %s", REDACTOR.redact(exc.body or str(exc)))
            raise _Down(self._explain(exc.body or str(exc))) from None
        except PyngrokError as exc:
            if agent.proc.poll() is not None:
                raise _Down(self._after_exit(agent)) from None
            logger.warning("Opening the ngrok endpoint failed: %s", REDACTOR.redact(str(exc)))
            raise _Down(self._explain(str(exc))) from None
        if not tunnel.public_url:
            raise _Down(self._internal_problem())
        logger.info("ngrok endpoint open at %s", tunnel.public_url)
        return str(tunnel.public_url)

    def _watch(self, url: str) -> NgrokProblem | None:
        """Return why the tunnel must be rebuilt, or None when stopping."""
        agent = self._agent
        assert agent is not None
        settings = self._settings
        next_check = time.monotonic() + settings.health_check_interval
        api_failures = 0
        reported_attempt = 0
        while True:
            self._wake.wait(settings.poll_interval)
            self._wake.clear()
            if self._stopping.is_set():
                return None
            if self._recheck.is_set():
                self._recheck.clear()
                next_check = 0.0
            if agent.proc.poll() is not None:
                return self._after_exit(agent)
            if self._fatal_error is not None:
                return self._explain(self._fatal_error)
            if self._session_lost and not self._session_back:
                # The agent reconnects by itself; say so, and wait for it.
                attempt = max(1, self._reconnect_failures)
                if attempt != reported_attempt:
                    reported_attempt = attempt
                    self._emit(self._session_lost_status(attempt))
                if time.monotonic() >= next_check:
                    # In case a recovery is not logged the way we expect.
                    next_check = time.monotonic() + settings.health_check_interval
                    self._session_back = self._agent_says_online(agent)
                continue
            came_back = self._session_back
            if not came_back and time.monotonic() < next_check:
                continue
            next_check = time.monotonic() + settings.health_check_interval
            try:
                current = self._endpoint_url(agent)
            except _ApiUnreachable:
                api_failures += 1
                if api_failures >= 2:
                    return NgrokProblem(
                        "ngrok stopped answering.",
                        "Twoway is restarting it. "
                        + errors.polling_note(settings.fallback_poll_seconds),
                        True,
                    )
                continue
            api_failures = 0
            if current is None:
                logger.info("The ngrok endpoint disappeared; opening it again")
                try:
                    current = self._open_endpoint(agent)
                except _Down as down:
                    return down.problem
            if came_back:
                self._session_lost, self._reconnect_failures, self._session_back = False, 0, False
                reported_attempt = 0
            if current != url or came_back or self.status.state is not TunnelState.ONLINE:
                url = current
                self._emit(TunnelStatus.online(url))

    def _endpoint_url(self, agent: NgrokProcess) -> str | None:
        """Our endpoint's public URL per the agent's API; None when it is gone."""
        try:
            data = ngrok.api_request(
                f"{agent.api_url}/api/endpoints/{ENDPOINT_NAME}", method="GET", timeout=3
            )
        except PyngrokNgrokHTTPError as exc:
            if exc.status_code == 404:
                return None
            raise _ApiUnreachable from None
        except (PyngrokError, OSError, ValueError):
            raise _ApiUnreachable from None
        url = data.get("url") or data.get("public_url")
        return str(url) if url else None

    def _agent_says_online(self, agent: NgrokProcess) -> bool:
        try:
            data = ngrok.api_request(f"{agent.api_url}/api/status", method="GET", timeout=3)
        except (PyngrokError, OSError, ValueError):
            return False
        return data.get("status") == "online"

    def _session_lost_status(self, attempt: int) -> TunnelStatus:
        poll = errors.polling_note(self._settings.fallback_poll_seconds)
        problem = self._explain(self._last_error) if self._last_error else None
        if problem is not None and problem.code is not None:
            return TunnelStatus.reconnecting(attempt, problem.message, problem.action, problem.code)
        return TunnelStatus.reconnecting(
            attempt, "Lost the connection to ngrok; reconnecting…", "Twoway keeps trying. " + poll
        )

    # ----------------------------------------------------------------- agent plumbing

    def _pyngrok_config(self) -> conf.PyngrokConfig:
        config = conf.PyngrokConfig(
            ngrok_path=self._ngrok_path,
            config_path=str(self._config_path),
            log_event_callback=self._on_agent_log,
            startup_timeout=self._settings.startup_timeout,
            request_timeout=3,
            monitor_thread=True,
        )
        # PyngrokConfig picks NGROK_AUTHTOKEN and NGROK_API_KEY up from the environment and
        # would put the token on the agent's command line: the agent reads the variable
        # itself (see TokenInEnvironment).
        config.auth_token = None
        config.api_key = None
        return config

    def _on_agent_log(self, log: NgrokLog) -> None:
        """Called by pyngrok for every agent line, during startup and from its monitor."""
        try:
            scope = self._env_scope
            if scope is not None:
                scope.restore()  # the agent is running: its environment is its own now
            err = log.err
            if err and log.lvl in ("ERROR", "CRITICAL"):
                self._last_error = err
                if errors.error_code(err) and not self._explain(err).retryable:
                    self._fatal_error = err
                    self._wake.set()
            message = (log.msg or "").lower()
            if any(marker in message for marker in _SESSION_LOST):
                self._session_lost = True
                if "failed to reconnect" in message:
                    self._reconnect_failures += 1
                self._session_back = False
                self._wake.set()
            elif _SESSION_BACK in message and self._session_lost:
                self._session_back = True
                self._wake.set()
        except Exception:  # never break pyngrok's monitor thread
            logger.exception("Handling an ngrok log line failed")

    def _kill_starting_agent(self) -> None:
        with self._lock:
            if not self._starting:
                return
        # pyngrok's own kill_process waits for the lock its startup holds; reach the
        # process through its registry instead (private, hence the care).
        registry = getattr(process, "_current_processes", {})
        starting = registry.get(self._ngrok_path)
        if starting is not None:
            logger.warning("ngrok did not finish starting; stopping it")
            with contextlib.suppress(OSError):
                starting.proc.kill()

    def _teardown_agent(self) -> None:
        agent, self._agent = self._agent, None
        if agent is not None:
            if agent.proc.poll() is None and agent.api_url:
                with contextlib.suppress(PyngrokError, OSError, ValueError):
                    ngrok.api_request(
                        f"{agent.api_url}/api/endpoints/{ENDPOINT_NAME}", method="DELETE", timeout=2
                    )
            # SIGTERM first: the agent closes its session, so the next start is not
            # refused as a second session (ERR_NGROK_108) or a duplicate URL.
            with contextlib.suppress(OSError):
                agent.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                agent.proc.wait(timeout=3)
            agent.stop_monitor_thread()
        ngrok.kill(self._pyngrok_config())  # SIGKILL if still there; clears pyngrok's state
        agent_files.clear_record(self._state_dir)

    # ----------------------------------------------------------------- status

    def _emit(self, status: TunnelStatus) -> None:
        with self._emit_lock:
            with self._lock:
                if self._stopping.is_set() and status.state is not TunnelState.OFF:
                    return
                if status == self._status:
                    return
                self._status = status
            level = logging.DEBUG if status.progress is not None else logging.INFO
            logger.log(
                level, "Tunnel %s: %s %s", status.state, status.message, status.public_url or ""
            )
            try:
                self._on_status(status)
            except Exception:
                logger.exception("The tunnel status callback failed")

    def _fail(self, problem: NgrokProblem) -> None:
        logger.warning("Tunnel failed: %s", problem.message)
        self._emit(TunnelStatus.failed(problem.message, problem.action, problem.code))

    def _explain(self, text: str | None) -> NgrokProblem:
        host = self._domain.removeprefix("https://") if self._domain else None
        return errors.explain(
            text, fallback_poll_seconds=self._settings.fallback_poll_seconds, domain=host
        )

    @staticmethod
    def _release(agent: NgrokProcess) -> None:
        """Close the pipe pyngrok reads an exited agent's log from (it never does).

        Without this every restart of the agent leaves one descriptor open until the
        garbage collector happens to find the old ``Popen``.
        """
        # pyngrok's reader thread ends at the pipe's end of file; wait for it so the
        # pipe is not closed under a read in progress.
        reader = agent._monitor_thread
        if reader is not None:
            reader.join(timeout=2.0)
            if reader.is_alive():
                return
        if agent.proc.stdout is not None:
            with contextlib.suppress(OSError):
                agent.proc.stdout.close()

    def _after_exit(self, agent: NgrokProcess) -> NgrokProblem:
        self._release(agent)
        logger.warning(
            "The ngrok agent exited (code %s): %s",
            agent.proc.returncode,
            REDACTOR.redact(self._last_error or "no error logged"),
        )
        if self._last_error:
            return self._explain(self._last_error)
        return NgrokProblem(
            "ngrok stopped unexpectedly.",
            "Twoway is starting it again. "
            + errors.polling_note(self._settings.fallback_poll_seconds),
            True,
        )

    def _did_not_start(self) -> NgrokProblem:
        return NgrokProblem(
            "ngrok did not start in time.",
            "Twoway keeps trying. " + errors.polling_note(self._settings.fallback_poll_seconds),
            True,
        )

    def _internal_problem(self) -> NgrokProblem:
        return NgrokProblem(
            "ngrok could not be set up.",
            "Restart Twoway; if it happens again, send the log file to support. "
            + errors.polling_note(self._settings.fallback_poll_seconds),
            False,
        )


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "it is not allowed to run as a program"
    if isinstance(exc, FileNotFoundError):
        return "it is missing"
    if exc.errno == errno.ENOEXEC:
        return "it is not a program for this computer"
    return exc.strerror or type(exc).__name__
