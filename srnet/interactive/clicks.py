"""Clicks as data: disk-map encoding, the NoC click simulator, the training-time click sampler,
NoC / mIoU arithmetic and the monotonic click rule. Pure numpy + OpenCV (no torch), shared by
training, evaluation and the app.

Conventions: a click is ``(x, y, is_positive)`` in image pixels (x = column). Ground-truth masks
may hold an *ignore* region (pixels labelled 128 in the evaluation PNGs): it counts neither as an
error nor in the IoU.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

Click = tuple[float, float, bool]


def check_clicks(clicks: Iterable[Click], shape: Sequence[int]) -> list[Click]:
    """Validate clicks (any iterable) against an image of `shape` (H, W, ...); raise ValueError
    naming the first bad one (non-finite, outside the image, a sign other than True/False/1/0),
    or when there is none."""
    clicks = list(clicks)
    if len(clicks) == 0:
        raise ValueError("no clicks: give at least one (x, y, is_positive) click")
    height, width = int(shape[0]), int(shape[1])
    out = []
    for idx, click in enumerate(clicks):
        try:
            x, y, positive = click
            if isinstance(x, bool | np.bool_) or isinstance(y, bool | np.bool_):
                raise TypeError("a bool is no coordinate")  # (True, False, True) read as (1, 0)
            x, y = float(x), float(y)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"click {idx} {click!r} is not (x, y, is_positive)") from exc
        if not (np.isfinite(x) and np.isfinite(y) and 0 <= x < width and 0 <= y < height):
            raise ValueError(f"click {idx} at (x={x}, y={y}) lies outside the {width}x{height} "
                             "image")
        if not isinstance(positive, bool | np.bool_ | int | np.integer) \
                or positive not in (0, 1):  # "False" is truthy, 2 is no sign
            raise ValueError(f"click {idx}: is_positive must be a bool, got {positive!r}")
        out.append((x, y, bool(positive)))
    return out


def click_pixel(x: float, y: float, shape: Sequence[int]) -> tuple[int, int]:
    """(row, col) of the pixel a click at (x, y) marks: the disk maps' centre (rounded), kept
    inside `shape` (H, W, ...). The piece rules read int(x), which rounds down: a click at
    x = 10.6 was drawn on column 11 and looked up on column 10."""
    return (min(int(round(float(y))), int(shape[0]) - 1),
            min(int(round(float(x))), int(shape[1]) - 1))


def disk_maps(clicks: Sequence[Click], shape: tuple[int, int], radius: int) -> np.ndarray:
    """float32 [2, H, W]: union of filled disks of `radius` around positive (0) and negative
    (1) clicks, given in the pixel coordinates of `shape`."""
    maps = np.zeros((2, shape[0], shape[1]), np.uint8)
    for x, y, positive in clicks:
        row, col = click_pixel(x, y, shape)
        cv2.circle(maps[0 if positive else 1], (col, row), radius, 1, -1)
    return maps.astype(np.float32)


def iou(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """IoU of bool masks outside `ignore` (1.0 when both are empty there)."""
    valid = np.ones_like(gt, bool) if ignore is None else ~ignore
    union = int(((pred | gt) & valid).sum())
    return float(((pred & gt) & valid).sum() / union) if union else 1.0


def next_click(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None
               ) -> Click | None:
    """The NoC click: the point farthest from the boundary (distance transform; the image edge
    counts as boundary) of the largest (by area) 8-connected error region; positive when that
    region is a false negative, negative for a false positive. None when there is no error."""
    valid = np.ones_like(gt, bool) if ignore is None else ~ignore
    best = None
    for positive, error in ((True, gt & ~pred & valid), (False, pred & ~gt & valid)):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(error.astype(np.uint8), 8)
        if count < 2:
            continue
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        area = int(stats[biggest, cv2.CC_STAT_AREA])
        if best is None or area > best[0]:
            best = (area, labels == biggest, positive)
    if best is None:
        return None
    padded = np.pad(best[1], 1).astype(np.uint8)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(x), float(y), best[2]


def next_click_ritm(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None,
                    clicked: Sequence[Click] = ()) -> Click | None:
    """RITM's simulator (the `Clicker` of Sofiiuk et al.'s code, behind the published NoC
    numbers): exact distance transforms of all false-negative and of all false-positive pixels
    (the image edge counts as boundary), zero at pixels already clicked; the click goes to the
    deeper of the two maxima, positive only when the false negatives' is strictly deeper.
    `next_click` picks the largest region by area instead, as issue #8 words the protocol: on a
    thin error strip beside a compact blob the two differ in place and in sign."""
    valid = np.ones_like(gt, bool) if ignore is None else ~ignore
    depths = []
    for error in (gt & ~pred & valid, pred & ~gt & valid):
        depth = cv2.distanceTransform(np.pad(error, 1).astype(np.uint8), cv2.DIST_L2,
                                      cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]  # [H, W]
        for x, y, _ in clicked:
            depth[int(y), int(x)] = 0.0
        depths.append(depth)
    positive = bool(depths[0].max() > depths[1].max())
    depth = depths[0] if positive else depths[1]
    if depth.max() <= 0:  # no error left (or only clicked pixels)
        return None
    ys, xs = np.nonzero(depth == depth.max())  # the first in row-major order, as RITM takes
    return float(xs[0]), float(ys[0]), positive


def noc(ious: Sequence[float], threshold: float, max_clicks: int) -> int:
    """Clicks needed to reach IoU ≥ threshold (ious[k] = IoU after k+1 clicks); `max_clicks`
    when never reached (the standard NoC convention)."""
    for idx, value in enumerate(ious[:max_clicks]):
        if value >= threshold:
            return idx + 1
    return max_clicks


def summarize(curves: Sequence[Sequence[float]], max_clicks: int) -> dict[str, float]:
    """mIoU@1/3/5 (those within `max_clicks`) and NoC@85/90 over objects; each curve is cut
    to `max_clicks` and padded with its last value (an IoU reached stays)."""
    if not curves or any(len(c) == 0 for c in curves):
        raise ValueError("summarize needs at least one object, each with at least one click")
    padded = np.array([list(c[:max_clicks]) + [c[-1]] * (max_clicks - len(c))
                       for c in curves])  # [N, max_clicks]
    out = {f"mIoU@{k}": float(padded[:, k - 1].mean()) for k in (1, 3, 5) if k <= max_clicks}
    for t in (85, 90):
        out[f"NoC@{t}"] = float(np.mean([noc(c, t / 100, max_clicks) for c in padded]))
    return out


def constrain(prev: np.ndarray | None, new: np.ndarray, is_positive: bool) -> np.ndarray:
    """The monotonic click rule for corrections: a negative click may only remove pixels from
    the previous mask (result = prev ∧ new) and a positive click may only add (prev ∨ new), so a
    negative click never grows the mask and a positive one never drops an object part already
    selected. Without a previous mask (first click) the new mask is kept."""
    if prev is None or not prev.any():
        return new.copy()
    prev = prev.astype(bool)
    return (prev | new) if is_positive else (prev & new)


def initial_clicks(gt: np.ndarray, rng: np.random.Generator,
                   ignore: np.ndarray | None = None) -> list[Click]:
    """1-3 positive clicks inside the object (the first one often at its centre, as the NoC
    protocol places it) and 0-2 negative clicks, mostly just outside it, never on `ignore`
    (bool [H, W]: a view's padding past the image, where no user can click)."""
    inside = cv2.distanceTransform(np.pad(gt, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    outside = cv2.distanceTransform((~gt).astype(np.uint8), cv2.DIST_L2, 5)
    if ignore is not None:
        outside = np.where(ignore, 0.0, outside)  # [H, W]: no negative click there
    clicks: list[Click] = []
    if rng.random() < 0.5:
        y, x = np.unravel_index(int(np.argmax(inside)), inside.shape)
        clicks.append((float(x), float(y), True))
    candidates = np.argwhere(inside >= max(1.0, 0.2 * inside.max()))  # [N, 2] (y, x)
    # sessions 4-5 trained with `- len(clicks) + 1` here: never fewer than two positive clicks,
    # so a single click was out of distribution and its masks came out ~half the object
    n_positive = int(rng.choice([1, 2, 3], p=[0.6, 0.25, 0.15]))
    while len(clicks) < n_positive and len(candidates):
        y, x = candidates[rng.integers(len(candidates))]
        clicks.append((float(x), float(y), True))
    near = np.argwhere((outside > 3) & (outside < 40))
    for _ in range(int(rng.choice([0, 1, 2], p=[0.5, 0.3, 0.2]))):
        pool = near if len(near) and rng.random() < 0.7 else np.argwhere(outside > 3)
        if len(pool):
            y, x = pool[rng.integers(len(pool))]
            clicks.append((float(x), float(y), False))
    return clicks


def degraded(gt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plausible wrong previous mask: eroded or dilated, maybe with a chunk cut out."""
    size = int(rng.integers(3, 16)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    op = cv2.erode if rng.random() < 0.5 else cv2.dilate
    mask = op(gt.astype(np.uint8), kernel).astype(bool)
    if rng.random() < 0.5:
        h, w = mask.shape
        y, x = int(rng.integers(h)), int(rng.integers(w))
        mask[max(0, y - h // 6):y + h // 6, max(0, x - w // 6):x + w // 6] = rng.random() < 0.5
    return mask
