"""Rules on the connected pieces of a click model's answer, applied after the network: what a
click pointed at is kept, what it did not point at is dropped. Each rule was adopted under a
rule fixed before its run on the click val set (`scripts/click_val5.py`)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from srnet.interactive.clicks import Click, click_pixel


def clicked_pieces(labels: np.ndarray, clicks: Sequence[Click]) -> set[int]:
    """Labels (of `cv2.connectedComponents`, int [H, W]) under the positive clicks; 0, the
    background, left out."""
    return {int(labels[click_pixel(x, y, labels.shape)]) for x, y, positive in clicks
            if positive} - {0}


def drop_strays(mask: np.ndarray, clicks: Sequence[Click], min_share: float,
                keep: np.ndarray | None = None, far: float | None = None) -> np.ndarray:
    """`mask` without the pieces that hold no positive click and are smaller than `min_share`
    of the clicked pieces' area (stray blobs on look-alike texture); unchanged when no positive
    click lands inside the mask. With `far`, a piece smaller than the clicked pieces also goes
    when it lies farther from them than `far` x the square root of their area (a blob on a
    shop window 107 px from a clicked woman, a third of her size). Pieces overlapping `keep`
    (the mask being corrected) stay: a click must not delete a part of the object it did not
    touch."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8),
                                                               connectivity=8)
    clicked = clicked_pieces(labels, clicks)
    if not clicked or count <= 2:
        return mask
    held = set(clicked)
    if keep is not None:
        held |= set(np.unique(labels[keep]).tolist()) - {0}
    areas = stats[:, cv2.CC_STAT_AREA]  # [count], label 0 = background
    clicked_area = float(sum(areas[k] for k in clicked))
    least = min_share * sum(areas[k] for k in held)
    kept = [k for k in range(1, count) if k in held or areas[k] >= least]
    if far is not None and len(kept) > len(held):
        near = np.isin(labels, sorted(clicked))  # [H, W]
        gap = cv2.distanceTransform((~near).astype(np.uint8), cv2.DIST_L2, 3)  # [H, W] px
        limit = far * clicked_area ** 0.5
        kept = [k for k in kept if k in held or areas[k] >= clicked_area
                or float(gap[labels == k].min()) <= limit]
    return np.isin(labels, kept)


def drop_far_additions(mask: np.ndarray, prev: np.ndarray, clicks: Sequence[Click]
                       ) -> np.ndarray:
    """`mask` (a correction of `prev` after a positive click, bool [H, W]) without the added
    pieces that neither hold a positive click nor touch `prev`: a click on a flamingo's missed
    leg also added the body of another flamingo behind her. A positive click adds to the
    object where it points; a far piece it did not point at is a look-alike."""
    added = (mask & ~prev).astype(np.uint8)  # [H, W]
    count, labels = cv2.connectedComponents(added, connectivity=8)  # [H, W] int32
    if count <= 1:
        return mask
    near = cv2.dilate(prev.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # [H, W]
    keep = set(np.unique(labels[near & (added > 0)]).tolist())
    keep |= clicked_pieces(labels, clicks)
    return (mask & prev) | np.isin(labels, sorted(keep - {0}))


def drop_clicked_piece(mask: np.ndarray, prev: np.ndarray, clicks: Sequence[Click]
                       ) -> np.ndarray:
    """`mask` (a correction of `prev` after a negative click, bool [H, W]) without the whole
    piece of `prev` the click landed on, when that piece is detached from the object: it holds
    no positive click and is not `prev`'s largest piece. A propagated mask that had also taken
    a tree trunk kept the trunk's upper half after a remove-click on it; a click on a detached
    piece says the piece is not the object, a click on the body only trims it."""
    x, y, positive = clicks[-1]
    if positive:
        return mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(prev.astype(np.uint8),
                                                               connectivity=8)
    piece = int(labels[click_pixel(x, y, labels.shape)])  # 0: the click is off the mask
    if piece == 0 or count <= 2:
        return mask
    held = clicked_pieces(labels, clicks)
    areas = stats[1:, cv2.CC_STAT_AREA]  # [count - 1], the pieces' areas
    if piece in held or piece == 1 + int(np.argmax(areas)):
        return mask
    return mask & (labels != piece)


NEAR_REMOVAL_SHARE = 0.03  # a removal must reach within 3 % of the short side of the click


def restore_far_removals(mask: np.ndarray, prev: np.ndarray, clicks: Sequence[Click]
                         ) -> np.ndarray:
    """`mask` (a correction of `prev` after a negative click, bool [H, W]) with the removed
    pieces that do not reach the click given back: a remove-click on the background 80-150 px
    from a flamingo also took 10-16 % of the bird, where the network redrew it a little
    smaller (found in session 33). A negative click removes what it points at; a far piece it
    did not point at stays."""
    x, y, positive = clicks[-1]
    if positive:
        return mask
    removed = (prev & ~mask).astype(np.uint8)  # [H, W]
    count, labels = cv2.connectedComponents(removed, connectivity=8)  # [H, W] int32
    if count <= 1:
        return mask
    reach = np.zeros_like(removed)
    radius = max(2, round(NEAR_REMOVAL_SHARE * min(mask.shape)))
    row, col = click_pixel(x, y, reach.shape)
    cv2.circle(reach, (col, row), radius, 1, -1)
    near = set(np.unique(labels[reach > 0]).tolist()) - {0}
    return mask | ((removed > 0) & ~np.isin(labels, sorted(near)))
