"""One long-lived thread for all of the demo's PyTorch work.

PyTorch's CPU kernels run on an OpenMP team that belongs to the calling thread. Gradio calls
handlers from a pool of threads, so each new thread got a team of its own; once the teams together
hold more threads than there are cores, libgomp stops spinning between parallel regions and every
small op pays a sleep and wake-up (~50 µs). On 2 cores that made a 360p propagation ~40% slower in
the app than on the command line. Running all torch work (model loading included) on this one
thread keeps a single team. The GPU jobs share one queue with concurrency 1, so nothing that could
run in parallel is serialised.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_torch_thread_id: int | None = None
_DONE = object()


def _remember_thread() -> None:
    global _torch_thread_id
    _torch_thread_id = threading.get_ident()


_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="srnet-torch",
                               initializer=_remember_thread)
_forked = False


def _after_fork_in_child() -> None:
    """A forked child (ZeroGPU's worker, or its stand-in) has only the thread that forked: the
    executor's thread is gone and a submit would wait forever, so work runs inline there."""
    global _forked
    _forked = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn(*args, **kwargs)` on the torch thread and return its result (or raise its error)."""
    if _forked or threading.get_ident() == _torch_thread_id:  # no deadlock on nesting
        return fn(*args, **kwargs)
    return _EXECUTOR.submit(fn, *args, **kwargs).result()


def on_torch_thread(fn: Callable) -> Callable:
    """Decorator: `fn` runs on the torch thread; a generator function stays a generator (each
    step runs there), so Gradio still streams its results."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args: Any, **kwargs: Any):
            steps = fn(*args, **kwargs)
            try:
                while (item := call(next, steps, _DONE)) is not _DONE:
                    yield item
            finally:  # the consumer stopped early (e.g. the tab closed): finish it there too
                call(steps.close)
        return stream

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        return call(fn, *args, **kwargs)
    return run
