"""demo.torch_thread: every wrapped call and every step of a wrapped generator runs on one
long-lived thread (one OpenMP team for all torch work), errors and early stops included."""

import threading

import pytest

from demo import torch_thread


def test_calls_run_on_one_thread_that_is_not_the_callers():
    idents = {torch_thread.call(threading.get_ident) for _ in range(3)}
    workers = []
    for _ in range(2):  # callers on other threads (as Gradio's pool) land on the same thread
        worker = threading.Thread(
            target=lambda: idents.add(torch_thread.call(threading.get_ident)))
        workers.append(worker)
        worker.start()
    for worker in workers:
        worker.join()
    assert len(idents) == 1 and threading.get_ident() not in idents


def test_generator_steps_stream_from_the_torch_thread_and_close_early():
    closed = []

    @torch_thread.on_torch_thread
    def frames(count):
        try:
            for i in range(count):
                yield i, threading.get_ident()
        finally:
            closed.append(threading.get_ident())

    items = list(frames(3))
    assert [i for i, _ in items] == [0, 1, 2]
    assert len({ident for _, ident in items}) == 1
    stream = frames(10)
    assert next(stream)[0] == 0
    stream.close()  # e.g. the browser tab went away mid-propagation
    assert len(closed) == 2 and set(closed) == {items[0][1]}


def test_errors_reach_the_caller_and_nested_calls_do_not_deadlock():
    @torch_thread.on_torch_thread
    def outer():
        return torch_thread.call(lambda: threading.get_ident())  # already on the thread

    assert outer() == torch_thread.call(threading.get_ident)
    with pytest.raises(ValueError, match="bad frame"):
        torch_thread.call(lambda: (_ for _ in ()).throw(ValueError("bad frame")))
