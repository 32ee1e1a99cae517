"""Which frames a pass runs, and in what order: the plan for "forward" / "backward" / "both"
from a frame, and `run_pass`, which hands each user annotation to the session just before the
pass reaches it. Shared by the streamed propagation, the ablation runs and the headless API."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

import numpy as np

from demo.state import DemoState
from srnet import InferenceSession, Predictor, StepOutput

Pass = tuple[int, int, bool]  # (start, end, reverse), both ends inclusive


def run_pass(predictor: Predictor, session: InferenceSession, frames: Sequence[np.ndarray],
             annotations: dict[int, np.ndarray], start: int, end: int, reverse: bool = False,
             visuals: bool = False, absent: dict[int, tuple[int, ...]] | None = None
             ) -> Iterator[StepOutput]:
    """Yield one StepOutput per frame from `start` to `end`. Each user-annotated frame on the
    way (and `start`) is handed to the session just before the pass reaches it, so a later
    correction takes over from its frame; frames before `start` keep their results.
    Annotations behind `start` that the session has never seen (a fresh or rebuilt memory)
    are memorised first, without yielding: an object marked only on frame 0 is followed by a
    pass that starts at an annotated frame 20 (it was dropped there). `absent`: frame → the
    objects the user marked absent there (`DemoState.pass_annotations`)."""
    absent = absent or {}
    for frame_idx in sorted(annotations, reverse=reverse):
        gone = frozenset(absent.get(frame_idx, ()))
        if (frame_idx > start if reverse else frame_idx < start) \
                and not session.holds_annotation(frame_idx, annotations[frame_idx], gone):
            # new, or edited since the session took it: a pass from frame 4 after frame 0
            # was redrawn followed the old frame 0 from memory
            predictor.step(session, frame_idx, frames[frame_idx], annotations[frame_idx],
                           absent=gone)
    ahead = [f for f in sorted(annotations, reverse=reverse)
             if (end <= f < start if reverse else start < f <= end)]
    bounds = [start, *ahead]
    for i, seg_start in enumerate(bounds):
        seg_end = bounds[i + 1] + (1 if reverse else -1) if i + 1 < len(bounds) else end
        mask = annotations.get(seg_start)
        gone = frozenset(absent.get(seg_start, ()))
        if mask is not None and session.holds_annotation(seg_start, mask, gone):
            mask = None  # the session has it already
        yield from predictor.propagate(session, frames, seg_start, seg_end, reverse=reverse,
                                       mask=mask, return_visuals=visuals,
                                       absent=gone if mask is not None else ())


def _start(annotated: list[int], frame_idx: int, reverse: bool, has_memory: bool,
           done: Collection[int], num_frames: int) -> int | None:
    if frame_idx in annotated:
        return frame_idx
    if has_memory:  # a re-run; after a stopped pass, resume where it stopped (below)
        return _after_last_result(frame_idx, reverse, set(done) | set(annotated), num_frames)
    behind = [f for f in annotated if (f >= frame_idx if reverse else f <= frame_idx)]
    return (behind[0] if reverse else behind[-1]) if behind else None


def _after_last_result(frame_idx: int, reverse: bool, done: set[int], num_frames: int) -> int:
    """The first frame without a result after the nearest frame behind `frame_idx` that has
    one (`frame_idx` itself when the frame just behind it has one, or none behind it has):
    a pass stopped at frame 3 and continued from the slider at frame 6 left 4-5 without a
    mask, and only the export said so."""
    behind = range(frame_idx + 1, num_frames) if reverse else range(frame_idx - 1, -1, -1)
    for f in behind:
        if f in done:
            return f - 1 if reverse else f + 1
    return frame_idx


def plan_passes(state: DemoState, direction: str, frame_idx: int) -> list[Pass] | str:
    """Passes for "forward" / "backward" / "both" from `frame_idx`, or a message why not.

    A pass starts at `frame_idx` when that frame is annotated or memory already exists (a
    re-run after a correction), but never leaves frames without a result between it and the
    results behind it (`_after_last_result`); without memory at the nearest annotated frame
    behind it."""
    annotated = state.annotated_frames()
    if not annotated:
        return "Nothing to follow yet: click or paint the object on a frame first."
    memory, done, count = state.session.has_memory, state.masks.keys(), state.num_frames
    if direction in ("forward", "backward"):
        reverse = direction == "backward"
        start = _start(annotated, frame_idx, reverse, memory, done, count)
        passes = [] if start is None else [(start, 0 if reverse else state.num_frames - 1,
                                            reverse)]
    else:
        start = _start(annotated, frame_idx, False, memory, done, count)
        if start is None:
            start = _start(annotated, frame_idx, True, memory, done, count)
        passes = [(start, state.num_frames - 1, False), (start, 0, True)]
    if not passes:
        side = "at or after" if direction == "backward" else "at or before"
        return (f"No annotated frame {side} frame {frame_idx}: annotate this frame, or "
                f"propagate the other way (annotated: {', '.join(map(str, annotated))}).")
    return passes


def start_note(state: DemoState, plan: list[Pass], frame_idx: int) -> str:
    """The Done line's word when a pass began behind the slider's frame to leave no gap."""
    start = plan[0][0]
    if start == frame_idx or start in state.annotated_frames():
        return ""
    return (f" · started at frame {start}, the first frame without a mask before frame "
            f"{frame_idx}")


def other_side_note(state: DemoState, plan: list[Pass]) -> str:
    """The frames whose masks were made without an annotation as it is now, and how to redo
    them. After a one-way pass from an annotated frame: the frames on the other side made
    without it in memory (a remove-click on frame 40 cleared a tree trunk from frame 40 on,
    while frames 33-39 kept it and nothing said so). And frames made from an earlier version
    of any annotation (frame 4 corrected twice: frames 1-3 still followed the first)."""
    annotated = set(state.annotated_frames())  # their masks are the user's own
    made = {f: held for f, held in state.made_from.items() if f not in annotated}
    notes = []
    if len(plan) == 1 and plan[0][0] in annotated:
        start, _, reverse = plan[0]
        without = sorted(f for f, held in made.items()
                         if (f > start if reverse else f < start) and start not in held)
        if without:
            notes.append(f" · frames {frame_ranges(without)} keep masks made without frame "
                         f"{start}'s annotation: {_button(not reverse)} from frame {start} carries "
                         "it into them")
    for anchor in sorted(annotated & set(state.session.annotations)):
        now = state.session.revisions.get(anchor, "")
        older = sorted(f for f, held in made.items() if held.get(anchor, now) != now)
        for ahead in (False, True):  # frames before the anchor, then after it
            side = [f for f in older if (f > anchor) == ahead]
            if side:
                notes.append(f" · frames {frame_ranges(side)} keep masks made from an earlier "
                             f"version of frame {anchor}'s annotation: {_button(not ahead)} "
                             f"from frame {anchor} redoes them")
    return "".join(notes)


def _button(reverse: bool) -> str:
    return "◀ Propagate backward" if reverse else "Propagate ▶"


def frame_ranges(frames: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] → "0-2, 5, 7-8" (sorted input)."""
    runs: list[list[int]] = []
    for frame_idx in frames:
        if runs and frame_idx == runs[-1][1] + 1:
            runs[-1][1] = frame_idx
        else:
            runs.append([frame_idx, frame_idx])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
