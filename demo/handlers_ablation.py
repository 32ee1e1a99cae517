"""Ablation handlers: rerun the current clip with FAM off, with PTM off, or with the long-term
memory never updated, and carry the same annotations with optical flow instead of any network
(what a memory network replaces); with online adaptation on, also with the network as it was
trained (what the fine-tuning bought). Compare the masks with the full model's side by side
(per-frame overlays and mean IoU).

The full model is rerun too, the same way (`rerun_passes`: forward from the first annotated
frame, backward from where the last object appears), and every variant is compared with that
rerun, not with the tab's result:
the tab's masks may come from several passes, corrections and settings changed since, which
would be counted as the module's effect (a correction then a pass from it read IoU 0.78 for
"FAM off" where the module itself changed little).

An ablated network is `SRNet(dataclasses.replace(cfg, fam=replace(cfg.fam, enabled=False)))`
(or the same for `ptm`) loaded with the full model's weights. Its state dict lacks the removed
module, so loading uses `strict=False`; the check below still fails loudly if any parameter of
the ablated network were missing (only the removed module's keys may be left over). Note the
weights were trained with both modules on: the comparison shows what each module contributes
to *this* network, not what a network trained without it would do. The memory variant keeps
the network and changes only the session's memory policy (`srnet.ablated_config`).
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Iterator

import gradio as gr
import numpy as np

from demo import render
from demo.handlers import DemoContext, frame_runs, gpu_seconds, shipped
from demo.messages import NO_CLIP, progress_bar, warn
from demo.passes import run_pass
from demo.state import DemoState
from srnet import Predictor, ablated_config, flow_propagate
from srnet import ablated_predictor as srnet_ablated

log = logging.getLogger(__name__)
VARIANTS = {"fam": "FAM off", "ptm": "PTM off", "memory": "frozen memory"}
FULL = "full"  # the control: the full model rerun the way the variants are
# Not a network variant: DIS optical flow warps the annotations frame to frame (CPU, no GPU time).
FLOW, FLOW_LABEL = "flow", "optical flow, no network"
# With online adaptation on, one more rerun: the shared network as it was trained
UNADAPTED = "unadapted"
ALL_LABELS = {**VARIANTS, UNADAPTED: "not adapted", FLOW: FLOW_LABEL}
# The tab's own result and the control agreeing over the clip at least this well: no note.
SAME_RESULT_IOU = 0.995
# DIS flow at 480x854 took 0.05 s a frame on a 2-core CPU: a quarter of the 0.25 s a network
# frame is reserved (`DemoConfig.gpu_frame_s`) leaves room for a slower host.
FLOW_FRAME_SHARE = 0.25


def ablated_predictor(ctx: DemoContext, variant: str) -> Predictor:
    """The shared predictor's network with one module switched off, or its memory ablation
    (built once, cached)."""
    if variant not in ctx.derived:
        ctx.derived[variant] = srnet_ablated(ctx.predictor, variant)
    return ctx.derived[variant]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """Mean IoU over the object ids in either index mask (1.0 when both are empty), from one
    joint histogram of the two masks: about twice as fast as a mask per id at 480p."""
    joint = np.bincount(a.ravel().astype(np.intp) * 256 + b.ravel(),
                        minlength=256 * 256).reshape(256, 256)  # [id in a, id in b]
    inter = np.diag(joint)[1:]  # [255], background left out
    union = joint.sum(axis=1)[1:] + joint.sum(axis=0)[1:] - inter  # [255]
    present = union > 0
    return float((inter[present] / union[present]).mean()) if present.any() else 1.0


def _iou_table(state: DemoState) -> dict[str, dict[int, float]]:
    """IoU with the full model's rerun of every variant on every frame both have (a 60-frame
    480p clip has 240 of them, ~0.5 s), and under FULL the rerun's IoU with the tab's own
    result: computed once after the reruns and kept in the state, so moving the Frame slider
    does not recompute it."""
    if state.ablation_ious is None or state.ablation_ious.keys() != state.ablation.keys():
        full, table = state.ablation.get(FULL, {}), {}
        for variant, masks in state.ablation.items():
            reference = dict(state.masks) if variant == FULL else full  # a pass may write
            table[variant] = {i: _iou(masks[i], reference[i]) for i in masks if i in reference}
        state.ablation_ious = table
    return state.ablation_ious


ADDED_RGB, LOST_RGB, SWAPPED_RGB = (255, 0, 255), (0, 230, 255), (255, 235, 0)


def changes(frame: np.ndarray, variant: np.ndarray, full: np.ndarray) -> np.ndarray:
    """The variant's overlay with the pixels it adds (magenta), loses (cyan) or gives to
    another object (yellow) against the full model painted solid."""
    out = render.overlay_mask(frame, variant)
    out[(variant > 0) & (full == 0)] = ADDED_RGB
    out[(variant == 0) & (full > 0)] = LOST_RGB
    out[(variant > 0) & (full > 0) & (variant != full)] = SWAPPED_RGB
    return out


def most_different(state: DemoState, table: dict[str, dict[int, float]] | None = None
                   ) -> int | None:
    """The frame where the ablated networks disagree most with the full model (lowest IoU).
    Optical flow is left out: it drifts further every frame, so it would always pick the
    last frame, where the network variants may not differ at all."""
    table = _iou_table(state) if table is None else table
    runs = [ious for variant, ious in table.items() if variant not in (FLOW, FULL)]
    frames = state.ablation.get(FULL, {})
    scores = {i: min(ious[i] for ious in runs if i in ious)
              for i in frames if any(i in ious for ious in runs)}
    return min(scores, key=scores.get) if scores else None


def compare_view(state: DemoState, frame_idx: int,
                 table: dict[str, dict[int, float]] | None = None
                 ) -> tuple[np.ndarray | None, str]:
    """Full model (rerun) | each variant on `frame_idx` (the run itself moves the Frame slider
    to where they differ most), and mean IoU over the clip vs the full model's rerun (`table`:
    the IoUs, when the caller has them)."""
    full_masks = state.ablation.get(FULL, {})
    if frame_idx not in full_masks:
        return None, ""
    table = _iou_table(state) if table is None else table
    worst, shown = most_different(state, table), frame_idx
    frame, full = state.frames[shown], full_masks[shown]
    annotated = set(state.annotated_frames())  # every run copies those: IoU 1 by construction
    panels, labels, scores = [render.overlay_mask(frame, full)], [f"full model, frame {shown}"], []
    for variant in [v for v in ALL_LABELS if v in state.ablation]:  # panel order
        masks = state.ablation[variant]
        if shown not in masks:
            continue
        scored = [iou for i, iou in table[variant].items() if i not in annotated]
        mean = np.mean(scored) if scored else np.nan
        panels.append(changes(frame, masks[shown], full))
        here = table[variant][shown]
        labels.append(f"{ALL_LABELS[variant]}: IoU {here:.2f} here")
        scores.append(f"- **{ALL_LABELS[variant]}**: IoU with the full model {mean:.2f} over "
                      f"the propagated frames, {here:.2f} on frame {shown} "
                      f"({int((masks[shown] != full).sum())} px differ)")
    where = ("" if worst is None else f"Frame {shown} is shown: there the network variants "
             "differ most." if worst == shown else f"Frame {shown} is shown; the network "
             f"variants differ most on frame {worst}.")
    # Four to six landscape panels in one row would shrink each to a sixth of the page: two
    # rows keep the changed pixels visible.
    columns = len(panels)
    if len(panels) > 3 and frame.shape[1] > frame.shape[0]:
        columns = (len(panels) + 1) // 2
    text = "\n".join(["Ablation:", *scores, "", where, "", _control_note(table)])
    return render.grid(panels, labels, columns, height=240), text.rstrip()


def _control_note(table: dict[str, dict[int, float]]) -> str:
    """Why "full model" may differ from the result on screen ("" when it does not)."""
    agree = table.get(FULL, {})
    mean = float(np.mean(list(agree.values()))) if agree else 1.0
    if mean >= SAME_RESULT_IOU:
        return ""
    return (f"The full model here is a fresh rerun like the variants' (IoU {mean:.2f} with "
            "your result, which comes from your own passes, corrections and settings), so "
            "each score shows only what its change does.")


def ablation_seconds(ctx: DemoContext, state: DemoState | None, frame_idx: float) -> float:
    """GPU time to reserve for `run_ablation` (same arguments): the full model's rerun and
    each network variant, every frame, and the flow run (CPU, but inside the reservation) at
    FLOW_FRAME_SHARE a frame."""
    flow_frames = math.ceil(FLOW_FRAME_SHARE * (state.num_frames if state else 0))
    networks = len(_variants(state)) - 1 if state else len(VARIANTS) + 1
    runs = frame_runs(state)
    if state is not None and state.annotated_frames():  # the backward pass runs frames twice
        passes = rerun_passes(state.pass_annotations()[0], state.num_frames)
        runs = runs * _frames_run(passes) // max(1, state.num_frames)
    return gpu_seconds(ctx.cfg, networks * runs + flow_frames)


def _variants(state: DemoState) -> dict[str, str]:
    """The reruns for this tab, the control first: "not adapted" only when its session is."""
    adapted = state.session is not None and state.session.adapted is not None
    runs = {FULL: "full model", **ALL_LABELS}
    return {k: v for k, v in runs.items() if adapted or k != UNADAPTED}


def run_ablation(ctx: DemoContext, state: DemoState | None,
                 frame_idx: float) -> Iterator[tuple]:
    """Rerun the whole clip (`rerun_passes`: forward, then backward) with the
    full model and each ablated network; yields (state, frame, comparison image, status),
    the frame (at the end only) being where the network variants differ most. The tab's own
    session is not used: it stays as it came (compact under ZeroGPU). The reruns replace the
    tab's comparison only once all are done: a stopped rerun leaves the last complete one."""
    if state is None:
        yield None, gr.skip(), gr.skip(), warn(NO_CLIP)
        return
    annotated = state.annotated_frames()
    if not annotated or not state.masks:
        yield shipped(state), gr.skip(), gr.skip(), warn(
            "Propagate the clip first: the ablation is compared with your current result.")
        return
    annotations, absent = state.pass_annotations()
    passes = rerun_passes(annotations, state.num_frames)
    state.clear_stop()
    state.running = "ablation"  # what Stop stops (see propagation.finish_view)
    variants = _variants(state)
    total = len(variants) * _frames_run(passes)
    done, started, results = 0, time.perf_counter(), {}
    for variant, label in variants.items():
        masks: dict[int, np.ndarray] = {}
        for frame_idx, mask in _rerun(ctx, state, annotations, variant, passes, absent):
            if state.released:  # a new clip was loaded: the tab holds that now
                return
            masks[frame_idx] = mask
            done += 1
            yield (shipped(state), gr.skip(), gr.skip(),
                   f"`{progress_bar(done, total)}` {label}: frame {frame_idx}")
            if state.stop_pending:
                return
        results[variant] = masks
    if state.released:
        return
    state.ablation, state.ablation_ious, state.running = results, None, ""
    table = _iou_table(state)
    worst = most_different(state, table)
    shown = state.clamp_frame(frame_idx) if worst is None else worst
    image, text = compare_view(state, shown, table)
    yield (shipped(state), gr.skip() if worst is None else worst, image,
           f"{text} ({time.perf_counter() - started:.1f} s)")


def rerun_passes(annotations: dict[int, np.ndarray],
                 num_frames: int) -> list[tuple[int, int, bool]]:
    """The reruns' passes (start, end, reverse): forward from the first annotated frame to
    the end, then backward to frame 0 from the frame where the last object to be marked first
    appears. Backward from the first annotated frame only, an object first marked on a later
    frame was never followed before it: an object added on frame 25 and propagated "both
    ways" by the user read IoU 0.77 between the rerun and the user's result."""
    first_seen: dict[int, int] = {}
    for frame_idx in sorted(annotations):
        for obj_id in np.unique(annotations[frame_idx]).tolist():
            first_seen.setdefault(obj_id, frame_idx)
    first_seen.pop(0, None)
    first = min(annotations)
    back = max(first_seen.values(), default=first)
    return [(first, num_frames - 1, False)] + ([(back, 0, True)] if back > 0 else [])


def _frames_run(passes: list[tuple[int, int, bool]]) -> int:
    """Frames `passes` segment (the backward pass's start frame runs twice)."""
    return sum(abs(end - start) + 1 for start, end, _ in passes)


def _rerun(ctx: DemoContext, state: DemoState, annotations: dict[int, np.ndarray],
           variant: str, passes: list[tuple[int, int, bool]],
           absent: dict[int, tuple[int, ...]]) -> Iterator[tuple[int, np.ndarray]]:
    """(frame_idx, index mask) of `variant` over `passes` (start, end, reverse), each from the
    first annotated frame; later annotations take over on the way, as in the user's passes.
    Each network run is sized for small objects like the user's pass (`fit_small_objects`)."""
    if variant == FLOW:  # a later pass starts from the flow's own mask there, with the
        # annotation painted in: from the annotation alone, a backward pass from an object
        # added on frame 25 dropped every other object before it (lucia: IoU 0.00 there)
        carried: dict[int, np.ndarray] = {}
        for start, end, _ in passes:
            seeded = {**annotations, start: carried[start]} if start in carried else annotations
            for frame_idx, mask in flow_propagate(state.frames, seeded, start, end, absent):
                carried[frame_idx] = mask
                yield frame_idx, mask
        return
    plain = variant in (FULL, UNADAPTED)
    predictor = ctx.predictor if plain else ablated_predictor(ctx, variant)
    session = predictor.new_session(state.inference_config if plain else
                                    ablated_config(state.inference_config, variant))
    predictor.fit_small_objects(session, list(annotations.values()))
    if state.session.adapted is not None and variant != UNADAPTED:  # like with like
        predictor.share_adaptation(session, state.session.adapted)
    outputs = itertools.chain.from_iterable(
        run_pass(predictor, session, state.frames, annotations, *p, absent=absent)
        for p in passes)
    for out in outputs:
        yield out.frame_idx, out.mask
