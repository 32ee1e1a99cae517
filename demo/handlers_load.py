"""Load handlers: an uploaded clip or a bundled example → a fresh DemoState (frames at working
size, a new InferenceSession, and for examples the ready first-frame mask)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import gradio as gr
import numpy as np

from demo import capacity
from demo.carry import carry_annotations, has_user_work
from demo.handlers import DemoContext, release_tab
from demo.handlers_annotate import annotate_outputs
from demo.handlers_settings import SETTINGS, settings_view
from demo.messages import info, warn
from demo.numbers import clamped
from demo.state import ClipSource, DemoState
from demo.video_io import ClipError, LoadedClip, load_clip
from srnet import fit_index_mask, load_index_mask

log = logging.getLogger(__name__)
MIN_SIDE = 32  # smallest clip side taken (the network enlarges it to 64 px inside)
MAX_FRAME_NUMBER = 10**7  # past any clip's end (115 hours at 24 fps)


def _whole(value: float | None, default: int) -> int:
    """A trim box's number as a frame number: blank or NaN → `default`; clamped to
    0..MAX_FRAME_NUMBER, so a typo such as 1e19 reads as "past the end" instead of failing in
    the decoder (Python's islice takes no index beyond sys.maxsize)."""
    return int(clamped(value, 0, MAX_FRAME_NUMBER, default))


def read_clip(ctx: DemoContext, path: str | Path, start: float | None = 0,
              end: float | None = 0, step: float | None = 1,
              short_side: float | None = None) -> LoadedClip:
    """Decode with the demo's caps; `end` is the last source frame kept (0 = through the end),
    `short_side` the working size picked in the UI (None or an unknown value = the device's
    default). Raises ClipError with a message for the user."""
    start, last, step = _whole(start, 0), _whole(end, 0), max(1, _whole(step, 1))
    short = ctx.working_size(short_side)
    reserve = ctx.cfg.memory_reserve_mb * 2**20

    def room() -> str | None:
        return capacity.room_problem(ctx.max_frames, short, reserve)

    problem = room()
    if problem and ctx.make_room is not None and ctx.make_room(lambda: room() is None):
        problem = room()  # tabs left idle gave their memory first
    if problem:  # before decoding: the decode itself is the allocation that would kill it
        log.warning("load refused: %s", problem)
        raise capacity.CapacityError(problem)
    if last and last < start:
        raise ClipError(f"the last frame ({last}) comes before the first ({start})")
    clip = load_clip(path, max_frames=ctx.max_frames, short_side=short,
                     max_side=ctx.cfg.max_side, start=start, end=last + 1 if last else None,
                     step=step, max_bytes=ctx.cfg.max_upload_bytes)
    if len(clip.frames) < 2:
        raise ClipError("the clip has a single frame: video segmentation needs at least two "
                        "(check the file, or the trim / step settings)"
                        + "".join(f"; {notice}" for notice in clip.notices))
    if min(clip.size) < MIN_SIDE:
        source_h, source_w = clip.source_size
        if min(clip.source_size) >= MIN_SIDE:  # a strip: the long side's cap shrank it
            raise ClipError(f"the clip is {source_w}x{source_h}, too long and thin: with its "
                            f"long side at the working size it is {clip.size[1]}x"
                            f"{clip.size[0]}, under {MIN_SIDE} px a side (crop it closer "
                            "to square)")
        raise ClipError(f"the clip is {source_w}x{source_h}: too small "
                        f"(at least {MIN_SIDE} px a side)")
    return clip


def new_state(ctx: DemoContext, clip: LoadedClip, name: str,
              source: ClipSource | None = None) -> DemoState:
    config = ctx.session_config(clip.size)
    state = DemoState.create(ctx.cfg.temp_root, clip.frames, clip.fps,
                             ctx.predictor.new_session(config), config, source_name=name,
                             notices=list(clip.notices), source=source)
    state.names[1] = "object 1"
    return state


def _source(kind: str, ref: str, path: str | Path, clip: LoadedClip, start: float | None,
            step: float | None) -> ClipSource:
    return ClipSource(kind, ref, _whole(start, 0), max(1, _whole(step, 1)), str(path),
                      tuple(clip.source_size))


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
    hint = ctx.speed_hint(state.num_frames, state.size, state.inference_config.runs_per_frame,
                          max(1, len(state.names)))
    return f"{text} {hint}" if hint else text


def _loaded(ctx: DemoContext, old: DemoState | None, state: DemoState, clip: LoadedClip,
            short_side: int, extra: str = "") -> tuple:
    if old is not None:  # a Look inside tab left open shows the new clip's internals
        state.inspect_open = old.inspect_open
    release_tab(old)  # a new clip replaces this tab's old one (and its files)
    status = info(_summary(ctx, state, clip, short_side) + extra)
    slider = gr.Slider(minimum=0, maximum=state.num_frames - 1, value=0, step=1)
    # The Advanced panel's settings come in this same update, not in a later step: a step
    # after "Loaded" could undo a slider the user moved as soon as the status appeared.
    return (state, slider, *annotate_outputs(state), *settings_view(state), status)


STALE_VIEWS = 9  # progress, preview, video, four exports, export status, ablation status


def clear_stale_views(state: DemoState | None) -> tuple:
    """Run after every load: a state without results is a fresh clip, so the views that show
    results (what the old clip's pass and exports left) are emptied; a state with results is
    the old one kept by a failed load, and its views stay."""
    if state is not None and state.masks:
        return (gr.skip(),) * STALE_VIEWS
    return ("", None, None, None, None, None, None, "", "")


def _failed(old: DemoState | None, message: str) -> tuple:
    """Keep the old state and every view as it was; only the status changes."""
    kept = 1 + 5 + SETTINGS  # the frame slider, the five annotate views, the settings
    return (old, *(gr.skip(),) * kept, warn(message))


def load_upload(ctx: DemoContext, path: str | None, start: float, end: float, step: float,
                old: DemoState | None, short_side: float | None = None) -> tuple:
    """Upload → (state, frame slider, annotation view, caption, objects, editor, status).
    `short_side`: the working size picked in the UI (None = the device's default)."""
    if not path:
        return _failed(old, "No file received: choose a video (mp4, webm, mov, avi, mkv, m4v, "
                            "gif, animated webp or png) or a zip of frames.")
    side = ctx.working_size(short_side)
    try:
        state, clip, extra = _read_upload(ctx, path, start, end, step, side)
    except ClipError as exc:
        return _failed(old, f"Could not load the clip: {exc}")
    return _loaded(ctx, old, state, clip, side, extra)


def load_example(ctx: DemoContext, name: str, start: float, end: float, step: float,
                 old: DemoState | None, short_side: float | None = None) -> tuple:
    """A bundled example (chosen by name, never by path) with its first-frame mask."""
    if name not in ctx.cfg.example_names():
        return _failed(old, f"Unknown example {name!r}.")
    side = ctx.working_size(short_side)
    try:
        state, clip, extra = _read_example(ctx, name, start, end, step, side)
    except (ClipError, ValueError) as exc:
        return _failed(old, f"Could not load the example: {exc}")
    return _loaded(ctx, old, state, clip, side, extra)


def _read_upload(ctx: DemoContext, path: str, start: float, end: float, step: float,
                 side: int) -> tuple[DemoState, LoadedClip, str]:
    clip = read_clip(ctx, path, start, end, step, side)
    return new_state(ctx, clip, Path(path).name,
                     _source("upload", path, path, clip, start, step)), clip, ""


def _read_example(ctx: DemoContext, name: str, start: float, end: float, step: float,
                  side: int) -> tuple[DemoState, LoadedClip, str]:
    folder = ctx.cfg.examples_dir / name
    clip = read_clip(ctx, folder / "clip.mp4", start, end, step, side)
    mask, _ = fit_index_mask(load_index_mask(folder / "first_mask.png"), clip.size)
    state = new_state(ctx, clip, name,
                      _source("example", name, folder / "clip.mp4", clip, start, step))
    if _whole(start, 0) != 0:
        return state, clip, ""
    state.names = {int(i): f"{name} {int(i)}" if i > 1 else name for i in np.unique(mask) if i}
    for obj_id in state.names:
        state.set_object_mask(0, obj_id, mask == obj_id)
    state.selected = next(iter(state.names), 1)
    return state, clip, " The first-frame mask is ready: press **Propagate ▶**."


def reload_clip(ctx: DemoContext, start: float, end: float, step: float,
                old: DemoState | None, short_side: float | None = None) -> tuple:
    """"Reload with these settings": the tab's clip (its upload or example, not whatever the
    upload box holds now) read again with the new trim and working size. The objects,
    annotations, clicks and memory settings come along, each annotation to the frame that shows
    the same source frame; results do not (the frames changed), so the status asks for a new
    pass and names any annotation that has no frame in the new selection."""
    if old is None or old.source is None:
        return _failed(old, "Load a clip or an example first: Reload reads it again with the "
                            "trim and working size above.")
    side = ctx.working_size(short_side)
    read = _read_example if old.source.kind == "example" else _read_upload
    try:
        state, clip, extra = read(ctx, old.source.ref, start, end, step, side)
    except (ClipError, ValueError) as exc:
        return _failed(old, f"Could not reload the clip: {exc}")
    # the memory settings always come along (the working size is the new one's)
    state.inference_config = dataclasses.replace(
        old.inference_config, short_side=state.inference_config.short_side,
        min_object_cells=state.inference_config.min_object_cells)
    state.session = ctx.predictor.new_session(state.inference_config)
    if has_user_work(old) or not state.obj_masks:  # it replaces an example's ready mask
        extra = " " + _carried_text(old, *carry_annotations(old, state))
    return _loaded(ctx, old, state, clip, side, extra)


def _carried_text(old: DemoState, moved: dict[int, int], dropped: list[int],
                  vanished: list[tuple[int, int]]) -> str:
    """What Reload did with the user's annotations, frame by frame."""
    places = [str(b) if a == b else f"{b} (was {a})" for a, b in moved.items()]
    if moved:
        text = (f"Your annotations came along, on frame(s) {', '.join(places)}: propagate "
                "again for results.")
    elif dropped:
        text = "None of your annotated frames is in the new selection."
    else:
        text = "Object names and memory settings came along; nothing was annotated yet."
    if dropped and old.source is not None:
        sources = ", ".join(str(old.source.source_frame(f)) for f in dropped)
        text += (f" Left out: the annotation on frame(s) {', '.join(map(str, dropped))} "
                 f"(source frame(s) {sources}), which the new trim / step does not keep.")
    for frame_idx, obj_id in vanished:
        text += (f" {old.names.get(obj_id, f'object {obj_id}')}'s annotation on frame "
                 f"{frame_idx} is too small to survive the new size: mark it again there.")
    return text
