"""Writes on one background thread at a lower CPU priority, so that questions keep the cores.

A server answers many readers while articles are embedded. Run on the request's own thread, an ingest
takes as much CPU as all the questions together; on a thread whose priority is ``nice`` steps lower, the
operating system gives the questions the cores first and the ingest what is left. Writes queue there one
after another (they share the same cores anyway). Lowering a thread's priority is per thread on Linux
only; elsewhere the thread runs at normal priority.
"""

from __future__ import annotations

import contextvars
import os
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Future, contextvars.Context, Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def lower_priority(nice: int) -> None:
    """Make the calling thread ``nice`` steps less favoured by the scheduler (Linux; a no-op elsewhere)."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()  # on Linux a priority set on a thread id applies to that thread alone
    os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))


class BackgroundWriter:
    """``run(fn, ...)`` calls ``fn`` on the writer thread and returns its result (or raises its error).

    The caller's context variables go along (a web framework's progress reporting reads them). The thread
    is a daemon: a server stopping mid-write leaves what the store's write order makes safe to re-run."""

    def __init__(self, nice: int) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, args=(nice,), name="articlebot-writer", daemon=True)
        self._thread.start()

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if threading.current_thread() is self._thread:  # a write calling a write
            return fn(*args, **kwargs)
        future: Future[T] = Future()
        self._jobs.put((future, contextvars.copy_context(), fn, args, kwargs))
        return future.result()

    def _loop(self, nice: int) -> None:
        lower_priority(nice)
        while True:
            future, context, fn, args, kwargs = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(context.run(fn, *args, **kwargs))
            except BaseException as exc:  # handed to the caller, who re-raises it
                future.set_exception(exc)
