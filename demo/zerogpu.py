"""Where network handlers run: on the one torch thread (normal), inside `spaces.GPU` (a ZeroGPU
Space), or in a CPU stand-in for `spaces.GPU` that enforces ZeroGPU's rules
(`SRNET_FAKE_ZEROGPU=1`).

ZeroGPU (`spaces` 0.51) runs each decorated call, generators included, in a forked worker;
arguments, results and every yielded item are pickled through queues, and CUDA exists only
inside the call. So a GPU handler must be a pure function of its pickled inputs: the state goes
in, the updated state comes out, and what comes out must hold no tensor (the session's memory
travels in its compact host form, `InferenceSession.to_host`). The stand-in forks a child per
call, pickles arguments, results and yields, and fails loudly on anything unpicklable and on
any torch tensor in them. The rule is "no tensor at all", not "no CUDA tensor": on a CPU-only
machine a CUDA tensor cannot exist, and a CPU tensor left in the state is the same bug there.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import io
import logging
import multiprocessing
import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from demo.torch_thread import call, on_torch_thread

with contextlib.suppress(ImportError):  # on a Space: before torch is used, as spaces requires
    import spaces  # noqa: F401

log = logging.getLogger(__name__)
T = TypeVar("T")
FAKE_ENV = "SRNET_FAKE_ZEROGPU"
CLOSE_TIMEOUT_S = 10.0
# A forked child that sends nothing for this long is taken for deadlocked (a fork can copy a
# lock another thread held; see srnet/io.py) and ended: a stall detector, not ZeroGPU's
# duration limit, which a CPU stand-in could not keep.
STALL_TIMEOUT_S = 300.0
forked_calls = 0  # calls the stand-in has forked in this process (tests check it is used)


class ZeroGPUError(RuntimeError):
    """A handler broke a ZeroGPU rule (unpicklable or tensor-holding data crossing the call),
    or the forked worker died."""


def mode() -> str:
    """"fake" (the stand-in, env SRNET_FAKE_ZEROGPU=1), "spaces" (a ZeroGPU Space) or "off".
    Read when a handler is wrapped, so tests can switch it per module."""
    if os.environ.get(FAKE_ENV, "") not in ("", "0"):
        return "fake"
    try:
        from spaces.config import Config
    except ImportError:
        return "off"
    return "spaces" if Config.zero_gpu else "off"


def ships_host_state() -> bool:
    """Whether GPU handlers must hand back states in the compact host form (forked calls)."""
    return mode() != "off"


def load_at_start(fn: Callable[[], T]) -> T:
    """Run the start-up load `fn()`: on the torch thread normally; on a ZeroGPU Space on the
    calling (main) thread. There `import spaces` makes `.to("cuda")` work through a
    TorchFunctionMode, and torch modes are thread-local: on the torch thread the same `.to`
    reaches the real CUDA init, which spaces forbids, and the app died at start-up."""
    if mode() == "spaces":
        return fn()
    return call(fn)


def gpu(fn: Callable, duration: Callable[..., float]) -> Callable:
    """Wrap a network handler. `duration(*args, **kwargs)` → seconds of GPU time to reserve,
    from the same arguments as `fn` (ZeroGPU schedules by it)."""
    current = mode()
    if current == "fake":
        return fake_gpu(fn, duration)
    if current == "spaces":  # forked by spaces: not via the torch thread (see torch_thread)
        import spaces

        return spaces.GPU(duration=duration)(fn)
    return on_torch_thread(fn)


# ----------------------------------------------------------------------------- the stand-in
class _HostOnlyPickler(pickle.Pickler):
    """Pickles like `pickle`, but refuses torch tensors anywhere in the object graph."""

    def __init__(self, file: io.BytesIO, what: str) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.what = what

    def reducer_override(self, obj: object) -> Any:
        torch = sys.modules.get("torch")  # no import: demo/ does not depend on torch
        if torch is not None and isinstance(obj, torch.Tensor):
            raise ZeroGPUError(
                f"{self.what} holds a torch tensor ({tuple(obj.shape)}, {obj.dtype}, on "
                f"{obj.device}): state crossing a ZeroGPU call must be host data "
                "(InferenceSession.to_host)")
        return NotImplemented


def dumps(obj: object, what: str) -> bytes:
    """Pickle `obj` under the ZeroGPU rules; ZeroGPUError names `what` broke them."""
    buffer = io.BytesIO()
    try:
        _HostOnlyPickler(buffer, what).dump(obj)
    except ZeroGPUError:
        raise
    except Exception as exc:  # PicklingError, TypeError ("cannot pickle '_thread.lock'"), …
        raise ZeroGPUError(f"{what} is not picklable: {type(exc).__name__}: {exc}") from exc
    return buffer.getvalue()


def _child_main(fn: Callable, payload: bytes, conn: Any, generator: bool) -> None:
    """The forked worker: run `fn` on the unpickled arguments, send each result pickled."""
    gc.enable()  # for the worker's own objects; the parent's stay frozen (`_frozen_heap`)
    from gradio.context import LocalContext

    LocalContext.blocks.set(None)  # the parent's event loop is not running here: toasts are
    LocalContext.event_id.set(None)  # logged as warnings instead of queued to a dead loop
    try:
        args, kwargs = pickle.loads(payload)
        if generator:
            for n, item in enumerate(fn(*args, **kwargs)):
                conn.send(("item", dumps(item, f"yield #{n} of {fn.__name__}")))
                if conn.recv() != "next":  # the caller closed the stream (Stop, tab closed)
                    break
        else:
            conn.send(("item", dumps(fn(*args, **kwargs), f"the result of {fn.__name__}")))
        conn.send(("end", b""))
    except BaseException as exc:  # everything goes back to the caller, as spaces does
        try:
            error = pickle.dumps(exc)
        except Exception:
            error = pickle.dumps(ZeroGPUError(f"{type(exc).__name__}: {exc}"))
        if not isinstance(exc, EOFError | BrokenPipeError):  # not when the caller has gone
            log.error("ZeroGPU stand-in: %s failed:\n%s", fn.__name__, traceback.format_exc())
        with contextlib.suppress(OSError):
            conn.send(("error", error))


_fork_lock = threading.Lock()


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Fork with every object of the parent frozen (`gc.freeze`, as Python's docs advise
    before a fork): the child's collector then never finalizes the parent's garbage, such as
    an SSL context whose OpenSSL lock another parent thread held at the fork (see srnet/io.py:
    the child would spin forever). `_child_main` turns collection back on for its own objects."""
    with _fork_lock:
        enabled = gc.isenabled()
        gc.disable()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            if enabled:
                gc.enable()


class _Call:
    """One forked call. A generator's next item is computed when the caller asks for it
    (as Gradio pulls), so a Stop between two items is seen before the next frame."""

    def __init__(self, fn: Callable, duration: Callable[..., float], args: tuple,
                 kwargs: dict, generator: bool) -> None:
        seconds = duration(*args, **kwargs)
        if not isinstance(seconds, int | float) or seconds <= 0:
            raise ZeroGPUError(f"duration of {fn.__name__} must be positive seconds, got "
                               f"{seconds!r}")
        self.name, self.seconds, self.started = fn.__name__, float(seconds), time.monotonic()
        payload = dumps((args, kwargs), f"the arguments of {fn.__name__}")
        global forked_calls
        forked_calls += 1
        context = multiprocessing.get_context("fork")  # what spaces uses
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_child_main, daemon=True,
                                       args=(fn, payload, child_conn, generator))
        with _frozen_heap():
            self.process.start()
        child_conn.close()

    def results(self) -> Iterator[Any]:
        while True:
            try:
                if not self.conn.poll(STALL_TIMEOUT_S):
                    raise ZeroGPUError(f"the GPU worker of {self.name} sent nothing for "
                                       f"{STALL_TIMEOUT_S:.0f} s; it was ended")
                kind, data = self.conn.recv()
            except EOFError:
                self.process.join(CLOSE_TIMEOUT_S)
                raise ZeroGPUError(f"the GPU worker of {self.name} died (exit code "
                                   f"{self.process.exitcode})") from None
            if kind == "end":
                return
            if kind == "error":
                raise pickle.loads(data)
            yield pickle.loads(data)
            self.conn.send("next")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send("stop")  # a child waiting for "next" ends its generator
        self.conn.close()
        self.process.join(CLOSE_TIMEOUT_S)
        if self.process.is_alive():
            log.warning("ZeroGPU stand-in: %s did not end; terminating it", self.name)
            self.process.terminate()
            self.process.join()
        elapsed = time.monotonic() - self.started
        if elapsed > self.seconds:  # CPU is slower than a GPU: a note, not an error
            log.info("ZeroGPU stand-in: %s took %.1f s (reserved %.1f s)", self.name, elapsed,
                     self.seconds)


def fake_gpu(fn: Callable, duration: Callable[..., float]) -> Callable:
    """The stand-in for `spaces.GPU(duration=duration)(fn)`: each call runs in a forked child
    (a generator streams each pickled yield); see the module docstring for the rules."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
            call = _Call(fn, duration, args, kwargs, generator=True)
            try:
                yield from call.results()
            finally:
                call.close()
        return stream

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        call = _Call(fn, duration, args, kwargs, generator=False)
        try:
            return next(call.results())
        finally:
            call.close()
    return run
