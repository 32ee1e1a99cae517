"""Import a mask file as the shown frame's annotation: a mask made elsewhere (another tool, an
earlier export, a dataset's annotation) starts or corrects a clip without clicking it again.

A file of object ids describes the whole frame: any file that `srnet.load_index_mask` reads as
several ids (a DAVIS-2017 / YouTube-VOS palette PNG, DAVIS colours in RGB, a gray 0/1/2
image), or a palette PNG whose one id has its DAVIS colour. Its ids become the frame's objects (new
ids are added), and objects it does not contain lose their annotation on that frame. Any other
mask (0/255, one colour on black, a cut-out, a quantised palette) is one object: the selected
one. Either replaces the clicks on the frame for the objects it sets.
"""

from __future__ import annotations

import gradio as gr
import numpy as np
from PIL import Image

from demo.frame_files import IMAGE_FORMATS
from demo.handlers import edits_wait_for_passes
from demo.handlers_annotate import annotate_outputs
from demo.messages import NO_CLIP, info, warn
from demo.ownership import take
from demo.state import MAX_OBJECTS, DemoState
from srnet import davis_palette, fit_index_mask, load_index_mask

MAX_LISTED = 8  # ignored ids named in the status; the rest are counted


def _holds_ids(path: str, mask: np.ndarray) -> bool:
    """Whether the file gives object ids for the whole frame (see the module docstring):
    several ids, or a palette file whose one id has its DAVIS colour (a black-and-white image
    saved as a 2-colour palette is one object, the selected one)."""
    ids = [int(i) for i in np.unique(mask) if i]
    if len(ids) > 1:
        return True
    with Image.open(path) as image:
        palette = image.getpalette() if image.mode == "P" else None
    if not palette or palette[:3] != [0, 0, 0] or not ids or 3 * ids[0] + 3 > len(palette):
        return False
    return palette[3 * ids[0]:3 * ids[0] + 3] == davis_palette()[ids[0]].tolist()


def _objects_in(state: DemoState, mask: np.ndarray, palette: bool) -> dict[int, np.ndarray]:
    """Object id → bool mask [H, W] that the file sets on the frame."""
    if not palette:
        return {state.selected: mask > 0} if mask.any() else {}
    return {int(i): mask == i for i in np.unique(mask) if 0 < i <= MAX_OBJECTS}


@edits_wait_for_passes
def import_mask(state: DemoState | None, path: str | None) -> tuple:
    """The uploaded PNG → the annotation of the shown frame; returns what the annotation
    handlers return: (state, frame view, caption, objects, name, painter, status)."""
    if state is None:
        return (None, *(gr.skip(),) * 5, warn(NO_CLIP))
    if not path:
        return _done(state, warn("No file received: choose a PNG mask."))
    try:
        mask, resized = fit_index_mask(load_index_mask(path, IMAGE_FORMATS), state.size)
        palette = _holds_ids(path, mask)
    except (OSError, ValueError) as exc:
        return _done(state, warn(f"Mask not imported: {exc}."))
    if not palette and state.selected not in state.names:
        return _done(state, warn("A black-and-white mask is one object: add or select an "
                                 "object first (the **Add object** button)."))
    objects = _objects_in(state, mask, palette)
    ignored = sorted(int(i) for i in np.unique(mask) if i > MAX_OBJECTS) if palette else []
    listed = ", ".join(map(str, ignored[:MAX_LISTED]))  # a palette of 255 ids: 1,458 chars
    listed += f" and {len(ignored) - MAX_LISTED} more" if len(ignored) > MAX_LISTED else ""
    skipped = (f"; ids {listed} ignored (the demo follows ids 1-{MAX_OBJECTS}; 255 is "
               "DAVIS's 'void')") if ignored else ""
    if not objects:
        note = f"; {resized}" if resized else ""  # it names an object the resize lost
        return _done(state, warn("Mask not imported: it has no object pixels (object ids "
                                 f"1-{MAX_OBJECTS}, or white on black){skipped}{note}."))
    frame_idx = state.frame_idx
    lacking = [obj_id for obj_id in list(state.names) if palette and obj_id not in objects]
    # the file is the whole frame: an object a pass would show here is marked absent (as an
    # eraser that takes all of it); one annotated only here just loses that annotation
    gone = [obj_id for obj_id in lacking if state.followed_elsewhere(frame_idx, obj_id)]
    cleared = [obj_id for obj_id in lacking if obj_id not in gone
               and (frame_idx, obj_id) in state.obj_masks]
    for obj_id in gone:
        _set(state, frame_idx, obj_id, np.zeros(state.size, bool), absent=True)
    for obj_id in cleared:
        _set(state, frame_idx, obj_id, None)
    for obj_id, binary in objects.items():
        state.names.setdefault(obj_id, f"object {obj_id}")
        take(state.obj_masks, frame_idx, obj_id, binary)  # the file claims what it covers
        _set(state, frame_idx, obj_id, binary)
    if state.selected not in objects:
        state.selected = next(iter(objects))
    text = f"Imported the mask on frame {frame_idx}: {_listed(state, list(objects))}"
    text += f" ({resized})" if resized else ""
    text += skipped
    if gone:  # a palette file describes the whole frame: say what it took away
        text += (f"; the file has no {_listed(state, gone)}, so {_they(gone)} marked absent "
                 "on this frame (the next pass will not follow "
                 f"{'it' if len(gone) == 1 else 'them'} here)")
    if cleared:
        text += (f"; the file has no {_listed(state, cleared)}, so "
                 f"{'its' if len(cleared) == 1 else 'their'} annotation on this frame was "
                 "removed (re-annotate to restore it)")
    return _done(state, info(text + ". Propagate from here."))


def _set(state: DemoState, frame_idx: int, obj_id: int, mask: np.ndarray | None,
         absent: bool = False) -> None:
    """The imported mask replaces the clicks (and their undo) of this object on this frame;
    with `absent` an empty mask marks the object absent there."""
    state.clicks.pop((frame_idx, obj_id), None)
    state.click_history.pop((frame_idx, obj_id), None)
    state.paint_undo.pop((frame_idx, obj_id), None)
    state.set_object_mask(frame_idx, obj_id, mask, absent=absent)
    state.limit_returns(frame_idx, obj_id, mask)  # others' undo may not add to the import


def _listed(state: DemoState, obj_ids: list[int]) -> str:
    return ", ".join(state.names[obj_id] for obj_id in obj_ids)


def _they(obj_ids: list[int]) -> str:
    return "it is" if len(obj_ids) == 1 else "they are"


def _done(state: DemoState, status: str) -> tuple:
    return (state, *annotate_outputs(state), status)
