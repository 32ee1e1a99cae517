"""Which objects the propagation lost, and from which frame.

The per-frame confidence (`StepOutput.confidence`) cannot see this failure: when an object's
mask shrinks to nothing, its pixels become confidently background, so the frame still scores
near 1. What does show it is the object's size: each frame's mask area over the area the user
gave it on the nearest annotated frame. An object under `LOST_SHARE` of that counts as lost;
the lost frame nearest to an annotation (where a pass going away from it lost the object) is
the one most worth correcting. (A real object can also leave the
frame or be hidden; the message says "check", not "wrong". Frames nearer a frame where the
user marked the object absent than to its annotations are not counted.)
"""

from __future__ import annotations

import numpy as np

from demo.state import DemoState

LOST_SHARE = 0.2  # under a fifth of its annotated size: lost (or hidden, or out of frame)


def size_ratios(state: DemoState) -> dict[int, np.ndarray]:
    """Per object id: float ``[num_frames]``, each processed frame's mask area over the area of
    the object's annotation on the nearest annotated frame; NaN where the frame has no result,
    its pass did not track the object yet (a result from before the object was added), or the
    object has no annotation anywhere."""
    areas = np.full((state.num_frames, 256), np.nan)  # [T, ids] pixels per id
    tracked = dict(state.tracked)  # copies: a pass on the torch thread may be adding frames
    for frame_idx, mask in dict(state.masks).items():
        counts = np.bincount(mask.ravel(), minlength=256)[:256].astype(np.float64)  # [ids]
        untracked = np.ones(256, bool)
        untracked[list(tracked.get(frame_idx, ()))] = False
        counts[untracked & (counts == 0)] = np.nan  # absent because never asked for
        areas[frame_idx] = counts
    ratios = {}
    for obj_id in state.names:
        refs = _annotated_areas(state, obj_id)
        if not refs:
            continue
        ref_frames = np.array(sorted(refs))  # [A]
        nearest = ref_frames[np.abs(np.arange(state.num_frames)[:, None]
                                    - ref_frames[None]).argmin(1)]  # [T]
        ratios[obj_id] = areas[:, obj_id] / np.array([refs[f] for f in nearest])  # [T]
    return ratios


def _annotated_areas(state: DemoState, obj_id: int) -> dict[int, float]:
    """Frame → pixel count of the user's (non-empty) annotations of one object."""
    areas = {f: float(m.sum()) for (f, o), m in state.obj_masks.items() if o == obj_id}
    return {f: area for f, area in areas.items() if area > 0}


def first_lost_frames(state: DemoState, ratios: dict[int, np.ndarray] | None = None
                      ) -> dict[int, int]:
    """Per object id that is lost somewhere: the processed, non-annotated frame under
    `LOST_SHARE` of its annotated size that lies nearest to one of its annotations (the
    earlier of two as near). A pass loses an object going away from an annotation, forward or
    backward, so that is where it was first lost. Objects never lost are left out."""
    ratios = size_ratios(state) if ratios is None else ratios
    lost = {}
    for obj_id, ratio in ratios.items():
        annotated = _annotated_areas(state, obj_id)
        gone = [f for (f, o), m in state.obj_masks.items() if o == obj_id and not m.any()]
        frames = [int(f) for f in np.flatnonzero(ratio < LOST_SHARE)
                  if f not in annotated and not _meant_absent(int(f), annotated, gone)]
        if frames and annotated:
            refs = np.array(sorted(annotated))  # [A]
            lost[obj_id] = min(frames, key=lambda f: (int(np.abs(refs - f).min()), f))
    return lost


def _meant_absent(frame_idx: int, annotated: dict[int, float], gone: list[int]) -> bool:
    """True when the user's nearest mark of the object to `frame_idx` (ties included) says it
    is absent (`DemoState.absent_ids`): no object there is what was asked for."""
    if not gone:
        return False
    nearest_gone = min(abs(frame_idx - f) for f in gone)
    return not annotated or nearest_gone <= min(abs(frame_idx - f) for f in annotated)


def lost_span(state: DemoState, obj_id: int, frame_idx: int,
              ratio: np.ndarray) -> tuple[int, int | None]:
    """How long object `obj_id` stays lost from `frame_idx`, walking away from its nearest
    annotation (the way the pass went): (the last lost frame of that run, the frame where it
    is found again, or None when the run reaches a frame without a result or the clip's end).
    A one-frame dip and an object lost for good read the same in `first_lost_frames`; a user
    deciding whether to correct needs to know which it is."""
    annotated = sorted(_annotated_areas(state, obj_id))
    nearest = min(annotated, key=lambda f: (abs(f - frame_idx), f)) if annotated else 0
    step = 1 if frame_idx >= nearest else -1
    end = frame_idx
    while 0 <= end + step < len(ratio) and ratio[end + step] < LOST_SHARE:  # NaN compares False
        end += step
    after = end + step
    found = 0 <= after < len(ratio) and np.isfinite(ratio[after])
    return end, after if found else None


def _span_words(name: str, first: int, end: int, found: int | None, num_frames: int) -> str:
    """"rider on frame 3 only (found again on frame 4)", "rider from frame 9 back to 0 (not
    found again before the clip's start)": the first frame named is where to correct."""
    if end == first:
        where = f"{name} on frame {first}" + (" only" if found is not None else "")
    else:
        where = f"{name} from frame {first} {'to' if end > first else 'back to'} {end}"
    if found is not None:
        return f"{where} (found again on frame {found})"
    if end in (0, num_frames - 1):
        edge = "end" if end == num_frames - 1 and end >= first else "start"
        return f"{where} (not found again before the clip's {edge})"
    return f"{where} (no result after it yet)"


def lost_message(state: DemoState, lost: dict[int, int] | None = None,
                 ratios: dict[int, np.ndarray] | None = None) -> str:
    """One sentence naming the lost objects, the frames each stays lost from its first lost
    frame on, and whether the pass found it again ("" when none). `lost` and `ratios`: as
    computed by the caller (`first_lost_frames`, `size_ratios`), else computed here."""
    ratios = size_ratios(state) if ratios is None else ratios
    lost = first_lost_frames(state, ratios) if lost is None else lost
    if not lost:
        return ""
    parts = []
    for obj_id, frame_idx in sorted(lost.items(), key=lambda item: item[1]):
        name = state.names.get(obj_id, f"object {obj_id}")
        end, found = (lost_span(state, obj_id, frame_idx, ratios[obj_id]) if obj_id in ratios
                      else (frame_idx, None))
        parts.append(_span_words(name, frame_idx, end, found, state.num_frames))
    return (f"Check {'; '.join(parts)}: under {LOST_SHARE:.0%} of the annotated size there "
            "(lost, hidden or out of view). If it is lost, select the object, click it on the "
            "first frame named, then propagate from there.")
