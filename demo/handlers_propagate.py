"""Propagation handlers: the streamed forward/backward pass over `Predictor.propagate` (with
online adaptation first when the tab's settings ask for it) and the result video. Which
frames a pass runs is `demo.passes`; Stop is `handlers_stop`; the Advanced panel's handlers are
in `handlers_settings`; the start-up speed probe is `demo.speed_probe`."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Collection, Iterator
from pathlib import Path

import gradio as gr
import numpy as np

from demo import lost_objects, render, zerogpu
from demo.folders import fresh_folder
from demo.handlers import (
    DemoContext,
    frame_runs,
    frame_view,
    gpu_seconds,
    live_session,
    shipped,
)
from demo.messages import NO_CLIP, file_stem, frame_caption, progress_bar, warn
from demo.passes import Pass, other_side_note, plan_passes, run_pass, start_note
from demo.state import DemoState
from demo.video_io import write_mp4
from srnet import InferenceSession, iter_adapt_session

log = logging.getLogger(__name__)


def _rebuild_reason(ctx: DemoContext, state: DemoState,
                    annotations: dict[int, np.ndarray]) -> str:
    """Why the session's memory cannot follow `annotations` (frame → the user's index mask)
    any more, or "": one was removed (a session cannot take it back), or a small object marked
    after a pass needs a larger internal size than the memory was built at (one size per
    memory). Pure: the ZeroGPU reservation asks it before the pass does."""
    session = state.session
    stale = _removed_annotations(session, annotations)
    if stale:
        return f" (memory rebuilt: the annotation on frame {stale[0]} was removed)"
    if session.has_memory:
        needed = ctx.predictor.small_object_scale(session.config, list(annotations.values()))
        if needed > session.upscale + 1e-6:
            return (f" (memory rebuilt at {needed:.2f}x the working size for a small object "
                    "marked after the first pass)")
    return ""


def _sync_session(ctx: DemoContext, state: DemoState,
                  annotations: dict[int, np.ndarray]) -> str:
    """Rebuild the session when `_rebuild_reason` gives one (its text is the Done line's note);
    a session without memory is sized for the smallest annotated object of them all."""
    note = _rebuild_reason(ctx, state, annotations)
    if note:
        state.session = ctx.predictor.new_session(state.inference_config)
    if not state.session.has_memory:
        ctx.predictor.fit_small_objects(state.session, list(annotations.values()))
    return note


def _status(timing: _Timing) -> str:
    elapsed = time.perf_counter() - timing.started
    fps = timing.done / elapsed if elapsed > 0 else 0.0
    first = f" · first frame after {timing.first:.2f} s" if timing.first is not None else ""
    return (f"`{progress_bar(timing.done, timing.total)}` {timing.done}/{timing.total} frames · "
            f"now frame {timing.frame_idx} · {fps:.1f} fps{first}")


def propagate_seconds(ctx: DemoContext, state: DemoState | None, direction: str,
                      frame_idx: float) -> float:
    """GPU time to reserve for `propagate` (same arguments): every frame, twice for "both",
    and the online adaptation's steps when this pass will run them."""
    frames = frame_runs(state) * (2 if direction == "both" else 1)
    return gpu_seconds(ctx.cfg, frames) + ctx.cfg.gpu_adapt_step_s * _adapt_steps_due(ctx, state)


def _adapt_steps_due(ctx: DemoContext, state: DemoState | None,
                     annotations: dict[int, np.ndarray] | None = None) -> int:
    """The fine-tuning steps the next pass runs first: the config's, while the session has
    neither adapted weights nor memory (adaptation must precede the first memory), or when
    the pass will rebuild the session (`_rebuild_reason`). `annotations`: the pass's own, when
    it has built them already (else they are built here, only with adaptation on)."""
    if state is None or not state.inference_config.adapt_steps:
        return 0
    session = state.session
    fresh = session.adapted is None and not session.has_memory
    if annotations is None:
        annotations = state.pass_annotations()[0]
    rebuilt = bool(_rebuild_reason(ctx, state, annotations))
    return state.inference_config.adapt_steps if fresh or rebuilt else 0


def _removed_annotations(session: InferenceSession, annotated: Collection[int]) -> list[int]:
    """Frames whose annotation the session memorised but the user has since removed: a
    session cannot take one back, so the next pass rebuilds it."""
    return [f for f in session.annotations if f not in annotated]


def propagate(ctx: DemoContext, state: DemoState | None, direction: str,
              frame_idx: float) -> Iterator[tuple]:
    """Stream the pass: yields (state, preview, status, video, frame view, caption). Each
    yield carries the whole state (see `shipped`), so Stop or a lost worker keeps what is
    done; a pure function of its inputs, as ZeroGPU needs."""
    if state is None:
        yield None, gr.skip(), warn(NO_CLIP), gr.skip(), gr.skip(), gr.skip()
        return
    annotations, absent = state.pass_annotations()  # one snapshot for the whole plan
    note = _sync_session(ctx, state, annotations)  # before planning: it may empty the memory
    plan = plan_passes(state, direction, state.clamp_frame(frame_idx))
    if isinstance(plan, str):
        yield shipped(state), gr.skip(), warn(plan + note), gr.skip(), gr.skip(), gr.skip()
        return
    note += start_note(state, plan, state.clamp_frame(frame_idx))
    state.clear_stop()
    state.running = "pass"  # what Stop stops (see finish_view)
    state.drop_ablation()  # its reruns compare with the masks this pass replaces: stale now
    session, memo = live_session(ctx, state), {}
    try:
        if _adapt_steps_due(ctx, state, annotations):
            adapted = yield from _adapt(ctx, state, session, memo, annotations)
            if adapted is None:  # stopped, or the tab moved on to another clip
                return
            note += adapted
        else:
            note += _kept_adaptation(state, annotations)
        timing = yield from _run_plan(ctx, state, session, memo, annotations, absent, plan)
    except (ValueError, RuntimeError) as exc:  # e.g. out of memory, inconsistent input
        if state.released:
            return
        log.exception("propagation failed")
        state.running = ""
        yield shipped(state, memo), gr.skip(), warn(f"Propagation stopped: {exc}"), \
            gr.skip(), gr.skip(), gr.skip()
        return
    if state.released or timing is None:  # a new clip was loaded mid-pass
        return
    state.running = ""
    verb = "Stopped" if state.stop_pending else "Done"
    status = (f"{verb}: {_status(timing)}{note}{_closing_notes(state, session, timing)}"
              f"{other_side_note(state, plan)}")
    lost = lost_objects.lost_message(state)  # confidence stays high on a lost object: say so
    status = f"{status}\n\n{warn(lost)}" if lost else status
    try:
        video = result_video(state)  # first: the state handed out then knows it (Export reuses)
    except FileNotFoundError:
        if state.released:  # the tab loaded another clip after the check above
            return
        raise
    state.shown_view = None  # the page's view changes below or after: the next redraw sends
    if zerogpu.ships_host_state():  # the worker's frame may not be the page's any more: the
        # server draws the view after the pass (`annotate.redraw`), from the page's frame
        yield shipped(state, memo), gr.skip(), status, video, gr.skip(), gr.skip()
        return
    yield state, gr.skip(), status, video, frame_view(state), frame_caption(state, state.frame_idx)


@dataclasses.dataclass
class _Timing:
    """What a pass measured, for its Done line and the speed hint."""

    started: float
    total: int  # distinct frames the plan covers ("both" runs its start frame twice)
    seen: set[int] = dataclasses.field(default_factory=set)  # frames segmented so far
    first: float | None = None  # seconds to the first frame
    frame_idx: int = 0  # the last frame segmented

    @property
    def done(self) -> int:
        return len(self.seen)


def _run_plan(ctx: DemoContext, state: DemoState, session: InferenceSession, memo: dict,
              annotations: dict[int, np.ndarray], absent: dict[int, tuple[int, ...]],
              plan: list[Pass]) -> Iterator[tuple]:
    """The passes of `plan`, streamed in `propagate`'s outputs; returns their `_Timing`, or
    None when the tab's clip was replaced mid-pass. Stop ends it after the current frame."""
    covered = {f for start, end, _ in plan for f in range(min(start, end), max(start, end) + 1)}
    timing = _Timing(time.perf_counter(), len(covered))  # a 60-frame clip read "61/61" for both
    try:
        for start, end, reverse in plan:
            yield from _run_one(ctx, state, session, memo, annotations, absent,
                                (start, end, reverse), timing)
            if state.stop_pending or state.released:
                break
    finally:
        state.frame_in_flight = False
    return None if state.released else timing


def _run_one(ctx: DemoContext, state: DemoState, session: InferenceSession, memo: dict,
             annotations: dict[int, np.ndarray], absent: dict[int, tuple[int, ...]],
             one_pass: Pass, timing: _Timing) -> Iterator[tuple]:
    """One pass of the plan; flags `frame_in_flight` from each frame's start to its yield
    (`_run_plan` clears it when the plan ends)."""
    start, end, reverse = one_pass
    state.frame_in_flight = True
    for out in run_pass(ctx.predictor, session, state.frames, annotations,
                        start, end, reverse, visuals=True, absent=absent):
        if state.released:  # a new clip was loaded mid-pass: the tab holds that now
            log.info("pass ended: its clip was replaced")
            return
        state.record(out, ctx.cfg.visuals_keep)
        timing.seen.add(out.frame_idx)
        timing.frame_idx = out.frame_idx
        if timing.first is None:
            timing.first = time.perf_counter() - timing.started
        preview = render.overlay_mask(state.frames[out.frame_idx], out.mask)
        state.frame_in_flight = False  # before `shipped`: a page's copy never holds it set
        yield (shipped(state, memo), preview, _status(timing), gr.skip(), gr.skip(),
               gr.skip())
        if state.stop_pending:
            return
        state.frame_in_flight = True


def _closing_notes(state: DemoState, session: InferenceSession, timing: _Timing) -> str:
    """The Done line's notes on how the frames ran; records the speed hint of a plain pass (at
    the working size, first frame excluded)."""
    plain = session.upscale == 1 and session.config.runs_per_frame == 1
    if timing.done >= 3 and timing.first is not None and plain:
        elapsed = time.perf_counter() - timing.started - timing.first
        state.last_fps = (timing.done - 1) / max(elapsed, 1e-6)
        state.last_objects = max(1, len(session.obj_ids))
    text = ""
    if session.config.mirror_average:
        text += " · mirror averaging: every frame ran twice (as it is and mirrored)"
    if session.upscale > 1:  # say why this clip ran slower than the hint
        text += (f" · the network ran at {session.upscale:.2f}x the working size for a small "
                 "object, which the working size alone tends to lose")
    return text


def _adapt(ctx: DemoContext, state: DemoState, session: InferenceSession, memo: dict,
           annotations: dict[int, np.ndarray]) -> Iterator[tuple]:
    """Online adaptation before the first pass, streaming its progress in `propagate`'s
    outputs; returns the Done line's note, or None when stopped (the session is unchanged)."""
    steps, began = session.config.adapt_steps, time.perf_counter()
    examples = [(state.frames[f], mask) for f, mask in annotations.items()
                if mask.any()]  # a frame that only marks objects absent shows none of them
    for step, loss in iter_adapt_session(ctx.predictor, session, examples):
        if state.released:
            return None
        yield (shipped(state, memo), gr.skip(),
               f"`{progress_bar(step, steps)}` adapting the network to your annotation: "
               f"step {step}/{steps} (loss {loss:.3f})", gr.skip(), gr.skip(), gr.skip())
        if state.stop_pending and step < steps:
            yield (shipped(state, memo), gr.skip(), "Stopped while adapting: the network was "
                   "not changed.", gr.skip(), gr.skip(), gr.skip())
            return None
    state.adapted_on = tuple(sorted(annotations))
    return (f" · adapted to your annotation first ({steps} steps, "
            f"{time.perf_counter() - began:.1f} s)")


def _kept_adaptation(state: DemoState, annotations: dict[int, np.ndarray]) -> str:
    """Say so when a pass follows annotations the adapted network never saw: a correction goes
    into memory, not into the weights (re-adapting on it was measured and not adopted,
    `scripts/measure_correction_adaptation.py`)."""
    if state.session.adapted is None or not set(annotations) - set(state.adapted_on):
        return ""
    frames = ", ".join(map(str, state.adapted_on))
    return (f" · the network stays adapted to frame(s) {frames}: a later annotation goes "
            "into memory, not into the weights")


def result_video(state: DemoState, masks: dict[int, np.ndarray] | None = None) -> str | None:
    """Overlay mp4 of every frame with its mask in `masks` (default: the results; frames
    without one are shown plain). The last one is reused while the masks are unchanged, so
    Export does not re-encode what propagation wrote."""
    masks = state.masks if masks is None else masks
    if not masks:
        return None
    digest = masks_digest(masks)
    if state.overlay_video and state.overlay_video[0] == digest \
            and Path(state.overlay_video[1]).is_file():
        return state.overlay_video[1]
    path = fresh_folder(state.temp_dir, "result") / f"{file_stem(state.source_name)}_overlay.mp4"
    frames = (render.overlay_mask(frame, masks[i]) if i in masks else frame
              for i, frame in enumerate(state.frames))
    state.overlay_video = (digest, str(write_mp4(path, frames, state.fps)))
    return state.overlay_video[1]


def masks_digest(masks: dict[int, np.ndarray]) -> str:
    """A fingerprint of every frame's id mask (about 0.1 s for 300 frames at 480p)."""
    hasher = hashlib.blake2b(digest_size=16)
    for frame_idx in sorted(masks):
        hasher.update(frame_idx.to_bytes(4, "little"))
        hasher.update(np.ascontiguousarray(masks[frame_idx]).tobytes())
    return hasher.hexdigest()
