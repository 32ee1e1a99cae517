""""Look inside" handlers: for one processed frame and the selected object, render the PTM
layers, the FAM alignment, the memory reads of a clicked pixel, the memory timeline and the
per-frame confidence. Reads StepOutputs stored in the DemoState; the views are drawn by
demo.views_ptm_fam, demo.views_memory and demo.plots."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import gradio as gr
import numpy as np

from demo import lost_objects, plots
from demo.clicks import validate_click
from demo.handlers_ablation import compare_view
from demo.messages import NO_CLIP, warn
from demo.state import DemoState
from demo.views_memory import memory_views
from demo.views_ptm_fam import fam_views, ptm_views
from srnet import StepOutput

NUM_OUTPUTS = 16  # see inspect_frame


def _shown_object(state: DemoState, out: StepOutput) -> int | None:
    """Whose internals to show: the selected object when this frame's pass ran it, else the
    first object of the pass that still exists (None: all were removed since)."""
    current = [obj_id for obj_id in out.obj_ids if obj_id in state.names]
    return state.selected if state.selected in current else next(iter(current), None)


def _object_index(out: StepOutput, obj_id: int) -> int:
    return out.obj_ids.index(obj_id) if obj_id in out.obj_ids else 0


def _object_centre(out: StepOutput, obj_id: int) -> tuple[float, float]:
    """(x, y) of the object's pixel farthest from its outline: always on the object (the
    median x and median y fell outside a C-shaped or two-part one), else the frame centre."""
    inside = (out.mask == obj_id).astype(np.uint8)
    if not inside.any():
        return out.mask.shape[1] / 2, out.mask.shape[0] / 2
    depth = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]  # [H, W]
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return float(x), float(y)


def confidence_view(state: DemoState, frame_idx: int) -> tuple[np.ndarray, str]:
    """The confidence plot above the objects' size plot, and the advice: the frame where
    an object is lost if one is (pooled confidence hardly sees that), else the least
    confident one."""
    values = [state.confidence.get(i, np.nan) for i in range(state.num_frames)]
    values = values if state.confidence else []  # all-NaN: the plot says "no data"
    ratios = lost_objects.size_ratios(state) if state.masks else {}
    lost_at = lost_objects.first_lost_frames(state, ratios)  # the dot and the advice agree
    sizes = plots.object_size_plot(ratios, {o: state.color(o) for o in ratios}, state.names,
                                   lost_objects.LOST_SHARE, highlight=frame_idx, lost_at=lost_at)
    plot = np.concatenate([plots.confidence_plot(values, highlight=frame_idx), sizes])
    lost = lost_objects.lost_message(state, lost_at, ratios)
    if lost:  # also when every frame is annotated for some object (none is scored then)
        return plot, lost
    annotated = state.annotated_frames()
    scored = {i: c for i, c in dict(state.confidence).items() if i not in annotated}
    if not scored:
        return plot, "Propagate to see how sure the model is on each frame."
    worst = min(scored, key=scored.get)
    # Not "the frame most worth correcting": on the held-out clips, correcting the least
    # confident frame helped no more than correcting the middle one (measured, session 25).
    return plot, (f"Frame {worst} has the lowest confidence ({scored[worst]:.2f}): the model is "
                  "least sure there. Look at it; if its mask is wrong, click or paint it and "
                  "propagate from there.")


def inspect_frame(state: DemoState | None, frame_idx: float) -> tuple:
    """All views for one frame: (PTM masks, PTM assignment, PTM attention, PTM note, FAM
    arrows, FAM colours, FAM alignment, modulation, FAM note, memory query, memory reads,
    timeline, confidence, ablation, ablation text, status): `NUM_OUTPUTS` values. The
    ablation text goes under its own panel (empty, like the panel, until a rerun). Several
    events render these (the slider, Refresh, the object list, a pass's end) and may run at
    once: a render that ends after a newer one began skips its outputs, so an older frame's
    views cannot land last."""
    if state is None:
        return (*(None,) * (NUM_OUTPUTS - 1), warn(NO_CLIP))
    state.inspect_requests += 1
    request = state.inspect_requests
    views = _views(state, frame_idx)
    return views if request == state.inspect_requests else (gr.skip(),) * NUM_OUTPUTS


def _views(state: DemoState, frame_idx: float) -> tuple:
    frame_idx = state.clamp_frame(frame_idx)
    state.frame_idx = frame_idx
    timeline = plots.memory_timeline(state.num_frames, state.timelines.get(frame_idx, {}),
                                     frame_idx) if frame_idx in state.timelines else None
    plot, advice = confidence_view(state, frame_idx)
    ablation, ablation_text = compare_view(state, frame_idx)
    out = state.outputs.get(frame_idx)
    if out is None or out.visuals is None:
        why = ("it is your annotation: the model copies your mask there"
               if frame_idx in state.annotated_frames() or out is not None else
               "its internals were dropped to save memory (only the last "
               f"{len(state.outputs)} processed frames keep them): propagate over it again"
               if frame_idx in state.masks else "it has not been propagated yet")
        return (*(None,) * 11, timeline, plot, ablation, ablation_text,
                f"No internals for frame {frame_idx}: {why}.{_where_internals(state)} "
                f"{advice}")
    obj_id = _shown_object(state, out)
    if obj_id is None:
        return (*(None,) * 11, timeline, plot, ablation, ablation_text,
                f"No internals for frame {frame_idx}: the objects of its pass were removed "
                f"since; propagate to see the current ones. {advice}")
    k = _object_index(out, obj_id)
    *ptm, ptm_note = ptm_views(state.frames[frame_idx], out, k)
    *fam, fam_note = fam_views(state.frames, out, k, state.shown_mask)
    query, reads, _ = memory_views(state.frames, out, *_object_centre(out, obj_id),
                                   state.shown_mask, state.names, obj_id)
    name = state.names.get(obj_id, f"object {obj_id}")
    return (*ptm, ptm_note, *fam, fam_note, query, reads, timeline, plot, ablation,
            ablation_text, f"Frame {frame_idx}, {name}. {advice}")


def memory_click(state: DemoState | None, frame_idx: float, evt: gr.SelectData) -> tuple:
    """A click on the memory view's frame picks the query pixel (evt.index = [x, y])."""
    if state is None:
        return None, None, warn(NO_CLIP)
    out = state.outputs.get(state.clamp_frame(frame_idx))
    if out is None or out.visuals is None:
        return gr.skip(), gr.skip(), warn("This frame has no internals: propagate over it.")
    index = evt.index if isinstance(evt.index, list | tuple) and len(evt.index) == 2 else None
    if index is None or not validate_click(index[0], index[1], out.mask.shape):
        return gr.skip(), gr.skip(), warn("Click inside the frame to pick a pixel.")
    obj_id = _shown_object(state, out)
    if obj_id is None:
        return gr.skip(), gr.skip(), warn("The objects of this frame's pass were removed "
                                          "since: propagate over it.")
    return memory_views(state.frames, out, float(index[0]), float(index[1]),
                        state.shown_mask, state.names, obj_id)


def frame_from_plot(state: DemoState | None, evt: gr.SelectData) -> object:
    """A click on the confidence (or size) plot: the Frame slider goes to the frame under it,
    and every view follows (the slider's change event)."""
    return _frame_at(state, evt, plots.plot_frame_at)


def frame_from_timeline(state: DemoState | None, evt: gr.SelectData) -> object:
    """A click on the memory timeline: the Frame slider goes to the frame under it."""
    return _frame_at(state, evt, plots.timeline_frame_at)


def _frame_at(state: DemoState | None, evt: gr.SelectData,
              frame_at: Callable[[float, int], int | None]) -> object:
    index = evt.index if isinstance(evt.index, list | tuple) and len(evt.index) == 2 else None
    if state is None or index is None:
        return gr.skip()
    frame_idx = frame_at(float(index[0]), state.num_frames)
    return gr.skip() if frame_idx is None else frame_idx


def object_menu(state: DemoState | None) -> gr.Dropdown:
    """Look inside's object list: the clip's objects, the selected one shown."""
    if state is None:
        return gr.Dropdown(choices=[], value=None)
    return gr.Dropdown(choices=state.object_choices(), value=state.selected or None)


def inspect_object(state: DemoState | None, obj_id: int | str | None,
                   frame_idx: float) -> tuple:
    """Look inside's object list changed: select that object (Annotate's list follows when
    its tab is shown again) and show its internals."""
    try:
        if state is not None and int(obj_id) in state.names:
            state.selected = int(obj_id)
    except (TypeError, ValueError):
        pass
    return inspect_frame(state, frame_idx)


def set_inspect_open(state: DemoState | None, is_open: bool) -> None:
    """Tab switches: the internals are re-rendered on frame changes only while shown."""
    if state is not None:
        state.inspect_open = bool(is_open)


def _where_internals(state: DemoState) -> str:
    """Where the views would show something: the frames that keep their internals."""
    kept = sorted(f for f, out in list(state.outputs.items()) if out.visuals is not None)
    there = "move the Frame slider there to see the network at work."
    if not kept:
        return ""
    if len(kept) == 1:
        return f" Frame {kept[0]} keeps its internals: {there}"
    if kept[-1] - kept[0] + 1 == len(kept):
        return f" Frames {kept[0]}-{kept[-1]} keep their internals: {there}"
    return (f" {len(kept)} frames between {kept[0]} and {kept[-1]} keep their internals: move "
            "the Frame slider to one of them to see the network at work.")


def inspect_on_open(state: DemoState | None, frame_idx: float) -> tuple:
    """The Look inside tab opened: its views for the slider's frame. Without a clip the tab's
    status says so without a toast: opening the tab to read what it explains is no error."""
    if state is None:
        return (*(None,) * (NUM_OUTPUTS - 1), f"{NO_CLIP} The views below fill in then.")
    state.inspect_open = True  # now, not after this render: a frame change meanwhile follows
    return inspect_frame(state, frame_idx)


def inspect_if_open(state: DemoState | None, frame_idx: float) -> tuple:
    """The frame changed (or a pass ended): refresh the internals only when their tab is open."""
    if state is None or not state.inspect_open:
        return (gr.skip(),) * NUM_OUTPUTS
    return inspect_frame(state, frame_idx)
