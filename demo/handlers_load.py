"""Load handlers: an uploaded clip or a bundled example → a fresh DemoState (frames at working
size, a new InferenceSession, and for examples the ready first-frame mask)."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import gradio as gr
import numpy as np

from demo.handlers import DemoContext, info, warn
from demo.handlers_annotate import annotate_outputs
from demo.state import DemoState, cleanup_state
from demo.video_io import ClipError, LoadedClip, load_clip
from srnet import load_index_mask

log = logging.getLogger(__name__)
MIN_SIDE = 32  # the model's smallest usable input


def fit_mask(mask: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, str | None]:
    """Resize an index mask to the clip's working `size` (nearest) when the aspect ratio matches
    (within 2 %); raise ValueError with a user-facing message when it does not."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"the mask must be a single-channel image, got shape {mask.shape}")
    (h, w), (H, W) = mask.shape, size
    if (h, w) == (H, W):
        return mask.astype(np.uint8), None
    if abs((h / w) / (H / W) - 1.0) > 0.02:
        raise ValueError(f"the mask is {w}x{h} but the clip is {W}x{H}: a different shape, "
                         "so it cannot belong to this clip")
    resized = cv2.resize(mask.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST)
    return resized, f"mask resized from {w}x{h} to {W}x{H}"


def read_clip(ctx: DemoContext, path: str | Path, start: float | None = 0,
              end: float | None = 0, step: float | None = 1,
              short_side: float | None = None) -> LoadedClip:
    """Decode with the demo's caps; `end` is the last source frame kept (0 = through the end),
    `short_side` the working size picked in the UI (None or an unknown value = the device's
    default). Raises ClipError with a message for the user."""
    start, last, step = int(start or 0), int(end or 0), max(1, int(step or 1))
    if last and last < start:
        raise ClipError(f"the last frame ({last}) comes before the first ({start})")
    clip = load_clip(path, max_frames=ctx.max_frames, short_side=ctx.working_size(short_side),
                     max_side=ctx.cfg.max_side, start=start, end=last + 1 if last else None,
                     step=step, max_bytes=ctx.cfg.max_upload_bytes)
    if len(clip.frames) < 2:
        raise ClipError("the clip has a single frame: video segmentation needs at least two "
                        "(check the file, or the trim / step settings)")
    if min(clip.size) < MIN_SIDE:
        raise ClipError(f"the clip is {clip.size[1]}x{clip.size[0]}: too small "
                        f"(at least {MIN_SIDE} px a side)")
    return clip


def new_state(ctx: DemoContext, clip: LoadedClip, name: str) -> DemoState:
    config = ctx.session_config(clip.size)
    state = DemoState.create(ctx.cfg.temp_root, clip.frames, clip.fps,
                             ctx.predictor.new_session(config), config, source_name=name,
                             notices=list(clip.notices))
    state.names[1] = "object 1"
    return state


def _summary(ctx: DemoContext, state: DemoState, clip: LoadedClip, short_side: int) -> str:
    height, width = state.size
    device = "GPU" if ctx.device_type == "cuda" else "CPU"
    default = "" if short_side == ctx.short_side else f" (the {device}'s default: {ctx.short_side})"
    text = (f"Loaded **{state.source_name}**: {state.num_frames} frames at {width}x{height}, "
            f"{state.fps:.1f} fps (source {clip.source_size[1]}x{clip.source_size[0]}). "
            f"Working size: short side ≤ {short_side} px{default}; "
            f"at most {ctx.max_frames} frames on the {device}.")
    if state.notices:
        text += " Notices: " + "; ".join(state.notices) + "."
    hint = ctx.speed_hint(state.num_frames, state.size)
    return f"{text} {hint}" if hint else text


def _loaded(ctx: DemoContext, old: DemoState | None, state: DemoState, clip: LoadedClip,
            short_side: int, extra: str = "") -> tuple:
    cleanup_state(old)  # a new clip replaces this tab's old one (and its files)
    status = info(_summary(ctx, state, clip, short_side) + extra)
    slider = gr.Slider(minimum=0, maximum=state.num_frames - 1, value=0, step=1)
    return (state, slider, *annotate_outputs(state), status)


def _failed(old: DemoState | None, message: str) -> tuple:
    """Keep the old state and every view as it was; only the status changes."""
    return (old, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(),
            warn(message))


def load_upload(ctx: DemoContext, path: str | None, start: float, end: float, step: float,
                old: DemoState | None, short_side: float | None = None) -> tuple:
    """Upload → (state, frame slider, annotation view, caption, objects, editor, status).
    `short_side`: the working size picked in the UI (None = the device's default)."""
    if not path:
        return _failed(old, "No file received: choose a video (mp4, webm, mov, avi, gif) or a "
                            "zip of frames.")
    side = ctx.working_size(short_side)
    try:
        clip = read_clip(ctx, path, start, end, step, side)
    except ClipError as exc:
        return _failed(old, f"Could not load the clip: {exc}")
    return _loaded(ctx, old, new_state(ctx, clip, Path(path).name), clip, side)


def load_example(ctx: DemoContext, name: str, start: float, end: float, step: float,
                 old: DemoState | None, short_side: float | None = None) -> tuple:
    """A bundled example (chosen by name, never by path) with its first-frame mask."""
    if name not in ctx.cfg.example_names():
        return _failed(old, f"Unknown example {name!r}.")
    folder, side = ctx.cfg.examples_dir / name, ctx.working_size(short_side)
    try:
        clip = read_clip(ctx, folder / "clip.mp4", start, end, step, side)
        mask, _ = fit_mask(load_index_mask(folder / "first_mask.png"), clip.size)
    except (ClipError, ValueError) as exc:
        return _failed(old, f"Could not load the example: {exc}")
    state = new_state(ctx, clip, name)
    extra = ""
    if int(start or 0) == 0:
        state.names = {int(i): f"{name} {int(i)}" if i > 1 else name
                       for i in np.unique(mask) if i}
        for obj_id in state.names:
            state.set_object_mask(0, obj_id, mask == obj_id)
        state.selected = next(iter(state.names), 1)
        extra = " The first-frame mask is ready: press **Propagate ▶**."
    return _loaded(ctx, old, state, clip, side, extra)
