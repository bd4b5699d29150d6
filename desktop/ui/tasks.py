"""The one way for the UI to run work in the background and come back to the GUI thread.

Work runs on the core's task pool (:class:`desktop.workers.TaskPool`, installed by the
main window with :func:`use_pool`) or is a ``Future`` the core already returned; its
result travels back as a queued Qt signal to a dispatcher that lives on the GUI thread,
which calls ``on_done`` or ``on_error`` there.  A callback whose ``context`` widget was
deleted in the meantime is dropped, so a closed dialog never receives a late result.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from desktop.workers import TaskPool

logger = logging.getLogger(__name__)

T = TypeVar("T")
Done = Callable[[T], None]
Failed = Callable[[BaseException], None]

_WORKERS = 3


class _Dispatcher(QObject):
    """Lives on the GUI thread; ``deliver`` carries a zero-argument call across threads.

    Signals: ``deliver(object)`` — emitted from any thread, handled on the GUI thread.
    """

    deliver = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.deliver.connect(self._run)

    @Slot(object)
    def _run(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:
            logger.exception("A background task's callback failed")


_dispatcher: _Dispatcher | None = None
_pool: TaskPool | None = None
_lock = threading.Lock()


def _on_gui_thread() -> bool:
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() is app.thread()


def _get_dispatcher() -> _Dispatcher:
    global _dispatcher
    if _dispatcher is None:
        if not _on_gui_thread():
            raise RuntimeError("UI background tasks must be started from the GUI thread")
        _dispatcher = _Dispatcher()
    return _dispatcher


def use_pool(pool: TaskPool) -> None:
    """Run the UI's background work on ``pool`` (the core's), instead of a pool of its own."""
    global _pool
    with _lock:
        _pool = pool


def _get_pool() -> TaskPool:
    """The installed pool; a widget used on its own (tests) gets a small one, and so
    does one that outlives the core whose pool was installed (that pool is shut down)."""
    global _pool
    with _lock:
        if _pool is None or _pool.closed:
            _pool = TaskPool(_WORKERS, "ui-task")
        return _pool


def _alive(context: QObject | None) -> bool:
    return context is None or shiboken6.isValid(context)


def deliver(
    future: Future[T],
    on_done: Done[T] | None,
    on_error: Failed | None = None,
    *,
    context: QObject | None = None,
) -> None:
    """Call ``on_done(result)`` or ``on_error(exc)`` on the GUI thread when ``future`` settles."""
    dispatcher = _get_dispatcher()

    def settled(done: Future[T]) -> None:
        def call() -> None:
            if not _alive(context):
                return
            try:
                result = done.result()
            except BaseException as exc:
                if on_error is not None:
                    on_error(exc)
                else:
                    logger.warning("A background task failed: %s", exc)
                return
            if on_done is not None:
                on_done(result)

        if shiboken6.isValid(dispatcher):
            dispatcher.deliver.emit(call)

    future.add_done_callback(settled)


def run_in_background(
    fn: Callable[[], T],
    on_done: Done[T] | None = None,
    on_error: Failed | None = None,
    *,
    context: QObject | None = None,
) -> Future[T]:
    """Run ``fn`` on a worker thread; its outcome comes back through :func:`deliver`."""
    future = _get_pool().submit(fn)
    deliver(future, on_done, on_error, context=context)
    return future


def call_on_gui_thread(call: Callable[[], Any]) -> None:
    """Queue ``call`` for the GUI thread (from any thread); used by the bridge."""
    dispatcher = _dispatcher
    if dispatcher is not None and shiboken6.isValid(dispatcher):
        dispatcher.deliver.emit(call)


def shutdown() -> None:
    """Forget the pool at exit (its owner, the core, stops its threads)."""
    global _pool
    with _lock:
        _pool = None
