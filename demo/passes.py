"""Which frames a pass runs, and in what order: the plan for "forward" / "backward" / "both"
from a frame, and `run_pass`, which hands each user annotation to the session just before the
pass reaches it. Shared by the streamed propagation, the ablation runs and the headless API."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

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
        if (frame_idx > start if reverse else frame_idx < start) \
                and frame_idx not in session.annotations:
            predictor.step(session, frame_idx, frames[frame_idx], annotations[frame_idx],
                           absent=absent.get(frame_idx, ()))
    ahead = [f for f in sorted(annotations, reverse=reverse)
             if (end <= f < start if reverse else start < f <= end)]
    bounds = [start, *ahead]
    for i, seg_start in enumerate(bounds):
        seg_end = bounds[i + 1] + (1 if reverse else -1) if i + 1 < len(bounds) else end
        mask = annotations.get(seg_start)
        known = session.annotations.get(seg_start)
        gone = frozenset(absent.get(seg_start, ()))
        if known is not None and mask is not None and np.array_equal(known, mask) \
                and session.absent.get(seg_start, frozenset()) == gone:
            mask = None  # the session has it already
        yield from predictor.propagate(session, frames, seg_start, seg_end, reverse=reverse,
                                       mask=mask, return_visuals=visuals,
                                       absent=gone if mask is not None else ())


def _start(annotated: list[int], frame_idx: int, reverse: bool, has_memory: bool) -> int | None:
    if frame_idx in annotated or has_memory:
        return frame_idx
    behind = [f for f in annotated if (f >= frame_idx if reverse else f <= frame_idx)]
    return (behind[0] if reverse else behind[-1]) if behind else None


def plan_passes(state: DemoState, direction: str, frame_idx: int) -> list[Pass] | str:
    """Passes for "forward" / "backward" / "both" from `frame_idx`, or a message why not.

    A pass starts at `frame_idx` when that frame is annotated or memory already exists (a
    re-run after a correction); otherwise at the nearest annotated frame behind it."""
    annotated = state.annotated_frames()
    if not annotated:
        return "Nothing to follow yet: click or paint the object on a frame first."
    memory = state.session.has_memory
    if direction in ("forward", "backward"):
        reverse = direction == "backward"
        start = _start(annotated, frame_idx, reverse, memory)
        passes = [] if start is None else [(start, 0 if reverse else state.num_frames - 1,
                                            reverse)]
    else:
        start = _start(annotated, frame_idx, False, memory)
        start = _start(annotated, frame_idx, True, memory) if start is None else start
        passes = [(start, state.num_frames - 1, False), (start, 0, True)]
    if not passes:
        side = "at or after" if direction == "backward" else "at or before"
        return (f"No annotated frame {side} frame {frame_idx}: annotate this frame, or "
                f"propagate the other way (annotated: {', '.join(map(str, annotated))}).")
    return passes


def other_side_note(state: DemoState, plan: list[Pass]) -> str:
    """After a one-way pass from an annotated frame: the frames on the other side whose masks
    were made without that annotation in memory. A remove-click on frame 40 cleared a tree
    trunk from frame 40 on, while frames 33-39 kept it and nothing said so."""
    annotated = set(state.annotated_frames())  # their masks are the user's own
    if len(plan) != 1 or plan[0][0] not in annotated:
        return ""
    start, _, reverse = plan[0]
    stale = sorted(f for f in state.masks if (f > start if reverse else f < start)
                   and f not in annotated
                   and start not in state.timelines.get(f, {}).get("permanent", [start]))
    if not stale:
        return ""
    button = "Propagate ▶" if reverse else "◀ Propagate backward"
    return (f" · frames {frame_ranges(stale)} keep masks made without frame {start}'s annotation: "
            f"{button} from frame {start} carries it into them")


def frame_ranges(frames: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] → "0-2, 5, 7-8" (sorted input)."""
    runs: list[list[int]] = []
    for frame_idx in frames:
        if runs and frame_idx == runs[-1][1] + 1:
            runs[-1][1] = frame_idx
        else:
            runs.append([frame_idx, frame_idx])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
