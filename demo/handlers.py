"""Shared handler glue: the DemoContext every handler receives, binding handlers to it for
Gradio, the optional `spaces.GPU` decorator, user messages and the annotated-frame view.

Event callbacks live in `handlers_*.py` by task (load, annotate, propagate, inspect, ablation,
export, api); they are plain functions of (context, UI values, DemoState) so tests call them
directly. No component construction here (that is `ui.py`).
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import gradio as gr
import numpy as np

from demo import render
from demo.config import DemoConfig
from demo.state import DemoState
from demo.torch_thread import on_torch_thread
from srnet import Predictor

log = logging.getLogger(__name__)

try:  # Hugging Face Spaces: GPU work runs inside @spaces.GPU (a no-op off ZeroGPU)
    import spaces

    def gpu(fn: Callable) -> Callable:
        """Network work: on the one torch thread, inside @spaces.GPU."""
        return on_torch_thread(spaces.GPU(duration=120)(fn))
except ImportError:
    def gpu(fn: Callable) -> Callable:
        """Network work: on the one torch thread (see demo/torch_thread.py)."""
        return on_torch_thread(fn)


@dataclass(frozen=True)
class DemoContext:
    """What every handler may read: the shared predictor (never mutated) and the config."""

    predictor: Predictor
    cfg: DemoConfig
    derived: dict[str, Predictor] = field(default_factory=dict, compare=False)  # ablations
    speed: dict[str, object] = field(default_factory=dict, compare=False)  # see speed_hint

    def __post_init__(self) -> None:
        if self.cfg.fps_hint and "fps" not in self.speed:
            self.speed.update(fps=float(self.cfg.fps_hint), source="measured at start-up")

    def speed_hint(self, num_frames: int) -> str:
        """'Expect about N s for these F frames (X fps, measured …)': the last propagation's
        speed (any tab) at the working size, else the start-up measurement."""
        fps = self.speed.get("fps")
        if not fps:
            return ""
        return (f"Expect about {num_frames / fps:.0f} s to propagate these {num_frames} frames "
                f"({fps:.1f} frames per second, {self.speed['source']}).")

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


def _plain(text: str) -> str:
    """Toasts show raw text: drop Markdown emphasis and code marks."""
    return re.sub(r"\*\*|`", "", text)


SERVER_PATH = re.compile(r"(?<![\w:/.])(?:[A-Za-z]:)?(?:[\\/][^\\/\s'\"]+)+[\\/]([^\\/\s'\"]+)")


def no_paths(text: str) -> str:
    """User-facing text never shows server paths: '/tmp/x/y/clip.mp4' → 'clip.mp4'."""
    return SERVER_PATH.sub(r"\1", text)


def warn(text: str) -> str:
    """Toast a warning (a no-op outside a Gradio event) and return it for a status Markdown.
    Server paths (e.g. inside a decoder's exception text) are reduced to file names."""
    log.info("user warning: %s", text)
    text = no_paths(text)
    gr.Warning(_plain(text))
    return f"⚠️ {text}"


def info(text: str) -> str:
    gr.Info(_plain(text))
    return f"ℹ️ {text}"


NO_CLIP = "Load a clip first: upload a video or a zip of frames, or pick an example."


def frame_view(state: DemoState, frame_idx: int | None = None) -> np.ndarray:
    """The frame with the user's annotation (or else the propagated mask) and the selected
    object's clicks on it."""
    frame_idx = state.frame_idx if frame_idx is None else frame_idx
    frame = state.frames[frame_idx]
    mask = state.annotation(frame_idx)
    if mask is None:
        mask = state.masks.get(frame_idx)
    view = frame if mask is None else render.overlay_mask(frame, mask)
    clicks = state.clicks.get((frame_idx, state.selected), [])
    return render.draw_clicks(view, clicks) if clicks else view


def frame_caption(state: DemoState, frame_idx: int) -> str:
    """One line under the frame: what is shown and where the annotations are."""
    annotated = state.annotated_frames()
    kind = ("your annotation" if frame_idx in annotated else
            "propagated mask" if frame_idx in state.masks else "no mask yet")
    marks = ", ".join(str(f) for f in annotated[:12]) or "none"
    conf = state.confidence.get(frame_idx)
    conf_text = f" · confidence {conf:.2f}" if conf is not None else ""
    legend = " ".join(f'<span style="color:rgb{state.color(obj_id)}">■</span> {obj_id}: {name}'
                      for obj_id, name in state.names.items())
    return (f"Frame {frame_idx} / {state.num_frames - 1}: {kind}{conf_text} · "
            f"annotated frames: {marks} · objects: {legend or 'none'}")


def progress_bar(done: int, total: int, width: int = 24) -> str:
    filled = int(round(width * done / max(total, 1)))
    return "▓" * filled + "░" * (width - filled)
