"""Annotation handlers: frame choice, positive/negative clicks (learned model or GrabCut via
demo.clicks, under the monotonic click rule), exact undo and clear, brush/eraser painting on the
current mask (demo.painter), and the object list.

Each returns `(state, *annotate_outputs(state), status)`: the annotated frame, its caption, the
object dropdown, the selected object's name and the painter's HTML. None of these touch
the InferenceSession except removing an object; annotations reach the model when propagating.
"""

from __future__ import annotations

import hashlib
import logging
import re

import gradio as gr
import numpy as np

from demo import clicks, render
from demo.handlers import DemoContext, edits_wait_for_passes, frame_view
from demo.messages import NO_CLIP, frame_caption, info, replaced_text, shared_text, warn
from demo.ownership import (
    ClickUndo,
    edit_order,
    keep_others,
    take,
    without_others,
)
from demo.painter import apply_strokes, painter_html, parse_strokes
from demo.state import DemoState

log = logging.getLogger(__name__)
LAYER_ALPHA = 0.5  # the selected object's mask as tinted in the painter
MAX_NAME = 40


def editor_value(state: DemoState) -> str:
    """The painter (demo.painter): the frame with the selected object's current mask
    (annotation, else propagated) tinted in and the other objects outlined, so brush strokes
    add to what is shown and eraser strokes remove from it."""
    frame = state.frames[state.frame_idx]
    mask = _current_object_mask(state, state.frame_idx, state.selected)
    view = frame
    others = state.shown_mask(state.frame_idx)
    if others is not None:
        outline = np.where(others == state.selected, 0, others).astype(np.uint8)
        view = render.overlay_mask(view, outline, alpha=0.0)
    if mask is not None and state.selected:
        view = render.overlay_mask(view, mask.astype(np.uint8) * state.selected, alpha=LAYER_ALPHA)
    state.paint_version += 1
    return painter_html(view, f"{state.frame_idx}-{state.selected}-{state.paint_version}")


def annotate_outputs(state: DemoState) -> tuple:
    """(frame view, caption, object dropdown, object name, painter HTML). Records what they
    show in `state.shown_view` (every handler that draws the Annotate view returns these)."""
    choices, name = state.object_choices(), state.names.get(state.selected, "")
    view, caption = frame_view(state), frame_caption(state, state.frame_idx)
    state.shown_view = _digest(view, repr((caption, choices, state.selected, name)))
    objects = gr.Dropdown(choices=choices, value=state.selected or None)
    return (view, caption, objects, name, editor_value(state))


def _digest(view: np.ndarray, text: str) -> str:
    digest = hashlib.blake2b(np.ascontiguousarray(view).tobytes(), digest_size=16)
    digest.update(f"{view.shape}{text}".encode())
    return digest.hexdigest()


def _result(state: DemoState | None, status: str) -> tuple:
    if state is None:
        return (None, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), warn(NO_CLIP))
    return (state, *annotate_outputs(state), status)


def _current_object_mask(state: DemoState, frame_idx: int, obj_id: int) -> np.ndarray | None:
    mask = state.obj_masks.get((frame_idx, obj_id))
    if mask is None and frame_idx in state.masks:
        mask = state.masks[frame_idx] == obj_id
    return mask if mask is not None and mask.any() else None


def show_frame(state: DemoState | None, frame_idx: float) -> tuple:
    """The Annotate view of `frame_idx`. Frame changes of one tab may render at once (the
    "ui" group runs four events): a render that ends after a later request began skips its
    outputs, so an older frame's view cannot land last. (A CI run once showed frame 0's view
    after a change to frame 4 under load; this is one way that happens.)"""
    if state is None:
        return _result(None, "")
    state.frame_idx = state.clamp_frame(frame_idx)  # before the count: see `redraw`
    return redraw(state)


def refresh(state: DemoState | None, frame_idx: float) -> tuple:
    """The Annotate tab shown again (Look inside may have changed the selected object); also
    fired when the page opens, before any clip: then nothing changes and nothing is said."""
    if state is None:
        return (gr.skip(),) * 7
    return show_frame(state, frame_idx)


def redraw(state: DemoState | None) -> tuple:
    """The Annotate view of the tab's current frame, after a ZeroGPU pass (whose worker drew
    its start frame). It reads the frame when it runs, not the slider's value when the pass
    ended: a slider move queued between the two had its view replaced by the older frame's
    (a CI run under load). `show_frame` sets the frame before counting its request, so a
    redraw counted after it reads the new frame, and one counted before it is skipped."""
    if state is None:
        return (gr.skip(),) * 7
    state.view_requests += 1
    request, shown = state.view_requests, state.shown_view
    result = _result(state, gr.skip())
    if request != state.view_requests:
        state.shown_view = None  # not sent: the next render draws whatever it finds
        return (gr.skip(),) * len(result)
    if shown is not None and state.shown_view == shown:
        # The page already shows exactly this. Sending it again swapped the image element
        # under the pointer: typing a frame past the end and then clicking the frame fired
        # a second change (the number box clamps on blur, which the click causes), and the
        # redraw dropped that click (session 39; a CI flake of the browser test).
        return (gr.skip(),) * len(result)
    return result


@edits_wait_for_passes
def on_click(state: DemoState | None, mode: str, evt: gr.SelectData,
             method: str = clicks.LEARNED) -> tuple:
    """A click on the frame (evt.index = [x, y] in the shown image, which is the frame at
    working size, so no rescaling is needed) adds a positive or negative point; `method` is
    "learned" (the click model) or "classic" (GrabCut)."""
    if state is None:
        return _result(None, "")
    if state.selected not in state.names:
        return _result(state, warn("Add an object first (the **Add object** button)."))
    key = (state.frame_idx, state.selected)  # read once: the slider may move meanwhile
    frame = state.frames[key[0]]
    index = evt.index if isinstance(evt.index, list | tuple) and len(evt.index) == 2 else [None] * 2
    if not clicks.validate_click(index[0], index[1], frame.shape):
        return _result(state, warn(f"The click {index} lies outside the {frame.shape[1]}x"
                                   f"{frame.shape[0]} frame; click on the image."))
    prior = _current_object_mask(state, *key)
    history = state.click_history.setdefault(key, [])
    if len(history) != len(state.clicks.get(key, [])):
        history.clear()  # the clicks were changed elsewhere (paint): older undos replay
    undo = ClickUndo(state.obj_masks.get(key), seq=state.next_edit())  # the exact annotation
    history.append(undo)
    state.clicks.setdefault(key, []).append((float(index[0]), float(index[1]),
                                             not str(mode).lower().startswith("remove")))
    if prior is None and not any(positive for *_, positive in state.clicks[key]):
        state.clicks[key].pop()  # told it does not count, it must not count later either
        history.pop()
        return _result(state, warn("Start with a positive click on the object; negative "
                                   "clicks then cut parts away. That click was not kept."))
    return _remask(state, key, prior, method, undo)


def _remask(state: DemoState, key: tuple[int, int], prior: np.ndarray | None,
            method: str = clicks.LEARNED, undo: ClickUndo | None = None) -> tuple:
    """Object `key[1]`'s mask on frame `key[0]` from its clicks there; pixels other objects
    hold stay theirs unless the last click lands on them (demo.ownership). `undo` records
    what the click took from the others. `key` is read once by the caller: the Frame slider
    and the object menu may change the state's frame and object while the click model runs."""
    frame_idx, obj_id = key
    points = state.clicks.get(key, [])
    if prior is None and not any(positive for *_, positive in points):
        state.set_object_mask(*key, None)
        return _result(state, warn("Start with a positive click on the object; negative "
                                   "clicks then cut parts away."))
    mask = clicks.apply_click(state.frames[frame_idx], points, prior, method)
    owners = state.shown_mask(frame_idx)

    def cut(other_id: int, point: tuple[float, float]) -> np.ndarray:
        """The other object's mask after a negative click at `point` (its own clicks kept)."""
        other_clicks = [*state.clicks.get((frame_idx, other_id), []), (*point, False)]
        return clicks.apply_click(state.frames[frame_idx], other_clicks,
                                  owners == other_id, method)

    mask, claimed, left = keep_others(owners, obj_id, mask, points[-1], cut, prior)
    taken = take(state.obj_masks, *key, claimed)
    if undo is not None:
        undo.taken = taken
    state.set_object_mask(*key, mask, absent=not points[-1][2] and state.followed_elsewhere(*key))
    used = method if method != clicks.LEARNED or clicks.learned_available() else \
        "classic (learned model unavailable)"
    notes = replaced_text(_replaced(points, mask.shape), points[-1][2]) + \
        shared_text(state, owners, claimed, left)
    return _result(state, f"{state.names[obj_id]} on frame {frame_idx}: {len(points)} click(s), "
                          f"{used}, mask covers {100.0 * mask.mean():.1f} % of the frame.{notes}")


def _replaced(points: list, shape: tuple[int, ...]) -> int:
    """How many earlier clicks the last click replaced (`clicks.counting_clicks`)."""
    return len(clicks.counting_clicks(points[:-1], shape)) + 1 - \
        len(clicks.counting_clicks(points, shape))


@edits_wait_for_passes
def undo_click(state: DemoState | None, method: str = clicks.LEARNED) -> tuple:
    """Remove the last click and restore exactly the annotation from before it."""
    if state is None:
        return _result(None, "")
    key = (state.frame_idx, state.selected)
    if not state.clicks.get(key):
        if state.paint_undo.get(key):  # the last edit was a painting: back to before it
            return _undo_paint(state, key)
        return _result(state, warn("No click to undo on this frame for this object."))
    state.clicks[key].pop()
    history = state.click_history.get(key, [])
    if len(history) == len(state.clicks[key]) + 1:
        _restore(state, key, history.pop())
        return _result(state, f"Last click removed; {len(state.clicks[key])} click(s) left "
                              f"on frame {key[0]}.")
    propagated = state.masks.get(key[0])  # no record (e.g. after painting): replay
    prior = None if propagated is None else propagated == key[1]
    if not state.clicks[key]:
        state.set_object_mask(*key, None)
        return _result(state, "Last click removed; this frame has no annotation for the object.")
    return _remask(state, key, prior if prior is not None and prior.any() else None, method)


def _undo_paint(state: DemoState, key: tuple[int, int]) -> tuple:
    """Undo of the last painting of `key`: its annotation and clicks as before it."""
    record = state.paint_undo[key].pop()
    _restore(state, key, record)
    if record.clicks:
        state.clicks[key], state.click_history[key] = record.clicks, record.history or []
    return _result(state, f"Painting undone on frame {key[0]}: the mask is as before it "
                          f"({len(record.clicks or [])} click(s)).")


def _restore(state: DemoState, key: tuple[int, int], record: ClickUndo) -> None:
    """Undo of one edit of `key`: its annotation as before it (an empty one: absent again,
    less what other objects hold now), and what the edit took from others goes back."""
    before = record.before
    state.set_object_mask(*key, without_others(state.obj_masks, *key, before),
                          absent=before is not None and not before.any())
    state.limit_returns(*key, before, after=record.seq)
    state.give_back(key[0], record)


@edits_wait_for_passes
def clear_clicks(state: DemoState | None) -> tuple:
    if state is None:
        return _result(None, "")
    key = (state.frame_idx, state.selected)
    state.clicks.pop(key, None)
    history = state.click_history.pop(key, [])
    state.set_object_mask(*key, None)
    state.limit_returns(*key, None)
    history = [*edit_order(state.paint_undo.pop(key, [])), *history]  # as the edits were made
    for undo in reversed(history):  # as undoing every edit: what they took goes back
        state.give_back(state.frame_idx, undo)
    return _result(state, f"Cleared the annotation of {state.names.get(state.selected, '?')} "
                          f"on frame {state.frame_idx}.")


@edits_wait_for_passes
def apply_paint(state: DemoState | None, strokes: str | None) -> tuple:
    """The painted strokes (JSON from the page, see demo.painter): brush adds to the selected
    object's current mask on this frame, eraser removes from it, the rest is kept."""
    if state is None:
        return _result(None, "")
    if state.selected not in state.names:
        return _result(state, warn("Add an object first (the **Add object** button)."))
    try:
        painted = parse_strokes(strokes)
    except ValueError as exc:
        return _result(state, warn(f"Painting not applied: {exc}."))
    if not painted:
        return _result(state, warn("Nothing painted: drag on the frame with the brush or the "
                                   "eraser, then press Use painted mask."))
    key = (state.frame_idx, state.selected)
    before = _current_object_mask(state, *key)
    mask = apply_strokes(before, painted, state.size)
    added = mask if before is None else mask & ~before  # [H, W] the brush claims what it covers
    before_annotation = state.obj_masks.get(key)
    shown = state.shown_mask(state.frame_idx)  # [H, W] ids as on screen before the stroke
    taken = take(state.obj_masks, *key, added)
    record = ClickUndo(before_annotation, taken, clicks=state.clicks.pop(key, []),
                       history=state.click_history.pop(key, []),  # painting replaces the clicks
                       seq=state.next_edit())
    state.paint_undo.setdefault(key, []).append(record)  # Undo goes back past it
    was_absent = before_annotation is not None and not before_annotation.any()
    state.set_object_mask(*key, mask, absent=was_absent or state.followed_elsewhere(*key))
    # others' undo may give back only what the eraser left: a dot painted far away made
    # undoing another object's click on this one give nothing back
    state.limit_returns(*key, apply_strokes(np.ones(state.size, bool), painted, state.size))
    old = 0 if before is None else int(before.sum())
    took = "".join(f"; took {int(lost.sum())} px from {state.names.get(obj_id, obj_id)}"
                   for obj_id, lost in _covered(shown, added, state.selected).items())
    gone = (" — marked absent on this frame: the next pass takes that over from here"
            if state.selected in state.absent_ids(state.frame_idx) else "")
    return _result(state, f"Painted {state.names[state.selected]} on frame {state.frame_idx}: "
                          f"{len(painted)} stroke(s), mask {old} → {int(mask.sum())} px "
                          f"({100.0 * mask.mean():.1f} % of the frame){took}{gone}.")


def _covered(shown: np.ndarray | None, added: np.ndarray, obj_id: int) -> dict[int, np.ndarray]:
    """Other objects' pixels, as shown (their annotation or the pass's result), that a brush
    stroke adding `added` to `obj_id` takes over."""
    if shown is None:
        return {}
    return {int(other): added & (shown == other) for other in np.unique(shown[added])
            if other not in (0, obj_id)}


def select_object(state: DemoState | None, obj_id: int | str | None) -> tuple:
    if state is None:
        return _result(None, "")
    try:
        obj_id = int(obj_id)
    except (TypeError, ValueError):
        return _result(state, gr.skip())
    if obj_id in state.names:
        state.selected = obj_id
    return _result(state, gr.skip())


@edits_wait_for_passes
def add_object(state: DemoState | None) -> tuple:
    if state is None:
        return _result(None, "")
    obj_id = state.next_object_id()
    if obj_id is None:
        return _result(state, warn("The demo follows at most 20 objects."))
    state.names[obj_id] = f"object {obj_id}"
    state.selected = obj_id
    return _result(state, info(f"Added object {obj_id}: click or paint it on any frame."))


@edits_wait_for_passes
def rename_object(state: DemoState | None, name: str) -> tuple:
    if state is None:
        return _result(None, "")
    # no markup: names go into Markdown/HTML captions and status lines as they are
    name = " ".join(re.sub(r"[<>&`*_\\\[\]]", " ", str(name or "")).split())[:MAX_NAME]
    if state.selected not in state.names or not name:
        return _result(state, warn("Select an object and type a non-empty name."))
    state.names[state.selected] = name
    return _result(state, f"Object {state.selected} is now called {name!r}.")


def remove_object(ctx: DemoContext, state: DemoState | None) -> tuple:
    if state is None:
        return _result(None, "")
    obj_id = state.selected
    if obj_id not in state.names:
        return _result(state, warn("No object selected."))
    if obj_id in state.session.obj_ids:
        ctx.predictor.remove_object(state.session, obj_id)
    name = state.names[obj_id]
    state.forget_object(obj_id)
    return _result(state, f"Removed {name!r} (its masks are gone from every frame).")
