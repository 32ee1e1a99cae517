"""Reload's carry-over (`carry_annotations`): a tab's annotations, clicks and undo records
moved onto the same clip re-read with another trim or working size, and whether a tab holds
any work of the user's (`has_user_work`)."""

from __future__ import annotations

import numpy as np

from demo.export import resize_index_mask
from demo.state import DemoState


def _resized(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A bool [h, w] mask at `size` (H, W), with the exports' smooth outlines."""
    return resize_index_mask(mask.astype(np.uint8), size) > 0


def has_user_work(state: DemoState) -> bool:
    """Any annotation (an object marked absent included) or click of the user's (a click
    list emptied by Undo is none)."""
    return bool(state.obj_masks) or any(state.clicks.values())


def carry_annotations(old: DemoState, new: DemoState
                      ) -> tuple[dict[int, int], list[int], list[tuple[int, int]]]:
    """Move `old`'s objects, annotations, clicks and undo histories (clicks and paint) onto
    `new`, the same clip re-read with another trim or working size: each annotated frame goes
    to the new frame that shows the same source frame, masks resized and clicks scaled. Results
    are not carried (they need a new pass). Returns ({old frame: new frame}, old frames with no
    place in `new`, (new frame, object) annotations too small to survive the resize)."""
    assert old.source is not None and new.source is not None
    (old_h, old_w), size = old.size, new.size
    scale_x, scale_y = size[1] / old_w, size[0] / old_h
    frames = sorted({f for (f, _) in old.obj_masks}  # absences (empty masks) included
                    | {f for (f, _), clicks in old.clicks.items() if clicks})
    moved: dict[int, int] = {}
    for frame_idx in frames:
        target = new.source.frame_of(old.source.source_frame(frame_idx), new.num_frames)
        if target is not None:
            moved[frame_idx] = target

    def resize(mask: np.ndarray) -> np.ndarray:
        return _resized(mask, size)

    def scale(click: tuple) -> tuple:
        return click[0] * scale_x, click[1] * scale_y, click[2]

    new.names, new.selected = dict(old.names), old.selected
    new.obj_masks, vanished = {}, []
    for (f, obj), mask in old.obj_masks.items():
        if f in moved and not mask.any():  # marked absent there: stays absent
            new.set_object_mask(moved[f], obj, np.zeros(size, bool), absent=True)
        elif f in moved:
            new.set_object_mask(moved[f], obj, resize(mask))  # never stores an empty mask
            if (moved[f], obj) not in new.obj_masks:
                vanished.append((moved[f], obj))
    new.clicks = {(moved[f], obj): [scale(c) for c in clicks]
                  for (f, obj), clicks in old.clicks.items() if f in moved and clicks}
    new.edits = old.edits  # the carried records keep their order before new edits
    for name in ("click_history", "paint_undo"):
        setattr(new, name, {(moved[f], obj): [undo.resized(resize, scale) for undo in history]
                            for (f, obj), history in getattr(old, name).items() if f in moved})
    return moved, [f for f in frames if f not in moved], vanished
