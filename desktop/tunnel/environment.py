"""Giving the ngrok authtoken to the agent without putting it on a command line."""

from __future__ import annotations

import os
import threading
from types import TracebackType

VARIABLE = "NGROK_AUTHTOKEN"
# Serializes every change to the variable: one agent is spawned at a time.
_env_lock = threading.RLock()


class TokenInEnvironment:
    """Hands the authtoken to the agent through its environment, not its command line.

    pyngrok passes ``PyngrokConfig.auth_token`` as ``--authtoken TOKEN``, which every user of
    the computer can read in the process list, while a process's environment is private to
    its owner. pyngrok spawns the agent with our own environment, so the token is in it from
    just before the spawn until the agent's first log line (or the end of the startup).
    """

    def __init__(self, token: str) -> None:
        self._token = token
        self._saved: str | None = None
        self._active = False
        self._guard = threading.Lock()

    def __enter__(self) -> TokenInEnvironment:
        _env_lock.acquire()
        with self._guard:
            self._saved = os.environ.get(VARIABLE)
            os.environ[VARIABLE] = self._token
            self._active = True
        return self

    def restore(self) -> None:
        with self._guard:
            if not self._active:
                return
            self._active = False
            if self._saved is None:
                os.environ.pop(VARIABLE, None)
            else:
                os.environ[VARIABLE] = self._saved

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.restore()
        finally:
            _env_lock.release()
