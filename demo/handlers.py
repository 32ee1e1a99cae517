"""Shared handler glue: the DemoContext every handler receives, binding handlers to it for
Gradio, GPU handlers (`gpu_handler`: torch thread, ZeroGPU or its stand-in, see
demo/zerogpu.py), the edit lock while a pass runs and the annotated-frame view (user messages
are in `messages.py`).

Event callbacks live in `handlers_*.py` by task (load, annotate, propagate, inspect, ablation,
export, api); they are plain functions of (context, UI values, DemoState) so tests call them
directly. No component construction here (that is `layout.py`).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import numpy as np

from demo import edit_turns, render, zerogpu
from demo.config import DemoConfig
from demo.messages import duration_text, warn
from demo.state import DemoState, cleanup_state
from srnet import MIN_SHORT_SIDE, InferenceConfig, InferenceSession, Predictor

log = logging.getLogger(__name__)


def probe_size(short_side: int) -> tuple[int, int]:
    """(H, W) of the synthetic 16:9 clip that `measure_fps` times at start-up."""
    return short_side, short_side * 16 // 9


# Each object beyond the first adds this share of a one-object frame's time (its own memory
# read, PTM and decoder; the encoders run once): `python -m srnet bench --config lite --size
# 480x854 --objects K` gave 6.56 / 4.62 / 3.58 FPS for 1 / 2 / 3 objects on machine C
# (+0.42, +0.83), 7.5 / 5.4 on machine A (+0.39).
OBJECT_COST = 0.4


def object_cost(objects: int) -> float:
    """A frame's time with `objects` objects over its time with one."""
    return 1.0 + OBJECT_COST * max(0, objects - 1)


@dataclass(frozen=True)
class DemoContext:
    """What every handler may read: the shared predictor (never mutated) and the config."""

    predictor: Predictor
    cfg: DemoConfig
    derived: dict[str, Predictor] = field(default_factory=dict, compare=False)  # ablations
    speed: dict[str, object] = field(default_factory=dict, compare=False)  # see speed_hint
    # frees memory from idle tabs until the callable says there is room; set by demo.ui
    make_room: Callable[[Callable[[], bool]], list[str]] | None = field(default=None,
                                                                        compare=False)

    def __post_init__(self) -> None:
        if self.cfg.fps_hint and "fps" not in self.speed:
            height, width = probe_size(self.short_side)
            self.speed.update(fps=float(self.cfg.fps_hint), source="measured at start-up",
                              pixels=height * width)

    def expected_fps(self, size: tuple[int, int] | None = None) -> float | None:
        """Frames per second to expect at `size` (H, W): the last propagation's speed (any
        tab), else the start-up measurement, scaled by the pixel count (convolutions are
        proportional to it; the memory read grows faster, so small sizes read pessimistic)."""
        fps = self.speed.get("fps")
        measured_on = self.speed.get("pixels")
        if fps and size and measured_on:
            return float(fps) * float(measured_on) / (size[0] * size[1])
        return float(fps) if fps else None

    def speed_hint(self, num_frames: int, size: tuple[int, int] | None = None,
                   runs_per_frame: int = 1, objects: int = 1) -> str:
        """'Expect about N s for these F frames (X fps for one object, measured …)' at `size`
        for `objects` objects; `runs_per_frame` 2: mirror averaging runs each frame twice."""
        fps = self.expected_fps(size)
        if not fps:
            return ""
        fps /= object_cost(objects)
        fps, why = (fps / 2, ", halved for mirror averaging") if runs_per_frame == 2 else (
            fps, "")
        count = "one object" if objects <= 1 else f"{objects} objects"
        return (f"Expect {duration_text(num_frames / fps)} to propagate these {num_frames} frames "
                f"({fps:.1f} frames per second for {count}, {self.speed['source']}{why}; each "
                f"more object adds about {OBJECT_COST:.0%}).")

    def working_size(self, requested: float | str | None) -> int:
        """The short side a user asked for, if it is one of the offered sizes (a client may
        send anything), else the device's default."""
        try:
            value = int(requested)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):  # None, "abc", NaN, infinity
            return self.short_side
        return value if value in self.cfg.working_sizes(self.device_type) else self.short_side

    def session_config(self, clip_size: tuple[int, int]) -> InferenceConfig:
        """The predictor's knobs for one clip: the network runs at the clip's working size
        (what the user sees), larger only for a small object (`DemoConfig.min_object_cells`)
        in a clip below `DemoConfig.small_object_side`."""
        side = int(min(clip_size))
        cells = self.cfg.min_object_cells if side < self.cfg.small_object_side else None
        return dataclasses.replace(self.predictor.config, short_side=max(side, MIN_SHORT_SIDE),
                                   min_object_cells=cells)  # (smaller clips run enlarged)

    @property
    def device_type(self) -> str:
        return self.predictor.device.type

    @property
    def short_side(self) -> int:
        return self.cfg.short_side(self.device_type)

    @property
    def max_frames(self) -> int:
        return self.cfg.max_frames(self.device_type)


def bind(fn: Callable, ctx: DemoContext) -> Callable:
    """`fn(ctx, *args)` as a Gradio callback `(*args)`. Unlike functools.partial, the wrapper
    keeps type hints visible, so `gr.SelectData` / `gr.Request` parameters are still detected,
    and generator handlers stay generators (streaming)."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def wrapper(*args: object, **kwargs: object):
            yield from fn(ctx, *args, **kwargs)
    else:
        @functools.wraps(fn)
        def wrapper(*args: object, **kwargs: object):
            return fn(ctx, *args, **kwargs)
    signature = inspect.signature(fn)
    wrapper.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
    return wrapper


def gpu_handler(fn: Callable, ctx: DemoContext, seconds: Callable[..., float]) -> Callable:
    """`fn(ctx, *args)` as a Gradio callback that runs the network: on the torch thread, or
    inside `spaces.GPU` (or its stand-in) with `seconds(ctx, *args)` of GPU time reserved.
    `ctx` is bound here, outside the GPU call, so it is inherited by the fork, never pickled.
    A yielded or returned DemoState's `last_fps` updates the app's speed hint here, in the
    server process (a forked worker's own `ctx` is a copy)."""
    run = zerogpu.gpu(bind(fn, ctx), functools.partial(seconds, ctx))

    def note_speed(result: object) -> object:
        state = result[0] if isinstance(result, tuple) and result else result
        if isinstance(state, DemoState) and state.last_fps:  # stored for one object
            ctx.speed.update(fps=state.last_fps * object_cost(state.last_objects),
                             source="measured on the last propagation",
                             pixels=state.size[0] * state.size[1])
        return result

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(run)
        def stream(*args: object, **kwargs: object):
            held = next((a for a in args if isinstance(a, DemoState)), None)
            tab = None if held is None else held.temp_dir
            _streaming[tab] += 1
            try:
                for item in run(*args, **kwargs):
                    state = item[0] if isinstance(item, tuple) and item else item
                    if isinstance(state, DemoState) and state.released:
                        return  # the tab loaded another clip meanwhile: never hand this back
                    if isinstance(state, DemoState) and held is not None and state is not held:
                        state.keep_page_fields(held)  # a ZeroGPU copy replaces what the page holds
                        held = state
                    yield note_speed(item)
            finally:
                _streaming[tab] -= 1
                if _streaming[tab] <= 0:  # no key per tab ever streamed
                    _streaming.pop(tab, None)
        return stream

    @functools.wraps(run)
    def call(*args: object, **kwargs: object):
        return note_speed(run(*args, **kwargs))
    return call


def ends_without_outputs(handler: Callable) -> Callable:
    """A streamed UI handler whose end changes nothing on the page. Gradio sends a generator's
    last outputs again when it ends, one more call after its last yield (under ZeroGPU, once
    the worker exits), so a frame the user chose in between was overwritten by the pass's
    view and caption while the slider kept the new frame (a CI flake in session 35; in session
    36 a toy app showed the re-send). A last yield of skips is what is sent again instead."""
    @functools.wraps(handler)
    def stream(*args: object, **kwargs: object):
        yielded, last = False, None
        for last in handler(*args, **kwargs):
            yielded = True
            yield last
        if yielded:  # one output, or a tuple of them
            yield (gr.skip(),) * len(last) if isinstance(last, tuple) else gr.skip()
    stream.ends_without_outputs = True
    return stream


def state_output_kept(handler: Callable) -> Callable:
    """A page handler whose first output is the tab's state: that output becomes a skip when
    it is a state the handler was given (changed in place, so Gradio holds it already, or
    holds a newer one stored meanwhile) or a released one. A frame change that overlapped a
    load stored the old, released clip back over the new one (every later action failed),
    and under ZeroGPU one that overlapped a pass's end stored the copy from before it. An
    error raised while the tab's clip was released under the handler (a click answered while
    another clip loaded) changes nothing, instead of Gradio's bare "Error"."""
    def moved_on(args: tuple) -> bool:
        return any(isinstance(arg, DemoState) and arg.released for arg in args)

    def kept(args: tuple, result: object) -> object:
        if not isinstance(result, tuple) or not result or not isinstance(result[0], DemoState):
            return result
        state = result[0]
        if state.released or any(state is arg for arg in args):
            return (gr.skip(), *result[1:])
        return result

    if inspect.isgeneratorfunction(handler):
        @functools.wraps(handler)
        def stream(*args: object, **kwargs: object):
            try:
                for item in handler(*args, **kwargs):
                    yield kept(args, item)
            except Exception:
                if not moved_on(args):
                    raise
                log.info("a handler's clip was replaced under it", exc_info=True)
        stream.keeps_state_output = True
        return stream

    @functools.wraps(handler)
    def call(*args: object, **kwargs: object) -> object:
        try:
            return kept(args, handler(*args, **kwargs))
        except Exception:
            if not moved_on(args):
                raise
            log.info("a handler's clip was replaced under it", exc_info=True)
            return gr.skip()  # one skip: every output unchanged
    call.keeps_state_output = True
    return call


# Tabs (by folder) with a streamed GPU handler in flight in this server process.
_streaming: Counter[Path | None] = Counter()
PASS_RUNNING = ("A pass is running on this clip: press Stop (or wait for Done) before editing. "
                "Here it works on a copy of the clip's state and hands that copy back with "
                "each frame, so an edit made now would be lost.")


def streaming(value: object) -> bool:
    """A handler is streaming a pass (or an ablation) on this tab's state in this process."""
    return isinstance(value, DemoState) and _streaming[value.temp_dir] > 0


def pass_in_flight(state: DemoState | None) -> bool:
    """Under ZeroGPU a streamed pass runs on a pickled copy of the tab's state and every frame
    it yields replaces the state Gradio holds, so an edit made meanwhile would vanish: edits
    wait for the pass there. Without ZeroGPU the pass and the edits share one state object."""
    return zerogpu.ships_host_state() and streaming(state)


def release_tab(state: DemoState | None) -> None:
    """The tab's state goes (`gr.State`'s delete callback): its folder and memory
    (`cleanup_state`), and its edit lock here (the table grew by one lock per tab ever
    opened)."""
    cleanup_state(state)
    folder = getattr(state, "temp_dir", None)
    if folder is not None:
        edit_turns.forget(folder)


def edits_wait_for_passes(handler: Callable[..., tuple]) -> Callable[..., tuple]:
    """An annotation handler `(state, ...) → (state, 5 views, status)` that, while a pass is
    in flight under ZeroGPU (`pass_in_flight`), changes nothing and says why; one tab's edits
    run one after another, and only the last of a burst sends its views and status (the
    earlier ones send their state alone, so a late answer cannot hide a newer one)."""
    @functools.wraps(handler)
    def guarded(state: DemoState | None, *args: object, **kwargs: object) -> tuple:
        if pass_in_flight(state):
            return (state, *(gr.skip(),) * 5, warn(PASS_RUNNING))
        if not isinstance(state, DemoState) or edit_turns.nested():
            return handler(state, *args, **kwargs)
        with edit_turns.turn(state.temp_dir) as turn:
            result = handler(state, *args, **kwargs)
        if turn.superseded and isinstance(result, tuple) and len(result) > 1:
            state.shown_view = None  # the page keeps its older view until the next edit draws
            return (result[0], *(gr.skip(),) * (len(result) - 1))
        return result
    return guarded


def clear_pass_refusal(status: str | None) -> object:
    """After a pass ends: the status line's refusal of an edit made during it (PASS_RUNNING)
    no longer applies and goes; any other status stays."""
    return "" if status and PASS_RUNNING in status else gr.skip()


def live_session(ctx: DemoContext, state: DemoState) -> InferenceSession:
    """The tab's session with its memory on the predictor's device (from the compact host
    form it is kept in between ZeroGPU calls); also set as `state.session`."""
    state.session = state.session.to_device(ctx.predictor.device)
    return state.session


def shipped(state: DemoState, memo: dict | None = None) -> DemoState:
    """The state to hand out of a GPU handler: itself normally; under ZeroGPU a shallow copy
    whose session is in the compact host form (`memo`: per pass, so each yield converts only
    the memory frames added since the last)."""
    if not zerogpu.ships_host_state() or state.session is None:
        return state
    return dataclasses.replace(state, session=state.session.to_host(memo))


def gpu_seconds(cfg: DemoConfig, frames: int) -> float:
    """GPU time to reserve for propagating `frames` frames (ZeroGPU schedules by it)."""
    return cfg.gpu_base_s + cfg.gpu_frame_s * max(frames, 1)


def frame_runs(state: DemoState | None) -> int:
    """Network runs one pass over the tab's clip costs: a frame runs twice with mirror
    averaging."""
    return 0 if state is None else state.num_frames * state.inference_config.runs_per_frame


def frame_view(state: DemoState, frame_idx: int | None = None) -> np.ndarray:
    """The frame with its masks (the user's annotation over the propagated mask) and the
    selected object's clicks on it."""
    frame_idx = state.frame_idx if frame_idx is None else frame_idx
    frame = state.frames[frame_idx]
    mask = state.shown_mask(frame_idx)
    view = frame if mask is None else render.overlay_mask(frame, mask)
    clicks = state.clicks.get((frame_idx, state.selected), [])
    return render.draw_clicks(view, clicks) if clicks else view
