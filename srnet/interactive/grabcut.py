"""Click-to-mask without a learned model: OpenCV GrabCut seeded by positive/negative clicks.

The classic (non-learned) click path and the baseline of
`python -m srnet clicks-eval --method grabcut`; owns the seeding and hypothesis-selection
design and click validation. Pure numpy/OpenCV: no torch. (Moved here from demo/clicks.py so
`srnet` can use it without importing the demo.)

Algorithm (all sizes relative to the image, so it behaves the same at any resolution):
1. Coarse pass at `COARSE_SIDE` px (long side). Candidate boxes enclose every positive click and
   the `prior` mask, enlarged by several margins and aspect ratios. For each box, GrabCut runs
   with outside = sure background, inside = probable foreground (the prior too), positive clicks
   as sure-foreground discs and negative clicks as sure-background discs (radius ≈ 1.5 % of the
   diagonal). Only components holding a positive click are kept.
2. Each candidate is scored by how well its colours separate from a ring just outside it
   (histogram distance), times (1 − fraction of the box edge it touches)², times (1 − area):
   a good box contains the whole object and the object stands out from its surroundings.
   Masks barely larger than the click discs (GrabCut found nothing) are scored down, and with a
   `prior` the score leans toward agreeing with it (`PRIOR_WEIGHT`), so corrections stay local.
3. Fine pass at ≤ `FINE_SIDE` px: GrabCut again in a band around the winner's outline, so edges
   follow the full-resolution image; the result is upsampled to the frame.

For interactive use pass the previous click result as `prior` on each new click: on DAVIS this
beats re-segmenting from the clicks alone (see scripts/bench_clicks.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np

log = logging.getLogger(__name__)

COARSE_SIDE = 160
FINE_SIDE = 480
COARSE_ITERATIONS = 2
SEED_RADIUS_FRAC = 0.015
PRIOR_WEIGHT = 0.3  # score bonus for agreeing with `prior` (stable corrections)
SEED_AREA_FACTOR = 2.0  # masks smaller than this many seed discs score lower
BOX_MARGINS = (0.08, 0.12, 0.16, 0.22, 0.3, 0.4, 0.5)  # half-size added, fraction of (H, W)
BOX_ASPECTS = (1.0, 0.6, 1.6)  # height/width stretch of the margin
Click = tuple[float, float, bool]
Point = tuple[int, int]
Box = tuple[int, int, int, int]  # top, left, bottom, right (exclusive)


def validate_click(x: float, y: float, shape: Sequence[int]) -> bool:
    """True when ``(x, y)`` (pixels, x = column) is a finite point inside an image of `shape`
    ``(H, W, ...)``."""
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite(x) and np.isfinite(y) and 0 <= x < shape[1] and 0 <= y < shape[0])


def _radius(shape: tuple[int, ...]) -> int:
    return max(2, int(round(np.hypot(shape[0], shape[1]) * SEED_RADIUS_FRAC)))


def _grabcut(image: np.ndarray, init: np.ndarray, positives: list[Point],
             negatives: list[Point], iterations: int) -> np.ndarray:
    """Run GrabCut from `init` (GC_* labels) with click discs stamped on; returns the foreground
    components that hold a positive click."""
    mask = init.copy()
    radius = _radius(image.shape)
    for x, y in negatives:
        cv2.circle(mask, (x, y), radius, int(cv2.GC_BGD), -1)
    for x, y in positives:
        cv2.circle(mask, (x, y), radius, int(cv2.GC_FGD), -1)
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    if (mask == cv2.GC_BGD).any() or (mask == cv2.GC_PR_BGD).any():
        try:
            cv2.grabCut(image, mask, None, *models, iterations, cv2.GC_INIT_WITH_MASK)
        except cv2.error as exc:  # degenerate samples; keep the seeds
            log.debug("GrabCut failed: %s", exc)
    fg = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    count, labels = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8)
    keep = {int(labels[y, x]) for x, y in positives} - {0}
    return np.isin(labels, sorted(keep)) if keep else np.zeros_like(fg)


def _candidate_boxes(core: np.ndarray) -> list[Box]:
    """Boxes around the bounding box of `core` (clicks + prior), several margins and aspects."""
    height, width = core.shape
    ys, xs = np.nonzero(core)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    boxes = []
    for margin in BOX_MARGINS:
        for aspect in BOX_ASPECTS:
            pad_y, pad_x = margin * height * np.sqrt(aspect), margin * width / np.sqrt(aspect)
            box = (int(max(0, top - pad_y)), int(max(0, left - pad_x)),
                   int(min(height, bottom + pad_y)), int(min(width, right + pad_x)))
            if box not in boxes:
                boxes.append(box)
    return boxes


def _color_hist(lab: np.ndarray, region: np.ndarray) -> np.ndarray:
    hist = cv2.calcHist([lab], [0, 1, 2], region.astype(np.uint8), [8, 8, 8], [0, 256] * 3)
    return hist.ravel() / max(float(hist.sum()), 1.0)


def _score(mask: np.ndarray, box: Box, lab: np.ndarray, seed_area: int) -> float:
    """Colour separation from the surrounding ring × (1 − box-edge touch)² × (1 − area),
    scaled down when the mask is hardly more than the click discs (GrabCut found nothing)."""
    height, width = mask.shape
    area = int(mask.sum())
    if area < 10:
        return 0.0
    top, left, bottom, right = box
    sides = [side for side, inner in ((mask[top, left:right], top > 0),
                                      (mask[bottom - 1, left:right], bottom < height),
                                      (mask[top:bottom, left], left > 0),
                                      (mask[top:bottom, right - 1], right < width)) if inner]
    touch = float(np.concatenate(sides).mean()) if sides else 0.0
    grow = max(2, int(round(np.hypot(height, width) * 0.03)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    ring = cv2.dilate(mask.astype(np.uint8), kernel).astype(bool) & ~mask
    if ring.sum() < 10:
        return 0.0
    separation = 0.5 * float(np.abs(_color_hist(lab, mask) - _color_hist(lab, ring)).sum())
    degenerate = min(1.0, area / (SEED_AREA_FACTOR * max(seed_area, 1)))
    return separation * (1.0 - touch) ** 2 * (1.0 - float(mask.mean())) * degenerate


def _coarse(image: np.ndarray, positives: list[Point], negatives: list[Point],
            prior: np.ndarray | None) -> np.ndarray:
    """Best-scoring GrabCut over the candidate boxes (step 1–2 of the module docstring)."""
    core = np.zeros(image.shape[:2], bool)
    for x, y in positives:
        core[y, x] = True
    if prior is not None:
        core |= prior
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    seed_area = len(positives) * int(np.pi * _radius(image.shape) ** 2)
    best, best_score = None, -1.0
    for top, left, bottom, right in _candidate_boxes(core):
        init = np.full(core.shape, cv2.GC_BGD, np.uint8)
        init[top:bottom, left:right] = cv2.GC_PR_FGD
        mask = _grabcut(image, init, positives, negatives, COARSE_ITERATIONS)
        score = _score(mask, (top, left, bottom, right), lab, seed_area)
        if prior is not None and PRIOR_WEIGHT > 0:  # corrections should not jump far
            overlap = (mask & prior).sum() / max(int((mask | prior).sum()), 1)
            score *= 1.0 - PRIOR_WEIGHT + PRIOR_WEIGHT * overlap
        if score > best_score:
            best, best_score = mask, score
    return best


def _refine(image: np.ndarray, coarse: np.ndarray, positives: list[Point],
            negatives: list[Point], iterations: int) -> np.ndarray:
    """GrabCut in a band around the upsampled coarse outline (step 3)."""
    height, width = image.shape[:2]
    mask = cv2.resize(coarse.astype(np.uint8), (width, height),
                      interpolation=cv2.INTER_LINEAR).astype(bool)
    band = max(2, int(round(np.hypot(height, width) * 0.02)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    outer = cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)
    init = np.full((height, width), cv2.GC_BGD, np.uint8)
    init[outer] = cv2.GC_PR_BGD
    init[mask] = cv2.GC_PR_FGD
    return _grabcut(image, init, positives, negatives, iterations)


def _resize_to(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    scale = min(1.0, side / max(image.shape[:2]))
    if scale == 1.0:
        return np.ascontiguousarray(image, dtype=np.uint8), 1.0
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def _scale_points(points: list[tuple[float, float]], scale: float,
                  shape: tuple[int, ...]) -> list[Point]:
    return [(min(int(x * scale), shape[1] - 1), min(int(y * scale), shape[0] - 1))
            for x, y in points]


def mask_from_clicks(frame: np.ndarray, clicks: Sequence[Click],
                     prior: np.ndarray | None = None, iterations: int = 5) -> np.ndarray:
    """Segment the clicked object.

    Args:
        frame: uint8 ``[H, W, 3]`` RGB.
        clicks: ``(x, y, is_positive)`` in frame pixels; points outside the frame are ignored.
        prior: optional ``[H, W]`` mask (bool or ids > 0): probable foreground, and the answer
            to stay close to (pass the previous click result here when adding a click).
        iterations: GrabCut iterations of the fine pass.

    Deterministic: reseeds OpenCV's global RNG (GrabCut's k-means uses it).

    Returns:
        bool ``[H, W]``; all False when no valid positive click is given.
    """
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be uint8 [H, W, 3], got {frame.dtype} {frame.shape}")
    height, width = frame.shape[:2]
    if prior is not None and np.asarray(prior).shape != (height, width):
        raise ValueError(f"prior is {np.asarray(prior).shape}, the frame is {(height, width)}")
    valid = [c for c in clicks if validate_click(c[0], c[1], frame.shape)]
    pos = [(float(x), float(y)) for x, y, positive in valid if positive]
    neg = [(float(x), float(y)) for x, y, positive in valid if not positive]
    if not pos:
        return np.zeros((height, width), bool)
    cv2.setRNGSeed(0)  # GrabCut's k-means draws from OpenCV's global RNG: make runs repeatable
    small, scale = _resize_to(frame, COARSE_SIDE)
    small_prior = None
    if prior is not None and np.asarray(prior).any():
        small_prior = cv2.resize((np.asarray(prior) > 0).astype(np.uint8),
                                 (small.shape[1], small.shape[0]),
                                 interpolation=cv2.INTER_NEAREST_EXACT).astype(bool)
    coarse = _coarse(small, _scale_points(pos, scale, small.shape),
                     _scale_points(neg, scale, small.shape), small_prior)
    fine, fine_scale = _resize_to(frame, FINE_SIDE)
    mask = _refine(fine, coarse, _scale_points(pos, fine_scale, fine.shape),
                   _scale_points(neg, fine_scale, fine.shape), iterations)
    if mask.shape != (height, width):
        up = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        mask = up >= 0.5
    return mask
