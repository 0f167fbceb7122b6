"""bot.writer: writes on one background thread of lower CPU priority."""

from __future__ import annotations

import contextvars
import os
import sys
import threading

import pytest

from bot.writer import BackgroundWriter

REQUEST = contextvars.ContextVar("request", default="none")


def test_runs_on_its_own_thread_and_returns_the_result() -> None:
    writer = BackgroundWriter(nice=5)
    caller = threading.get_ident()
    ran_on = writer.run(threading.get_ident)
    assert ran_on != caller
    assert writer.run(threading.get_ident) == ran_on  # one thread: writes queue one after another
    assert writer.run(lambda a, b=0: a + b, 2, b=3) == 5


def test_errors_reach_the_caller() -> None:
    writer = BackgroundWriter(nice=5)

    def fail() -> None:
        raise ValueError("the article is empty")

    with pytest.raises(ValueError, match="the article is empty"):
        writer.run(fail)
    assert writer.run(lambda: "still working") == "still working"


def test_the_callers_context_goes_along() -> None:
    writer = BackgroundWriter(nice=5)
    REQUEST.set("upload 7")  # e.g. the web framework's current event, read by its progress bar
    assert writer.run(REQUEST.get) == "upload 7"


def test_a_write_calling_a_write_does_not_wait_for_itself() -> None:
    writer = BackgroundWriter(nice=5)
    assert writer.run(lambda: writer.run(lambda: "inner")) == "inner"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")
def test_the_writer_thread_runs_at_lower_priority_and_the_caller_does_not() -> None:
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    writer = BackgroundWriter(nice=5)
    inside = writer.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    assert inside == min(19, before + 5)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
