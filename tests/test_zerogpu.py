"""The ZeroGPU stand-in fails on what ZeroGPU would break on, and the session's compact host
form round-trips: tensors or unpicklable objects crossing a call, a handler relying on in-place
changes, a dying worker, a bad duration; fp16 memory that still segments like fp32."""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from demo import zerogpu
from demo.state import STOP_FILE, DemoState
from srnet import Predictor


def _one(value: object) -> float:
    return 1.0


def _yield_tensor(n: int):
    yield {"ok": np.zeros(n)}
    yield {"state": [torch.zeros(n)]}  # a tensor left in the returned state


def _return_lock() -> object:
    return threading.Lock()


def _append(items: list) -> list:
    items.append(1)  # in place: lost in a forked call
    return items


def _die() -> None:
    os._exit(3)


def _raise() -> None:
    raise ValueError("bad input")


def _deadlock() -> None:
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()  # what a child does that copied a lock another thread held at fork


class _Finalized:
    """Cyclic garbage whose finalizer records the process it ran in."""

    def __init__(self, log: Path) -> None:
        self.log, self.cycle = log, self

    def __del__(self) -> None:
        with open(self.log, "a") as out:
            out.write(f"{os.getpid()}\n")


def _collect() -> int:
    gc.collect()
    return os.getpid()


def test_the_worker_never_finalizes_the_parents_garbage(tmp_path: Path) -> None:
    """A forked worker that collected the parent's garbage could run a finalizer needing a
    lock another parent thread held at the fork (an SSL context's: it hung a clip load), so
    the stand-in forks with the parent's objects frozen."""
    log = tmp_path / "finalized"
    enabled = gc.isenabled()
    gc.disable()  # the garbage must still be there at the fork
    try:
        _Finalized(log)  # unreachable at once, collectable only by the cycle collector
        child = zerogpu.fake_gpu(_collect, lambda: 1.0)()
        assert not log.exists(), "the worker finalized the parent's object"
        gc.collect()
        assert log.read_text().split() == [str(os.getpid())] != [str(child)]
    finally:
        if enabled:
            gc.enable()


def test_tensor_in_a_yield_fails_loudly() -> None:
    stream = zerogpu.fake_gpu(_yield_tensor, _one)(4)
    assert next(stream)["ok"].shape == (4,)  # host data crosses
    with pytest.raises(zerogpu.ZeroGPUError, match=r"yield #1 .*torch tensor \(\(4,\)"):
        next(stream)


def test_unpicklable_arguments_and_results_fail() -> None:
    with pytest.raises(zerogpu.ZeroGPUError, match="arguments of _one is not picklable"):
        zerogpu.fake_gpu(_one, _one)(threading.Lock())
    with pytest.raises(zerogpu.ZeroGPUError, match="result of _return_lock is not picklable"):
        zerogpu.fake_gpu(_return_lock, lambda: 1.0)()
    with pytest.raises(zerogpu.ZeroGPUError, match="torch tensor"):
        zerogpu.fake_gpu(_one, _one)(torch.ones(2))


def test_in_place_changes_do_not_survive_but_results_do() -> None:
    items: list = []
    assert zerogpu.fake_gpu(_append, _one)(items) == [1]
    assert items == []  # as on ZeroGPU: only what comes back counts


def test_worker_errors_reach_the_caller() -> None:
    with pytest.raises(zerogpu.ZeroGPUError, match="died \\(exit code 3\\)"):
        zerogpu.fake_gpu(_die, lambda: 1.0)()
    with pytest.raises(ValueError, match="bad input"):
        zerogpu.fake_gpu(_raise, lambda: 1.0)()
    with pytest.raises(zerogpu.ZeroGPUError, match="positive seconds"):
        zerogpu.fake_gpu(_one, lambda value: 0)(1)


def test_a_deadlocked_worker_is_ended_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zerogpu, "STALL_TIMEOUT_S", 1.0)
    monkeypatch.setattr(zerogpu, "CLOSE_TIMEOUT_S", 1.0)
    before = {child.pid for child in multiprocessing.active_children()}
    with pytest.raises(zerogpu.ZeroGPUError, match="_deadlock sent nothing for 1 s; it was ended"):
        zerogpu.fake_gpu(_deadlock, lambda: 1.0)()
    assert {child.pid for child in multiprocessing.active_children()} == before  # not left over


def test_mode_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(zerogpu.FAKE_ENV, "1")
    assert zerogpu.mode() == "fake" and zerogpu.ships_host_state()
    monkeypatch.setenv(zerogpu.FAKE_ENV, "0")
    assert zerogpu.mode() in ("off", "spaces")


def _propagated(predictor: Predictor, frames: list, mask: np.ndarray, compact: bool):
    session = predictor.new_session()
    predictor.step(session, 0, frames[0], mask)
    outs = []
    for start in (1, 4):  # two calls, the session crossing between them
        if compact:
            session = pickle.loads(zerogpu.dumps(session.to_host(), "session"))
            session = session.to_device(predictor.device)
        outs += [o.prob for o in predictor.propagate(session, frames, start, start + 2)]
    return session, outs


def test_compact_session_round_trips_and_segments_alike(tiny_predictor: Predictor,
                                                        clip) -> None:
    frames, masks = clip
    session, reference = _propagated(tiny_predictor, frames, masks[0], compact=False)
    session.memory.add(session.recent[-1])  # the newest frame also in global memory
    host = session.to_host()
    assert host.on_host and not session.on_host and host.memory_cache == {}
    assert host.memory.frame_indices == session.memory.frame_indices
    shared = [e for e in host.recent if any(e is b for b in host.memory.entries)]
    assert shared, "an entry in both the bank and the local candidates stays one object"
    for a, b in zip(host.memory.entries, session.memory.entries, strict=True):
        # exactly the fp16 copy: random keys are ~1e-5, so a tolerance would pass anything
        # (a twin's flipped keys, say)
        assert np.array_equal(a.key, b.key.half().numpy())
        assert all(np.array_equal(a.values[k], v.half().numpy()) for k, v in b.values.items())
    back = host.to_device("cpu")
    for a, b in zip(back.memory.entries, session.memory.entries, strict=True):
        assert a.key.dtype == b.key.dtype and torch.equal(a.key, b.key.half().to(b.key.dtype))
    assert back.to_device("cpu") is back  # already there: not copied
    _, compacted = _propagated(tiny_predictor, frames, masks[0], compact=True)
    # fp16 memory moves probabilities by ~1e-5 here (a random net has exact ties, so masks
    # may flip a few border pixels); lost or misplaced memory would move them by far more
    error = max(float(np.abs(a - b).max()) for a, b in zip(reference, compacted, strict=True))
    assert error < 1e-3, error


def test_a_pass_compacting_every_frame_pins_only_the_memory_it_holds(tiny_predictor: Predictor,
                                                                     clip) -> None:
    """Under ZeroGPU a pass compacts its session after every frame with one memo; the memo
    pins each tensor it converted, so without pruning every frame's memory stayed on the GPU
    until the pass ended."""
    frames, masks = clip
    session = tiny_predictor.new_session()
    session.memory.max_working = 1
    tiny_predictor.step(session, 0, frames[0], masks[0])
    memo: dict = {}
    hosts = []
    for frame_idx in range(1, len(frames)):
        tiny_predictor.step(session, frame_idx, frames[frame_idx])
        hosts.append(session.to_host(memo))
    held = {id(t) for e in (*session.memory.entries, *session.recent)
            for t in (e.key, *e.values.values())}
    assert set(memo) <= held | {id(session.adapted)}
    tensors = [v[0] for v in memo.values() if isinstance(v[0], torch.Tensor)]
    assert len(tensors) <= len(held) < 2 * (len(frames) - 1)
    # what was converted before is still reused: the last two forms share the anchor's array
    assert hosts[-1].memory.entries[0].key is hosts[-2].memory.entries[0].key


def test_stop_file_reaches_a_copy(tmp_path) -> None:
    state = DemoState.create(tmp_path, [np.zeros((4, 4, 3), np.uint8)] * 2, 24.0, None, None)
    copy = pickle.loads(pickle.dumps(state))  # what a forked pass holds
    assert not copy.stop_pending and copy.frames.file.is_file()
    state.request_stop()
    assert copy.stop_pending and not copy.stop_requested  # seen through the folder
    copy.clear_stop()  # the worker's clear reaches the folder; the server's own flag stands
    assert not (state.temp_dir / STOP_FILE).exists()
    assert state.stop_pending and state.stop_requested
    state.clear_stop()
    assert not copy.stop_pending


class _CountingMode(torch.overrides.TorchFunctionMode):
    """Stands in for spaces' CUDA emulation: a torch function mode, thread-local like it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize(("current", "seen_by_mode"), [("spaces", True), ("off", False)])
def test_the_start_up_load_runs_where_spaces_emulates_cuda(monkeypatch, current, seen_by_mode):
    """On a ZeroGPU Space `.to("cuda")` at start-up works only on the thread that imported
    spaces (its emulation is a thread-local torch mode); the torch thread reached the real
    CUDA init and the app died. Elsewhere the load keeps to the torch thread."""
    monkeypatch.setattr(zerogpu, "mode", lambda: current)
    threads: list[threading.Thread] = []

    def load() -> torch.Tensor:
        threads.append(threading.current_thread())
        return torch.ones(2) + 1

    with _CountingMode() as emulation:
        loaded = zerogpu.load_at_start(load)
    assert torch.equal(loaded, torch.full((2,), 2.0))
    assert (emulation.calls > 0) is seen_by_mode
    assert (threads[0] is threading.main_thread()) is seen_by_mode
