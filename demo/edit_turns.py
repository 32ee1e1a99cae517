"""One tab's edits (clicks, undo, paint, imports) take turns, and only the last of a burst
draws: `demo.handlers.edits_wait_for_passes` wraps every edit handler in `turn`.

Two quick clicks are two events of the "ui" group (several run at once, for different users);
interleaved, they recorded one undo state for both clicks, hence one lock per tab (by its
folder). And each answer drew the view: the page showed whichever reached it last, which under
load was not always the last click's (three quick clicks ended showing two, a CI flake of
tests/test_browser.py). So an edit that ends while another of its tab waits for the lock is
`superseded`: it sends its state alone, and the waiting one draws the newer state.
"""

from __future__ import annotations

import collections
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_locks: dict[Path | None, threading.RLock] = collections.defaultdict(threading.RLock)
_guard = threading.Lock()
_open: Counter[Path | None] = Counter()  # per tab: edits arrived and not yet ended
_depth = threading.local()  # an edit handler called inside another takes no second turn


@dataclass
class Turn:
    superseded: bool = False  # set on leaving `turn`: another edit of the tab was waiting


def nested() -> bool:
    """This thread is already inside a turn."""
    return bool(getattr(_depth, "value", 0))


@contextmanager
def turn(folder: Path | None) -> Iterator[Turn]:
    """Wait for the tab's earlier edits, run the body alone, then say whether a later edit of
    the tab was waiting by the time the body ended."""
    result = Turn()
    with _guard:
        _open[folder] += 1
        lock = _locks[folder]
    _depth.value = 1
    try:
        with lock:
            try:
                yield result
            finally:
                with _guard:
                    _open[folder] -= 1
                    result.superseded = _open[folder] > 0
    finally:
        _depth.value = 0


def forget(folder: Path | None) -> None:
    """The tab is gone: its lock and count go (the table grew by one lock per tab ever opened)."""
    with _guard:
        _locks.pop(folder, None)
        _open.pop(folder, None)
