"""A deadline for every test phase (setup, call, teardown), so that a hang fails one test with
every thread's stack printed instead of stalling the whole suite until CI's 90-minute limit.

Two layers:
- here, SIGALRM raises `PhaseTimeoutError` in the main thread after `SRNET_TEST_TIMEOUT_S` seconds
  (default 600), after writing every thread's stack to the test's captured stderr; pytest
  reports it as that test's failure and goes on. Blocking socket reads and lock waits are
  interrupted by the signal.
- pytest's own `faulthandler_timeout` (pyproject.toml, a little longer, with exit on) ends the
  process with the stacks printed if the main thread never returns to Python (a hang inside C
  code), so the run still ends long before CI's limit.
Loaded from conftest.py (`pytest_plugins`)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


class PhaseTimeoutError(Exception):
    """A test phase ran past its deadline."""


def timeout_s() -> int:
    return int(os.environ.get("SRNET_TEST_TIMEOUT_S", "600"))


@contextmanager
def _deadline(nodeid: str, phase: str) -> Iterator[None]:
    limit = timeout_s()
    if limit <= 0 or not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        sys.stderr.write(f"\n{nodeid} ({phase}) ran past {limit} s; every thread's stack:\n")
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        for ident, stack in sys._current_frames().items():
            sys.stderr.write(f"\nThread {names.get(ident, ident)}:\n")
            sys.stderr.write("".join(traceback.format_stack(stack)))
        raise PhaseTimeoutError(f"{phase} ran past {limit} s (SRNET_TEST_TIMEOUT_S)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _deadline(item.nodeid, "setup"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _deadline(item.nodeid, "call"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    with _deadline(item.nodeid, "teardown"):
        return (yield)
