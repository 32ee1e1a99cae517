"""DAVIS protocol metrics: region similarity J (IoU), boundary F-measure, per-sequence scoring.

Follows the DAVIS benchmark definitions (Perazzi et al. 2016; Pont-Tuset et al. 2017): J and F
per object and frame, averaged over frames 1..N-2 (the annotated first frame and the last frame are
excluded), per object; `srnet.eval.vos_eval.mean_scores` averages over all objects.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

VOID = 255  # DAVIS ground truth: pixels no object is scored on


def without_void(mask: np.ndarray) -> np.ndarray:
    """An ``[H, W]`` uint8 index mask with the void pixels as background: no object to follow
    (a tracker given 255 follows "object 255"); scoring keeps void in the ground truth."""
    return np.where(mask == VOID, 0, mask).astype(np.uint8)  # [H, W]


def jaccard(pred: np.ndarray, gt: np.ndarray) -> float:
    """IoU of two ``[H, W]`` boolean masks; 1.0 when both are empty."""
    pred, gt = _as_bool_pair(pred, gt)
    union = np.logical_or(pred, gt).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(pred, gt).sum() / union)


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """One-pixel boundary of an ``[H, W]`` binary mask: pixels whose value differs from their
    right, bottom or bottom-right neighbour (neighbours outside the image are not compared;
    the bottom-right pixel is never a boundary), as in the DAVIS toolkit's seg2bmap."""
    seg = np.asarray(mask, dtype=bool)
    bmap = np.zeros_like(seg)
    bmap[:, :-1] |= seg[:, :-1] != seg[:, 1:]  # right neighbour
    bmap[:-1, :] |= seg[:-1, :] != seg[1:, :]  # bottom neighbour
    bmap[:-1, :-1] |= seg[:-1, :-1] != seg[1:, 1:]  # bottom-right neighbour
    return bmap


def f_measure(pred: np.ndarray, gt: np.ndarray, bound_th: float = 0.008) -> float:
    """Boundary F-measure of two ``[H, W]`` binary masks.

    A boundary pixel counts as matched when the other boundary lies within
    ``r = ceil(bound_th * diagonal)`` pixels (a disk of radius r; ``bound_th >= 1`` is r itself).
    Precision = matched predicted / predicted boundary pixels, recall likewise for the ground
    truth, F = 2PR / (P + R). Both boundaries empty -> 1.0; exactly one empty -> 0.0.
    """
    pred, gt = _as_bool_pair(pred, gt)
    radius = bound_th if bound_th >= 1 else math.ceil(bound_th * math.hypot(*gt.shape))
    radius = int(radius)
    pred_b, gt_b = boundary_map(pred), boundary_map(gt)
    n_pred, n_gt = int(pred_b.sum()), int(gt_b.sum())
    if n_pred == 0 and n_gt == 0:
        return 1.0
    if n_pred == 0 or n_gt == 0:
        return 0.0
    disk = tolerance_disk(radius)
    pred_near = cv2.dilate(pred_b.astype(np.uint8), disk).astype(bool)
    gt_near = cv2.dilate(gt_b.astype(np.uint8), disk).astype(bool)
    precision = np.logical_and(pred_b, gt_near).sum() / n_pred
    recall = np.logical_and(gt_b, pred_near).sum() / n_gt
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def tolerance_disk(radius: int) -> np.ndarray:
    """uint8 [2r+1, 2r+1] kernel of the pixels with x² + y² ≤ r², the DAVIS toolkit's
    `skimage.morphology.disk` (OpenCV's ellipse kernel rounds row widths up, so it would match
    slightly farther boundaries)."""
    y, x = np.ogrid[-radius:radius + 1, -radius:radius + 1]  # [2r+1, 1], [1, 2r+1]
    return (x * x + y * y <= radius * radius).astype(np.uint8)


def _as_bool_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred).astype(bool), np.asarray(gt).astype(bool)
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f"masks must be [H, W] of equal shape, got {pred.shape} and {gt.shape}")
    return pred, gt


def scored_frames(num_frames: int) -> list[int]:
    """Frames the DAVIS protocol scores: 1..N-2. Shorter clips fall back to the frames after
    the first (N = 2), or the only frame (N = 1)."""
    if num_frames >= 3:
        return list(range(1, num_frames - 1))
    return [num_frames - 1] if num_frames > 0 else []


def evaluate_sequence(pred_masks: Sequence[np.ndarray], gt_masks: Sequence[np.ndarray],
                      obj_ids: Sequence[int] | None = None,
                      bound_th: float = 0.008) -> dict[str, float | dict[int, tuple[float, float]]]:
    """Score one sequence of ``[H, W]`` index masks.

    Args:
        pred_masks: predicted index masks, one per frame.
        gt_masks: ground-truth index masks, same count and shapes.
        obj_ids: objects to score; default = every id in any ground-truth frame but 255,
            which DAVIS uses for void pixels: they are left out of J and F, as the official
            evaluation does.
        bound_th: boundary tolerance for F (see :func:`f_measure`).

    Returns:
        ``{"J": ..., "F": ..., "JF": ..., "per_object": {id: (J, F)}}``; J and F are means over
        objects of the per-object mean over frames 1..N-2.
    """
    if len(pred_masks) != len(gt_masks):
        raise ValueError(f"{len(pred_masks)} predictions for {len(gt_masks)} ground-truth masks")
    if obj_ids is None:
        obj_ids = sorted({int(v) for gt in gt_masks for v in np.unique(gt) if v and v != VOID})
    if not obj_ids:
        raise ValueError("no objects to evaluate")
    frames = scored_frames(len(gt_masks))
    kept = {t: gt_masks[t] != VOID for t in frames}  # [H, W] each: void pixels do not count
    per_object = {}
    for obj in obj_ids:
        j = [jaccard((pred_masks[t] == obj) & kept[t], gt_masks[t] == obj) for t in frames]
        f = [f_measure((pred_masks[t] == obj) & kept[t], gt_masks[t] == obj, bound_th)
             for t in frames]
        per_object[int(obj)] = (float(np.mean(j)), float(np.mean(f)))
    jf, j_mean, f_mean = mean_over_objects(per_object.values())
    return {"J": j_mean, "F": f_mean, "JF": jf, "per_object": per_object}


def mean_over_objects(pairs: Iterable[tuple[float, float]]) -> tuple[float, float, float]:
    """(J&F, J, F) of per-object (J, F) pairs: every object weighs the same (DAVIS-2017)."""
    pairs = list(pairs)
    if not pairs:
        raise ValueError("no objects to average")
    j = float(np.mean([pair[0] for pair in pairs]))
    f = float(np.mean([pair[1] for pair in pairs]))
    return (j + f) / 2, j, f
