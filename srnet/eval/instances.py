"""Multi-object quality on real frames: DAVIS-345 instance masks of DAVIS-2016 sequences.

DAVIS-2016 annotates one object per sequence; the DAVIS-345 interactive benchmark annotated the
separate instances (the paraglider *and* the wing, the person *and* the stroller) on a few frames
of each sequence (``static-masks/davis345-train/<seq>/<frame>.png``, palette ids, 255 = void).
Protocol: the first annotated frame's instance mask starts the propagation, which runs forward
through every video frame to the last annotated one; each later annotated frame is scored per
object (J = IoU, F = boundary F) with void pixels ignored. A sequence's score is the mean over
its objects of the per-object mean over those frames, as in the DAVIS protocol.

Only sequences whose first annotated frame holds ``min_objects`` or more objects are scored (the
default 2: the case single-object DAVIS-2016 J&F cannot see).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from srnet.data.davis import VOSDataset
from srnet.eval.metrics import VOID, f_measure, jaccard, mean_over_objects, without_void
from srnet.inference import Predictor
from srnet.palette import load_index_mask
from srnet.train.adapt import adapt_session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstanceResult:
    """Scores of one sequence: means over objects, and per object (J, F); `masks`: the scored
    frames' predictions (frame index → [H, W] ids at the annotation's size)."""

    J: float
    F: float
    per_object: dict[int, tuple[float, float]]
    scored_frames: int
    seconds: float
    masks: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def JF(self) -> float:  # noqa: N802 - the benchmark's name for it
        return (self.J + self.F) / 2


def annotated_frames(instance_root: Path, seq: str) -> dict[int, Path]:
    """Frame index → instance mask path for one sequence (frame names are DAVIS indices)."""
    return {int(p.stem): p for p in sorted((Path(instance_root) / seq).glob("*.png"))}


def instance_sequences(instance_root: Path, seqs: list[str], min_objects: int = 2) -> list[str]:
    """The sequences of `seqs` with ≥ 2 annotated frames and ≥ `min_objects` objects on the
    first one."""
    chosen = []
    for seq in seqs:
        frames = annotated_frames(instance_root, seq)
        if len(frames) < 2:
            continue
        first = load_index_mask(frames[min(frames)])
        if len({int(v) for v in np.unique(first)} - {0, VOID}) >= min_objects:
            chosen.append(seq)
    return chosen


def _score_frame(pred: np.ndarray, gt: np.ndarray, obj: int) -> tuple[float, float]:
    void = gt == VOID  # [H, W]
    pred_obj, gt_obj = (pred == obj) & ~void, (gt == obj) & ~void
    return jaccard(pred_obj, gt_obj), f_measure(pred_obj, gt_obj)


def evaluate_instances(predictor: Predictor, dataset: VOSDataset, instance_root: Path,
                       seq: str, prescale: int | None = None,
                       start_mask: np.ndarray | None = None,
                       late_object: bool = False) -> InstanceResult:
    """Propagate `seq`'s first instance annotation and score every later annotated frame.

    `prescale`: the demo's path, frames resized to this short side before the predictor sees
    them (the app loads clips at its working size); its masks are scored at the full size.
    `start_mask`: an [H, W] index mask at the full size to start from instead of the first
    annotation (one a user made with clicks); the annotation's objects are scored.
    `late_object`: the last object is marked only on the second annotated frame, as a user adds
    the horse after the rider; then only the frames after that one are scored (the others
    would score the late object as missed by design)."""
    annotations = annotated_frames(instance_root, seq)
    first, last = min(annotations), max(annotations)
    first_mask = load_index_mask(annotations[first])
    first_mask = without_void(first_mask)  # [H, W]
    obj_ids = sorted({int(v) for v in np.unique(first_mask)} - {0})
    if start_mask is not None:
        first_mask = np.asarray(start_mask, np.uint8)  # [H, W]
    starts = {0: first_mask}  # offset from `first` → the mask handed to the session there
    if late_object and len(obj_ids) > 1:
        second = sorted(annotations)[1]
        late = load_index_mask(annotations[second])  # [H, W]
        starts = {0: np.where(first_mask == obj_ids[-1], 0, first_mask).astype(np.uint8),
                  second - first: np.where(late == obj_ids[-1], late, 0).astype(np.uint8)}
    frames = [dataset.load_frame(seq, i) for i in range(first, last + 1)]
    full_size = first_mask.shape
    resized = prescale is not None and min(full_size) > prescale
    if resized:
        scale = prescale / min(full_size)
        size = (round(full_size[1] * scale), round(full_size[0] * scale))  # cv2's (W, H)
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
        starts = {k: cv2.resize(m, size, interpolation=cv2.INTER_NEAREST_EXACT)
                  for k, m in starts.items()}
    session = predictor.new_session()
    start = time.perf_counter()
    adapt_session(predictor, session, [(frames[0], starts[0])])  # only with adapt_steps
    outputs = _run_from(predictor, session, frames, starts)
    scored = [t for t in annotations if t > first + max(starts)]
    preds = {t: cv2.resize(outputs[t - first], full_size[::-1],
                           interpolation=cv2.INTER_NEAREST_EXACT)
             if resized else outputs[t - first] for t in scored}  # [H, W] ids at full size
    seconds = time.perf_counter() - start
    per_object: dict[int, tuple[float, float]] = {}
    for obj in obj_ids:
        scores = [_score_frame(preds[t], load_index_mask(annotations[t]), obj) for t in preds]
        per_object[obj] = (float(np.mean([s[0] for s in scores])),
                           float(np.mean([s[1] for s in scores])))
    jf, j, f = mean_over_objects(per_object.values())
    log.info("%s: %d objects, J&F %.3f over %d frames", seq, len(obj_ids), jf, len(preds))
    return InstanceResult(j, f, per_object, len(preds), seconds, preds)


def _run_from(predictor: Predictor, session, frames: list[np.ndarray],
              starts: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Forward through `frames`, handing each mask of `starts` (offset → [h, w] ids) to the
    session on its frame; returns offset → predicted ids mask."""
    outputs: dict[int, np.ndarray] = {}
    bounds = sorted(starts)
    for i, offset in enumerate(bounds):
        end = bounds[i + 1] - 1 if i + 1 < len(bounds) else len(frames) - 1
        for out in predictor.propagate(session, frames, offset, end, mask=starts[offset]):
            outputs[out.frame_idx] = out.mask
    return outputs


def format_instances(results: dict[str, InstanceResult]) -> list[str]:
    """One line per sequence (per-object J&F too), then the means (x100 scale)."""
    lines = [f"{'sequence':<20}{'objects':>8}{'frames':>8}{'J&F':>8}  per object J&F"]
    for seq, r in results.items():
        objs = " ".join(f"{k}:{100 * (j + f) / 2:.1f}" for k, (j, f) in r.per_object.items())
        lines.append(f"{seq:<20}{len(r.per_object):>8}{r.scored_frames:>8}{100 * r.JF:>8.1f}"
                     f"  {objs}")
    jf, j, f = mean_over_objects(pair for r in results.values() for pair in r.per_object.values())
    lines.append(f"multi-object J&F {100 * jf:.1f} J {100 * j:.1f} F {100 * f:.1f}")
    return lines
