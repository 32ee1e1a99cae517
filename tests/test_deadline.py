"""The per-phase deadline (tests/deadline.py): a hung test fails on its own, with the stacks
printed, and the suite goes on to the next test instead of stalling until CI's limit."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HUNG = """
import threading, time

def test_sleeps_past_the_deadline():
    time.sleep(60)

def test_hangs_on_a_lock_twice():
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()

def test_after_the_hang():
    assert True
"""


def _run_with_a_2s_deadline(pytester: pytest.Pytester,
                            monkeypatch: pytest.MonkeyPatch) -> pytest.RunResult:
    """Run pytester's files in a subprocess with tests/deadline.py and a 2-s deadline. Called
    inside the test: this test's own deadline was read when its phase began (in a fixture,
    the 2 s would apply to this test too)."""
    monkeypatch.setenv("SRNET_TEST_TIMEOUT_S", "2")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    return pytester.runpytest_subprocess("-p", "tests.deadline", "-q")


def test_a_hung_test_fails_and_the_suite_goes_on(pytester: pytest.Pytester,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_hung=HUNG)
    result = _run_with_a_2s_deadline(pytester, monkeypatch)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*PhaseTimeoutError: call ran past 2 s*"])
    result.stdout.fnmatch_lines(["*test_hangs_on_a_lock_twice (call) ran past 2 s; every thread's*",
                                 "Thread MainThread:", "*in test_hangs_on_a_lock_twice*"])


def test_a_hung_fixture_fails_its_setup(pytester: pytest.Pytester,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_fixture="""
import threading, pytest

@pytest.fixture
def server():
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()

def test_uses_it(server):
    pass
""")
    result = _run_with_a_2s_deadline(pytester, monkeypatch)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*PhaseTimeoutError: setup ran past 2 s*"])


def test_the_process_backstop_outlasts_the_phase_deadline(pytestconfig: pytest.Config) -> None:
    """pytest's faulthandler ends a run stuck in C code; it must not pre-empt the deadline."""
    from tests.deadline import timeout_s
    assert pytestconfig.getini("faulthandler_exit_on_timeout") is True
    assert float(pytestconfig.getini("faulthandler_timeout")) > timeout_s() > 0
